package e2e

import (
	"sort"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/app"
)

// implemented is every capability the server implements, by state. The
// test fails when CAPABILITY lists anything else, or misses one.
var implemented = map[string][]string{
	"pre": {"IMAP4rev1", "IMAP4rev2", "SASL-IR", "ID", "ENABLE", "LITERAL+", "AUTH=PLAIN", "AUTH=LOGIN",
		"METADATA", "METADATA-SERVER", "LIST-METADATA"},
	"post": {"IMAP4rev1", "IMAP4rev2", "SASL-IR", "ID", "ENABLE", "LITERAL+",
		"BINARY", "CHILDREN", "CONDSTORE", "CREATE-SPECIAL-USE", "ESEARCH", "IDLE", "LIST-EXTENDED", "LIST-STATUS", "MOVE",
		"MULTIAPPEND", "NAMESPACE", "OBJECTID", "PREVIEW", "QRESYNC", "SAVEDATE", "SEARCHRES", "SPECIAL-USE", "STATUS=SIZE", "UIDPLUS", "UNSELECT",
		"UTF8=ACCEPT", "WITHIN", "APPENDLIMIT=67108864", "CATENATE", "URLAUTH", "URLAUTH=BINARY",
		"PARTIAL", "CONTEXT=SEARCH", "COMPRESS=DEFLATE", "REPLACE", "UNAUTHENTICATE",
		"SORT", "SORT=DISPLAY", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES", "THREAD=REFS", "ESORT", "CONTEXT=SORT", "NOTIFY",
		"METADATA", "METADATA-SERVER", "LIST-METADATA",
		"ACL", "RIGHTS=kxten", "LIST-MYRIGHTS",
		"QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE", "QUOTA=RES-MAILBOX", "QUOTASET"},
}

func capsOf(line string) []string {
	i := strings.Index(line, "CAPABILITY ")
	f := strings.Fields(line[i+len("CAPABILITY "):])
	sort.Strings(f)
	return f
}

func TestCapabilitiesExact(t *testing.T) {
	e := newEnv(t)
	tc := e.raw()
	tc.ok("c1 CAPABILITY")
	want := append([]string(nil), implemented["pre"]...)
	sort.Strings(want)
	if got := capsOf(tc.withPrefix("* CAPABILITY ")[0]); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("pre-auth CAPABILITY\n got %v\nwant %v", got, want)
	}
	tc.ok("c2 LOGIN alice secret")
	tc.ok("c3 CAPABILITY")
	want = append([]string(nil), implemented["post"]...)
	sort.Strings(want)
	if got := capsOf(tc.withPrefix("* CAPABILITY ")[0]); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("post-auth CAPABILITY\n got %v\nwant %v", got, want)
	}
}

// TestIMAP4rev2: ENABLE IMAP4rev2 switches to RFC 9051 semantics: no
// RECENT or \Recent, a LIST in SELECT's answer, ESEARCH for SEARCH.
func TestIMAP4rev2(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("r1 APPEND INBOX " + literal(testMessage("x", "hello")))
	tc.ok("r1b CREATE Entw&APw-rfe/Alt")
	tc.ok("r2 ENABLE IMAP4rev2")
	tc.mustHave("* ENABLED IMAP4rev2")
	// RFC 9051 5.1: UTF-8 mailbox names; a missing parent is \NonExistent.
	tc.ok(`r2b LIST "" "*"`)
	tc.mustHave(`* LIST (\HasChildren) "/" "Entwürfe"`, `* LIST (\HasNoChildren) "/" "Entwürfe/Alt"`)
	tc.ok(`r2c DELETE "Entwürfe"`)
	tc.ok(`r2d LIST "" "*"`)
	tc.mustHave(`* LIST (\NonExistent \HasChildren) "/" "Entwürfe"`)
	tc.ok("r3 SELECT INBOX")
	tc.mustHave(`* LIST () "/" "INBOX"`)
	tc.mustNotContain("RECENT")
	tc.ok("r4 FETCH 1 FLAGS")
	tc.mustNotContain(`\Recent`)
	tc.ok("r5 SEARCH TEXT hello")
	tc.mustHave(`* ESEARCH (TAG "r5") ALL 1`)
	tc.ok("r6 UID SEARCH TEXT nothing")
	tc.mustHave(`* ESEARCH (TAG "r6") UID`)
	tc.ok("r7 STORE 1 +FLAGS (\\Deleted)")
	tc.ok("r8 STATUS INBOX (DELETED SIZE MESSAGES)")
	if got := tc.withPrefix(`* STATUS "INBOX" (DELETED 1 SIZE `); len(got) != 1 {
		t.Errorf("STATUS DELETED: %q", tc.untagged)
	}
}

// TestUTF8Accept: RFC 6855 mailbox names in UTF-8 after ENABLE.
func TestUTF8Accept(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("u1 CREATE Entw&APw-rfe")
	tc.ok(`u2 LIST "" "Entw*"`)
	tc.mustHave(`* LIST (\HasNoChildren) "/" "Entw&APw-rfe"`)
	tc.ok("u3 ENABLE UTF8=ACCEPT")
	tc.mustHave("* ENABLED UTF8=ACCEPT")
	tc.ok(`u4 LIST "" "Entw*"`)
	tc.mustHave(`* LIST (\HasNoChildren) "/" "Entwürfe"`)
	tc.ok(`u5 SELECT "Entwürfe"`)
	tc.ok(`u6 CREATE "A&B"`)
	tc.ok(`u7 LIST "" "A*"`)
	tc.mustHave(`* LIST (\HasNoChildren) "/" "A&B"`)
}

// TestLiteralMinus: with literalminus, non-synchronizing literals above
// 4096 bytes are refused (RFC 7888) and LITERAL- is advertised.
func TestLiteralMinus(t *testing.T) {
	e := newEnvOpts(t, app.Options{LiteralMinus: true})
	tc := e.raw()
	tc.ok("l1 CAPABILITY")
	if got := tc.withPrefix("* CAPABILITY")[0]; !strings.Contains(got, "LITERAL-") || strings.Contains(got, "LITERAL+") {
		t.Errorf("CAPABILITY %q", got)
	}
	tc.ok("l2 LOGIN alice secret")
	tc.ok("l3 CREATE " + literalPlus(strings.Repeat("a", 100)))
	tc.send("l4 CREATE " + literalPlus(strings.Repeat("b", 5000)) + "\r\n")
	line := tc.expect("l4 BAD")
	if !strings.Contains(line, "TOOBIG") {
		t.Errorf("oversized LITERAL- literal: %q", line)
	}
	tc.ok("l5 NOOP")
}
