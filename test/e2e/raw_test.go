package e2e

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/app"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestRawGreetingCapabilityLogout(t *testing.T) {
	e := newEnv(t)
	tc := e.raw()
	if !strings.HasPrefix(tc.greeting, "* OK [CAPABILITY IMAP4rev1 ") || !strings.Contains(tc.greeting, "test.example") {
		t.Errorf("greeting %q", tc.greeting)
	}
	for _, c := range []string{"LITERAL+", "SASL-IR", "AUTH=PLAIN", "AUTH=LOGIN"} {
		if !strings.Contains(tc.greeting, " "+c) {
			t.Errorf("greeting %q lacks %s", tc.greeting, c)
		}
	}
	if strings.Contains(tc.greeting, "LOGINDISABLED") {
		t.Errorf("greeting %q: LOGINDISABLED with allowplaintext", tc.greeting)
	}
	tc.ok("a1 CAPABILITY")
	if caps := tc.withPrefix("* CAPABILITY IMAP4rev1"); len(caps) != 1 {
		t.Errorf("CAPABILITY: %q", tc.untagged)
	}
	tc.ok("a2 NOOP")
	tc.ok("a3 LOGOUT")
	tc.mustHave("* BYE LOGOUT received")
	tc.expectEOF()
}

func TestRawNotAuthenticated(t *testing.T) {
	e := newEnv(t)
	tc := e.raw()
	for _, cmd := range []string{"a1 SELECT INBOX", "a2 LIST \"\" *", "a3 CREATE x", "a4 FETCH 1 FLAGS", "a5 STATUS INBOX (MESSAGES)"} {
		if got := tc.bad(cmd); !strings.HasSuffix(got, " BAD Please login first") {
			t.Errorf("%s: %q", cmd, got)
		}
	}
	// An APPEND literal sent before login is read off and refused.
	tc.bad("a6 APPEND INBOX " + literalPlus(testMessage("x", "y")))
	tc.bad("a7 FOO")
	tc.ok("a8 LOGIN alice secret")
	if got := tc.bad("a9 LOGIN alice secret"); !strings.Contains(got, "BAD") {
		t.Errorf("second LOGIN: %q", got)
	}
	tc.bad("a10 FETCH 1 FLAGS") // not selected
	tc.ok("a11 LOGOUT")
}

func TestRawLoginFailures(t *testing.T) {
	e := newEnv(t)
	tc := e.raw()
	got := tc.no("a1 LOGIN alice wrong", "AUTHENTICATIONFAILED")
	if !strings.Contains(got, "Login failed") {
		t.Errorf("failed LOGIN text %q, want Cyrus's \"Login failed\"", got)
	}
	tc.no("a2 LOGIN nobody secret", "AUTHENTICATIONFAILED")
	tc.bad("a3 LOGIN alice")
	// Quoted and literal arguments.
	tc.ok(`a4 LOGIN "alice" ` + literal("secret"))
	tc.ok("a5 LOGOUT")

	tc = e.raw()
	tc.ok("b1 LOGIN " + literalPlus("bob") + " " + literalPlus("secret"))
	tc.ok("b2 LOGOUT")
}

func TestRawAuthenticate(t *testing.T) {
	e := newEnv(t)
	plain := b64("\x00alice\x00secret")

	t.Run("PLAIN with SASL-IR", func(t *testing.T) {
		tc := e.raw()
		tc.t = t
		got := tc.ok("a1 AUTHENTICATE PLAIN " + plain)
		if !strings.Contains(got, "[CAPABILITY ") {
			t.Logf("no CAPABILITY code in %q", got)
		}
		tc.ok("a2 SELECT INBOX")
		tc.ok("a3 LOGOUT")
	})
	t.Run("PLAIN with a continuation", func(t *testing.T) {
		tc := e.raw()
		tc.t = t
		tc.send("a1 AUTHENTICATE PLAIN\r\n")
		tc.expect("+")
		tc.send(plain + "\r\n")
		tc.expect("a1 OK")
	})
	t.Run("PLAIN with a wrong password", func(t *testing.T) {
		tc := e.raw()
		tc.t = t
		tc.no("a1 AUTHENTICATE PLAIN "+b64("\x00alice\x00nope"), "AUTHENTICATIONFAILED")
		tc.ok("a2 LOGIN alice secret")
	})
	t.Run("PLAIN with an authorization identity", func(t *testing.T) {
		tc := e.raw()
		tc.t = t
		tc.ok("a1 AUTHENTICATE PLAIN " + b64("alice\x00alice\x00secret"))
	})
	t.Run("LOGIN", func(t *testing.T) {
		tc := e.raw()
		tc.t = t
		tc.send("a1 AUTHENTICATE LOGIN\r\n")
		tc.expect("+")
		tc.send(b64("bob") + "\r\n")
		tc.expect("+")
		tc.send(b64("secret") + "\r\n")
		tc.expect("a1 OK")
		tc.ok("a2 LOGOUT")
	})
	t.Run("cancel", func(t *testing.T) {
		tc := e.raw()
		tc.t = t
		tc.send("a1 AUTHENTICATE PLAIN\r\n")
		tc.expect("+")
		tc.send("*\r\n")
		tc.expect("a1 BAD")
		tc.ok("a2 NOOP")
		tc.bad("a3 SELECT INBOX") // still not logged in
		tc.send("a4 AUTHENTICATE LOGIN\r\n")
		tc.expect("+")
		tc.send(b64("bob") + "\r\n")
		tc.expect("+")
		tc.send("*\r\n")
		tc.expect("a4 BAD")
		tc.ok("a5 LOGIN bob secret")
	})
	t.Run("unknown mechanism", func(t *testing.T) {
		tc := e.raw()
		tc.t = t
		if got := tc.run("a1 AUTHENTICATE X-UNKNOWN"); !strings.HasPrefix(got, "a1 NO") && !strings.HasPrefix(got, "a1 BAD") {
			t.Errorf("unknown mechanism: %q", got)
		}
		tc.ok("a2 NOOP")
	})
	t.Run("bad base64", func(t *testing.T) {
		tc := e.raw()
		tc.t = t
		tc.send("a1 AUTHENTICATE PLAIN\r\n")
		tc.expect("+")
		tc.send("!!!not base64!!!\r\n")
		tc.expect("a1 BAD")
		tc.ok("a2 NOOP")
	})
}

func TestRawLiterals(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	// Synchronizing and non-synchronizing literals in mailbox arguments.
	tc.ok("a1 CREATE " + literal("tmpbox"))
	tc.ok("a2 RENAME " + literalPlus("tmpbox") + " " + literalPlus("newname"))
	tc.ok(`a3 LIST "" ` + literal("new*"))
	tc.mustHave(`* LIST (\HasNoChildren) "/" newname`)
	if len(tc.untagged) != 1 {
		t.Errorf("LIST new*: %q", tc.untagged)
	}
	// APPEND with a synchronizing literal: the harness waits for "+".
	msg := testMessage("sync", "synchronizing literal")
	got := tc.ok("a4 APPEND newname (\\Seen) " + literal(msg))
	if !strings.Contains(got, "[APPENDUID ") {
		t.Errorf("APPEND: %q lacks APPENDUID", got)
	}
	// And with a non-synchronizing one, with flags and a date.
	tc.ok(`a5 APPEND newname (\Flagged $Work) "05-Jun-2024 10:11:12 +0200" ` + literalPlus(msg))
	tc.ok("a6 SELECT newname")
	tc.mustHave("* 2 EXISTS")
	tc.ok("a7 FETCH 1:2 (INTERNALDATE RFC822.SIZE FLAGS)")
	n := len(msg)
	if f := tc.withPrefix(`* 2 FETCH (INTERNALDATE " 5-Jun-2024 10:11:12 +0200" RFC822.SIZE ` + itoa(n) + ` FLAGS (`); len(f) != 1 {
		t.Errorf("FETCH 2: %q", tc.untagged)
	}
	if got := tc.fetchFlags(2); got != `$Work \Flagged \Recent` {
		t.Errorf("flags of 2: %q", got)
	}
	if got := tc.fetchFlags(1); got != `\Recent \Seen` {
		t.Errorf("flags of 1: %q", got)
	}
	// A literal inside SEARCH.
	tc.ok("a8 SEARCH SUBJECT " + literal("sync"))
	tc.mustHave("* SEARCH 1 2")
	tc.ok("a9 UID SEARCH HEADER " + literalPlus("Subject") + " " + literalPlus("SYNC") + " FLAGGED")
	if len(tc.withPrefix("* SEARCH ")) != 1 || strings.Count(tc.untagged[0], " ") != 2 {
		t.Errorf("UID SEARCH: %q", tc.untagged)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// flagsIn returns the flags of the "FLAGS (...)" item of a response,
// sorted and joined by spaces, "?" when there is none: stores may keep
// flags in any order.
func flagsIn(resp string) string {
	_, rest, ok := strings.Cut(resp, "FLAGS (")
	if !ok {
		return "?"
	}
	list, _, _ := strings.Cut(rest, ")")
	f := strings.Fields(list)
	sort.Strings(f)
	return strings.Join(f, " ")
}

// fetchFlags checks that the last untagged responses hold exactly one
// "* seq FETCH" response and returns its sorted flags.
func (tc *transcript) fetchFlags(seq int) string {
	tc.t.Helper()
	got := tc.withPrefix("* " + strconv.Itoa(seq) + " FETCH (")
	if len(got) != 1 {
		tc.t.Errorf("FETCH responses for %d: %q", seq, tc.untagged)
		return ""
	}
	return flagsIn(got[0])
}

func TestRawTooBig(t *testing.T) {
	e := newEnvOpts(t, app.Options{MaxMessageSize: 4096})
	tc := e.rawLogin("alice")
	// RFC 7888 and our limits: NO [TOOBIG] before any "+" is sent, so the
	// client never sends the bytes, and the session goes on.
	tc.send("a1 APPEND INBOX {100000}\r\n")
	got := tc.next()
	if !strings.HasPrefix(got, "a1 NO [TOOBIG]") {
		t.Fatalf("oversized APPEND: %q, want a1 NO [TOOBIG] with no continuation", got)
	}
	tc.ok("a2 NOOP")
	tc.ok("a3 APPEND INBOX " + literal(testMessage("small", "fits")))
	tc.ok("a4 STATUS INBOX (MESSAGES)")
	tc.mustHave("* STATUS INBOX (MESSAGES 1)")

	// An oversized non-synchronizing literal is already on the wire: the
	// server must either read past it and answer, or close with BYE.
	big := strings.Repeat("x", 10000)
	tc.send("a5 APPEND INBOX " + literalPlus(big) + "\r\n")
	got = tc.next()
	switch {
	case strings.HasPrefix(got, "a5 NO [TOOBIG]"), strings.HasPrefix(got, "a5 BAD"):
		tc.ok("a6 NOOP")
	case strings.HasPrefix(got, "* BYE"):
		tc.expectEOF()
	default:
		t.Fatalf("oversized {n+} APPEND: %q", got)
	}
}

func TestRawLongLine(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	// A command line far beyond any sane limit: BAD, and the session
	// resynchronises at the next line.
	tc.send("a1 LIST \"\" " + strings.Repeat("a", 1<<20) + "\r\n")
	got := tc.next()
	if !strings.Contains(got, "BAD") {
		t.Fatalf("oversized line: %q", got)
	}
	tc.ok("a2 NOOP")
	tc.ok("a3 SELECT INBOX")
}

func TestRawBadSyntaxAndSequenceNumbers(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("a0 APPEND INBOX " + literalPlus(testMessage("one", "1")))
	tc.ok("a1 SELECT INBOX")
	tc.bad("a2 FETCH 2 FLAGS") // no message 2
	tc.bad("a3 FETCH 0 FLAGS") // 0 is never a sequence number
	tc.bad("a4 STORE 5 +FLAGS (\\Seen)")
	tc.bad("a5 COPY 3 INBOX")
	tc.bad("a6 FETCH 1 (FLAGS") // unbalanced
	tc.bad("a7 FETCH 1 NOSUCHITEM")
	tc.bad("a8 SEARCH NOSUCHKEY")
	tc.bad("a9 SELECT")
	tc.bad("a10 CREATE \"unterminated")
	// UID FETCH of a missing UID is not an error (RFC 3501 6.4.8).
	tc.ok("a11 UID FETCH 999 FLAGS")
	if len(tc.untagged) != 0 {
		t.Errorf("UID FETCH 999: %q", tc.untagged)
	}
	tc.ok("a12 FETCH 1 FLAGS")
	tc.mustHave(`* 1 FETCH (FLAGS (\Recent))`)
	tc.ok("a13 FETCH * UID")
	if len(tc.withPrefix("* 1 FETCH (UID ")) != 1 {
		t.Errorf("FETCH *: %q", tc.untagged)
	}
}

func TestRawNoSuchMailbox(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.no("a1 SELECT nosuch", "NONEXISTENT")
	tc.no("a2 EXAMINE nosuch", "NONEXISTENT")
	tc.no("a3 STATUS nosuch (MESSAGES)", "NONEXISTENT")
	tc.no("a4 DELETE nosuch", "NONEXISTENT")
	tc.no("a5 APPEND nosuch "+literalPlus(testMessage("x", "y")), "TRYCREATE")
	tc.no("a6 CREATE INBOX", "ALREADYEXISTS")
	tc.no("a7 CREATE inbox", "ALREADYEXISTS")
	tc.ok("a8 CREATE box")
	tc.no("a9 CREATE box", "ALREADYEXISTS")
	tc.no("a10 RENAME nosuch other", "NONEXISTENT")
	tc.no("a11 DELETE INBOX", "")
	// A failed SELECT leaves the session unselected (RFC 3501 6.3.1).
	tc.ok("a12 SELECT box")
	tc.no("a13 SELECT nosuch", "NONEXISTENT")
	tc.bad("a14 FETCH 1:* FLAGS")
}

func TestRawList(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	for _, n := range []string{"a/b/c", "a/d", "x"} {
		tc.ok("c CREATE " + n)
	}
	tc.ok(`l1 LIST "" ""`)
	if len(tc.untagged) != 1 || !tc.has(`* LIST (\Noselect) "/" ""`) {
		t.Errorf(`LIST "" "": %q`, tc.untagged)
	}
	tc.ok(`l2 LIST "" *`)
	tc.mustHave(
		`* LIST (\HasNoChildren) "/" INBOX`,
		`* LIST (\HasChildren) "/" a`,
		`* LIST (\HasChildren) "/" a/b`,
		`* LIST (\HasNoChildren) "/" a/b/c`,
		`* LIST (\HasNoChildren) "/" a/d`,
		`* LIST (\HasNoChildren) "/" x`,
	)
	if len(tc.untagged) != 6 {
		t.Errorf("LIST *: %q", tc.untagged)
	}
	tc.ok(`l3 LIST "" %`)
	if len(tc.untagged) != 3 || !tc.has(`* LIST (\HasChildren) "/" a`) {
		t.Errorf("LIST %%: %q", tc.untagged)
	}
	tc.ok(`l4 LIST a/ %`)
	if len(tc.untagged) != 2 || !tc.has(`* LIST (\HasChildren) "/" a/b`) || !tc.has(`* LIST (\HasNoChildren) "/" a/d`) {
		t.Errorf("LIST a/ %%: %q", tc.untagged)
	}
	tc.ok(`l5 LIST "" inbox`)
	if len(tc.untagged) != 1 || !tc.has(`* LIST (\HasNoChildren) "/" INBOX`) {
		t.Errorf("LIST inbox: %q", tc.untagged)
	}
	tc.ok(`l6 LIST "" nothing*`)
	if len(tc.untagged) != 0 {
		t.Errorf("LIST nothing*: %q", tc.untagged)
	}
	// A deleted parent with children stays as \Noselect.
	tc.ok("l7 DELETE a/b")
	tc.ok(`l8 LIST "" a*`)
	tc.mustHave(`* LIST (\Noselect \HasChildren) "/" a/b`)
}

func TestRawRenameInbox(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("a1 APPEND INBOX " + literalPlus(testMessage("one", "1")))
	tc.ok("a2 APPEND INBOX " + literalPlus(testMessage("two", "2")))
	tc.ok("a3 CREATE INBOX/child")
	tc.ok("a4 RENAME INBOX Old")
	tc.ok("a5 STATUS INBOX (MESSAGES)")
	tc.mustHave("* STATUS INBOX (MESSAGES 0)")
	tc.ok("a6 STATUS Old (MESSAGES)")
	tc.mustHave("* STATUS Old (MESSAGES 2)")
	tc.ok(`a7 LIST "" *`)
	// RFC 3501 6.3.5: INBOX's children stay where they are.
	if !tc.has(`* LIST (\HasChildren) "/" INBOX`) || !tc.has(`* LIST (\HasNoChildren) "/" INBOX/child`) {
		t.Errorf("LIST after RENAME INBOX: %q", tc.untagged)
	}
	tc.no("a8 RENAME Old INBOX", "ALREADYEXISTS")
}

func TestRawModifiedUTF7(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	// "Été" in modified UTF-7 (RFC 3501 5.1.3).
	tc.ok("a1 CREATE &AMk-t&AOk-")
	tc.ok(`a2 LIST "" *`)
	tc.mustHave(`* LIST (\HasNoChildren) "/" &AMk-t&AOk-`)
	tc.ok("a3 SELECT &AMk-t&AOk-")
	tc.ok("a4 STATUS &AMk-t&AOk- (MESSAGES)")
	tc.mustHave(`* STATUS &AMk-t&AOk- (MESSAGES 0)`)
	// An "&" itself is "&-".
	tc.ok("a5 CREATE Tom&-Jerry")
	tc.ok(`a6 LIST "" Tom*`)
	tc.mustHave(`* LIST (\HasNoChildren) "/" Tom&-Jerry`)
	tc.ok(`a7 RENAME &AMk-t&AOk- &ZeVnLIqe-/&AMk-t&AOk-`)
	tc.ok(`a8 LIST "" &ZeVnLIqe-/*`)
	tc.mustHave(`* LIST (\HasNoChildren) "/" &ZeVnLIqe-/&AMk-t&AOk-`)
	// A malformed name is refused, not stored.
	if got := tc.run("a9 CREATE &Jjo"); strings.HasPrefix(got, "a9 OK") {
		t.Errorf("CREATE of malformed modified UTF-7: %q", got)
	}
}

func TestRawKeywordsInFlags(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("a1 APPEND INBOX ($Important Work) " + literalPlus(testMessage("kw", "k")))
	tc.ok("a2 SELECT INBOX")
	var flags string
	for _, u := range tc.untagged {
		if strings.HasPrefix(u, "* FLAGS ") {
			flags = u
		}
	}
	if !strings.Contains(flags, "$Important") || !strings.Contains(flags, "Work") || !strings.Contains(flags, `\Seen`) {
		t.Errorf("FLAGS %q lack the keywords", flags)
	}
	perm := tc.withPrefix("* OK [PERMANENTFLAGS ")
	if len(perm) != 1 || !strings.Contains(perm[0], `\*`) || !strings.Contains(perm[0], `\Deleted`) {
		t.Errorf("PERMANENTFLAGS %q, want the system flags and \\*", perm)
	}
	tc.ok("a3 STORE 1 +FLAGS (NewKeyword)")
	if got := tc.fetchFlags(1); got != `$Important NewKeyword Work \Recent` {
		t.Errorf("STORE +FLAGS: %q", got)
	}
	tc.ok("a4 SEARCH KEYWORD NewKeyword")
	tc.mustHave("* SEARCH 1")
	tc.ok("a5 SEARCH UNKEYWORD Work")
	tc.mustHave("* SEARCH")
	tc.ok("a6 EXAMINE INBOX")
	perm = tc.withPrefix("* OK [PERMANENTFLAGS ")
	if len(perm) != 1 || perm[0] != "* OK [PERMANENTFLAGS ()] No permanent flags permitted" {
		t.Errorf("EXAMINE PERMANENTFLAGS %q", perm)
	}
	if got := tc.ok("a7 NOOP"); got == "" {
		t.Fatal()
	}
	tc.no("a8 STORE 1 +FLAGS (\\Seen)", "")
}

func TestRawPipelining(t *testing.T) {
	e := newEnv(t)
	tc := e.raw()
	msg := testMessage("piped", "pipelined body")
	// Everything in one write; non-synchronizing literals only.
	tc.send("p1 LOGIN alice secret\r\n" +
		"p2 APPEND INBOX " + literalPlus(msg) + "\r\n" +
		"p3 SELECT INBOX\r\n" +
		"p4 FETCH 1 (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n" +
		"p5 STORE 1 +FLAGS.SILENT (\\Answered)\r\n" +
		"p6 FETCH 1 FLAGS\r\n" +
		"p7 NOOP\r\n" +
		"p8 LOGOUT\r\n")
	var all []string
	for {
		s, err := tc.read()
		if err != nil {
			break
		}
		all = append(all, s)
	}
	var tagged []string
	for _, s := range all {
		if s[0] == 'p' {
			tagged = append(tagged, s[:3]+strings.Fields(s)[1])
		}
	}
	want := []string{"p1 OK", "p2 OK", "p3 OK", "p4 OK", "p5 OK", "p6 OK", "p7 OK", "p8 OK"}
	if strings.Join(tagged, ",") != strings.Join(want, ",") {
		t.Fatalf("tagged responses %q, want %q\nall: %q", tagged, want, all)
	}
	if !slices.ContainsFunc(all, func(s string) bool {
		return strings.HasPrefix(s, "* 1 FETCH (FLAGS") && flagsIn(s) == `\Answered \Recent`
	}) {
		t.Errorf("no FETCH FLAGS (\\Answered \\Recent) in %q", all)
	}
	joined := strings.Join(all, "\n")
	for _, w := range []string{
		"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (SUBJECT)] {18}\r\nSubject: piped\r\n\r\n)",
		"* BYE LOGOUT received",
	} {
		if !strings.Contains(joined, w) {
			t.Errorf("responses lack %q:\n%s", w, joined)
		}
	}
}

func TestRawSessionLog(t *testing.T) {
	e := newEnv(t)
	if err := os.MkdirAll(filepath.Join(e.dir, "log", "alice"), 0o700); err != nil {
		t.Fatal(err)
	}
	tc := e.rawLogin("alice")
	tc.ok("a1 SELECT INBOX")
	tc.ok("a2 LOGOUT")
	tc.expectEOF()
	files, _ := filepath.Glob(filepath.Join(e.dir, "log", "alice", "*"))
	if len(files) != 1 {
		t.Fatalf("session logs: %q", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	if !strings.Contains(log, "a1 SELECT INBOX\r\n") || !strings.Contains(log, "* BYE LOGOUT received") {
		t.Errorf("session log lacks the traffic:\n%s", log)
	}
	if strings.Contains(log, "secret") {
		t.Errorf("session log holds the password:\n%s", log)
	}
}
