// Package telemetrytest is the contract suite for ports.Telemetry: the
// per-user protocol logs in Cyrus's format, and event lines that name the
// session and that no client can split or forge. An adapter proves it
// conforms by calling Run from its own tests; like test/storetest, the
// suite uses only the port.
package telemetrytest

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapd-go/imapd/ports"
)

// Rig is a telemetry built for the suite and where its output goes.
type Rig struct {
	Telemetry ports.Telemetry
	// Watch starts logging user's sessions, as an administrator does by
	// creating log/<user> in configdirectory.
	Watch func(user string)
	// SessionLogs returns the contents of user's protocol logs.
	SessionLogs func(user string) []string
	// NextLine returns the next line the events wrote (a syslog line, a
	// log record), waiting for it; "" when none came within a few seconds.
	NextLine func() string
}

// Setup builds the adapter, with its output in a fresh place.
type Setup func(t testing.TB) Rig

// Run checks every promise of ports.Telemetry, one subtest per promise.
func Run(t *testing.T, setup Setup) {
	tests := []struct {
		name string
		fn   func(*testing.T, Rig)
	}{
		{"NotWatched", testNotWatched},
		{"SessionLogFormat", testSessionLogFormat},
		{"SessionLogConcurrent", testSessionLogConcurrent},
		{"LoginLines", testLoginLines},
		{"NoForgedLines", testNoForgedLines},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, setup(t)) })
	}
}

// testNotWatched: no protocol log for a user nobody watches, nor for a
// name that is not a plain file name.
func testNotWatched(t *testing.T, r Rig) {
	for _, u := range []string{"carol", "", ".", "..", "../carol", "a/b"} {
		if l := r.Telemetry.SessionLog(u, "s1"); l != nil {
			l.Close()
			t.Errorf("SessionLog(%q) is not nil", u)
		}
	}
}

// header is a protocol log's first two lines for alice: the user and the
// ctime(3) date (day of month padded with a space), then a blank line.
var header = regexp.MustCompile(`^---------- alice [A-Z][a-z]{2} [A-Z][a-z]{2} [ 1-3][0-9] \d\d:\d\d:\d\d \d{4}\n\n`)

// testSessionLogFormat: Cyrus's log/<user>/ format: a header line with the
// user and the ctime(3) date, a blank line, then each direction's bytes
// verbatim after its marker and the Unix time; nothing for empty writes
// or after Close.
func testSessionLogFormat(t *testing.T, r Rig) {
	r.Watch("alice")
	l := r.Telemetry.SessionLog("alice", "s1")
	if l == nil {
		t.Fatal("no protocol log for a watched user")
	}
	before := time.Now().Unix()
	l.Read([]byte("a1 LOGIN alice {6}\r\n"))
	l.Wrote([]byte("+ go ahead\r\n"))
	l.Read(nil)
	l.Read([]byte("secret\r\n"))
	after := time.Now().Unix()
	if err := l.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	l.Wrote([]byte("after close\r\n"))
	logs := r.SessionLogs("alice")
	if len(logs) != 1 {
		t.Fatalf("%d protocol logs, want 1", len(logs))
	}
	got := logs[0]
	m := header.FindString(got)
	if m == "" {
		t.Fatalf("log %q lacks the header", got)
	}
	body := got[len(m):]
	var want []string
	for sec := before; sec <= after; sec++ {
		want = append(want, fmt.Sprintf("<%d<a1 LOGIN alice {6}\r\n>%d>+ go ahead\r\n<%d<secret\r\n", sec, sec, sec))
	}
	for _, w := range want {
		if body == w {
			return
		}
	}
	t.Errorf("log body %q, want %q", body, want[0])
}

// testSessionLogConcurrent: reads and writes come from different
// goroutines; each record stays whole.
func testSessionLogConcurrent(t *testing.T, r Rig) {
	r.Watch("alice")
	l := r.Telemetry.SessionLog("alice", "s1")
	if l == nil {
		t.Fatal("no protocol log for a watched user")
	}
	const n = 50
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for range n {
			l.Read([]byte("a NOOP\r\n"))
		}
	}()
	go func() {
		defer wg.Done()
		for range n {
			l.Wrote([]byte("a OK done\r\n"))
		}
	}()
	wg.Wait()
	l.Close()
	logs := r.SessionLogs("alice")
	if len(logs) != 1 {
		t.Fatalf("%d protocol logs, want 1", len(logs))
	}
	rec := regexp.MustCompile(`^(<\d+<a NOOP\r\n|>\d+>a OK done\r\n)`)
	body := logs[0][len(header.FindString(logs[0])):]
	count := 0
	for body != "" {
		m := rec.FindString(body)
		if m == "" {
			t.Fatalf("broken record at %q", body[:min(len(body), 40)])
		}
		body = body[len(m):]
		count++
	}
	if count != 2*n {
		t.Errorf("%d records, want %d", count, 2*n)
	}
}

// testLoginLines: a login's line names the user and the session, and a
// refused login's line the name the client gave (operators' tools, such
// as fail2ban, count them by it).
func testLoginLines(t *testing.T, r Rig) {
	r.Telemetry.Event(ports.Event{Kind: "login", User: "alice", Host: "client.test [192.0.2.1]", Remote: "192.0.2.1:40000",
		SessionID: "imap-1-2-3", Mech: "plaintext", TLS: true})
	if got := r.NextLine(); !strings.Contains(got, "alice") || !strings.Contains(got, "imap-1-2-3") {
		t.Errorf("login line %q lacks the user or the session id", got)
	}
	r.Telemetry.Event(ports.Event{Kind: "login-failed", User: "mallory", Host: "[192.0.2.9]", Remote: "192.0.2.9:40000",
		SessionID: "imap-1-2-4", Mech: "plaintext"})
	if got := r.NextLine(); !strings.Contains(got, "mallory") || !strings.Contains(got, "192.0.2.9") {
		t.Errorf("failed login line %q lacks the user or the client", got)
	}
}

// testNoForgedLines: a name the client chose (a literal may hold a line
// break) never starts a line of its own: each event is one line.
func testNoForgedLines(t *testing.T, r Rig) {
	forged := "eve\nlogin: [192.0.2.1] root plaintext User logged in"
	r.Telemetry.Event(ports.Event{Kind: "login-failed", User: forged, Host: "[192.0.2.1]", Mech: "plaintext"})
	r.Telemetry.Event(ports.Event{Kind: "login", User: "marker", Host: "[192.0.2.1]", SessionID: "imap-9", Mech: "plaintext"})
	first := r.NextLine()
	if !strings.Contains(first, "eve") {
		t.Errorf("first line %q, want the refused login", first)
	}
	if second := r.NextLine(); !strings.Contains(second, "marker") {
		t.Errorf("a client's user name started a line: %q after %q", second, first)
	}
}
