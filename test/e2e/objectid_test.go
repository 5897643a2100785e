package e2e

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/ports"
)

var (
	mailboxIDCode = regexp.MustCompile(`\[MAILBOXID \(([A-Za-z0-9_-]{1,255})\)\]`)
	statusID      = regexp.MustCompile(`^\* STATUS \S+ \(MAILBOXID \(([A-Za-z0-9_-]{1,255})\)\)$`)
	emailIDItem   = regexp.MustCompile(`EMAILID \(([A-Za-z0-9_-]{1,255})\)`)
	threadIDItem  = regexp.MustCompile(`THREADID \(([A-Za-z0-9_-]{1,255})\)`)
)

// submatch returns the first group of re in s, failing when there is none.
func submatch(t *testing.T, re *regexp.Regexp, s string) string {
	t.Helper()
	m := re.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("%q does not match %s", s, re)
	}
	return m[1]
}

// statusMailboxID runs STATUS name (MAILBOXID) and returns the id.
func (tc *transcript) statusMailboxID(tag, name string) string {
	tc.t.Helper()
	tc.ok(tag + " STATUS " + name + " (MAILBOXID)")
	lines := tc.withPrefix("* STATUS ")
	if len(lines) != 1 {
		tc.t.Fatalf("STATUS %s: %q", name, tc.untagged)
	}
	return submatch(tc.t.(*testing.T), statusID, lines[0])
}

// TestObjectIDMailboxID: RFC 8474 section 4's examples: CREATE answers
// the new MAILBOXID, STATUS and SELECT report it, RENAME keeps it, a
// second CREATE of the name fails; and RENAME of INBOX hands its id to the
// new mailbox (section 4.2).
func TestObjectIDMailboxID(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	foo := submatch(t, mailboxIDCode, tc.ok("3 create foo"))
	bar := submatch(t, mailboxIDCode, tc.ok("4 create bar"))
	if foo == bar {
		t.Fatalf("foo and bar share the id %q", foo)
	}
	tc.no("5 create foo", "ALREADYEXISTS")
	if got := tc.statusMailboxID("5", "foo"); got != foo {
		t.Errorf("STATUS foo: %q, CREATE said %q", got, foo)
	}
	tc.ok("6 rename foo renamed")
	if got := tc.statusMailboxID("7", "renamed"); got != foo {
		t.Errorf("after RENAME: %q, want %q", got, foo)
	}
	if got := tc.statusMailboxID("8", "bar"); got != bar {
		t.Errorf("bar: %q, want %q", got, bar)
	}
	tc.ok("27 select renamed")
	tc.mustHave("* OK [MAILBOXID (" + foo + ")] Ok")
	tc.ok("28 examine bar")
	tc.mustHave("* OK [MAILBOXID (" + bar + ")] Ok")
	tc.ok("29 unselect")

	// LIST-STATUS (RFC 5819) with MAILBOXID.
	tc.ok(`30 LIST "" "*" RETURN (STATUS (MAILBOXID))`)
	tc.mustHave("* STATUS renamed (MAILBOXID (" + foo + "))")

	// A mailbox deleted and created again is a new mailbox.
	tc.ok("31 delete bar")
	if again := submatch(t, mailboxIDCode, tc.ok("32 create bar")); again == bar {
		t.Errorf("bar created again has the deleted one's id %q", again)
	}

	// RENAME INBOX: the new mailbox takes INBOX's id; INBOX gets a new one.
	inbox := tc.statusMailboxID("33", "INBOX")
	tc.ok("34 rename INBOX oldinbox")
	if got := tc.statusMailboxID("35", "oldinbox"); got != inbox {
		t.Errorf("oldinbox: %q, INBOX had %q", got, inbox)
	}
	if got := tc.statusMailboxID("36", "INBOX"); got == inbox {
		t.Errorf("INBOX kept its id %q through RENAME", got)
	}

	// Errors: a missing mailbox, a malformed item list.
	tc.no("37 STATUS nosuch (MAILBOXID)", "NONEXISTENT")
	tc.bad("38 STATUS INBOX (MAILBOXID")
}

// replyMessage is a reply to the message testMessage(parent, ...) makes.
func replyMessage(subject, parent, body string) string {
	return strings.ReplaceAll("From: Bob <bob@example.com>\n"+
		"To: Alice <alice@example.com>\n"+
		"Subject: Re: "+subject+"\n"+
		"Message-ID: <re."+parent+"@example.com>\n"+
		"In-Reply-To: <"+parent+"@example.com>\n"+
		"References: <"+parent+"@example.com>\n"+
		"\n"+body+"\n", "\n", "\r\n")
}

// TestObjectIDEmailThread: RFC 8474 section 5's examples: EMAILID is kept
// by MOVE and COPY, a reply shares its parent's THREADID, and section 6's
// SEARCH EMAILID and THREADID find them.
func TestObjectIDEmailThread(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("1 create foo")
	tc.ok(`5 append inbox "20-Mar-2018 03:07:37 +1100" ` + literal(testMessage("aaa", "the parent")))
	tc.ok(`6 append inbox "20-Mar-2018 03:07:37 +1100" ` + literal(replyMessage("aaa", "aaa", "the reply")))
	tc.ok(`7 append inbox ` + literal(testMessage("other", "another thread")))
	tc.ok("10 select inbox")
	tc.ok("11 fetch 1:* (emailid threadid)")
	f := tc.withPrefix("* ")
	if len(f) != 3 {
		t.Fatalf("FETCH: %q", tc.untagged)
	}
	e1, t1 := submatch(t, emailIDItem, f[0]), submatch(t, threadIDItem, f[0])
	e2, t2 := submatch(t, emailIDItem, f[1]), submatch(t, threadIDItem, f[1])
	e3, t3 := submatch(t, emailIDItem, f[2]), submatch(t, threadIDItem, f[2])
	if f[0] != "* 1 FETCH (EMAILID ("+e1+") THREADID ("+t1+"))" {
		t.Errorf("FETCH response form: %q", f[0])
	}
	if e1 == e2 || e2 == e3 || e1 == e3 {
		t.Errorf("EMAILIDs not distinct: %s %s %s", e1, e2, e3)
	}
	if t1 != t2 {
		t.Errorf("the reply's THREADID %s differs from its parent's %s", t2, t1)
	}
	if t3 == t1 {
		t.Errorf("an unrelated message joined the thread %s", t1)
	}

	tc.ok("27 search emailid " + e1)
	tc.mustHave("* SEARCH 1")
	tc.ok("28 search threadid " + t1)
	tc.mustHave("* SEARCH 1 2")
	tc.ok("29 uid search threadid " + t3 + " emailid " + e3)
	tc.mustHave("* SEARCH 3")
	tc.ok("30 search emailid Mnothing")
	tc.mustHave("* SEARCH")
	tc.bad("31 search emailid")
	tc.bad("32 search threadid (T1)")
	tc.bad("33 search emailid " + strings.Repeat("M", 256))

	// COPY and MOVE keep the EMAILID (and the THREADID).
	tc.ok("12 uid copy 1 foo")
	tc.ok("13 uid move 2 foo")
	tc.ok("14 select foo")
	tc.ok("15 uid fetch 1:* (emailid threadid)")
	tc.mustHave("* 1 FETCH (UID 1 EMAILID ("+e1+") THREADID ("+t1+"))",
		"* 2 FETCH (UID 2 EMAILID ("+e2+") THREADID ("+t1+"))")
	tc.ok("16 search emailid " + e2)
	tc.mustHave("* SEARCH 2")

	// RENAME moves the messages with their ids; RENAME INBOX too.
	tc.ok("17 unselect")
	tc.ok("18 rename foo bar")
	tc.ok("19 rename inbox oldinbox")
	tc.ok("20 select oldinbox")
	tc.ok("21 fetch 1 (emailid threadid)")
	tc.mustHave("* 1 FETCH (EMAILID (" + e1 + ") THREADID (" + t1 + "))")

	// A later reply to the reply, in another mailbox, joins the thread.
	tc.ok(`22 append bar ` + literal(replyMessage("aaa", "re.aaa", "deeper")))
	tc.ok("23 select bar")
	tc.ok("24 search threadid " + t1)
	tc.mustHave("* SEARCH 1 2 3")
}

// TestObjectIDOldMessages: a message stored before ids were given (its
// structure without them) has an EMAILID all the same, the same for its
// copies, and THREADID NIL, as RFC 8474 5.2 allows; its preview is
// computed when asked, and NIL with LAZY (RFC 8970 3.2).
func TestObjectIDOldMessages(t *testing.T) {
	e := newEnv(t)
	if err := e.store.EnsureUser(e.ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	raw := testMessage("old", "stored long ago")
	st, err := message.Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	blob, err := st.MarshalBinary() // no extras: as before they were kept
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Append(e.ctx, "alice", "INBOX", ports.NewMessage{InternalDate: time.Now(),
		Size: int64(len(raw)), Body: strings.NewReader(raw), Structure: blob}); err != nil {
		t.Fatal(err)
	}
	tc := e.rawLogin("alice")
	tc.ok("a1 APPEND INBOX " + literal(testMessage("new", "Preview text!")))
	tc.ok("a2 SELECT INBOX")
	tc.ok("a3 FETCH 1 (EMAILID THREADID)")
	f := tc.withPrefix("* 1 FETCH")
	if len(f) != 1 || !strings.HasSuffix(f[0], " THREADID NIL)") {
		t.Fatalf("FETCH: %q", tc.untagged)
	}
	old := submatch(t, emailIDItem, f[0])
	tc.ok("a4 CREATE other")
	tc.ok("a5 COPY 1 other")
	tc.ok("a6 EXAMINE other")
	tc.ok("a7 FETCH 1 (EMAILID)")
	tc.mustHave("* 1 FETCH (EMAILID (" + old + "))")
	tc.ok("a8 SELECT INBOX")
	tc.ok("a9 FETCH 1:2 (PREVIEW (LAZY))")
	tc.mustHave(`* 1 FETCH (PREVIEW NIL)`, `* 2 FETCH (PREVIEW "Preview text!")`)
	tc.ok("a10 FETCH 1 (PREVIEW)")
	tc.mustHave(`* 1 FETCH (PREVIEW "stored long ago")`)
	tc.ok("a11 FETCH 1 (FLAGS)")
	tc.mustNotContain(`\Seen`)
}

// TestPreview: RFC 8970's examples and the kinds of first text part.
func TestPreview(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	crlf := func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
	long := strings.Repeat("ü", 300)
	msgs := []struct{ raw, want string }{
		{testMessage("plain", "Preview text!"), `"Preview text!"`},
		{crlf("Subject: none\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--b--\n"), `""`},
		{crlf("Subject: html\nContent-Type: text/html; charset=utf-8\n\n<html><head><style>p {}</style></head><body><p>Another&nbsp;<b>preview</b>!</p><script>x()</script></body></html>\n"), `"Another preview!"`},
		{crlf("Subject: qp\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nCaf=E9 au =\nlait\n"), `"Café au lait"`},
		{crlf("Subject: b64\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" + base64.StdEncoding.EncodeToString([]byte("Grüße\r\naus Köln")) + "\n"), `"Grüße aus Köln"`},
		{crlf("Subject: alt\nContent-Type: multipart/alternative; boundary=x\n\n--x\nContent-Type: text/html\n\n<p>html version</p>\n--x\nContent-Type: text/plain\n\nplain version\n--x--\n"), `"plain version"`},
		{crlf("Subject: long\nContent-Type: text/plain; charset=utf-8\n\n" + long + "\n"), `"` + strings.Repeat("ü", 256) + `"`},
	}
	for _, m := range msgs {
		tc.ok("p0 APPEND INBOX " + literal(m.raw))
	}
	tc.ok("p1 ENABLE UTF8=ACCEPT") // previews in quoted UTF-8, not literals
	tc.ok("p2 SELECT INBOX")
	tc.ok("A1 FETCH 1 (PREVIEW)")
	tc.mustHave(`* 1 FETCH (PREVIEW "Preview text!")`)
	tc.ok("A2 FETCH 1:* (PREVIEW (LAZY))")
	for i, m := range msgs {
		tc.mustHave("* " + itoa(i+1) + " FETCH (PREVIEW " + m.want + ")")
	}
	tc.ok("A3 UID FETCH 1:* (UID PREVIEW FLAGS)")
	if n := len(tc.withPrefix("* ")); n != len(msgs) {
		t.Errorf("UID FETCH PREVIEW: %d responses", n)
	}
	tc.ok("A4 FETCH 1 (FLAGS)")
	tc.mustNotContain(`\Seen`) // PREVIEW does not set \Seen
	tc.bad("A5 FETCH 1 (PREVIEW (FUZZY))")
	tc.bad("A6 FETCH 1 (PREVIEW ())")

	// Without UTF8=ACCEPT a preview with 8-bit text comes as a literal.
	tc2 := e.rawLogin("alice")
	tc2.ok("b1 EXAMINE INBOX")
	tc2.ok("b2 FETCH 4 (PREVIEW)")
	tc2.mustHave("* 4 FETCH (PREVIEW {13}\r\nCafé au lait)")

	// CONDSTORE: PREVIEW along with MODSEQ and CHANGEDSINCE.
	tc.ok("A7 FETCH 1:* (PREVIEW) (CHANGEDSINCE 1)")
	if n := len(tc.withPrefix("* ")); n != len(msgs) {
		t.Errorf("FETCH PREVIEW CHANGEDSINCE: %q", tc.untagged)
	}
	first := tc.withPrefix("* 1 FETCH")
	if len(first) != 1 || !regexp.MustCompile(`^\* 1 FETCH \(PREVIEW "Preview text!" MODSEQ \(\d+\)\)$`).MatchString(first[0]) {
		t.Errorf("FETCH PREVIEW CHANGEDSINCE: %q", first)
	}
}

// Ids this server makes follow RFC 8474's objectid grammar.
func TestObjectIDGrammar(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	ids := []string{submatch(t, mailboxIDCode, tc.ok("g1 CREATE x"))}
	tc.ok("g2 APPEND x " + literal(testMessage("g", "g")))
	tc.ok("g3 SELECT x")
	tc.ok("g4 FETCH 1 (EMAILID THREADID)")
	f := tc.withPrefix("* 1 FETCH")
	ids = append(ids, submatch(t, emailIDItem, f[0]), submatch(t, threadIDItem, f[0]))
	for _, id := range ids {
		if !imap.IsObjectID(id) {
			t.Errorf("%q is not an objectid", id)
		}
	}
}
