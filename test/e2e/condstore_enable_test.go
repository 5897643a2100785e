package e2e

import (
	"strconv"
	"strings"
	"testing"
)

// highestModSeqs returns the values of the "* OK [HIGHESTMODSEQ n]"
// responses of the last command.
func highestModSeqs(tc *transcript) []uint64 {
	var out []uint64
	for _, u := range tc.withPrefix("* OK [HIGHESTMODSEQ ") {
		f := strings.TrimSuffix(strings.Fields(u)[3], "]")
		n, _ := strconv.ParseUint(f, 10, 64)
		out = append(out, n)
	}
	return out
}

// TestCondstoreEnablingCommand: the first CONDSTORE enabling command of a
// session (RFC 7162 3.1) issued while a mailbox is selected gets the
// mailbox's HIGHESTMODSEQ as an untagged OK before its tagged OK, once,
// when SELECT did not report it; from then on untagged FETCH responses for
// flag changes carry MODSEQ.
func TestCondstoreEnablingCommand(t *testing.T) {
	for _, cmd := range []string{
		"FETCH 1 (MODSEQ)",
		"UID FETCH 1:* (MODSEQ)",
		"FETCH 1:* (FLAGS) (CHANGEDSINCE 1)",
		"SEARCH MODSEQ 1",
		"UID SEARCH RETURN (MIN) MODSEQ 1",
		"STORE 1 (UNCHANGEDSINCE 100000) +FLAGS.SILENT ($Work)",
		"STATUS INBOX (HIGHESTMODSEQ)",
		"STATUS Other (HIGHESTMODSEQ)",
	} {
		t.Run(cmd, func(t *testing.T) {
			e := newEnv(t)
			a := e.rawLogin("alice")
			a.t = t
			b := e.rawLogin("alice")
			b.t = t
			a.ok("c1 CREATE Other")
			for _, s := range []string{"a", "b"} {
				a.ok("c2 APPEND INBOX " + literal(testMessage(s, s)))
			}
			b.ok("c3 SELECT INBOX (CONDSTORE)")
			want := highestModSeqs(b)
			if len(want) != 1 {
				t.Fatalf("SELECT (CONDSTORE): %q", b.untagged)
			}

			a.ok("c4 SELECT INBOX")
			if got := highestModSeqs(a); len(got) != 0 {
				t.Fatalf("plain SELECT reported HIGHESTMODSEQ: %q", a.untagged)
			}
			a.ok("c5 " + cmd)
			if got := highestModSeqs(a); len(got) != 1 || got[0] != want[0] {
				t.Errorf("%s: HIGHESTMODSEQ %v in %q, want once %d", cmd, got, a.untagged, want[0])
			}
			a.ok("c6 " + cmd)
			if got := highestModSeqs(a); len(got) != 0 {
				t.Errorf("%s again: HIGHESTMODSEQ sent again: %q", cmd, a.untagged)
			}

			// From now on flag changes carry MODSEQ, this session's own
			// and another's.
			a.ok("c7 STORE 1 +FLAGS (\\Flagged)")
			if got := a.withPrefix("* 1 FETCH ("); len(got) != 1 || !strings.Contains(got[0], "MODSEQ (") {
				t.Errorf("STORE after %s: %q", cmd, a.untagged)
			}
			b.ok("c8 STORE 2 +FLAGS (\\Answered)")
			a.ok("c9 NOOP")
			if got := a.withPrefix("* 2 FETCH ("); len(got) != 1 || !strings.Contains(got[0], "MODSEQ (") {
				t.Errorf("another session's change after %s: %q", cmd, a.untagged)
			}

			// A later SELECT reports HIGHESTMODSEQ itself, and the next
			// enabling command adds nothing.
			a.ok("c10 SELECT INBOX")
			if got := highestModSeqs(a); len(got) != 1 {
				t.Errorf("SELECT after %s: %q", cmd, a.untagged)
			}
			a.ok("c11 FETCH 1 (MODSEQ)")
			if got := highestModSeqs(a); len(got) != 0 {
				t.Errorf("FETCH MODSEQ after SELECT: %q", a.untagged)
			}
		})
	}
}

// TestCondstoreEnabledBeforeSelect: an enabling command with no mailbox
// selected sends no HIGHESTMODSEQ, and the next SELECT reports it (RFC 7162
// 3.1.2.1); SELECT (CONDSTORE) reports it and later enabling commands do
// not repeat it.
func TestCondstoreEnabledBeforeSelect(t *testing.T) {
	e := newEnv(t)
	a := e.rawLogin("alice")
	a.ok("e1 APPEND INBOX " + literal(testMessage("a", "a")))
	a.ok("e2 STATUS INBOX (HIGHESTMODSEQ)")
	if got := highestModSeqs(a); len(got) != 0 {
		t.Errorf("STATUS unselected: %q", a.untagged)
	}
	a.ok("e3 EXAMINE INBOX")
	if got := highestModSeqs(a); len(got) != 1 {
		t.Errorf("EXAMINE after STATUS (HIGHESTMODSEQ): %q", a.untagged)
	}

	c := e.rawLogin("alice")
	c.ok("e4 SELECT INBOX (CONDSTORE)")
	if got := highestModSeqs(c); len(got) != 1 {
		t.Errorf("SELECT (CONDSTORE): %q", c.untagged)
	}
	c.ok("e5 FETCH 1 (MODSEQ)")
	c.ok("e6 SEARCH MODSEQ 1")
	if got := highestModSeqs(c); len(got) != 0 {
		t.Errorf("enabling command after SELECT (CONDSTORE): %q", c.untagged)
	}
}
