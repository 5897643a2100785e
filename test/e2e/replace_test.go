package e2e

import (
	"regexp"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/app"
)

// replaceDraft is RFC 8508 section 3.4's message, as a draft saved again.
func replaceDraft(text string) string {
	return "Date: Thu, 1 Jan 2015 00:05:00 -0500 (EST)\r\n" +
		"From: Fritz Schmidt <fritz.ze@example.org>\r\n" +
		"Subject: happy new year !!\r\n" +
		"To: miss.mitzy@example.org\r\n" +
		"Message-Id: <B27397-0100000@example.org>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n" +
		"\r\n" + text + "\r\n"
}

var untaggedAppendUID = regexp.MustCompile(`^\* OK \[APPENDUID (\d+) (\d+)\] `)

// TestReplaceExample: RFC 8508 section 3.4's example, in its order: the
// APPENDUID in an untagged OK, the new message's EXISTS, then the old
// one's EXPUNGE; the new message has the flags given, the old is gone.
func TestReplaceExample(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("c1 CREATE Drafts")
	for i := 1; i <= 4; i++ {
		tc.ok("a" + itoa(i) + " APPEND Drafts (\\Draft) " + literal(replaceDraft("draft "+itoa(i))))
	}
	tc.ok("s1 SELECT Drafts")
	tc.mustHave("* 4 EXISTS")
	tc.ok("f0 UID FETCH 4 (UID)")
	tc.ok(`A003 REPLACE 4 Drafts (\Seen \Draft) ` + literal(replaceDraft("Happy new year!")))
	var order []string
	for _, u := range tc.untagged {
		switch {
		case untaggedAppendUID.MatchString(u):
			order = append(order, "APPENDUID")
			if m := untaggedAppendUID.FindStringSubmatch(u); m[2] != "5" {
				t.Errorf("APPENDUID %s, want UID 5", m[2])
			}
		case u == "* 5 EXISTS", u == "* 4 EXPUNGE":
			order = append(order, u)
		}
	}
	if got := strings.Join(order, ", "); got != "APPENDUID, * 5 EXISTS, * 4 EXPUNGE" {
		t.Errorf("REPLACE's responses %q: in order %s", tc.untagged, got)
	}
	tc.ok("f1 FETCH 1:* (UID FLAGS)")
	// \Recent: it came while this session had the mailbox selected.
	if got := tc.withPrefix("* 4 FETCH (UID 5 "); len(got) != 1 || flagsIn(got[0]) != `\Draft \Recent \Seen` {
		t.Errorf("the replacement: %q", tc.untagged)
	}
	if n := len(tc.withPrefix("* ")); n != 4 {
		t.Errorf("%d messages after REPLACE, want 4: %q", n, tc.untagged)
	}
	tc.ok("f2 FETCH 4 BODY[TEXT]")
	if !strings.Contains(strings.Join(tc.untagged, ""), "Happy new year!") {
		t.Errorf("the replacement's text: %q", tc.untagged)
	}
}

// TestReplaceUIDAndOtherMailbox: UID REPLACE names a UID; with QRESYNC
// the old message goes as VANISHED; the new one may go to another
// mailbox; LITERAL+, a literal8 (RFC 3516) and a date-time work as in
// APPEND.
func TestReplaceUIDAndOtherMailbox(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("c1 CREATE Sent")
	for i := 1; i <= 3; i++ {
		tc.ok("a" + itoa(i) + " APPEND INBOX " + literal(testMessage("m"+itoa(i), "x")))
	}
	tc.ok("e1 ENABLE QRESYNC")
	tc.ok("s1 SELECT INBOX")
	ok := tc.ok(`r1 UID REPLACE 2 Sent "01-Jan-2015 00:05:00 -0500" ` + literalPlus(replaceDraft("sent")))
	if !strings.HasPrefix(ok, "r1 OK") {
		t.Fatal(ok)
	}
	if len(tc.withPrefix("* OK [APPENDUID ")) != 1 {
		t.Errorf("no APPENDUID: %q", tc.untagged)
	}
	tc.mustHave("* VANISHED 2")
	if len(tc.withPrefix("* 3 EXISTS")) != 0 || len(tc.withPrefix("* 4 EXISTS")) != 0 {
		t.Errorf("EXISTS for a message of another mailbox: %q", tc.untagged)
	}
	tc.ok("st STATUS Sent (MESSAGES)")
	tc.mustHave("* STATUS Sent (MESSAGES 1)")
	tc.ok("x1 EXAMINE Sent")
	tc.ok("x2 FETCH 1 INTERNALDATE")
	tc.mustHave(`* 1 FETCH (INTERNALDATE " 1-Jan-2015 00:05:00 -0500")`)
	tc.ok("s2 SELECT INBOX")
	// A literal8: the message may hold any byte but NUL... and NUL.
	bin := testMessage("binary", "x")
	tc.ok("r2 REPLACE 1 INBOX ~" + literal(bin))
	tc.mustHave("* VANISHED 1")
	tc.ok("f1 UID FETCH 1:* (UID)")
	if got := strings.Join(tc.untagged, " | "); !strings.Contains(got, "UID 3)") || !strings.Contains(got, "UID 4)") || len(tc.untagged) != 2 {
		t.Errorf("after two REPLACEs: %q", got)
	}
}

// TestReplaceErrors: the ways REPLACE fails (RFC 8508 section 3.3),
// after each of which the old message is still there and nothing was
// added.
func TestReplaceErrors(t *testing.T) {
	e := newEnvOpts(t, app.Options{MaxMessageSize: 4096})
	tc := e.rawLogin("alice")
	msg := testMessage("new", "x")
	// Only in the selected state.
	tc.bad("n1 REPLACE 1 INBOX " + literalPlus(msg))
	tc.ok("a1 APPEND INBOX " + literal(testMessage("old", "x")))
	tc.ok("s1 SELECT INBOX")
	unchanged := func() {
		t.Helper()
		tc.ok("chk UID FETCH 1:* (UID)")
		if len(tc.untagged) != 1 || !strings.Contains(tc.untagged[0], "UID 1)") {
			t.Fatalf("mailbox changed: %q", tc.untagged)
		}
		tc.ok("chk2 STATUS Other (MESSAGES)")
	}
	tc.ok("c1 CREATE Other")
	// Syntax: BAD.
	tc.bad("b1 REPLACE * INBOX " + literalPlus(msg))
	tc.bad("b2 REPLACE 0 INBOX " + literalPlus(msg))
	tc.bad("b3 REPLACE 1 INBOX")
	tc.bad("b4 REPLACE 1 INBOX (\\Seen)")
	tc.bad("b5 REPLACE 1 INBOX " + literalPlus(msg) + " " + literalPlus(msg))
	unchanged()
	// No such message: NO, by number and by UID.
	tc.no("m1 REPLACE 2 INBOX "+literal(msg), "")
	tc.no("m2 UID REPLACE 7 INBOX "+literalPlus(msg), "")
	unchanged()
	// The target does not exist: TRYCREATE, and the old one stays.
	tc.no("t1 REPLACE 1 Nowhere "+literal(msg), "TRYCREATE")
	unchanged()
	// Over APPENDLIMIT: TOOBIG before the literal is sent.
	tc.send("t2 REPLACE 1 Other {5000}\r\n")
	tc.expect("t2 NO [TOOBIG]")
	unchanged()
	// Read-only.
	tc.ok("x1 EXAMINE INBOX")
	tc.no("r1 REPLACE 1 Other "+literal(msg), "")
	tc.ok("x2 SELECT INBOX")
	unchanged()
	tc.ok("z1 LOGOUT")
}
