package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// oddName is a well-formed astring (atom characters, "]" and a backtick)
// whose "&" starts no modified UTF-7 sequence: no mailbox can have it.
const oddName = "!#$&'+,-.0123456789:;<=>?@^_`|[}"

// nameCase is one command of a name transcript and the tagged answer it
// must get: the status, and the response code ("" for none). none, when
// set, is a prefix no untagged response may have (a LIST that matches
// nothing); want lists untagged responses that must be there.
type nameCase struct {
	cmd, status, code string
	none              string
	want              []string
}

// runNames runs each case with its own tag, checks the exact tagged status
// and code, and checks with a NOOP that the session goes on after it.
func runNames(t *testing.T, tc *transcript, prefix string, cases []nameCase) {
	t.Helper()
	for i, c := range cases {
		tag := fmt.Sprintf("%s%d", prefix, i+1)
		got := tc.run(tag + " " + c.cmd)
		want := tag + " " + c.status
		if c.code != "" {
			want += " [" + c.code + "]"
		}
		switch {
		case !strings.HasPrefix(got, want+" ") && got != want:
			t.Errorf("%s: got %q, want %q", c.cmd, got, want+" ...")
		case c.code == "" && c.status != "OK" && strings.HasPrefix(got, want+" ["):
			t.Errorf("%s: got %q, want no response code", c.cmd, got)
		}
		if c.none != "" {
			if l := tc.withPrefix(c.none); len(l) > 0 {
				t.Errorf("%s: unexpected %q", c.cmd, l)
			}
		}
		for _, w := range c.want {
			if !tc.has(w) {
				t.Errorf("%s: untagged responses %q lack %q", c.cmd, tc.untagged, w)
			}
		}
		tc.ok(tag + "z NOOP")
	}
}

// TestNamesThatCannotExist: a command that parses but names a mailbox
// that cannot exist gets NO (never BAD), with the code for what the
// command does with the name, and a LIST pattern that matches nothing is
// still a pattern (OK). See imap.RefuseName.
func TestNamesThatCannotExist(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("s1 ENABLE QRESYNC")
	tc.ok("s2 CREATE foo")
	tc.ok("s3 APPEND INBOX " + literalPlus(testMessage("x", "y")))
	msg := literalPlus(testMessage("n", "n"))
	odd := oddName
	runNames(t, tc, "a", []nameCase{
		{cmd: "SELECT " + odd, status: "NO", code: "NONEXISTENT"},
		{cmd: "EXAMINE " + odd, status: "NO", code: "NONEXISTENT"},
		{cmd: "SELECT " + odd + " (CONDSTORE)", status: "NO", code: "NONEXISTENT"},
		{cmd: "SELECT " + odd + " (QRESYNC (1 1))", status: "NO", code: "NONEXISTENT"},
		{cmd: "CREATE " + odd, status: "NO", code: "CANNOT"},
		{cmd: "CREATE " + odd + ` (USE (\Archive))`, status: "NO", code: "CANNOT"},
		{cmd: "DELETE " + odd, status: "NO", code: "NONEXISTENT"},
		{cmd: "RENAME " + odd + " bar", status: "NO", code: "NONEXISTENT"},
		{cmd: "RENAME foo " + odd, status: "NO", code: "CANNOT"},
		{cmd: "RENAME " + odd + " " + odd, status: "NO", code: "NONEXISTENT"},
		{cmd: `LIST "" ` + odd + "%*", status: "OK", none: "* LIST"},
		{cmd: "LIST " + odd + " *", status: "OK", none: "* LIST"},
		{cmd: "LIST " + odd + ` ""`, status: "OK", want: []string{`* LIST (\Noselect) "/" ""`}},
		{cmd: `LIST "" (` + odd + "% foo)", status: "OK", want: []string{`* LIST (\HasNoChildren) "/" foo`}},
		{cmd: `LIST (SUBSCRIBED) "" (` + odd + "%)", status: "OK", none: "* LIST"},
		{cmd: `LIST "" ` + odd + "* RETURN (STATUS (MESSAGES))", status: "OK", none: "*"},
		{cmd: `LSUB "" ` + odd + "%*", status: "OK", none: "* LSUB"},
		{cmd: "LSUB " + odd + " *", status: "OK", none: "* LSUB"},
		{cmd: "STATUS " + odd + " (MESSAGES)", status: "NO", code: "NONEXISTENT"},
		{cmd: "APPEND " + odd + " " + msg, status: "NO", code: "NONEXISTENT"},
		{cmd: "APPEND " + odd + " " + literal(testMessage("s", "s")), status: "NO", code: "NONEXISTENT"},
		{cmd: "APPEND " + odd + " " + msg + " " + msg, status: "NO", code: "NONEXISTENT"},
		{cmd: "SUBSCRIBE " + odd, status: "NO", code: "NONEXISTENT"},
		// Cyrus answers OK: nothing is subscribed under such a name.
		{cmd: "UNSUBSCRIBE " + odd, status: "OK"},
		// Other spellings that are not modified UTF-7.
		{cmd: "CREATE &AGE-", status: "NO", code: "CANNOT"},
		{cmd: "CREATE a&", status: "NO", code: "CANNOT"},
		{cmd: "SELECT caf&AOk", status: "NO", code: "NONEXISTENT"},
		{cmd: `LIST "" a&*`, status: "OK", none: "* LIST"},
		// A command that does not parse is still BAD.
		{cmd: "SELECT", status: "BAD"},
		{cmd: `SELECT "unterminated`, status: "BAD"},
	})
	tc.ok("s4 SELECT INBOX")
	runNames(t, tc, "b", []nameCase{
		{cmd: "COPY 1 " + odd, status: "NO", code: "NONEXISTENT"},
		{cmd: "MOVE 1 " + odd, status: "NO", code: "NONEXISTENT"},
		{cmd: "UID COPY 1:* " + odd, status: "NO", code: "NONEXISTENT"},
		{cmd: "UID MOVE 1:* " + odd, status: "NO", code: "NONEXISTENT"},
		{cmd: "COPY 1 nosuch", status: "NO", code: "TRYCREATE"},
		{cmd: "UID COPY 99 " + odd, status: "NO", code: "NONEXISTENT"},
		{cmd: "SELECT " + odd, status: "NO", code: "NONEXISTENT"},
	})
	// The failed SELECT left the session unselected (RFC 3501 6.3.1).
	tc.bad("s5 FETCH 1 FLAGS")
	tc.ok(`s6 LIST "" *`)
	if len(tc.untagged) != 2 {
		t.Errorf("mailboxes left: %q", tc.untagged)
	}
}

// TestNamesDotLevels: "." and ".." are no level of a mailbox name, on any
// store (imap.CheckMailboxName): a CREATE or RENAME to such a name is NO
// [CANNOT], and no lookup finds one.
func TestNamesDotLevels(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("s1 CREATE foo")
	tc.ok("s2 APPEND INBOX " + literalPlus(testMessage("x", "y")))
	var cases []nameCase
	for _, n := range []string{".", "..", "INBOX/..", "INBOX/.", "../bob", "a/./b", "a/../b", "foo/..", "a//b"} {
		cases = append(cases,
			nameCase{cmd: "CREATE " + n, status: "NO", code: "CANNOT"},
			nameCase{cmd: "CREATE " + n + "/", status: "NO", code: "CANNOT"},
			nameCase{cmd: "RENAME foo " + n, status: "NO", code: "CANNOT"},
			nameCase{cmd: "SELECT " + n, status: "NO", code: "NONEXISTENT"},
			nameCase{cmd: "STATUS " + n + " (MESSAGES)", status: "NO", code: "NONEXISTENT"},
			nameCase{cmd: "DELETE " + n, status: "NO", code: "NONEXISTENT"},
			nameCase{cmd: "RENAME " + n + " bar", status: "NO", code: "NONEXISTENT"},
			// [TRYCREATE] would invite a CREATE that must fail.
			nameCase{cmd: "APPEND " + n + " " + literalPlus(testMessage("d", "d")), status: "NO", code: "NONEXISTENT"},
			nameCase{cmd: "SUBSCRIBE " + n, status: "NO", code: "NONEXISTENT"},
			nameCase{cmd: "UNSUBSCRIBE " + n, status: "OK"},
		)
	}
	// Dots inside a level are ordinary characters.
	cases = append(cases,
		nameCase{cmd: "CREATE .hidden", status: "OK"},
		nameCase{cmd: "CREATE .../x.", status: "OK"},
		nameCase{cmd: `LIST "" *`, status: "OK", want: []string{
			`* LIST (\HasNoChildren) "/" INBOX`, `* LIST (\HasNoChildren) "/" foo`, `* LIST (\HasNoChildren) "/" .hidden`,
			`* LIST (\HasChildren) "/" ...`, `* LIST (\HasNoChildren) "/" .../x.`}},
	)
	runNames(t, tc, "d", cases)
	tc.ok(`s3 LIST "" *`)
	if len(tc.untagged) != 5 {
		t.Errorf("mailboxes: %q", tc.untagged)
	}
	tc.ok("s4 SELECT INBOX")
	runNames(t, tc, "e", []nameCase{
		{cmd: "COPY 1 ..", status: "NO", code: "NONEXISTENT"},
		{cmd: "MOVE 1 INBOX/..", status: "NO", code: "NONEXISTENT"},
		{cmd: "UID COPY 1 ../bob", status: "NO", code: "NONEXISTENT"},
		{cmd: "UID MOVE 1 .", status: "NO", code: "NONEXISTENT"},
	})
}

// TestNames8Bit: raw 8-bit mailbox names are UTF-8 only after ENABLE
// UTF8=ACCEPT (RFC 6855 3) or ENABLE IMAP4rev2 (RFC 9051 5.1); before, a
// client names a mailbox in modified UTF-7, so an 8-bit name that parses
// (a quoted string, a literal) names no mailbox: NO, never BAD.
func TestNames8Bit(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("s1 CREATE foo")
	tc.ok("s2 CREATE caf&AOk-")
	tc.ok("s3 APPEND INBOX " + literalPlus(testMessage("x", "y")))
	const q = `"café"`
	lit := literalPlus("café")
	notUTF8 := literalPlus("x\xffy")
	before := []nameCase{
		{cmd: "CREATE " + q, status: "NO", code: "CANNOT"},
		{cmd: "CREATE " + lit, status: "NO", code: "CANNOT"},
		{cmd: "CREATE " + notUTF8, status: "NO", code: "CANNOT"},
		{cmd: "SELECT " + q, status: "NO", code: "NONEXISTENT"},
		{cmd: "EXAMINE " + lit, status: "NO", code: "NONEXISTENT"},
		{cmd: "STATUS " + q + " (MESSAGES)", status: "NO", code: "NONEXISTENT"},
		{cmd: "DELETE " + q, status: "NO", code: "NONEXISTENT"},
		{cmd: "RENAME " + q + " bar", status: "NO", code: "NONEXISTENT"},
		{cmd: "RENAME foo " + q, status: "NO", code: "CANNOT"},
		{cmd: `LIST "" "café*"`, status: "OK", none: "* LIST"},
		{cmd: `LIST "café" *`, status: "OK", none: "* LIST"},
		{cmd: `LIST "" ("café" foo)`, status: "OK", want: []string{`* LIST (\HasNoChildren) "/" foo`}},
		{cmd: `LSUB "" "café*"`, status: "OK", none: "* LSUB"},
		{cmd: "APPEND " + q + " " + literalPlus(testMessage("a", "a")), status: "NO", code: "NONEXISTENT"},
		{cmd: "SUBSCRIBE " + q, status: "NO", code: "NONEXISTENT"},
		{cmd: "UNSUBSCRIBE " + q, status: "OK"},
		// The modified UTF-7 spelling names the mailbox.
		{cmd: "STATUS caf&AOk- (MESSAGES)", status: "OK", want: []string{`* STATUS caf&AOk- (MESSAGES 0)`}},
		// RFC 3501 and RFC 9051: ATOM-CHAR is 7-bit, so this does not parse.
		{cmd: "SELECT café", status: "BAD"},
	}
	runNames(t, tc, "b", before)
	tc.ok("s4 SELECT INBOX")
	runNames(t, tc, "c", []nameCase{
		{cmd: "COPY 1 " + q, status: "NO", code: "NONEXISTENT"},
		{cmd: "MOVE 1 " + lit, status: "NO", code: "NONEXISTENT"},
		{cmd: "UID COPY 1 " + q, status: "NO", code: "NONEXISTENT"},
		{cmd: "UID MOVE 1 " + q, status: "NO", code: "NONEXISTENT"},
	})
	tc.ok("s5 UNSELECT")

	tc.ok("s6 ENABLE UTF8=ACCEPT")
	runNames(t, tc, "u", []nameCase{
		{cmd: `LIST "" "caf*"`, status: "OK", want: []string{`* LIST (\HasNoChildren) "/" "café"`}},
		{cmd: "STATUS " + q + " (MESSAGES)", status: "OK", want: []string{`* STATUS "café" (MESSAGES 0)`}},
		{cmd: "APPEND " + lit + " " + literalPlus(testMessage("a", "a")), status: "OK"},
		{cmd: `CREATE "café/sub"`, status: "OK"},
		{cmd: `RENAME "café/sub" ` + literalPlus("thé"), status: "OK"},
		{cmd: `LIST "café/" *`, status: "OK", none: "* LIST"},
		{cmd: `LIST "" ("thé" foo)`, status: "OK", want: []string{`* LIST (\HasNoChildren) "/" "thé"`, `* LIST (\HasNoChildren) "/" foo`}},
		{cmd: "SUBSCRIBE " + q, status: "OK"},
		{cmd: `LSUB "" "caf*"`, status: "OK", want: []string{`* LSUB () "/" "café"`}},
		{cmd: "UNSUBSCRIBE " + q, status: "OK"},
		{cmd: "CREATE " + notUTF8, status: "NO", code: "CANNOT"},
		{cmd: "SELECT " + notUTF8, status: "NO", code: "NONEXISTENT"},
		{cmd: `LIST "" ` + notUTF8, status: "OK", none: "* LIST"},
		{cmd: "SELECT " + q, status: "OK"},
		{cmd: "COPY 1 thé", status: "BAD"},
		{cmd: `COPY 1 "thé"`, status: "OK"},
		{cmd: "DELETE " + q, status: "OK"},
	})

	// IMAP4rev2 takes UTF-8 names too.
	tc = e.rawLogin("bob")
	runNames(t, tc, "r", []nameCase{
		{cmd: "CREATE " + q, status: "NO", code: "CANNOT"},
		{cmd: "ENABLE IMAP4rev2", status: "OK"},
		{cmd: "CREATE " + q, status: "OK"},
		{cmd: `LIST "" "caf*"`, status: "OK", want: []string{`* LIST (\HasNoChildren) "/" "café"`}},
		{cmd: "CREATE " + notUTF8, status: "NO", code: "CANNOT"},
	})
}
