package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// fillInbox appends n messages to INBOX, message i (from 1) with the flags
// flags(i) gives ("" for none), so that UID i is sequence number i.
func fillInbox(tc *transcript, n int, flags func(i int) string) {
	tc.t.Helper()
	for i := 1; i <= n; i++ {
		f := ""
		if fl := flags(i); fl != "" {
			f = "(" + fl + ") "
		}
		tc.ok("f" + itoa(i) + " APPEND INBOX " + f + literalPlus(testMessage("m"+itoa(i), "body "+itoa(i))))
	}
}

// everyThirdDeleted marks messages 3, 6, 9... \Deleted: of 30, the 20
// undeleted ones are 1,2,4,5,7,8,...,28,29.
func everyThirdDeleted(i int) string {
	if i%3 == 0 {
		return `\Deleted`
	}
	return ""
}

// TestPartialSearch follows RFC 9394 section 3.1's examples on a mailbox of
// 30 messages, 20 of them undeleted: pages from the first result and from
// the last, a page partly past the end, a page wholly past it (NIL), and
// PARTIAL beside MIN, MAX and COUNT, which count every result.
func TestPartialSearch(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("c0 CAPABILITY")
	if caps := tc.withPrefix("* CAPABILITY "); len(caps) != 1 || !strings.Contains(caps[0]+" ", " PARTIAL ") {
		t.Errorf("CAPABILITY lacks PARTIAL: %q", tc.untagged)
	}
	fillInbox(tc, 30, everyThirdDeleted)
	tc.ok("s0 SELECT INBOX")
	for _, tt := range []struct{ cmd, want string }{
		{"A01 UID SEARCH RETURN (PARTIAL 1:5) UNDELETED", `* ESEARCH (TAG "A01") UID PARTIAL (1:5 1:2,4:5,7)`},
		{"A02 UID SEARCH RETURN (PARTIAL 16:30) UNDELETED", `* ESEARCH (TAG "A02") UID PARTIAL (16:30 23,25:26,28:29)`},
		{"A03 UID SEARCH RETURN (PARTIAL -1:-3) UNDELETED", `* ESEARCH (TAG "A03") UID PARTIAL (-1:-3 26,28:29)`},
		{"A04 UID SEARCH RETURN (PARTIAL 21:40) UNDELETED", `* ESEARCH (TAG "A04") UID PARTIAL (21:40 NIL)`},
		{"A05 UID SEARCH RETURN (PARTIAL -21:-30) UNDELETED", `* ESEARCH (TAG "A05") UID PARTIAL (-21:-30 NIL)`},
		// RFC 9394 section 4: a range high to low is the same range.
		{"A06 UID SEARCH RETURN (PARTIAL 5:1) UNDELETED", `* ESEARCH (TAG "A06") UID PARTIAL (1:5 1:2,4:5,7)`},
		{"A07 UID SEARCH RETURN (PARTIAL -3:-1) UNDELETED", `* ESEARCH (TAG "A07") UID PARTIAL (-1:-3 26,28:29)`},
		{"A08 SEARCH RETURN (PARTIAL 1:3 COUNT MIN MAX) UNDELETED", `* ESEARCH (TAG "A08") MIN 1 MAX 29 PARTIAL (1:3 1:2,4) COUNT 20`},
		{"A09 SEARCH RETURN (COUNT PARTIAL -2:-5) DELETED", `* ESEARCH (TAG "A09") PARTIAL (-2:-5 18,21,24,27) COUNT 10`},
		{"A10 UID SEARCH RETURN (PARTIAL 1:10) KEYWORD $Junk", `* ESEARCH (TAG "A10") UID PARTIAL (1:10 NIL)`},
		// RFC 5267 section 4.2: CONTEXT alone is a hint, the answer ALL.
		{"A11 SEARCH RETURN (CONTEXT) 1:4", `* ESEARCH (TAG "A11") ALL 1:4`},
		{"A12 SEARCH RETURN (CONTEXT PARTIAL 2:3) 1:4", `* ESEARCH (TAG "A12") PARTIAL (2:3 2:3)`},
	} {
		tc.ok(tt.cmd)
		tc.mustHave(tt.want)
	}

	// RFC 9394 section 3.1 and 4: malformed ranges, and PARTIAL twice or
	// with ALL, are BAD.
	for _, cmd := range []string{
		"B01 UID SEARCH RETURN (PARTIAL 0:5) UNDELETED",
		"B02 UID SEARCH RETURN (PARTIAL -1:5) UNDELETED",
		"B03 UID SEARCH RETURN (PARTIAL 1:-5) UNDELETED",
		"B04 UID SEARCH RETURN (PARTIAL 1:*) UNDELETED",
		"B05 UID SEARCH RETURN (PARTIAL) UNDELETED",
		"B06 UID SEARCH RETURN (PARTIAL 1:5 ALL) UNDELETED",
		"B07 UID SEARCH RETURN (PARTIAL 1:5 PARTIAL 6:10) UNDELETED",
		"B08 UID SEARCH RETURN (PARTIAL -0:-1) UNDELETED",
		"B09 UID SEARCH RETURN (PARTIAL 7) UNDELETED",
	} {
		tc.bad(cmd)
		if len(tc.untagged) != 0 {
			t.Errorf("%s: untagged %q", cmd, tc.untagged)
		}
	}
}

// TestPartialSave: RFC 9394 section 3.2, table 1. With SAVE, "$" holds the
// PARTIAL results, with the MIN and MAX results when asked, and every
// result once COUNT is among the options.
func TestPartialSave(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	fillInbox(tc, 30, everyThirdDeleted)
	tc.ok("s0 SELECT INBOX")
	savedUIDs := func(tag string) string {
		tc.ok(tag + " UID SEARCH RETURN () UID $")
		got := tc.withPrefix("* ESEARCH")
		if len(got) != 1 {
			return ""
		}
		_, all, _ := strings.Cut(got[0], " ALL ")
		return all
	}
	for _, tt := range []struct{ opts, esearch, saved string }{
		{"SAVE PARTIAL 1:2", `UID PARTIAL (1:2 1:2)`, "1:2"},
		{"SAVE PARTIAL -1:-2 MIN", `UID MIN 1 PARTIAL (-1:-2 28:29)`, "1,28:29"},
		{"SAVE MAX PARTIAL 3:4", `UID MAX 29 PARTIAL (3:4 4:5)`, "4:5,29"},
		{"SAVE MIN MAX PARTIAL 3:4", `UID MIN 1 MAX 29 PARTIAL (3:4 4:5)`, "1,4:5,29"},
		{"SAVE PARTIAL 3:4 COUNT", `UID PARTIAL (3:4 4:5) COUNT 20`, "1:2,4:5,7:8,10:11,13:14,16:17,19:20,22:23,25:26,28:29"},
		{"SAVE PARTIAL 40:50", `UID PARTIAL (40:50 NIL)`, ""},
	} {
		tc.ok("v1 UID SEARCH RETURN (" + tt.opts + ") UNDELETED")
		tc.mustHave(`* ESEARCH (TAG "v1") ` + tt.esearch)
		if got := savedUIDs("v2"); got != tt.saved {
			t.Errorf("RETURN (%s): $ = %q, want %q", tt.opts, got, tt.saved)
		}
	}
}

var esearchModSeq = regexp.MustCompile(` MODSEQ (\d+)$`)

// TestPartialCondstore: RFC 7162 3.1.5 with PARTIAL. The ESEARCH MODSEQ is
// the highest of the messages returned: the page's, or every result's when
// COUNT is asked too.
func TestPartialCondstore(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	fillInbox(tc, 6, func(int) string { return "" })
	tc.ok("s0 SELECT INBOX (CONDSTORE)")
	tc.ok(`s1 STORE 2 +FLAGS (\Flagged)`)
	top := modseqOf(t, tc.withPrefix("* 2 FETCH")[0])
	modseq := func(cmd string) uint64 {
		t.Helper()
		tc.ok(cmd)
		got := tc.withPrefix("* ESEARCH")
		if len(got) != 1 {
			t.Fatalf("%s: %q", cmd, tc.untagged)
		}
		m := esearchModSeq.FindStringSubmatch(got[0])
		if m == nil {
			t.Fatalf("%s: no MODSEQ in %q", cmd, got[0])
		}
		n, _ := strconv.ParseUint(m[1], 10, 64)
		return n
	}
	if got := modseq("m1 UID SEARCH RETURN (PARTIAL 1:2) MODSEQ 1"); got != top {
		t.Errorf("MODSEQ of the page holding message 2: %d, want %d", got, top)
	}
	if got := modseq("m2 UID SEARCH RETURN (PARTIAL 3:4) MODSEQ 1"); got >= top {
		t.Errorf("MODSEQ of a page without message 2: %d, want below %d", got, top)
	}
	if got := modseq("m3 UID SEARCH RETURN (PARTIAL -1:-2 COUNT) MODSEQ 1"); got != top {
		t.Errorf("MODSEQ with COUNT: %d, want %d", got, top)
	}
	tc.ok("m4 UID SEARCH RETURN (PARTIAL 7:9) MODSEQ 1")
	tc.mustHave(`* ESEARCH (TAG "m4") UID PARTIAL (7:9 NIL)`)
}

// TestPartialFetch: the PARTIAL fetch modifier (RFC 9394 section 3.3) takes
// the messages at the given positions among those the set names, after
// CHANGEDSINCE (section 3.4).
func TestPartialFetch(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	fillInbox(tc, 10, func(int) string { return "" })
	tc.ok("s0 SELECT INBOX")
	tc.ok("s1 SELECT INBOX") // the messages are no longer \Recent
	fetched := func(cmd string) string {
		t.Helper()
		tc.ok(cmd)
		var seqs []string
		for _, u := range tc.untagged {
			f := strings.Fields(u)
			if len(f) > 2 && f[2] == "FETCH" {
				seqs = append(seqs, f[1])
			}
		}
		return strings.Join(seqs, ",")
	}
	for _, tt := range []struct{ cmd, want string }{
		{"p1 UID FETCH 1:* (UID FLAGS) (PARTIAL -1:-3)", "8,9,10"},
		{"p2 UID FETCH 3:9 (FLAGS) (PARTIAL 1:2)", "3,4"},
		{"p3 UID FETCH 3:9 (FLAGS) (PARTIAL 2:1)", "3,4"},
		{"p4 FETCH 2:* (FLAGS) (PARTIAL 2:3)", "3,4"},
		{"p5 UID FETCH 1:* (FLAGS) (PARTIAL 9:20)", "9,10"},
		{"p6 UID FETCH 1:* (FLAGS) (PARTIAL 11:20)", ""},
		{"p7 UID FETCH 1:* (FLAGS) (PARTIAL -11:-20)", ""},
		{"p8 UID FETCH 100:200 (FLAGS) (PARTIAL 1:5)", ""},
	} {
		if got := fetched(tt.cmd); got != tt.want {
			t.Errorf("%s: fetched %q, want %q (%q)", tt.cmd, got, tt.want, tc.untagged)
		}
	}
	tc.ok("p9 UID FETCH 3 (UID FLAGS) (PARTIAL -1:-3)")
	tc.mustHave(`* 3 FETCH (UID 3 FLAGS ())`)

	// CONDSTORE: the page is taken among the messages changed since.
	tc.ok("c1 FETCH 10 (MODSEQ)")
	since := modseqOf(t, tc.withPrefix("* 10 FETCH")[0])
	tc.ok(`c2 STORE 2,5,7 +FLAGS.SILENT (\Seen)`)
	if got := fetched("c3 UID FETCH 1:* (FLAGS) (PARTIAL -1:-2 CHANGEDSINCE " + strconv.FormatUint(since, 10) + ")"); got != "5,7" {
		t.Errorf("PARTIAL -1:-2 with CHANGEDSINCE fetched %q", got)
	}
	if got := fetched("c4 UID FETCH 1:* (FLAGS) (CHANGEDSINCE " + strconv.FormatUint(since, 10) + " PARTIAL 1:1)"); got != "2" {
		t.Errorf("PARTIAL 1:1 with CHANGEDSINCE fetched %q", got)
	}

	tc.bad("b1 UID FETCH 1:* (FLAGS) (PARTIAL 0:3)")
	tc.bad("b2 UID FETCH 1:* (FLAGS) (PARTIAL -1:3)")
	tc.bad("b3 UID FETCH 1:* (FLAGS) (PARTIAL 1:3 PARTIAL 4:5)")
}
