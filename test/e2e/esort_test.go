package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// In sortMailbox (sort_test.go), SORT (DATE) is 5 2 4 3 1 (UIDs 6 3 5 4
// 2: UIDs are message numbers plus one) and SORT (CC) is 1 3 4 5 2.

// TestESort: the extended SORT of RFC 5267 section 3 answers its RETURN
// options with one ESEARCH response: MIN and MAX are the first and last
// messages in sort order, ALL lists them in that order with only
// ascending runs folded into ranges (section 3.2), PARTIAL pages through
// the sorted result (RFC 9394), SAVE keeps what was returned for "$" (RFC
// 5182), and MODSEQ is the highest of the messages returned (RFC 7162
// 3.1.5). Without RETURN, SORT answers as RFC 5256 says.
func TestESort(t *testing.T) {
	_, tc := sortMailbox(t)
	tc.ok("c0 CAPABILITY")
	if caps := tc.withPrefix("* CAPABILITY "); len(caps) != 1 || !strings.Contains(caps[0]+" ", " ESORT ") {
		t.Errorf("CAPABILITY lacks ESORT: %q", tc.untagged)
	}
	for _, c := range []struct{ cmd, want string }{
		{"a1 SORT RETURN (MIN MAX ALL COUNT) (DATE) UTF-8 ALL", `* ESEARCH (TAG "a1") MIN 5 MAX 1 ALL 5,2,4,3,1 COUNT 5`},
		{"a2 UID SORT RETURN (MIN MAX ALL COUNT) (DATE) UTF-8 ALL", `* ESEARCH (TAG "a2") UID MIN 6 MAX 2 ALL 6,3,5,4,2 COUNT 5`},
		// Section 3.2: "1,3:5,2", never a descending range.
		{"a3 SORT RETURN (ALL) (CC) UTF-8 ALL", `* ESEARCH (TAG "a3") ALL 1,3:5,2`},
		{"a4 UID SORT RETURN (ALL) (REVERSE CC) UTF-8 ALL", `* ESEARCH (TAG "a4") UID ALL 3,2,4:6`},
		{"a5 SORT RETURN (ALL) (ARRIVAL) UTF-8 ALL", `* ESEARCH (TAG "a5") ALL 4,1,3,2,5`},
		// RFC 4731 3.1: RETURN () is RETURN (ALL).
		{"a6 SORT RETURN () (DATE) UTF-8 SUBJECT banana", `* ESEARCH (TAG "a6") ALL 3,1`},
		{"a7 SORT RETURN (COUNT) (DATE) UTF-8 NOT SUBJECT banana", `* ESEARCH (TAG "a7") COUNT 3`},
		{"a8 SORT RETURN (MIN) (REVERSE DATE) UTF-8 2:4", `* ESEARCH (TAG "a8") MIN 3`},
		// Nothing matches: only COUNT has something to say.
		{"a9 SORT RETURN (MIN MAX ALL COUNT) (DATE) UTF-8 SUBJECT nothing-like-this", `* ESEARCH (TAG "a9") COUNT 0`},
		{"b1 UID SORT RETURN (MIN) (DATE) UTF-8 SUBJECT nothing-like-this", `* ESEARCH (TAG "b1") UID`},
		// RFC 9394: pages of the sorted result, from the first or the last.
		{"p1 SORT RETURN (PARTIAL 1:2) (DATE) UTF-8 ALL", `* ESEARCH (TAG "p1") PARTIAL (1:2 5,2)`},
		{"p2 SORT RETURN (PARTIAL 3:4 COUNT) (DATE) UTF-8 ALL", `* ESEARCH (TAG "p2") PARTIAL (3:4 4,3) COUNT 5`},
		{"p3 UID SORT RETURN (PARTIAL -1:-2) (DATE) UTF-8 ALL", `* ESEARCH (TAG "p3") UID PARTIAL (-1:-2 4,2)`},
		{"p4 SORT RETURN (PARTIAL -3:-1) (DATE) UTF-8 ALL", `* ESEARCH (TAG "p4") PARTIAL (-1:-3 4,3,1)`},
		{"p5 SORT RETURN (PARTIAL 4:10) (DATE) UTF-8 ALL", `* ESEARCH (TAG "p5") PARTIAL (4:10 3,1)`},
		{"p6 SORT RETURN (PARTIAL 6:9) (DATE) UTF-8 ALL", `* ESEARCH (TAG "p6") PARTIAL (6:9 NIL)`},
		{"p7 SORT RETURN (PARTIAL -10:-6) (DATE) UTF-8 ALL", `* ESEARCH (TAG "p7") PARTIAL (-6:-10 NIL)`},
		{"p8 SORT RETURN (PARTIAL 2:1 MIN MAX) (CC) UTF-8 ALL", `* ESEARCH (TAG "p8") MIN 1 MAX 2 PARTIAL (1:2 1,3)`},
		// Without RETURN: RFC 5256's SORT response.
		{"s1 SORT (DATE) UTF-8 ALL", "* SORT 5 2 4 3 1"},
	} {
		tc.ok(c.cmd)
		if got := tc.withPrefix("* "); len(got) != 1 || got[0] != c.want {
			t.Errorf("%s: got %q, want %q", c.cmd, got, c.want)
		}
	}

	// SAVE: "$" holds the messages returned (MIN alone: the first in
	// sort order), and SAVE alone sends no ESEARCH (RFC 5182 2.4).
	tc.ok("v1 SORT RETURN (SAVE) (REVERSE DATE) UTF-8 SUBJECT banana")
	tc.mustNotContain("ESEARCH")
	tc.ok("v2 SEARCH $")
	tc.mustHave("* SEARCH 1 3")
	tc.ok("v3 SORT RETURN (SAVE MIN) (DATE) UTF-8 ALL")
	tc.mustHave(`* ESEARCH (TAG "v3") MIN 5`)
	tc.ok("v4 UID SEARCH $")
	tc.mustHave("* SEARCH 6")
	tc.ok("v5 UID SORT RETURN (SAVE PARTIAL -1:-2) (DATE) UTF-8 ALL")
	tc.ok("v6 SEARCH $")
	tc.mustHave("* SEARCH 1 3")
	// "$" as the criteria of an extended SORT.
	tc.ok("v7 SORT RETURN (ALL) (REVERSE DATE) UTF-8 $")
	tc.mustHave(`* ESEARCH (TAG "v7") ALL 1,3`)

	// RFC 5267 section 3 with RFC 7162 3.1.5: MODSEQ is the highest
	// mod-sequence of the messages returned (here, of MIN's alone).
	tc.ok(`m1 STORE 5 +FLAGS (\Flagged)`)
	tc.ok("m2 FETCH 1:5 (MODSEQ)")
	m5 := regexp.MustCompile(`^\* 5 FETCH \(MODSEQ \((\d+)\)\)$`)
	var top string
	for _, u := range tc.untagged {
		if m := m5.FindStringSubmatch(u); m != nil {
			top = m[1]
		}
	}
	if top == "" {
		t.Fatalf("no MODSEQ of message 5 in %q", tc.untagged)
	}
	tc.ok("m3 SORT RETURN (MIN) (DATE) UTF-8 MODSEQ 1")
	tc.mustHave(`* ESEARCH (TAG "m3") MIN 5 MODSEQ ` + top)
	tc.ok("m4 SORT RETURN (MAX) (DATE) UTF-8 MODSEQ 1")
	if got := tc.withPrefix("* ESEARCH"); len(got) != 1 || !strings.HasPrefix(got[0], `* ESEARCH (TAG "m4") MAX 1 MODSEQ `) || strings.HasSuffix(got[0], " "+top) {
		t.Errorf("MAX with MODSEQ: %q (message 5's is %s)", got, top)
	}
	tc.ok("m5 UID SORT RETURN (COUNT) (DATE) UTF-8 MODSEQ 1")
	tc.mustHave(`* ESEARCH (TAG "m5") UID COUNT 5 MODSEQ ` + top)
	tc.ok("m6 SORT (DATE) UTF-8 MODSEQ 1")
	tc.mustHave("* SORT 5 2 4 3 1 (MODSEQ " + top + ")")

	// Malformed RETURN options are BAD; a charset we lack is NO.
	for _, cmd := range []string{
		"e1 SORT RETURN (FOO) (DATE) UTF-8 ALL",
		"e2 SORT RETURN (MIN) UTF-8 ALL",
		"e3 SORT RETURN (PARTIAL 0:1) (DATE) UTF-8 ALL",
		"e4 SORT RETURN (PARTIAL 1:2 ALL) (DATE) UTF-8 ALL",
		"e5 UID SORT RETURN MIN (DATE) UTF-8 ALL",
		"e6 SORT RETURN (PARTIAL 1:2 PARTIAL 3:4) (DATE) UTF-8 ALL",
		"e7 SORT RETURN (MIN) (DATE) UTF-8",
	} {
		tc.bad(cmd)
	}
	tc.no("e8 SORT RETURN (MIN) (DATE) KOI8-R ALL", "BADCHARSET")
	tc.ok("u1 UNSELECT")
	tc.bad("e9 SORT RETURN (MIN) (DATE) UTF-8 ALL") // no mailbox selected
}

// TestContextSort: a SORT with RETURN (UPDATE) keeps its sorted result
// (RFC 5267 section 4.3, CONTEXT=SORT) and tells, by position in it, of
// the messages that another session's APPEND, STORE and EXPUNGE bring in
// or take out: ADDTO after EXISTS, REMOVEFROM before EXPUNGE. The
// session's own changes count too; CANCELUPDATE ends the updates.
func TestContextSort(t *testing.T) {
	e, a := sortMailbox(t)
	a.ok("c0 CAPABILITY")
	if caps := a.withPrefix("* CAPABILITY "); len(caps) != 1 || !strings.Contains(caps[0]+" ", " CONTEXT=SORT ") {
		t.Errorf("CAPABILITY lacks CONTEXT=SORT: %q", a.untagged)
	}
	b := e.rawLogin("alice")
	b.ok("b0 SELECT INBOX")

	a.ok("C01 UID SORT RETURN (UPDATE ALL) (DATE) UTF-8 UNFLAGGED")
	a.mustHave(`* ESEARCH (TAG "C01") UID ALL 6,3,5,4,2`)
	a.ok("C02 SORT RETURN (UPDATE COUNT) (REVERSE DATE) UTF-8 ALL")
	a.mustHave(`* ESEARCH (TAG "C02") COUNT 5`)
	a.bad("C01 SORT RETURN (UPDATE) (DATE) UTF-8 ALL") // the tag names a context

	// Dated 2 January: second by DATE, fifth by REVERSE DATE.
	b.ok("b1 APPEND INBOX " + literalPlus(sortMail("new", "n@x.example", "", "", "Tue, 2 Jan 2024 10:00:00 +0000", "<n1@x>", "", 50)))
	a.ok("n1 NOOP")
	a.before("* 6 EXISTS", `* ESEARCH (TAG "C01") UID ADDTO (2 7)`)
	a.before("* 6 EXISTS", `* ESEARCH (TAG "C02") ADDTO (5 6)`)

	// UID 5 (message 4) is flagged: it leaves C01 at its place, 4th.
	b.ok(`b2 STORE 4 +FLAGS (\Flagged)`)
	a.ok("n2 NOOP")
	a.before("* 4 FETCH (", `* ESEARCH (TAG "C01") UID REMOVEFROM (4 5)`)
	a.mustNotContain(`(TAG "C02")`)

	// UID 3 (message 2, 3rd in C01, 4th in C02) is expunged: REMOVEFROM
	// while its number is valid, then EXPUNGE.
	b.ok(`b3 STORE 2 +FLAGS.SILENT (\Deleted)`)
	b.ok("b4 EXPUNGE")
	a.ok("n3 NOOP")
	a.before(`* ESEARCH (TAG "C01") UID REMOVEFROM (3 3)`, "* 2 EXPUNGE")
	a.before(`* ESEARCH (TAG "C02") REMOVEFROM (4 2)`, "* 2 EXPUNGE")

	// Unflagged again, UID 5 comes back between UIDs 7 and 4.
	b.ok(`b5 UID STORE 5 -FLAGS (\Flagged)`)
	a.ok("n4 NOOP")
	a.mustHave(`* ESEARCH (TAG "C01") UID ADDTO (3 5)`)

	// The session's own changes: a flag, then an expunge of two members
	// side by side (UIDs 6 and 7, messages 4 and 5, C02's last two:
	// UID 7 at 4th, then UID 6 at 4th once UID 7 is gone).
	a.ok(`o1 UID STORE 6:7 +FLAGS (\Flagged \Deleted)`)
	a.mustHave(`* ESEARCH (TAG "C01") UID REMOVEFROM (1 6:7)`)
	a.ok("o2 EXPUNGE")
	a.before(`* ESEARCH (TAG "C02") REMOVEFROM (4 5,4)`, "* 5 EXPUNGE")
	a.mustNotContain(`(TAG "C01")`)
	a.ok("f1 UID SORT RETURN (ALL) (DATE) UTF-8 UNFLAGGED")
	a.mustHave(`* ESEARCH (TAG "f1") UID ALL 5,4,2`)

	// Several at once: two appended (dated first and last by DATE).
	b.ok("b6 APPEND INBOX " + literalPlus(sortMail("early", "e@x.example", "", "", "Sun, 31 Dec 2023 10:00:00 +0000", "<e1@x>", "", 50)))
	b.ok("b7 APPEND INBOX " + literalPlus(sortMail("late", "l@x.example", "", "", "Sat, 6 Jan 2024 10:00:00 +0000", "<l1@x>", "", 50)))
	a.ok("n5 NOOP")
	a.mustHave(`* ESEARCH (TAG "C01") UID ADDTO (1 8) ADDTO (5 9)`)
	a.mustHave(`* ESEARCH (TAG "C02") ADDTO (1 5) ADDTO (5 4)`)

	a.ok(`x1 CANCELUPDATE "C01" "C02"`)
	b.ok("b8 APPEND INBOX " + literalPlus(sortMail("later", "l@x.example", "", "", "", "<l2@x>", "", 50)))
	a.ok("n6 NOOP")
	a.mustNotContain("ESEARCH")
	a.bad(`x2 CANCELUPDATE "C01"`)
}

// TestContextSortIdle: positional updates reach a client in IDLE, and
// UPDATE beside PARTIAL reports on the whole result (RFC 9394 3.1).
func TestContextSortIdle(t *testing.T) {
	e, a := sortMailbox(t)
	b := e.rawLogin("alice")
	b.ok("b0 SELECT INBOX")
	a.ok("C01 UID SORT RETURN (PARTIAL 1:2 UPDATE) (SUBJECT) UTF-8 UNSEEN")
	a.mustHave(`* ESEARCH (TAG "C01") UID PARTIAL (1:2 3,5)`)
	a.send("i1 IDLE\r\n")
	a.expect("+ ")
	b.ok(`b1 STORE 3 +FLAGS (\Seen)`) // UID 4, "banana", 4th by SUBJECT
	waitFor(a, "* 3 FETCH")
	if got := waitFor(a, "* ESEARCH"); got != `* ESEARCH (TAG "C01") UID REMOVEFROM (4 4)` {
		t.Errorf("in IDLE: %q", got)
	}
	b.ok("b2 APPEND INBOX " + literalPlus(sortMail("Apple pie", "p@x.example", "", "", "", "<p1@x>", "", 50)))
	waitFor(a, "* 6 EXISTS")
	if got := waitFor(a, "* ESEARCH"); got != `* ESEARCH (TAG "C01") UID ADDTO (3 7)` {
		t.Errorf("in IDLE: %q", got)
	}
	a.send("DONE\r\n")
	a.finish("i1")
}

// TestContextSortProcesses: a SORT context in one imapd process follows
// what a session in another process appends, flags and expunges.
func TestContextSortProcesses(t *testing.T) {
	bins := buildBinaries(t)
	conf := newProcessConfig(t, []string{"store: " + e2eStore()})
	a := startImapd(t, bins, conf)
	b := startImapd(t, bins, conf)
	a.ok("a1 LOGIN alice secret")
	b.ok("b1 LOGIN alice secret")
	b.ok(`b2 APPEND INBOX ` + literal(sortMail("bravo", "x@x.example", "", "", "", "<1@x>", "", 10)))
	b.ok(`b3 APPEND INBOX ` + literal(sortMail("delta", "x@x.example", "", "", "", "<2@x>", "", 10)))
	a.ok("a2 SELECT INBOX")
	a.ok("D01 SORT RETURN (UPDATE ALL) (SUBJECT) UTF-8 UNSEEN")
	a.mustHave(`* ESEARCH (TAG "D01") ALL 1:2`)

	b.ok(`b4 APPEND INBOX ` + literal(sortMail("charlie", "x@x.example", "", "", "", "<3@x>", "", 10)))
	b.ok(`b5 APPEND INBOX ` + literal(sortMail("alpha", "x@x.example", "", "", "", "<4@x>", "", 10)))
	a.ok("a3 NOOP")
	a.before("* 4 EXISTS", `* ESEARCH (TAG "D01") ADDTO (1 4) ADDTO (3 3)`)

	b.ok("b6 SELECT INBOX")
	b.ok(`b7 STORE 1 +FLAGS (\Seen)`)
	a.ok("a4 NOOP")
	a.mustHave(`* ESEARCH (TAG "D01") REMOVEFROM (2 1)`)
	b.ok(`b8 STORE 3 +FLAGS (\Deleted)`)
	b.ok("b9 EXPUNGE")
	a.ok("a5 NOOP")
	a.before(`* ESEARCH (TAG "D01") REMOVEFROM (2 3)`, "* 3 EXPUNGE")
	a.ok("a6 SORT RETURN (ALL) (SUBJECT) UTF-8 UNSEEN")
	a.mustHave(`* ESEARCH (TAG "a6") ALL 3,2`)
	a.ok(`a7 CANCELUPDATE "D01"`)
	b.ok("b10 LOGOUT")
	a.ok("a8 LOGOUT")
}

// TestContextSortLimit: SORT and SEARCH contexts share the session's
// limit; past it, a SORT with UPDATE gets NOUPDATE and its other return
// options are still answered (RFC 5267 4.3.1).
func TestContextSortLimit(t *testing.T) {
	_, tc := sortMailbox(t)
	for i := 0; i < 5; i++ {
		tc.ok("S" + itoa(i) + " SEARCH RETURN (UPDATE) ALL")
		tc.ok("T" + itoa(i) + " SORT RETURN (UPDATE) (DATE) UTF-8 ALL")
	}
	tc.ok("U1 UID SORT RETURN (UPDATE MIN COUNT) (DATE) UTF-8 ALL")
	tc.mustHave(`* NO [NOUPDATE "U1"] Too many contexts`, `* ESEARCH (TAG "U1") UID MIN 6 COUNT 5`)
	tc.ok(`c1 CANCELUPDATE "T0"`)
	tc.ok("U2 SORT RETURN (UPDATE MIN) (REVERSE DATE) UTF-8 ALL")
	tc.mustHave(`* ESEARCH (TAG "U2") MIN 1`)
	tc.mustNotContain("NOUPDATE")
}
