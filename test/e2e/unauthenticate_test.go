package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/imapd-go/imapd/adapters/presence/procdir"
	"github.com/imapd-go/imapd/app"
)

// TestUnauthenticate: RFC 8437. The session goes back to the
// not-authenticated state with nothing of the first user left (selected
// mailbox, ENABLE, the login record), and another user logs in on it.
func TestUnauthenticate(t *testing.T) {
	e := newEnvOpts(t, app.Options{MaxLoginsPerUser: 1})
	e.srv.SetPresence(procdir.New(e.dir, "imap"))
	tc := e.raw()
	// Advertised after login only; before, it is a command of the
	// authenticated state.
	tc.ok("c1 CAPABILITY")
	if strings.Contains(tc.untagged[0], "UNAUTHENTICATE") {
		t.Errorf("UNAUTHENTICATE advertised before login: %q", tc.untagged[0])
	}
	tc.bad("u0 UNAUTHENTICATE")
	tc.ok("l1 LOGIN alice secret")
	tc.ok("c2 CAPABILITY")
	if !strings.Contains(tc.untagged[0], " UNAUTHENTICATE") {
		t.Errorf("UNAUTHENTICATE not advertised after login: %q", tc.untagged[0])
	}
	tc.ok("a1 APPEND INBOX " + literal(testMessage("alice's", "x")))
	tc.ok("e1 ENABLE QRESYNC")
	tc.mustHave("* ENABLED QRESYNC")
	tc.ok("s1 SELECT INBOX")
	tc.mustHave("* 1 EXISTS")
	tc.bad("u1 UNAUTHENTICATE extra")
	ok := tc.ok("u2 UNAUTHENTICATE")
	// The new capabilities come with the OK: the pre-login list.
	if code, _, _ := strings.Cut(ok, "]"); !strings.Contains(code, "AUTH=PLAIN") || strings.Contains(code, "UNAUTHENTICATE") {
		t.Errorf("UNAUTHENTICATE's OK: %q", ok)
	}
	// Not authenticated: no mailbox, no commands of the other states.
	tc.bad("f1 FETCH 1 FLAGS")
	tc.bad("s2 SELECT INBOX")
	tc.bad("u3 UNAUTHENTICATE")
	// The login record went: alice may log in elsewhere up to the
	// limit of one session, which this one no longer counts in.
	other := e.raw()
	other.ok("l2 LOGIN alice secret")
	other.ok("o1 LOGOUT")
	// Another user on the same connection sees only their own.
	tc.ok("l3 LOGIN bob secret")
	tc.ok("s3 SELECT INBOX")
	tc.mustHave("* 0 EXISTS")
	tc.ok("u4 UNAUTHENTICATE")
	// ENABLE starts over.
	tc.ok("l4 LOGIN alice secret")
	tc.ok("e2 ENABLE QRESYNC")
	tc.mustHave("* ENABLED QRESYNC")
	tc.ok("s4 SELECT INBOX")
	tc.mustHave("* 1 EXISTS")
	tc.ok("z1 LOGOUT")
}

// TestUnauthenticateCompressed: COMPRESS stays on across UNAUTHENTICATE
// (the layer is the connection's, not the user's) and AUTHENTICATE works
// through it.
func TestUnauthenticateCompressed(t *testing.T) {
	e := newEnv(t)
	pre := e.rawLogin("alice")
	tc, _ := compressed(t, pre, pre.w)
	tc.ok("u1 UNAUTHENTICATE")
	tc.bad("z1 COMPRESS DEFLATE")
	tc.ok("a1 AUTHENTICATE PLAIN " + b64("\x00bob\x00secret"))
	tc.ok("s1 SELECT INBOX")
	tc.status("z2 COMPRESS DEFLATE", "BAD", "COMPRESSIONACTIVE")
	tc.ok("z3 LOGOUT")
}

// TestUnauthenticateImapclient: go-imap v2 speaks UNAUTHENTICATE; its
// client sees the capability after login, goes back to the
// not-authenticated state, and logs in as another user.
func TestUnauthenticateImapclient(t *testing.T) {
	e := newEnv(t)
	c := e.login("alice", nil)
	appendUID(t, c, "INBOX", "alice's")
	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !caps.Has(imap.CapUnauthenticate) {
		t.Fatalf("no UNAUTHENTICATE in %v", caps)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Unauthenticate().Wait(); err != nil {
		t.Fatalf("UNAUTHENTICATE: %v", err)
	}
	// go-imap's reader goroutine may record the new state just after
	// UNAUTHENTICATE's Wait returns; a NOOP answered after it orders the
	// two (as TestClientLoginFailsWithWrongPassword does for LOGIN).
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if st := c.State(); st != imap.ConnStateNotAuthenticated {
		t.Fatalf("state after UNAUTHENTICATE: %v", st)
	}
	if err := c.Login("bob", testUsers["bob"]).Wait(); err != nil {
		t.Fatalf("LOGIN bob: %v", err)
	}
	data, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if data.NumMessages != 0 {
		t.Errorf("bob's INBOX has %d messages", data.NumMessages)
	}
}

// TestUnauthenticateSessionLog: each user's session log (telemetry) holds
// that user's part of the session only, in clear although the wire is
// compressed.
func TestUnauthenticateSessionLog(t *testing.T) {
	e := newEnv(t)
	for _, u := range []string{"alice", "bob"} {
		if err := os.MkdirAll(filepath.Join(e.dir, "log", u), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	pre := e.rawLogin("alice")
	tc, _ := compressed(t, pre, pre.w)
	tc.ok("a1 SELECT INBOX")
	tc.ok("a2 UNAUTHENTICATE")
	tc.ok("b0 LOGIN bob secret")
	tc.ok(`b1 LIST "" *`)
	tc.ok("b2 LOGOUT")
	tc.expectEOF()
	read := func(u string) string {
		files, _ := filepath.Glob(filepath.Join(e.dir, "log", u, "*"))
		if len(files) != 1 {
			t.Fatalf("%s's session logs: %q", u, files)
		}
		b, err := os.ReadFile(files[0])
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	alice, bob := read("alice"), read("bob")
	if !strings.Contains(alice, "a1 SELECT INBOX\r\n") || strings.Contains(alice, "b1 LIST") {
		t.Errorf("alice's log:\n%s", alice)
	}
	if !strings.Contains(bob, "b1 LIST") || strings.Contains(bob, "a1 SELECT") || !strings.Contains(bob, "* BYE LOGOUT received") {
		t.Errorf("bob's log:\n%s", bob)
	}
}
