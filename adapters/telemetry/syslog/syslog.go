// Package syslog implements ports.Telemetry over the local syslog, as
// Cyrus's imapd and lmtpd log: the lines operators and their tools
// (fail2ban's cyrus-imap filter, log summaries) parse are written as
// Cyrus writes them, under the ident Cyrus uses, to /dev/log as glibc's
// syslog(3) sends them. Protocol logs of single users stay files: they
// are handed to another ports.Telemetry (filelog's).
//
// Another binary (lmtpd) uses it the same way: New with its service name,
// and Events of its own kinds ("delivered", "dupelim"), each of which
// becomes one line in Cyrus's form (Line).
package syslog

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/imapd-go/imapd/ports"
)

// Options say where and how lines go.
type Options struct {
	// Service is the cyrus.conf service name (CYRUS_SERVICE).
	Service string
	// Prefix is syslog_prefix: the ident becomes Prefix/Service.
	Prefix string
	// Facility is the syslog_facility code (Facility); Cyrus's LOCAL6
	// when negative.
	Facility int
	// Debug writes the debug lines (each command) too: debug: 1.
	Debug bool
	// Socket is the syslog socket, DefaultSocket when "". Only tests set
	// it (cmd/internal/wiring reads it from a test-only variable).
	Socket string
	// Files receives SessionLog calls (the per-user protocol logs), and
	// every Event too when Echo is set; nil: no protocol logs.
	Files ports.Telemetry
	// Echo also hands each Event to Files (standard error under -D or
	// debug).
	Echo bool
}

// Telemetry is the ports.Telemetry whose events go to syslog.
type Telemetry struct {
	w     *Writer
	files ports.Telemetry
	echo  bool
	debug bool

	// usage is the process's CPU time at the last USAGE line.
	mu    sync.Mutex
	usage syscall.Rusage
}

var _ ports.Telemetry = (*Telemetry)(nil)

// New returns the syslog telemetry for o.
func New(o Options) *Telemetry {
	if o.Facility < 0 {
		o.Facility, _ = Facility(DefaultFacility)
	}
	return &Telemetry{
		w:     NewWriter(o.Socket, Ident(o.Prefix, o.Service), o.Facility, os.Getpid()),
		files: o.Files,
		echo:  o.Echo && o.Files != nil,
		debug: o.Debug,
	}
}

// SessionLog hands the protocol log to Files.
func (t *Telemetry) SessionLog(user, sessionID string) ports.SessionLog {
	if t.files == nil {
		return nil
	}
	return t.files.SessionLog(user, sessionID)
}

// Event writes e's line, if it has one at the configured level.
func (t *Telemetry) Event(e ports.Event) {
	if t.echo {
		t.files.Event(e)
	}
	if e.Kind == "logout" {
		e.Duration = 0
		t.logUsage(e.User)
		return
	}
	sev, msg, ok := Line(e)
	if !ok || (sev == Debug && !t.debug) {
		return
	}
	t.w.Log(sev, msg)
}

// logUsage writes Cyrus's "USAGE <user> user: <s.us> sys: <s.us>" line:
// the CPU time the process used since the last such line (since it
// started, for the first), as Cyrus's telemetry_rusage measures it at
// LOGOUT, at NOTICE as Cyrus 3.6 writes it (later versions use INFO).
func (t *Telemetry) logUsage(user string) {
	if user == "" {
		return
	}
	var now syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &now); err != nil {
		t.w.Log(Err, "getrusage: "+user)
		return
	}
	t.mu.Lock()
	prev := t.usage
	t.usage = now
	t.mu.Unlock()
	t.w.Log(Notice, UsageLine(user, tvDiff(now.Utime, prev.Utime), tvDiff(now.Stime, prev.Stime)))
}

func tvDiff(a, b syscall.Timeval) time.Duration {
	return time.Duration(a.Nano() - b.Nano())
}

// UsageLine is the USAGE line for CPU times user and sys, each as seconds
// and six digits of microseconds.
func UsageLine(user string, u, s time.Duration) string {
	return fmt.Sprintf("USAGE %s user: %s sys: %s", user, secUsec(u), secUsec(s))
}

func secUsec(d time.Duration) string {
	us := d.Microseconds()
	return fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
}

// Close closes the connection to syslog.
func (t *Telemetry) Close() error { return t.w.Close() }
