package syslog

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// listen stands in for the syslog daemon: a unixgram socket whose
// datagrams come out of the returned channel as they were received.
func listen(t *testing.T) (string, <-chan string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "log")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ch := make(chan string, 100)
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if err != nil {
				close(ch)
				return
			}
			ch <- string(buf[:n])
		}
	}()
	return path, ch
}

func next(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no datagram")
		return ""
	}
}

// The datagram is what glibc's syslog(3) sends after openlog(ident,
// LOG_PID, LOG_LOCAL6): "<PRI>Mmm dd hh:mm:ss ident[pid]: message", the
// day of month padded with a space, nothing after the message.
func TestWriterFormat(t *testing.T) {
	path, ch := listen(t)
	fac, _ := Facility("local6")
	w := NewWriter(path, Ident("cyrus", "imap"), fac, 4242)
	w.now = func() time.Time { return time.Date(2026, time.March, 5, 7, 8, 9, 0, time.Local) }
	w.Log(Notice, "login: [unix socket] alice plaintext User logged in SESSIONID=<x>")
	w.Log(Info, "USAGE alice user: 0.001000 sys: 0.000000")
	if got, want := next(t, ch), "<181>Mar  5 07:08:09 cyrus/imap[4242]: login: [unix socket] alice plaintext User logged in SESSIONID=<x>"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got, want := next(t, ch), "<182>Mar  5 07:08:09 cyrus/imap[4242]: USAGE alice user: 0.001000 sys: 0.000000"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	mail, _ := Facility("MAIL")
	w = NewWriter(path, Ident("", "lmtpunix"), mail, 7)
	w.now = func() time.Time { return time.Date(2026, time.December, 25, 23, 0, 0, 0, time.Local) }
	w.Log(Info, "Delivered: <a@b> to mailbox: user.alice")
	if got, want := next(t, ch), "<22>Dec 25 23:00:00 lmtpunix[7]: Delivered: <a@b> to mailbox: user.alice"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestFacility(t *testing.T) {
	for name, want := range map[string]int{"LOCAL6": 22, "local0": 16, "Mail": 2, "DAEMON": 3, "NEWS": 7, "USER": 1} {
		if got, ok := Facility(name); !ok || got != want {
			t.Errorf("Facility(%q) = %d, %t; want %d", name, got, ok, want)
		}
	}
	if _, ok := Facility("LOCAL8"); ok {
		t.Error("LOCAL8 accepted")
	}
}

// A syslog daemon that listens on a stream socket gets each line ending
// with a NUL byte, as glibc sends them there.
func TestWriterStreamSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		s, _ := bufio.NewReader(c).ReadString(0)
		got <- s
	}()
	w := NewWriter(path, "imap", 22, 1)
	w.now = func() time.Time { return time.Date(2026, time.January, 10, 1, 2, 3, 0, time.Local) }
	w.Log(Notice, "hello")
	select {
	case s := <-got:
		if s != "<181>Jan 10 01:02:03 imap[1]: hello\x00" {
			t.Errorf("got %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing on the stream")
	}
}

// A daemon that restarts (a new socket at the same path) gets the next
// line: the writer reconnects once; a line sent while nobody listens is
// lost without harm.
func TestWriterReconnects(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(path, "imap", 22, 1)
	w.Log(Info, "one")
	buf := make([]byte, 1024)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(buf); err != nil || !strings.HasSuffix(string(buf[:n]), ": one") {
		t.Fatalf("first line: %q %v", buf[:n], err)
	}
	c.Close()
	os.Remove(path)
	w.Log(Info, "lost") // nobody listens: dropped
	c, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w.Log(Info, "two")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(buf); err != nil || !strings.HasSuffix(string(buf[:n]), ": two") {
		t.Fatalf("after the restart: %q %v", buf[:n], err)
	}
}

func TestLine(t *testing.T) {
	authFailed := fmt.Errorf("%w: alice", imap.ErrAuthFailed)
	noUser := fmt.Errorf("%w: %w: nobody", imap.ErrAuthFailed, imap.ErrNoUser)
	tests := []struct {
		e    ports.Event
		sev  Severity
		want string
	}{
		{ports.Event{Kind: "login", User: "alice", Host: "localhost [127.0.0.1]", Mech: "plaintext", SessionID: "cyrus-1-2-3-4"},
			Notice, "login: localhost [127.0.0.1] alice plaintext User logged in SESSIONID=<cyrus-1-2-3-4>"},
		{ports.Event{Kind: "login", User: "alice", Host: "[10.0.0.1]", Mech: "plaintext", TLS: true, SessionID: "s"},
			Notice, "login: [10.0.0.1] alice plaintext+TLS User logged in SESSIONID=<s>"},
		{ports.Event{Kind: "login", User: "alice", Mech: "nopassword", SessionID: "s"},
			Notice, "login: [unix socket] alice nopassword User logged in SESSIONID=<s>"},
		{ports.Event{Kind: "login", User: "alice", Host: "[::1]", Mech: "SCRAM-SHA-256", TLS: true, SessionID: "s"},
			Notice, "login: [::1] alice SCRAM-SHA-256+TLS User logged in SESSIONID=<s>"},
		{ports.Event{Kind: "login-failed", User: "alice", Host: "[10.0.0.1]", Mech: "plaintext", Err: authFailed},
			Notice, "badlogin: [10.0.0.1] plaintext (alice) [SASL(-13): authentication failure: checkpass failed]"},
		{ports.Event{Kind: "login-failed", User: "nobody", Host: "[10.0.0.1]", Mech: "plaintext", Err: noUser},
			Notice, "badlogin: [10.0.0.1] plaintext (nobody) [SASL(-13): user not found: checkpass failed]"},
		{ports.Event{Kind: "login-failed", User: "alice", Host: "[10.0.0.1]", Mech: "PLAIN", Err: authFailed},
			Notice, "badlogin: [10.0.0.1] PLAIN (alice) [SASL(-13): authentication failure: Password verification failed]"},
		{ports.Event{Kind: "login-failed", User: "nobody", Host: "[10.0.0.1]", Mech: "PLAIN", Err: noUser},
			Notice, "badlogin: [10.0.0.1] PLAIN (-notset-) [SASL(-13): user not found: Password verification failed]"},
		{ports.Event{Kind: "login-failed", User: "x\r\nDec  1 00:00:00 h cyrus/imap[1]: badlogin: [192.0.2.1]", Host: "[10.0.0.1]", Mech: "plaintext", Err: authFailed},
			Notice, "badlogin: [10.0.0.1] plaintext (x??Dec  1 00:00:00 h cyrus/imap[1]: badlogin: [192.0.2.1]) [SASL(-13): authentication failure: checkpass failed]"},
		{ports.Event{Kind: "delivered", MessageID: "<1@example.org>", Mailbox: "user.alice"},
			Info, "Delivered: <1@example.org> to mailbox: user.alice"},
		{ports.Event{Kind: "dupelim", MessageID: "<1@example.org>", Mailbox: "user.alice", Date: "Mon, 1 Dec 2026 10:00:00 +0000"},
			Info, "dupelim: eliminated duplicate message to user.alice id <1@example.org> date Mon, 1 Dec 2026 10:00:00 +0000 (delivery)"},
		{ports.Event{Kind: "error", User: "alice", Command: "FETCH", Err: errors.New("disk full"), SessionID: "s"},
			Err, "IOERROR: FETCH: disk full user=alice sessionid=<s>"},
		{ports.Event{Kind: "command", User: "alice", Command: "NOOP", Status: "OK", Duration: 1500 * time.Microsecond, SessionID: "s"},
			Debug, "command: NOOP OK 1.5ms user=alice sessionid=<s>"},
	}
	for _, tt := range tests {
		sev, got, ok := Line(tt.e)
		if !ok || sev != tt.sev || got != tt.want {
			t.Errorf("%s: got %d %q %t\nwant %d %q", tt.e.Kind, sev, got, ok, tt.sev, tt.want)
		}
	}
	if _, _, ok := Line(ports.Event{Kind: "something new"}); ok {
		t.Error("an unknown kind has a line")
	}
}

func TestUsageLine(t *testing.T) {
	if got, want := UsageLine("alice", 1234567*time.Microsecond, 5*time.Microsecond), "USAGE alice user: 1.234567 sys: 0.000005"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// Telemetry writes commands only with debug, USAGE at logout, and hands
// protocol logs to Files.
func TestTelemetryEvents(t *testing.T) {
	path, ch := listen(t)
	tel := New(Options{Service: "imap", Prefix: "cyrus", Facility: -1, Socket: path})
	tel.Event(ports.Event{Kind: "command", Command: "NOOP", Status: "OK"})
	tel.Event(ports.Event{Kind: "logout", User: "alice"})
	got := next(t, ch)
	if !strings.HasPrefix(got, "<181>") || !strings.Contains(got, " cyrus/imap[") ||
		!strings.Contains(got, "]: USAGE alice user: ") || !strings.Contains(got, " sys: ") {
		t.Errorf("first line %q, want the USAGE line (no debug line)", got)
	}
	if tel.SessionLog("alice", "s") != nil {
		t.Error("a protocol log without Files")
	}
	tel = New(Options{Service: "imap", Facility: 2, Socket: path, Debug: true})
	tel.Event(ports.Event{Kind: "command", Command: "NOOP", Status: "OK"})
	if got := next(t, ch); !strings.HasPrefix(got, "<23>") || !strings.Contains(got, " imap[") || !strings.Contains(got, "]: command: NOOP OK") {
		t.Errorf("debug line %q", got)
	}
}

// Without a daemon a line costs no connect while the socket stays away,
// and the first line after the socket is back gets through.
func TestWriterNoDaemon(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	w := NewWriter(path, "imap", 22, 1)
	w.Log(Info, "lost")
	first := w.failed.Load()
	if first == 0 {
		t.Fatal("a failed connect is not remembered")
	}
	w.Log(Info, "lost too")
	if w.failed.Load() != first {
		t.Error("a line while the socket is away tried to connect")
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w.Log(Info, "back")
	buf := make([]byte, 1024)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(buf); err != nil || !strings.HasSuffix(string(buf[:n]), ": back") {
		t.Fatalf("after the daemon came: %q %v", buf[:n], err)
	}
}
