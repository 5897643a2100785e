package e2e

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/auth/sasl"
	"github.com/imapd-go/imapd/adapters/telemetry/filelog"
	"github.com/imapd-go/imapd/app"
)

// newEnvAdmins is newEnvOpts with the given users as administrators
// (imapd.conf admins).
func newEnvAdmins(t *testing.T, opts app.Options, admins ...string) *env {
	t.Helper()
	e := newEnvOpts(t, opts)
	auth := sasl.New(sasl.Options{MechList: []string{"PLAIN", "LOGIN"}, AllowPlaintext: true, Admins: admins}, sasl.Open(e.dir))
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.ConfigDir = e.dir
	opts.ServerName = "test.example"
	opts.FailedLoginPause = 10 * time.Millisecond
	opts.MultiSession = e2eMode() == "multi"
	e.srv = app.New(opts, e.store, auth, filelog.New(e.dir, "imap", logger), logger)
	return e
}

// TestMetadataRFCExamples runs RFC 5464's examples (sections 4.2 and
// 4.3) as transcripts, on a mailbox and on the server.
func TestMetadataRFCExamples(t *testing.T) {
	e := newEnvAdmins(t, app.Options{}, "bob")
	tc := e.rawLogin("alice")
	tc.ok("a0 CAPABILITY")
	caps := tc.withPrefix("* CAPABILITY ")
	if len(caps) != 1 || !strings.Contains(caps[0]+" ", " METADATA ") || !strings.Contains(caps[0]+" ", " METADATA-SERVER ") {
		t.Errorf("CAPABILITY %q lacks METADATA and METADATA-SERVER", caps)
	}

	// 4.3: a comment across two lines in a literal, then NIL removes it.
	tc.ok("a1 SETMETADATA INBOX (/private/comment {33}\r\nMy new comment across\r\ntwo lines.)")
	tc.ok("a2 GETMETADATA INBOX /private/comment")
	tc.mustHave("* METADATA INBOX (/private/comment {33}\r\nMy new comment across\r\ntwo lines.)")
	tc.ok("a3 SETMETADATA INBOX (/private/comment NIL)")
	tc.ok("a4 GETMETADATA INBOX /private/comment")
	tc.mustHave("* METADATA INBOX (/private/comment NIL)")

	// 4.2: several entries, and MAXSIZE with LONGENTRIES.
	tc.ok(`a5 SETMETADATA INBOX (/shared/comment "Shared comment" /private/comment "My own comment")`)
	tc.ok("a6 GETMETADATA INBOX (/shared/comment /private/comment)")
	tc.mustHave(`* METADATA INBOX ("/shared/comment" "Shared comment" "/private/comment" "My own comment")`)
	// "Shared comment" is 14 bytes: it fits, nothing is left out.
	got := tc.ok("a7 GETMETADATA (MAXSIZE 14) INBOX (/shared/comment /private/comment)")
	tc.mustHave(`* METADATA INBOX ("/shared/comment" "Shared comment" "/private/comment" "My own comment")`)
	if strings.Contains(got, "LONGENTRIES") {
		t.Errorf("a7: %q", got)
	}
	got = tc.ok("a8 GETMETADATA INBOX (MAXSIZE 5) (/shared/comment /private/comment)")
	if !strings.Contains(got, "[METADATA LONGENTRIES 14]") || len(tc.withPrefix("* METADATA")) != 0 {
		t.Errorf("MAXSIZE 5: %q %q, want no entries and [METADATA LONGENTRIES 14]", tc.untagged, got)
	}

	// 4.2.2: DEPTH.
	tc.ok(`a9 SETMETADATA INBOX (/private/filters/values/small "SMALLER 5000" /private/filters/values/big "LARGER 5000" /private/filters/values/big/x "deep")`)
	tc.ok(`a10 GETMETADATA (DEPTH 1) INBOX (/private/filters/values)`)
	tc.mustHave(`* METADATA INBOX ("/private/filters/values" NIL "/private/filters/values/big" "LARGER 5000" "/private/filters/values/small" "SMALLER 5000")`)
	tc.ok(`a11 GETMETADATA (DEPTH infinity) INBOX /private/filters`)
	tc.mustHave(`* METADATA INBOX ("/private/filters" NIL "/private/filters/values/big" "LARGER 5000" "/private/filters/values/big/x" "deep" "/private/filters/values/small" "SMALLER 5000")`)
	tc.ok(`a12 GETMETADATA (DEPTH 0) INBOX /private/filters`)
	tc.mustHave(`* METADATA INBOX ("/private/filters" NIL)`)
	// Cyrus's wildcard, as cyradm's getmetadata sends it.
	tc.ok(`a13 GETMETADATA INBOX ("/shared/*")`)
	tc.mustHave(`* METADATA INBOX ("/shared/comment" "Shared comment")`)

	// Entry names are case-insensitive; the answer uses lower case.
	tc.ok(`a14 GETMETADATA INBOX /Shared/COMMENT`)
	tc.mustHave(`* METADATA INBOX ("/shared/comment" "Shared comment")`)

	// The server: 4.2's "" mailbox. Only an administrator sets /shared.
	tc.no(`a15 SETMETADATA "" (/shared/comment "Shared server comment")`, "NOPERM")
	tc.ok(`a16 SETMETADATA "" (/private/comment "Mine")`)
	admin := e.rawLogin("bob")
	admin.ok(`b1 SETMETADATA "" (/shared/comment "Shared server comment" /shared/admin "mailto:postmaster@example.org")`)
	tc.ok(`a17 GETMETADATA "" (/shared/comment /shared/admin /private/comment)`)
	tc.mustHave(`* METADATA "" ("/shared/comment" "Shared server comment" "/shared/admin" "mailto:postmaster@example.org" "/private/comment" "Mine")`)
	// bob sees the /shared server entries, not alice's /private one.
	admin.ok(`b2 GETMETADATA "" (DEPTH infinity) (/private /shared)`)
	admin.mustHave(`* METADATA "" ("/private" NIL "/shared" NIL "/shared/admin" "mailto:postmaster@example.org" "/shared/comment" "Shared server comment")`)
	tc.ok("a18 LOGOUT")
	admin.ok("b3 LOGOUT")
}

// TestMetadataErrors: malformed commands are BAD, impossible ones NO
// with RFC 5464's response codes; nothing is changed by a refused one.
func TestMetadataErrors(t *testing.T) {
	e := newEnvOpts(t, app.Options{MetadataMaxSize: 10, MetadataMaxEntries: 3})
	tc := e.rawLogin("alice")
	for _, cmd := range []string{
		`a1 GETMETADATA INBOX`,
		`a2 GETMETADATA INBOX ()`,
		`a3 GETMETADATA (DEPTH 2) INBOX /private`,
		`a4 GETMETADATA (MAXSIZE x) INBOX /private`,
		`a5 GETMETADATA INBOX /comment`,
		`a6 SETMETADATA INBOX (/comment "x")`,
		`a7 SETMETADATA INBOX (/private/a/ "x")`,
		`a8 SETMETADATA INBOX (/private//a "x")`,
		`a9 SETMETADATA INBOX (/private/a* "x")`,
		`a10 SETMETADATA INBOX ()`,
		`a11 SETMETADATA INBOX (/private/a)`,
		"a12 SETMETADATA INBOX (/private/a {2+}\r\n\x00x)",
	} {
		tc.bad(cmd)
	}
	tc.no(`b1 GETMETADATA nosuch /private/comment`, "NONEXISTENT")
	tc.no(`b2 SETMETADATA nosuch (/private/comment "x")`, "NONEXISTENT")
	// RFC 5464 4.3: MAXSIZE gives the largest value accepted.
	tc.no(`b3 SETMETADATA INBOX (/private/comment "01234567890")`, "METADATA MAXSIZE 10")
	tc.ok(`b4 SETMETADATA INBOX (/private/comment "0123456789")`)
	// TOOMANY, and the whole command is refused.
	tc.ok(`b5 SETMETADATA INBOX (/private/a "1" /private/b "2")`)
	tc.no(`b6 SETMETADATA INBOX (/private/b "two" /private/c "3")`, "METADATA TOOMANY")
	tc.ok(`b7 GETMETADATA INBOX (DEPTH 1) /private`)
	tc.mustHave(`* METADATA INBOX ("/private" NIL "/private/a" "1" "/private/b" "2" "/private/comment" "0123456789")`)
	// /shared has its own count.
	tc.ok(`b8 SETMETADATA INBOX (/shared/a "1" /shared/b "2" /shared/c "3")`)
	// RFC 6154 4: the special-use entry holds known attributes only, on
	// mailboxes only.
	tc.no(`b9 SETMETADATA INBOX (/private/specialuse "\\Bogus")`, "USEATTR")
	tc.no(`b10 SETMETADATA "" (/private/specialuse "\\Sent")`, "NOPERM")
	tc.no(`b11 SETMETADATA INBOX (/shared/specialuse "\\Sent")`, "NOPERM")
	tc.ok("b12 LOGOUT")
}

// TestMetadataBinary: values are bytes. A literal8 carries NUL (RFC 5464
// section 5: value = nstring / literal8) and comes back as one; 8-bit
// bytes come back in a literal.
func TestMetadataBinary(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("a1 SETMETADATA INBOX (/private/vendor/x/bin ~{4}\r\na\x00b\xff /private/vendor/x/utf8 {3}\r\n\xc3\xa9!)")
	tc.ok("a2 GETMETADATA INBOX (/private/vendor/x/bin /private/vendor/x/utf8)")
	tc.mustHave("* METADATA INBOX (/private/vendor/x/bin ~{4}\r\na\x00b\xff /private/vendor/x/utf8 {3}\r\n\xc3\xa9!)")
	// An empty string is a value, not NIL.
	tc.ok(`a3 SETMETADATA INBOX (/private/comment "")`)
	tc.ok(`a4 GETMETADATA INBOX /private/comment`)
	tc.mustHave(`* METADATA INBOX (/private/comment "")`)
}

// TestMetadataSpecialUse: /private/specialuse shows the mailbox's
// SPECIAL-USE attributes and setting it changes them (RFC 6154 section
// 4), as in Cyrus.
func TestMetadataSpecialUse(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok(`a1 CREATE Sent (USE (\Sent))`)
	tc.ok(`a2 GETMETADATA Sent /private/specialuse`)
	tc.mustHave(`* METADATA Sent ("/private/specialuse" "\\Sent")`)
	tc.ok(`a3 SETMETADATA Sent (/private/specialuse "\\Sent \\drafts")`)
	tc.ok(`a4 LIST "" Sent RETURN (SPECIAL-USE)`)
	tc.mustHave(`* LIST (\HasNoChildren \Sent \Drafts) "/" Sent`)
	tc.ok(`a5 SETMETADATA Sent (/private/specialuse NIL)`)
	tc.ok(`a6 LIST "" Sent RETURN (SPECIAL-USE)`)
	tc.mustHave(`* LIST (\HasNoChildren) "/" Sent`)
	tc.ok(`a7 GETMETADATA Sent /private/specialuse`)
	tc.mustHave(`* METADATA Sent ("/private/specialuse" NIL)`)
	tc.ok(`a8 SETMETADATA INBOX (/private/specialuse "junk")`)
	tc.ok(`a9 GETMETADATA (DEPTH 1) INBOX /private`)
	tc.mustHave(`* METADATA INBOX ("/private" NIL "/private/specialuse" "\\Junk")`)
}

// TestMetadataMailboxLife: entries move with RENAME (children's too),
// go with DELETE, and another session (another process, under master)
// sees them.
func TestMetadataMailboxLife(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("a1 CREATE a/b")
	tc.ok(`a2 SETMETADATA a (/shared/comment "top" /private/comment "mine")`)
	tc.ok(`a3 SETMETADATA a/b (/shared/comment "child")`)
	tc.ok("a4 RENAME a x")
	other := e.rawLogin("alice")
	other.ok(`b1 GETMETADATA x (/shared/comment /private/comment)`)
	other.mustHave(`* METADATA x ("/shared/comment" "top" "/private/comment" "mine")`)
	other.ok(`b2 GETMETADATA x/b /shared/comment`)
	other.mustHave(`* METADATA x/b ("/shared/comment" "child")`)
	tc.ok("a5 DELETE x")
	tc.ok("a6 CREATE x")
	tc.ok(`a7 GETMETADATA x (/shared/comment /private/comment)`)
	tc.mustHave(`* METADATA x ("/shared/comment" NIL "/private/comment" NIL)`)
	tc.ok(`a8 GETMETADATA x/b /shared/comment`)
	tc.mustHave(`* METADATA x/b ("/shared/comment" "child")`)
	// bob's INBOX is bob's: alice's entries are not his.
	tc.ok(`a9 SETMETADATA INBOX (/shared/comment "alice's inbox")`)
	bob := e.rawLogin("bob")
	bob.ok(`c1 GETMETADATA INBOX /shared/comment`)
	bob.mustHave(`* METADATA INBOX ("/shared/comment" NIL)`)
}

// TestListMetadata: LIST's METADATA return option (RFC 9590) answers
// each listed mailbox as GETMETADATA would, after its LIST (and STATUS)
// response; MAXSIZE's LONGENTRIES goes on LIST's tagged OK.
func TestListMetadata(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok(`a1 CREATE Foo`)
	tc.ok(`a2 SETMETADATA INBOX (/shared/comment "inbox comment" /private/comment "mine")`)
	tc.ok(`a3 LIST "" % RETURN (METADATA ("/shared/comment" "/private/comment"))`)
	tc.mustHave(`* LIST (\HasNoChildren) "/" INBOX`, `* METADATA INBOX ("/shared/comment" "inbox comment" "/private/comment" "mine")`,
		`* LIST (\HasNoChildren) "/" Foo`, `* METADATA Foo ("/shared/comment" NIL "/private/comment" NIL)`)
	// Each METADATA follows its mailbox's LIST (and STATUS) response.
	for i, u := range tc.untagged {
		if strings.HasPrefix(u, "* METADATA ") {
			name := strings.Fields(u)[2]
			if i == 0 || !strings.HasSuffix(tc.untagged[i-1], " "+name) {
				t.Errorf("%q does not follow its LIST response: %q", u, tc.untagged)
			}
		}
	}
	got := tc.ok(`a4 LIST "" * RETURN (STATUS (MESSAGES) METADATA (MAXSIZE 5 /shared/comment))`)
	if !strings.Contains(got, "[METADATA LONGENTRIES 13]") {
		t.Errorf("LIST with MAXSIZE: %q, want [METADATA LONGENTRIES 13]", got)
	}
	tc.mustHave(`* METADATA Foo ("/shared/comment" NIL)`)
	tc.mustNotContain(`inbox comment`)
	// The special-use entry, through LIST too.
	tc.ok(`a5 SETMETADATA Foo (/private/specialuse "\\Archive")`)
	tc.ok(`a6 LIST "" Foo RETURN (METADATA /private/specialuse)`)
	tc.mustHave(`* LIST (\HasNoChildren \Archive) "/" Foo`, `* METADATA Foo ("/private/specialuse" "\\Archive")`)
	tc.bad(`a7 LIST "" * RETURN (METADATA ())`)
}
