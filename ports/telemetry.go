package ports

import (
	"io"
	"time"
)

// Telemetry records what sessions do.
type Telemetry interface {
	// SessionLog returns a writer for the protocol log of user's session
	// (Cyrus's log/<user>/ files), or nil when that user is not being
	// logged. sessionID names the session (telemetry_bysessionid logs by
	// it rather than by process id). The session writes Read and Wrote
	// records to it. The file's format is Cyrus's: a header line
	// "---------- <user> <ctime(3) date>" and a blank line, then each
	// record as "<EPOCH<" (read) or ">EPOCH>" (wrote) and the bytes
	// verbatim. A user name that is not a plain file name is never logged.
	SessionLog(user, sessionID string) SessionLog

	// Event records an operational event (login, login failure, command
	// with its latency, errors of ours). An event is at most one line: a
	// login's names the user and the session id, a refused login's the
	// name the client gave and the client, and nothing the client chose (a
	// user name with a line break) can start a line of its own.
	Event(e Event)
}

// SessionLog receives both directions of one session's traffic. Read and
// Wrote may be called from different goroutines; each record stays whole.
// Empty records and records after Close are dropped.
type SessionLog interface {
	// Read records bytes read from the client.
	Read(p []byte)
	// Wrote records bytes flushed to the client.
	Wrote(p []byte)
	io.Closer
}

// Event is one operational event.
type Event struct {
	// Kind is "login", "login-failed", "logout", "unauthenticate",
	// "command", "error" or "session-end" for imapd; "delivered" and
	// "dupelim" for a delivery service.
	Kind     string
	User     string
	Remote   string
	Command  string
	Status   string // OK, NO, BAD
	Duration time.Duration
	Err      error

	// The session's facts that operators' log parsers read (Cyrus's
	// syslog lines): Host is the client as Cyrus names it ("name [ip]",
	// "[ip]" or "[unix socket]"), SessionID the session's id, Mech how a
	// login was checked ("plaintext", "nopassword" or the SASL mechanism),
	// TLS whether the session runs over TLS.
	Host      string
	SessionID string
	Mech      string
	TLS       bool

	// A delivery's facts ("delivered", "dupelim"): the message's
	// Message-ID and Date header fields and the mailbox it went to.
	MessageID string
	Date      string
	Mailbox   string
}
