package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// sortMail is a message for the SORT and THREAD transcripts: header
// fields in order ("" leaves one out) and a body of n bytes.
func sortMail(subject, from, to, cc, date, id, refs string, n int) string {
	var b strings.Builder
	for _, f := range [][2]string{{"Subject", subject}, {"From", from}, {"To", to}, {"Cc", cc},
		{"Date", date}, {"Message-ID", id}, {"References", refs}} {
		if f[1] != "" {
			b.WriteString(f[0] + ": " + f[1] + "\r\n")
		}
	}
	b.WriteString("\r\n" + strings.Repeat("x", n) + "\r\n")
	return b.String()
}

// sortSet is the mailbox the SORT and THREAD tests share: the expected
// orders are worked out in the comments of TestSort.
var sortSet = []struct{ internal, msg string }{
	{"01-Feb-2024 10:00:00 +0000", sortMail("Re: banana", `"Yvonne" <alice@x.example>`, `"Carl" <dave@x.example>`, "",
		"Fri, 5 Jan 2024 10:00:00 +0000", "<b2@x>", "<b1@x>", 800)},
	{"03-Feb-2024 10:00:00 +0000", sortMail("apple", `"Bob" <carol@x.example>`, "erin@x.example", "frank@x.example",
		"Wed, 3 Jan 2024 10:00:00 +0000", "<a1@x>", "", 400)},
	{"02-Feb-2024 10:00:00 +0000", sortMail("banana", "bob@x.example", `"Alice" <zed@x.example>`, "",
		"Thu, 4 Jan 2024 12:00:00 +0000", "<b1@x>", "", 1200)},
	{"04-Jan-2024 00:00:00 +0000", sortMail("[list] Re: apple", `"Xavier" <dan@x.example>`, "", "",
		"", "<a2@x>", "<a1@x>", 10)},
	{"05-Feb-2024 10:00:00 +0000", sortMail("=?UTF-8?Q?=C3=A9clair?=", `=?UTF-8?Q?=C3=89mile?= <emile@x.example>`, "alice@x.example", "",
		"Mon, 1 Jan 2024 10:00:00 +0000", "<c1@x>", "", 1600)},
}

// sortMailbox logs in and fills INBOX with sortSet, after one message
// appended and expunged, so that UIDs are sequence numbers plus one.
func sortMailbox(t *testing.T) (*env, *transcript) {
	e := newEnv(t)
	return e, sortMailboxOn(e)
}

// sortMailboxOn is sortMailbox on a given env.
func sortMailboxOn(e *env) *transcript {
	tc := e.rawLogin("alice")
	tc.ok("s0 APPEND INBOX (\\Deleted) " + literal(testMessage("gone", "gone")))
	for _, m := range sortSet {
		tc.ok(`s1 APPEND INBOX "` + m.internal + `" ` + literal(m.msg))
	}
	tc.ok("s2 SELECT INBOX")
	tc.ok("s3 EXPUNGE")
	return tc
}

func TestSort(t *testing.T) {
	_, tc := sortMailbox(t)
	for _, c := range []struct{ cmd, want string }{
		// Internal dates: 4 < 1 < 3 < 2 < 5.
		{"a SORT (ARRIVAL) UTF-8 ALL", "* SORT 4 1 3 2 5"},
		{"a SORT (REVERSE ARRIVAL) UTF-8 ALL", "* SORT 5 2 3 1 4"},
		// Sent dates, 4 having none and so its internal date: 5 < 2 < 4 < 3 < 1.
		{"a SORT (DATE) UTF-8 ALL", "* SORT 5 2 4 3 1"},
		{"a SORT (REVERSE DATE) US-ASCII ALL", "* SORT 1 3 4 2 5"},
		// Base subjects: apple (2, 4), banana (1, 3), éclair (5, encoded).
		{"a SORT (SUBJECT) UTF-8 ALL", "* SORT 2 4 1 3 5"},
		{"a SORT (SUBJECT REVERSE DATE) UTF-8 ALL", "* SORT 4 2 1 3 5"},
		{"a SORT (REVERSE SUBJECT) UTF-8 ALL", "* SORT 5 1 3 2 4"},
		// First From mailbox: alice, carol, bob, dan, emile.
		{"a SORT (FROM) UTF-8 ALL", "* SORT 1 3 2 4 5"},
		// First To mailbox: 4 has none (""), then alice, dave, erin, zed.
		{"a SORT (TO) UTF-8 ALL", "* SORT 4 5 1 2 3"},
		// Only 2 has a Cc: the others tie and keep mailbox order.
		{"a SORT (CC) UTF-8 ALL", "* SORT 1 3 4 5 2"},
		{"a SORT (REVERSE CC) UTF-8 ALL", "* SORT 2 1 3 4 5"},
		{"a SORT (SIZE) UTF-8 ALL", "* SORT 4 2 1 3 5"},
		// RFC 5957: Bob, bob@x.example (no name), Émile, Xavier, Yvonne.
		{"a SORT (DISPLAYFROM) UTF-8 ALL", "* SORT 2 3 5 4 1"},
		// "", Alice, alice@x.example, Carl, erin@x.example.
		{"a SORT (DISPLAYTO) UTF-8 ALL", "* SORT 4 3 5 1 2"},
		{"a SORT (CC SUBJECT) UTF-8 ALL", "* SORT 4 1 3 5 2"},
		// Any SEARCH key as criteria.
		{"a SORT (DATE) UTF-8 SUBJECT banana", "* SORT 3 1"},
		{"a SORT (DATE) UTF-8 OR FROM dan TO zed", "* SORT 4 3"},
		{"a SORT (DATE) UTF-8 SENTBEFORE 4-Jan-2024", "* SORT 5 2"},
		{"a SORT (ARRIVAL) UTF-8 2:4", "* SORT 4 3 2"},
		{"a SORT (SUBJECT) UTF-8 LARGER 1000", "* SORT 3 5"},
		{"a SORT (SUBJECT) UTF-8 SUBJECT " + literalPlus("éclair"), "* SORT 5"},
		// UID SORT answers with UIDs (sequence numbers plus one here).
		{"a UID SORT (ARRIVAL) UTF-8 ALL", "* SORT 5 2 4 3 6"},
		{"a UID SORT (DATE) UTF-8 UID 2:4", "* SORT 3 4 2"},
		// Nothing matches: an empty SORT response.
		{"a SORT (DATE) UTF-8 SUBJECT nothing-like-this", "* SORT"},
	} {
		tc.ok(c.cmd)
		if got := tc.withPrefix("* SORT"); len(got) != 1 || got[0] != c.want {
			t.Errorf("%s: got %q, want %q", c.cmd, got, c.want)
		}
	}
	// RFC 7162 3.1.5: with MODSEQ in the criteria, the highest
	// mod-sequence of the messages returned.
	tc.ok("m1 SORT (DATE) UTF-8 MODSEQ 1")
	if got := tc.withPrefix("* SORT"); len(got) != 1 || !strings.HasPrefix(got[0], "* SORT 5 2 4 3 1 (MODSEQ ") {
		t.Errorf("SORT with MODSEQ: %q", got)
	}
	// Errors: malformed is BAD, an unknown charset NO [BADCHARSET].
	tc.bad("e1 SORT (FOO) UTF-8 ALL")
	tc.bad("e2 SORT DATE UTF-8 ALL")
	tc.bad("e3 SORT (DATE) UTF-8")
	tc.bad("e4 SORT () UTF-8 ALL")
	tc.no("e5 SORT (DATE) KOI8-R ALL", "BADCHARSET")
	tc.no("e6 UID SORT (DATE) ISO-8859-1 ALL", "BADCHARSET")
	tc.ok("e7 UNSELECT")
	tc.bad("e8 SORT (DATE) UTF-8 ALL")
}

func TestThread(t *testing.T) {
	_, tc := sortMailbox(t)
	// A sixth message: a reply to "apple" by subject alone, sent before
	// the original.
	tc.ok(`t0 APPEND INBOX "06-Feb-2024 10:00:00 +0000" ` + literal(sortMail("Re: apple", "gil@x.example", "", "",
		"Tue, 2 Jan 2024 10:00:00 +0000", "<a3@x>", "", 5)))
	tc.ok("t1 NOOP")
	for _, c := range []struct{ cmd, want string }{
		// By base subject, then sent date: apple 6, 2, 4; banana 3, 1;
		// éclair 5; threads by their first message's date.
		{"a THREAD ORDEREDSUBJECT UTF-8 ALL", "* THREAD (5)(6 (2)(4))(3 1)"},
		// References link 4 under 2 and 1 under 3; step 5 puts 6 (a
		// reply) under 2 (not one); siblings by date.
		{"a THREAD REFERENCES UTF-8 ALL", "* THREAD (5)(2 (6)(4))(3 1)"},
		// REFS: no subject grouping; threads by their latest internal
		// date: 3's (2 Feb), 2's (3 Feb), 5 (5 Feb), 6 (6 Feb).
		{"a THREAD REFS UTF-8 ALL", "* THREAD (3 1)(2 4)(5)(6)"},
		{"a UID THREAD REFERENCES UTF-8 ALL", "* THREAD (6)(3 (7)(5))(4 2)"},
		{"a THREAD REFERENCES UTF-8 NOT SUBJECT apple", "* THREAD (5)(3 1)"},
		// A reference to a message not in the result: 4 stands alone.
		{"a THREAD REFERENCES UTF-8 4", "* THREAD (4)"},
		{"a THREAD ORDEREDSUBJECT UTF-8 SUBJECT nothing-like-this", "* THREAD"},
	} {
		tc.ok(c.cmd)
		if got := tc.withPrefix("* THREAD"); len(got) != 1 || got[0] != c.want {
			t.Errorf("%s: got %q, want %q", c.cmd, got, c.want)
		}
	}
	tc.bad("e1 THREAD FOO UTF-8 ALL")
	tc.bad("e2 THREAD REFERENCES UTF-8")
	tc.no("e3 THREAD REFERENCES KOI8-R ALL", "BADCHARSET")
}

// TestSortNoExpungeResponses: RFC 5256 section 4 lets SORT and THREAD,
// like SEARCH, send no EXPUNGE responses, which would renumber the
// messages they answer with; the UID forms may.
func TestSortNoExpungeResponses(t *testing.T) {
	e, tc := sortMailbox(t)
	other := e.rawLogin("alice")
	other.ok("o1 SELECT INBOX")
	other.ok("o2 STORE 1 +FLAGS (\\Deleted)")
	other.ok("o3 EXPUNGE")
	tc.ok("a SORT (ARRIVAL) UTF-8 ALL")
	tc.mustNotContain("EXPUNGE")
	tc.ok("b THREAD REFS UTF-8 ALL")
	tc.mustNotContain("EXPUNGE")
	tc.ok("c UID SORT (ARRIVAL) UTF-8 ALL")
	tc.mustHave("* 1 EXPUNGE")
}

// TestImaplibSortThread runs testdata/imaplib_sort.py: Python's imaplib
// calls sort() and thread() on the imapd binary over a stdio pipe.
func TestImaplibSortThread(t *testing.T) {
	runImaplib(t, "imaplib_sort.py", "imaplib sort session passed")
}

// TestSortThreadGoIMAP: go-imap v2's imapclient speaks SORT and THREAD;
// it reads our answers as the transcripts expect them.
func TestSortThreadGoIMAP(t *testing.T) {
	e, tc := sortMailbox(t)
	tc.ok("t0 LOGOUT")
	c := e.login("alice", nil)
	defer c.Close()
	if caps := c.Caps(); !caps.Has("SORT") || len(caps.ThreadAlgorithms()) != 3 {
		t.Fatalf("capabilities %v", caps)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	nums, err := c.Sort(&imapclient.SortOptions{
		SearchCriteria: &imap.SearchCriteria{},
		SortCriteria:   []imapclient.SortCriterion{{Key: imapclient.SortKeySubject}, {Key: imapclient.SortKeyDate, Reverse: true}},
	}).Wait()
	if err != nil || fmt.Sprint(nums) != "[4 2 1 3 5]" {
		t.Errorf("SORT (SUBJECT REVERSE DATE): %v, %v", nums, err)
	}
	nums, err = c.UIDSort(&imapclient.SortOptions{
		SearchCriteria: &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "banana"}}},
		SortCriteria:   []imapclient.SortCriterion{{Key: imapclient.SortKeyArrival}},
	}).Wait()
	if err != nil || fmt.Sprint(nums) != "[2 4]" {
		t.Errorf("UID SORT (ARRIVAL) SUBJECT banana: %v, %v", nums, err)
	}
	threads, err := c.Thread(&imapclient.ThreadOptions{Algorithm: imap.ThreadReferences, SearchCriteria: &imap.SearchCriteria{}}).Wait()
	// (5)(2 4)(3 1): 2 answered by 4, 3 by 1, 5 alone.
	if err != nil || fmt.Sprint(threads) != "[{[5] []} {[2 4] []} {[3 1] []}]" {
		t.Errorf("THREAD REFERENCES: %v, %v", threads, err)
	}
}

// TestSortCacheUIDValidity: the sort records a process keeps belong to
// one UIDVALIDITY; a mailbox deleted and made again under the same name
// reuses UIDs for other messages, which must not take the old records.
func TestSortCacheUIDValidity(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("a1 CREATE box")
	tc.ok("a2 APPEND box " + literal(testMessage("bbb", "x")))
	tc.ok("a3 APPEND box " + literal(testMessage("aaa", "x")))
	tc.ok("a4 SELECT box")
	tc.ok("a5 SORT (SUBJECT) UTF-8 ALL")
	tc.mustHave("* SORT 2 1")
	tc.ok("a6 UNSELECT")
	tc.ok("a7 DELETE box")
	tc.ok("a8 CREATE box")
	tc.ok("a9 APPEND box " + literal(testMessage("aaa", "x")))
	tc.ok("b1 APPEND box " + literal(testMessage("bbb", "x")))
	tc.ok("b2 SELECT box")
	tc.ok("b3 SORT (SUBJECT) UTF-8 ALL")
	tc.mustHave("* SORT 1 2")
}
