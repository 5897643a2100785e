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

// TestCondstoreEnablingCommand: every SELECT and EXAMINE reports the
// mailbox's HIGHESTMODSEQ (RFC 7162 3.1.2.1), CONDSTORE enabled or not, so
// the session has the value before its first CONDSTORE enabling command
// (3.1), which repeats nothing; from then on untagged FETCH responses for
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
			if got := highestModSeqs(a); len(got) != 1 || got[0] != want[0] {
				t.Fatalf("plain SELECT: HIGHESTMODSEQ %v in %q, want once %d", got, a.untagged, want[0])
			}
			a.ok("c5 " + cmd)
			if got := highestModSeqs(a); len(got) != 0 {
				t.Errorf("%s: HIGHESTMODSEQ again after SELECT: %q", cmd, a.untagged)
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

// TestSearchModSeqReturned: the MODSEQ of a SEARCH with a MODSEQ criterion
// is that of the messages the answer returns (RFC 4731 3.2, RFC 7162
// 3.1.5): with MIN only the MIN message's, with MAX only the MAX
// message's, with MIN and MAX the higher of the two, with ALL or COUNT
// (or a plain SEARCH) the highest of all matches; no MODSEQ without a
// match.
func TestSearchModSeqReturned(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	for _, s := range []string{"a", "b", "c"} {
		tc.ok("m1 APPEND INBOX " + literal(testMessage(s, s)))
	}
	tc.ok("m2 SELECT INBOX")
	// Message 2 gets the highest mod-sequence, then 1, then 3.
	tc.ok("m3 STORE 1 +FLAGS (\\Flagged)")
	tc.ok("m4 STORE 2 +FLAGS (\\Flagged)")
	tc.ok("m5 FETCH 1:3 (MODSEQ)")
	var ms [4]uint64
	for i := 1; i <= 3; i++ {
		ms[i] = modseqOf(t, tc.withPrefix("* " + itoa(i) + " FETCH")[0])
	}
	if !(ms[2] > ms[1] && ms[1] > ms[3]) {
		t.Fatalf("mod-sequences %v: want 2 > 1 > 3", ms)
	}
	s := func(n uint64) string { return strconv.FormatUint(n, 10) }
	tests := []struct{ cmd, want string }{
		{`SEARCH RETURN (MIN) MODSEQ 1`, `* ESEARCH (TAG "t") MIN 1 MODSEQ ` + s(ms[1])},
		{`SEARCH RETURN (MAX) MODSEQ 1`, `* ESEARCH (TAG "t") MAX 3 MODSEQ ` + s(ms[3])},
		{`SEARCH RETURN (MIN MAX) MODSEQ 1`, `* ESEARCH (TAG "t") MIN 1 MAX 3 MODSEQ ` + s(ms[1])},
		{`SEARCH RETURN (ALL) MODSEQ 1`, `* ESEARCH (TAG "t") ALL 1:3 MODSEQ ` + s(ms[2])},
		{`SEARCH RETURN (COUNT) MODSEQ 1`, `* ESEARCH (TAG "t") COUNT 3 MODSEQ ` + s(ms[2])},
		{`SEARCH RETURN (MIN COUNT) MODSEQ 1`, `* ESEARCH (TAG "t") MIN 1 COUNT 3 MODSEQ ` + s(ms[2])},
		{`SEARCH RETURN () MODSEQ 1`, `* ESEARCH (TAG "t") ALL 1:3 MODSEQ ` + s(ms[2])},
		{`SEARCH RETURN (SAVE MAX) MODSEQ 1`, `* ESEARCH (TAG "t") MAX 3 MODSEQ ` + s(ms[3])},
		{`UID SEARCH RETURN (MAX) MODSEQ 1`, `* ESEARCH (TAG "t") UID MAX 3 MODSEQ ` + s(ms[3])},
		{`UID SEARCH RETURN (MIN) MODSEQ ` + s(ms[1]), `* ESEARCH (TAG "t") UID MIN 1 MODSEQ ` + s(ms[1])},
		{`SEARCH RETURN (MAX) MODSEQ ` + s(ms[1]), `* ESEARCH (TAG "t") MAX 2 MODSEQ ` + s(ms[2])},
		{`SEARCH MODSEQ 1`, `* SEARCH 1 2 3 (MODSEQ ` + s(ms[2]) + `)`},
		{`SEARCH MODSEQ ` + s(ms[1]), `* SEARCH 1 2 (MODSEQ ` + s(ms[2]) + `)`},
		{`UID SEARCH 1,3 MODSEQ 1`, `* SEARCH 1 3 (MODSEQ ` + s(ms[1]) + `)`},
		// No match: no MODSEQ.
		{`SEARCH MODSEQ ` + s(ms[2]+1), `* SEARCH`},
		{`SEARCH RETURN (MIN) MODSEQ ` + s(ms[2]+1), `* ESEARCH (TAG "t")`},
		{`SEARCH RETURN (COUNT) MODSEQ ` + s(ms[2]+1), `* ESEARCH (TAG "t") COUNT 0`},
		// No MODSEQ criterion: no MODSEQ.
		{`SEARCH RETURN (MIN) FLAGGED`, `* ESEARCH (TAG "t") MIN 1`},
		{`SEARCH FLAGGED`, `* SEARCH 1 2`},
	}
	for _, tt := range tests {
		tc.ok("t " + tt.cmd)
		if len(tc.untagged) != 1 || tc.untagged[0] != tt.want {
			t.Errorf("%s: %q, want %q", tt.cmd, tc.untagged, tt.want)
		}
	}
}
