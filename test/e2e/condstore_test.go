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

// TestConditionalStore: RFC 7162 3.1.3 UNCHANGEDSINCE, MODIFIED, and a
// silent STORE that still reports MODSEQ.
func TestConditionalStore(t *testing.T) {
	e := newEnv(t)
	a := e.rawLogin("alice")
	b := e.rawLogin("alice")
	for _, s := range []string{"a", "b"} {
		a.ok("s1 APPEND INBOX " + literal(testMessage(s, s)))
	}
	a.ok("s2 SELECT INBOX (CONDSTORE)")
	a.ok("s3 FETCH 1:2 (MODSEQ)")
	m1 := modseqOf(t, a.withPrefix("* 1 FETCH")[0])
	b.ok("s4 SELECT INBOX")
	b.ok("s5 STORE 2 +FLAGS (\\Seen)") // another session changes message 2
	out := a.ok("s6 STORE 1:2 (UNCHANGEDSINCE " + strconv.FormatUint(m1, 10) + ") +FLAGS.SILENT (\\Flagged)")
	if !strings.Contains(out, "[MODIFIED 2]") {
		t.Errorf("tagged answer %q lacks MODIFIED 2", out)
	}
	if got := a.withPrefix("* 1 FETCH (MODSEQ ("); len(got) != 1 {
		t.Errorf("silent conditional STORE: %q", a.untagged)
	}
	a.ok("s7 FETCH 2 (FLAGS)")
	if got := a.withPrefix("* 2 FETCH"); len(got) == 0 || strings.Contains(strings.Join(got, " "), `\Flagged`) {
		t.Errorf("message 2 was changed despite UNCHANGEDSINCE: %q", got)
	}
	if !strings.Contains(a.ok("s9 UID STORE 1 (UNCHANGEDSINCE 0) -FLAGS (\\Flagged)"), "[MODIFIED 1]") {
		t.Errorf("UNCHANGEDSINCE 0 must fail for a message with a mod-sequence")
	}
}
