package e2e

import (
	"strings"
	"testing"
)

// TestReplaceCatenate: RFC 8508 section 4.2's example, REPLACE with
// CATENATE: the new message is the client's text followed by the old
// message itself (a URL to the UID being replaced), which the command
// reads before the old one goes.
func TestReplaceCatenate(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("c1 CREATE Drafts")
	body := "Message-ID: <B238822388-0100003@example.org>\r\n\r\nHere is picture from the fireworks\r\n"
	tc.ok(`A010 APPEND Drafts (\Seen \Draft) ` + literal(body))
	tc.ok("s1 SELECT Drafts")
	hdr := "To: Mitzy <miss.mitzy@example.org>\r\nSubject: My view of the fireworks\r\n"
	tc.ok(`A011 UID REPLACE 1 Drafts CATENATE (TEXT ` + literal(hdr) + ` URL "/Drafts/;UID=1")`)
	if len(tc.withPrefix("* OK [APPENDUID ")) != 1 {
		t.Errorf("no APPENDUID: %q", tc.untagged)
	}
	tc.mustHave("* 2 EXISTS", "* 1 EXPUNGE")
	tc.ok("f1 UID FETCH 1:* (UID BODY.PEEK[])")
	got := strings.Join(tc.untagged, "\n")
	if len(tc.untagged) != 1 || !strings.Contains(got, "UID 2 ") || !strings.Contains(got, hdr+body) {
		t.Errorf("after REPLACE CATENATE: %q", tc.untagged)
	}
	// A URL part that names nothing: the command fails and the old
	// message stays.
	tc.no(`A012 UID REPLACE 2 Drafts CATENATE (TEXT `+literal(hdr)+` URL "/Drafts/;UID=99")`, "BADURL")
	tc.no(`A013 REPLACE 1 Drafts CATENATE (URL "/Drafts/;UID=1")`, "")
	tc.ok("f2 UID FETCH 1:* (UID)")
	if len(tc.untagged) != 1 || !strings.Contains(tc.untagged[0], "UID 2)") {
		t.Errorf("after failed REPLACE CATENATE: %q", tc.untagged)
	}
}

// TestReplaceExpungedMeanwhile: the message to replace is in this
// session's view, but another session expunged it: REPLACE cannot remove
// it, so it fails (RFC 8508 section 3.2) with RFC 5530's EXPUNGEISSUED,
// and the new message is not stored either (section 3.4: no
// intermediate state).
func TestReplaceExpungedMeanwhile(t *testing.T) {
	e := newEnv(t)
	a := e.rawLogin("alice")
	b := e.rawLogin("alice")
	a.ok("c1 CREATE Sent")
	for i := 1; i <= 3; i++ {
		a.ok("a" + itoa(i) + " APPEND INBOX " + literal(testMessage("m"+itoa(i), "x")))
	}
	a.ok("s1 SELECT INBOX")
	b.ok("s2 SELECT INBOX")
	b.ok(`b1 UID STORE 1 +FLAGS.SILENT (\Deleted)`)
	b.ok("b2 UID EXPUNGE 1")
	// a has not heard of the expunge: the store finds the message gone.
	a.no("r1 REPLACE 1 INBOX "+literal(testMessage("new", "x")), "EXPUNGEISSUED")
	// The EXPUNGE it had not heard of comes with the answer.
	a.mustHave("* 1 EXPUNGE")
	b.ok(`b3 UID STORE 2 +FLAGS.SILENT (\Deleted)`)
	b.ok("b4 UID EXPUNGE 2")
	// FETCH may not send EXPUNGE (RFC 9051 7.4.1): the view keeps the
	// message as a ghost, which REPLACE refuses the same way.
	a.ok("f0 FETCH 1 (UID)")
	a.no("r2 UID REPLACE 2 Sent "+literal(testMessage("new", "x")), "EXPUNGEISSUED")
	a.mustHave("* 1 EXPUNGE")
	a.ok("st STATUS Sent (MESSAGES)")
	a.mustHave("* STATUS Sent (MESSAGES 0)")
	a.ok("f1 UID FETCH 1:* (UID)")
	if len(a.untagged) != 1 || !strings.Contains(a.untagged[0], "UID 3)") {
		t.Errorf("INBOX after failed REPLACEs: %q", a.untagged)
	}
}
