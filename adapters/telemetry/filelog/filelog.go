// Package filelog implements ports.Telemetry as Cyrus imapd does: a
// protocol log per session in {configdirectory}/log/<user>/ when that
// folder exists, and operational events through log/slog. It depends on
// ports only.
package filelog

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imapd-go/imapd/ports"
)

// Telemetry is the ports.Telemetry of imapd.
type Telemetry struct {
	configDir string
	service   string
	// BySessionID names log files by session id instead of process id
	// (telemetry_bysessionid).
	BySessionID bool
	// Multi is set when the process serves many sessions at once
	// (multisession): each session's log is then <service>-<pid>-<n>,
	// n counting the process's sessions from 1, so that two sessions of
	// one user neither interleave nor share a file.
	Multi bool
	n     atomic.Uint64

	log *slog.Logger
	pid int
	now func() time.Time
}

var _ ports.Telemetry = (*Telemetry)(nil)

// New returns telemetry for the service (the CYRUS_SERVICE name) whose
// configdirectory is configDir. A nil log discards events.
func New(configDir, service string, log *slog.Logger) *Telemetry {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Telemetry{configDir: configDir, service: service, log: log, pid: os.Getpid(), now: time.Now}
}

// ctimeLayout is C's ctime(3) format (day of month padded with a space).
const ctimeLayout = "Mon Jan _2 15:04:05 2006\n"

// SessionLog opens log/<user>/<service>-<pid> (<service>-<pid>-<n> with
// Multi, log/<user>/<sessionID> with BySessionID) for appending when the folder
// log/<user> exists (nothing creates it: an administrator does, to watch a
// user), and writes the header: "---------- <user> <ctime>" and a blank
// line. It returns nil otherwise, or when the file cannot be opened.
func (t *Telemetry) SessionLog(user, sessionID string) ports.SessionLog {
	if user == "" || user == "." || user == ".." || strings.ContainsAny(user, "/\x00") {
		return nil
	}
	dir := filepath.Join(t.configDir, "log", user)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil
	}
	name := filepath.Join(dir, t.service+"-"+strconv.Itoa(t.pid))
	if t.Multi {
		name += "-" + strconv.FormatUint(t.n.Add(1), 10)
	}
	if t.BySessionID && sessionID != "" && !strings.ContainsAny(sessionID, "/\x00") {
		name = filepath.Join(dir, sessionID)
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.log.Warn("cannot open session log", "file", name, "err", err)
		return nil
	}
	l := &sessionLog{f: f, now: t.now, log: t.log}
	// ctime(3) ends with a newline; Cyrus adds one more, hence the blank
	// line after the header.
	l.write([]byte(fmt.Sprintf("---------- %s %s\n", user, t.now().Format(ctimeLayout))))
	return l
}

// sessionLog is one open protocol log. Reads and writes may come from
// different goroutines.
type sessionLog struct {
	mu     sync.Mutex
	f      *os.File
	now    func() time.Time
	log    *slog.Logger
	failed bool
}

func (l *sessionLog) write(b []byte) {
	if l.f == nil || l.failed {
		return
	}
	if _, err := l.f.Write(b); err != nil {
		// Losing the trace must not end the session; say so once.
		l.failed = true
		l.log.Warn("cannot write session log", "file", l.f.Name(), "err", err)
	}
}

func (l *sessionLog) record(dir byte, p []byte) {
	if len(p) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	stamp := strconv.FormatInt(l.now().Unix(), 10)
	buf := make([]byte, 0, len(stamp)+2+len(p))
	buf = append(buf, dir)
	buf = append(buf, stamp...)
	buf = append(buf, dir)
	buf = append(buf, p...)
	l.write(buf)
}

// Read records bytes read from the client as "<EPOCH<" and the raw bytes.
func (l *sessionLog) Read(p []byte) { l.record('<', p) }

// Wrote records bytes flushed to the client as ">EPOCH>" and the raw bytes.
func (l *sessionLog) Wrote(p []byte) { l.record('>', p) }

// Close closes the file; later records are dropped.
func (l *sessionLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Event logs e: commands at debug level, logins and session ends at info,
// errors of ours at warn.
func (t *Telemetry) Event(e ports.Event) {
	level := slog.LevelInfo
	switch e.Kind {
	case "command":
		level = slog.LevelDebug
	case "error":
		level = slog.LevelWarn
	}
	// A command's event is at debug level, which is usually off: its
	// attributes are not even made then.
	if !t.log.Enabled(context.Background(), level) {
		return
	}
	attrs := []slog.Attr{slog.String("service", t.service)}
	add := func(k, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(k, v))
		}
	}
	add("user", e.User)
	add("remote", e.Remote)
	add("sessionid", e.SessionID) // what ties a line to its session, as Cyrus's SESSIONID=
	add("command", e.Command)
	add("status", e.Status)
	add("message-id", e.MessageID) // a delivery's (lmtpd)
	add("date", e.Date)
	add("mailbox", e.Mailbox)
	if e.Duration > 0 {
		attrs = append(attrs, slog.Duration("duration", e.Duration))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("err", e.Err.Error()))
	}
	t.log.LogAttrs(context.Background(), level, e.Kind, attrs...)
}
