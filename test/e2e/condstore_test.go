package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var modseqRe = regexp.MustCompile(`MODSEQ \((\d+)\)`)

// modseqOf returns the MODSEQ in a FETCH response line.
func modseqOf(t *testing.T, line string) uint64 {
	t.Helper()
	m := modseqRe.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no MODSEQ in %q", line)
	}
	n, _ := strconv.ParseUint(m[1], 10, 64)
	return n
}

// TestCondstoreQresync walks RFC 7162 as a resynchronising client does.
func TestCondstoreQresync(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	for _, s := range []string{"a", "b", "c"} {
		tc.ok("c1 APPEND INBOX " + literal(testMessage(s, s)))
	}
	tc.bad("c2 SELECT INBOX (QRESYNC (1 1))")
	tc.ok("c3 ENABLE QRESYNC")
	tc.mustHave("* ENABLED QRESYNC")
	tc.ok("c4 SELECT INBOX")
	hms := tc.withPrefix("* OK [HIGHESTMODSEQ ")
	if len(hms) != 1 {
		t.Fatalf("no HIGHESTMODSEQ in %q", tc.untagged)
	}
	uidv := strings.Fields(tc.withPrefix("* OK [UIDVALIDITY ")[0])[3]
	uidv = strings.TrimSuffix(uidv, "]")

	tc.ok("c5 FETCH 1:* (MODSEQ)")
	before := modseqOf(t, tc.withPrefix("* 3 FETCH")[0])

	// STORE answers carry UID and MODSEQ once QRESYNC is on.
	tc.ok("c6 STORE 1 +FLAGS (\\Flagged)")
	line := tc.withPrefix("* 1 FETCH")[0]
	if !strings.Contains(line, "UID 1") || modseqOf(t, line) <= before {
		t.Errorf("STORE response %q", line)
	}
	tc.ok("c7 UID FETCH 1:* (FLAGS) (CHANGEDSINCE " + strconv.FormatUint(before, 10) + ")")
	if got := tc.withPrefix("* "); len(got) != 1 || !strings.HasPrefix(got[0], "* 1 FETCH") {
		t.Errorf("CHANGEDSINCE returned %q", got)
	}
	tc.ok("c8 STORE 2 +FLAGS (\\Deleted)")
	tc.ok("c9 EXPUNGE")
	tc.mustHave("* VANISHED 2")
	tc.mustNotContain("EXPUNGE")

	tc.ok("c10 UID FETCH 1:* (FLAGS) (CHANGEDSINCE " + strconv.FormatUint(before, 10) + " VANISHED)")
	tc.mustHave("* VANISHED (EARLIER) 2")

	tc.ok("c11 STATUS INBOX (HIGHESTMODSEQ)")
	if len(tc.withPrefix(`* STATUS "INBOX" (HIGHESTMODSEQ `)) != 1 {
		t.Errorf("STATUS HIGHESTMODSEQ: %q", tc.untagged)
	}
	tc.ok("c12 SEARCH MODSEQ " + strconv.FormatUint(before+1, 10))
	if got := tc.withPrefix("* SEARCH 1 (MODSEQ "); len(got) != 1 {
		t.Errorf("SEARCH MODSEQ: %q", tc.untagged)
	}

	// A client that last saw "before" resynchronises on SELECT.
	tc.ok("c13 SELECT INBOX (QRESYNC (" + uidv + " " + strconv.FormatUint(before, 10) + " 1:3))")
	tc.mustHave("* OK [CLOSED] Previous mailbox closed", "* VANISHED (EARLIER) 2")
	if got := tc.withPrefix("* 1 FETCH (UID 1 FLAGS (\\Flagged"); len(got) != 1 {
		t.Errorf("QRESYNC flag changes: %q", tc.untagged)
	}
	if got := tc.withPrefix("* 2 FETCH"); len(got) != 0 {
		t.Errorf("unchanged message reported: %q", got)
	}
	// A stale UIDVALIDITY gets no resync data.
	tc.ok("c14 SELECT INBOX (QRESYNC (1 1))")
	tc.mustNotContain("VANISHED")
}

// TestCondstoreUnsolicited: another session's flag change carries MODSEQ
// for a CONDSTORE client.
func TestCondstoreUnsolicited(t *testing.T) {
	e := newEnv(t)
	a := e.rawLogin("alice")
	b := e.rawLogin("alice")
	a.ok("u1 APPEND INBOX " + literal(testMessage("x", "x")))
	a.ok("u2 SELECT INBOX (CONDSTORE)")
	b.ok("u3 SELECT INBOX")
	b.ok("u4 STORE 1 +FLAGS (\\Answered)")
	a.ok("u5 NOOP")
	line := a.withPrefix("* 1 FETCH")
	if len(line) != 1 || !strings.Contains(line[0], "MODSEQ (") || !strings.Contains(line[0], `\Answered`) {
		t.Errorf("unsolicited FETCH %q", a.untagged)
	}
}
