package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestIdleAcrossProcesses: a session IDLE in one imapd process sees, within
// a second or so, what a session in another process appends, flags and
// expunges (RFC 2177), on each store backend.
func TestIdleAcrossProcesses(t *testing.T) {
	bins := buildBinaries(t)
	for _, store := range []string{e2eStore()} {
		t.Run(store, func(t *testing.T) {
			conf := newProcessConfig(t, []string{"store: " + store})
			a := startImapd(t, bins, conf)
			b := startImapd(t, bins, conf)
			a.ok("a1 LOGIN alice secret")
			b.ok("b1 LOGIN alice secret")
			b.ok("b2 APPEND INBOX " + literal(testMessage("first", "one")))
			a.ok("a2 SELECT INBOX")
			a.mustHave("* 1 EXISTS")
			a.send("a3 IDLE\r\n")
			a.expect("+ ")

			start := time.Now()
			b.ok("b3 APPEND INBOX " + literal(testMessage("second", "two")))
			waitFor(a.transcript, "* 2 EXISTS")
			t.Logf("%s: EXISTS seen %v after the APPEND answered", store, time.Since(start))

			b.ok("b4 SELECT INBOX")
			b.ok("b5 STORE 1 +FLAGS (\\Flagged)")
			line := waitFor(a.transcript, "* 1 FETCH (")
			if !strings.Contains(line, `\Flagged`) {
				t.Errorf("flag update %q lacks \\Flagged", line)
			}
			b.ok("b6 STORE 2 +FLAGS (\\Deleted)")
			waitFor(a.transcript, "* 2 FETCH (")
			b.ok("b7 EXPUNGE")
			waitFor(a.transcript, "* 2 EXPUNGE")

			a.send("DONE\r\n")
			a.expect("a3 OK")
			a.ok("a4 NOOP")
			a.ok("a5 LOGOUT")
			b.ok("b8 LOGOUT")
		})
	}
}

// TestIdleRaw covers the protocol edges of IDLE in one process: IDLE in
// the authenticated state, a line other than DONE, and the session going on.
func TestIdleRaw(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.send("i1 IDLE\r\n")
	tc.expect("+ ")
	tc.send("DONE\r\n")
	tc.expect("i1 OK")
	tc.ok("i2 SELECT INBOX")
	tc.send("i3 IDLE\r\n")
	tc.expect("+ ")
	tc.send("NOT DONE\r\n")
	tc.expect("i3 BAD")
	tc.ok("i4 NOOP")
}

// waitFor reads untagged lines until one starts with prefix (the server may
// send others first, such as RECENT after EXISTS).
func waitFor(tc *transcript, prefix string) string {
	tc.t.Helper()
	for i := 0; i < 20; i++ {
		line := tc.next()
		if strings.HasPrefix(line, prefix) {
			return line
		}
		if !strings.HasPrefix(line, "* ") {
			tc.t.Fatalf("got %q while waiting for %q", line, prefix)
		}
	}
	tc.t.Fatalf("no %q in 20 lines", prefix)
	return ""
}
