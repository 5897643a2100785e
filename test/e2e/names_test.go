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
