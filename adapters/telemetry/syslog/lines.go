package syslog

import (
	"errors"
	"strings"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// Line is the syslog line of an event, with its severity, as Cyrus 3.6
// writes it (imap/imapd.c, imap/lmtpd.c, imap/duplicate.c); false for an
// event Cyrus has no line for.
//
//	login: <host> <user> <mech>[+TLS] User logged in SESSIONID=<id>        NOTICE
//	badlogin: <host> <mech> (<user>) [<detail>]                          NOTICE
//	USAGE <user> user: <s.us> sys: <s.us>   (Telemetry, at LOGOUT)      NOTICE
//	Delivered: <message-id> to mailbox: <mailbox>                        INFO
//	dupelim: eliminated duplicate message to <mailbox> id <message-id> date <date> (delivery)   INFO
//
// Our own events (commands, errors) have lines of ours. Control
// characters the client chose (a user name sent as a literal may hold a
// newline) are written as '?', so that no one can forge a line.
func Line(e ports.Event) (Severity, string, bool) {
	sev, msg, ok := line(e)
	return sev, strings.Map(printable, msg), ok
}

func printable(r rune) rune {
	if r < 0x20 || r == 0x7f {
		return '?'
	}
	return r
}

func line(e ports.Event) (Severity, string, bool) {
	var b strings.Builder
	switch e.Kind {
	case "login":
		b.WriteString("login: ")
		b.WriteString(host(e.Host))
		b.WriteByte(' ')
		b.WriteString(e.User)
		b.WriteByte(' ')
		b.WriteString(e.Mech)
		if e.TLS {
			b.WriteString("+TLS")
		}
		b.WriteString(" User logged in SESSIONID=<")
		b.WriteString(e.SessionID)
		b.WriteByte('>')
		return Notice, b.String(), true
	case "login-failed":
		user := e.User
		if user == "" || errors.Is(e.Err, imap.ErrNoUser) && e.Mech != "plaintext" {
			// SASL knows no user name when it did not find one.
			user = "-notset-"
		}
		b.WriteString("badlogin: ")
		b.WriteString(host(e.Host))
		b.WriteByte(' ')
		b.WriteString(e.Mech)
		b.WriteString(" (")
		b.WriteString(user)
		b.WriteString(") [")
		b.WriteString(detail(e))
		b.WriteByte(']')
		return Notice, b.String(), true
	case "delivered":
		return Info, "Delivered: " + e.MessageID + " to mailbox: " + e.Mailbox, true
	case "dupelim":
		return Info, "dupelim: eliminated duplicate message to " + e.Mailbox + " id " + e.MessageID +
			" date " + e.Date + " (delivery)", true
	case "error":
		// A fault of ours, which Cyrus would log as an IOERROR or
		// DBERROR line at LOG_ERR.
		b.WriteString("IOERROR: ")
		if e.Command != "" {
			b.WriteString(e.Command)
			b.WriteString(": ")
		}
		if e.Err != nil {
			b.WriteString(e.Err.Error())
		}
		addSession(&b, e)
		return Err, b.String(), true
	case "command":
		b.WriteString("command: ")
		b.WriteString(e.Command)
		b.WriteByte(' ')
		b.WriteString(e.Status)
		b.WriteByte(' ')
		b.WriteString(e.Duration.Round(time.Microsecond).String())
		addSession(&b, e)
		return Debug, b.String(), true
	case "session-end":
		if e.Err == nil {
			return Debug, "session ended" + sessionSuffix(e), true
		}
		return Info, "session ended: " + e.Err.Error() + sessionSuffix(e), true
	case "unauthenticate":
		return Debug, "unauthenticate: " + host(e.Host) + " " + e.User + sessionSuffix(e), true
	}
	return 0, "", false
}

func addSession(b *strings.Builder, e ports.Event) { b.WriteString(sessionSuffix(e)) }

func sessionSuffix(e ports.Event) string {
	s := ""
	if e.User != "" {
		s += " user=" + e.User
	}
	if e.SessionID != "" {
		s += " sessionid=<" + e.SessionID + ">"
	}
	return s
}

// host is the client's name for a line: "[unix socket]" when the event
// has none (a local socket, standard input).
func host(h string) string {
	if h == "" {
		return "[unix socket]"
	}
	return h
}

// detail is sasl_errdetail's text for a failed login as Cyrus 3.6 with
// Cyrus SASL writes it: "SASL(-13): <reason>: <where>", the reason
// "authentication failure" or "user not found", where "checkpass failed"
// for LOGIN and "Password verification failed" for a mechanism.
func detail(e ports.Event) string {
	where := "Password verification failed"
	if e.Mech == "plaintext" || e.Mech == "nopassword" {
		where = "checkpass failed"
	}
	switch {
	case errors.Is(e.Err, imap.ErrNoUser):
		return "SASL(-13): user not found: " + where
	case e.Err == nil || errors.Is(e.Err, imap.ErrAuthFailed):
		return "SASL(-13): authentication failure: " + where
	default:
		// A fault, not a refusal (saslauthd away, a store error).
		return "SASL(-1): generic failure: " + e.Err.Error()
	}
}
