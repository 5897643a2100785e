package e2e

import (
	"strings"
	"testing"
)

// indexOf returns the position of the untagged response s among the last
// command's, -1 when absent. An s ending in "(" stands for any response
// it starts (a FETCH whose flags come in either order).
func (tc *transcript) indexOf(s string) int {
	for i, u := range tc.untagged {
		u, s := unquoteAtoms(u), unquoteAtoms(s)
		if u == s || strings.HasSuffix(s, "(") && strings.HasPrefix(u, s) {
			return i
		}
	}
	return -1
}

// before fails unless the last command's untagged responses hold first and
// then second, in that order (see indexOf).
func (tc *transcript) before(first, second string) {
	tc.t.Helper()
	i, j := tc.indexOf(first), tc.indexOf(second)
	if i < 0 || j < 0 || i > j {
		tc.t.Errorf("want %q before %q in %q", first, second, tc.untagged)
	}
}

// junk marks messages 2, 4 and 6 \Deleted $Junk, the criteria of RFC 5267
// section 4's examples.
func junk(i int) string {
	if i == 2 || i == 4 || i == 6 {
		return `\Deleted $Junk`
	}
	return ""
}

// TestContextSearch walks RFC 5267 section 4.3's examples with two
// sessions on one mailbox: a UID SEARCH with UPDATE, the ADDTO that follows
// messages another session appends (after EXISTS), the REMOVEFROM that
// follows flag changes and expunges (before EXPUNGE), NOUPDATE past the
// limit, tag reuse, and CANCELUPDATE.
func TestContextSearch(t *testing.T) {
	e := newEnv(t)
	a := e.rawLogin("alice")
	b := e.rawLogin("alice")
	a.ok("c0 CAPABILITY")
	if caps := a.withPrefix("* CAPABILITY "); len(caps) != 1 || !strings.Contains(caps[0]+" ", " CONTEXT=SEARCH ") {
		t.Errorf("CAPABILITY lacks CONTEXT=SEARCH: %q", a.untagged)
	}
	fillInbox(a, 8, junk)
	b.ok("s1 SELECT INBOX") // b has the messages as \Recent
	a.ok("s0 SELECT INBOX")

	a.ok("B01 UID SEARCH RETURN (UPDATE COUNT) DELETED KEYWORD $Junk")
	a.mustHave(`* ESEARCH (TAG "B01") UID COUNT 3`)
	// RFC 5267 4.3: a tag in use by an updating context is BAD.
	a.bad("B01 UID SEARCH RETURN (UPDATE) ALL")

	// Another session appends: EXISTS, then ADDTO with the new UIDs.
	b.ok(`b1 APPEND INBOX (\Deleted $Junk) ` + literalPlus(testMessage("j9", "x")))
	b.ok(`b2 APPEND INBOX (\Deleted $Junk) ` + literalPlus(testMessage("j10", "x")))
	b.ok(`b3 APPEND INBOX (\Seen) ` + literalPlus(testMessage("ok11", "x")))
	a.ok("n1 NOOP")
	a.before("* 11 EXISTS", `* ESEARCH (TAG "B01") UID ADDTO (0 9:10)`)
	if got := a.withPrefix("* ESEARCH"); len(got) != 1 {
		t.Errorf("ESEARCH updates %q", got)
	}

	// Flags changed elsewhere: a member leaves, a message joins.
	b.ok(`b4 STORE 4 -FLAGS ($Junk)`)
	b.ok(`b5 STORE 5 +FLAGS (\Deleted $Junk)`)
	a.ok("n2 NOOP")
	a.mustHave("* 4 FETCH (FLAGS (\\Deleted))")
	a.before("* 4 FETCH (", `* ESEARCH (TAG "B01") UID REMOVEFROM (0 4) ADDTO (0 5)`)

	// An expunge elsewhere: REMOVEFROM while the numbers hold, then
	// EXPUNGE (RFC 5267 4.3.4).
	a.ok("B02 SEARCH RETURN (UPDATE) UNSEEN")
	a.mustHave(`* ESEARCH (TAG "B02")`)
	b.ok("b6 EXPUNGE")
	a.ok("n3 NOOP")
	a.before(`* ESEARCH (TAG "B01") UID REMOVEFROM (0 2,5:6,9:10)`, "* 10 EXPUNGE")
	a.before(`* ESEARCH (TAG "B02") REMOVEFROM (0 2,4:6,9:10)`, "* 10 EXPUNGE")
	if n := len(a.withPrefix("* ESEARCH")); n != 2 {
		t.Errorf("ESEARCH updates %q", a.untagged)
	}

	// The session's own STORE and EXPUNGE update its contexts as well.
	a.ok(`o1 STORE 1 +FLAGS (\Deleted $Junk \Seen)`)
	a.before("* 1 FETCH (", `* ESEARCH (TAG "B01") UID ADDTO (0 1)`)
	a.mustHave(`* ESEARCH (TAG "B02") REMOVEFROM (0 1)`)
	a.ok("o2 EXPUNGE")
	a.before(`* ESEARCH (TAG "B01") UID REMOVEFROM (0 1)`, "* 1 EXPUNGE")
	// Message numbers of a SEARCH context follow the renumbering.
	b.ok(`b7 APPEND INBOX ` + literalPlus(testMessage("new", "x")))
	a.ok("n4 NOOP")
	a.before("* 5 EXISTS", `* ESEARCH (TAG "B02") ADDTO (0 5)`)

	// RFC 5267 4.3.1: past the limit, NOUPDATE, and the other options
	// are still answered.
	for i := 0; i < 8; i++ {
		a.ok("L" + itoa(i) + " SEARCH RETURN (UPDATE) ALL")
	}
	a.ok("L9 UID SEARCH RETURN (UPDATE COUNT) ALL")
	a.mustHave(`* NO [NOUPDATE "L9"] Too many contexts`, `* ESEARCH (TAG "L9") UID COUNT 5`)

	// CANCELUPDATE stops them; an unknown tag is BAD and cancels nothing.
	a.bad(`x1 CANCELUPDATE "B01" "nosuch"`)
	cancel := `x2 CANCELUPDATE "B02"`
	for i := 0; i < 8; i++ {
		cancel += ` "L` + itoa(i) + `"`
	}
	a.ok(cancel)
	b.ok(`b8 APPEND INBOX (\Deleted $Junk) ` + literalPlus(testMessage("j", "x")))
	a.ok("n5 NOOP")
	a.mustHave(`* ESEARCH (TAG "B01") UID ADDTO (0 13)`)
	a.ok(`x3 CANCELUPDATE "B01"`)
	b.ok(`b9 APPEND INBOX (\Deleted $Junk) ` + literalPlus(testMessage("j", "x")))
	a.ok("n6 NOOP")
	a.mustNotContain("ESEARCH")
	a.bad(`x4 CANCELUPDATE "B01"`)

	// A context ends with its mailbox (RFC 5267 4.3).
	a.ok("B03 UID SEARCH RETURN (UPDATE) ALL")
	a.ok("s2 SELECT INBOX")
	b.ok(`b10 APPEND INBOX ` + literalPlus(testMessage("j", "x")))
	a.ok("n7 NOOP")
	a.mustNotContain("ESEARCH")
	a.ok("B03 UID SEARCH RETURN (UPDATE MIN) ALL") // the tag is free again
	a.ok("u1 UNSELECT")
	a.bad(`x5 CANCELUPDATE "B03"`)
}

// TestContextSearchIdle: ADDTO and REMOVEFROM reach a client in IDLE (RFC
// 5267 4.3.2), with UPDATE beside PARTIAL notifying about every result
// (RFC 9394 section 3.1).
func TestContextSearchIdle(t *testing.T) {
	e := newEnv(t)
	a := e.rawLogin("alice")
	b := e.rawLogin("alice")
	fillInbox(a, 5, func(int) string { return "" })
	a.ok("s0 SELECT INBOX")
	b.ok("s1 SELECT INBOX")
	a.ok("C01 UID SEARCH RETURN (PARTIAL -1:-2 UPDATE) UNFLAGGED")
	a.mustHave(`* ESEARCH (TAG "C01") UID PARTIAL (-1:-2 4:5)`)
	a.send("i1 IDLE\r\n")
	a.expect("+ ")
	b.ok(`b1 STORE 1 +FLAGS (\Flagged)`)
	waitFor(a, "* 1 FETCH")
	if got := waitFor(a, "* ESEARCH"); got != `* ESEARCH (TAG "C01") UID REMOVEFROM (0 1)` {
		t.Errorf("in IDLE: %q", got)
	}
	b.ok(`b2 APPEND INBOX ` + literalPlus(testMessage("n", "x")))
	waitFor(a, "* 6 EXISTS")
	if got := waitFor(a, "* ESEARCH"); got != `* ESEARCH (TAG "C01") UID ADDTO (0 6)` {
		t.Errorf("in IDLE: %q", got)
	}
	a.send("DONE\r\n")
	a.finish("i1")
}

// TestContextSearchProcesses: a context in one imapd process follows
// what a session in another process appends, flags and expunges.
func TestContextSearchProcesses(t *testing.T) {
	bins := buildBinaries(t)
	conf := newProcessConfig(t, []string{"store: " + e2eStore()})
	a := startImapd(t, bins, conf)
	b := startImapd(t, bins, conf)
	a.ok("a1 LOGIN alice secret")
	b.ok("b1 LOGIN alice secret")
	b.ok(`b2 APPEND INBOX (\Seen) ` + literal(testMessage("first", "one")))
	b.ok(`b3 APPEND INBOX ` + literal(testMessage("second", "two")))
	a.ok("a2 SELECT INBOX (CONDSTORE)")
	a.ok("D01 SEARCH RETURN (UPDATE ALL) UNSEEN")
	a.mustHave(`* ESEARCH (TAG "D01") ALL 2`)
	a.ok("D02 UID SEARCH RETURN (UPDATE COUNT) SEEN")
	a.mustHave(`* ESEARCH (TAG "D02") UID COUNT 1`)

	b.ok(`b4 APPEND INBOX ` + literal(testMessage("third", "three")))
	b.ok("b5 SELECT INBOX")
	b.ok(`b6 STORE 2 +FLAGS (\Seen)`)
	a.ok("a3 NOOP")
	a.before("* 3 EXISTS", `* ESEARCH (TAG "D01") REMOVEFROM (0 2) ADDTO (0 3)`)
	a.mustHave(`* ESEARCH (TAG "D02") UID ADDTO (0 2)`)

	b.ok(`b7 STORE 1 +FLAGS (\Deleted)`)
	b.ok("b8 EXPUNGE")
	a.ok("a4 NOOP")
	a.before(`* ESEARCH (TAG "D02") UID REMOVEFROM (0 1)`, "* 1 EXPUNGE")
	if n := len(a.withPrefix("* ESEARCH")); n != 1 {
		t.Errorf("ESEARCH updates %q", a.untagged)
	}
	a.ok(`a5 CANCELUPDATE "D01" "D02"`)
	b.ok("b9 LOGOUT")
	a.ok("a6 LOGOUT")
}

// TestContextSearchSeqCriteria: a context whose criteria name message
// numbers follows the renumbering an expunge brings: the message that
// moves into the set joins the result.
func TestContextSearchSeqCriteria(t *testing.T) {
	e := newEnv(t)
	a := e.rawLogin("alice")
	fillInbox(a, 4, func(int) string { return "" })
	a.ok("s0 SELECT INBOX")
	a.ok("E01 UID SEARCH RETURN (UPDATE ALL) 1:2")
	a.mustHave(`* ESEARCH (TAG "E01") UID ALL 1:2`)
	a.ok(`e1 STORE 1 +FLAGS.SILENT (\Deleted)`)
	a.ok("e2 EXPUNGE")
	a.before(`* ESEARCH (TAG "E01") UID REMOVEFROM (0 1)`, "* 1 EXPUNGE")
	a.before("* 1 EXPUNGE", `* ESEARCH (TAG "E01") UID ADDTO (0 3)`)
}
