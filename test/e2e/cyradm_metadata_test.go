package e2e

import (
	"strings"
	"testing"

	"github.com/imapd-go/imapd/app"
)

// TestCyradmMetadata: Cyrus's cyradm (Debian's cyrus-admin) drives
// METADATA through its mboxconfig, setmetadata, setinfo and getmetadata
// commands, which send SETMETADATA and GETMETADATA with "/private/*"
// and "/shared/*" (Cyrus::IMAP::Admin in Cyrus 3.6).
func TestCyradmMetadata(t *testing.T) {
	e := newEnvAdmins(t, app.Options{}, "bob")
	run := cyradmRunner(t, e)
	out := run("alice", strings.Join([]string{
		`createmailbox Lists`,
		`mboxconfig Lists comment "a shared comment"`,
		`mboxconfig --private Lists comment "a private comment"`,
		`mboxconfig Lists expire 30`,
		`setmetadata INBOX comment "inbox comment"`,
		`setmetadata Lists specialuse "\\Archive"`,
		`setmetadata Lists /shared/vendor/example/note noted`,
		`mboxconfig INBOX /vendor/example/gone x`,
		`mboxconfig INBOX /vendor/example/gone none`,
		`getmetadata Lists`,
		``,
	}, "\n"))
	for _, want := range []string{"a shared comment", "a private comment", "noted", `\Archive`} {
		if !strings.Contains(out, want) {
			t.Errorf("cyradm getmetadata output lacks %q:\n%s", want, out)
		}
	}
	tc := e.rawLogin("alice")
	tc.ok(`a1 GETMETADATA Lists (/shared/comment /private/comment /shared/vendor/cmu/cyrus-imapd/expire /shared/vendor/example/note)`)
	tc.mustHave(`* METADATA Lists ("/shared/comment" "a shared comment" "/private/comment" "a private comment" "/shared/vendor/cmu/cyrus-imapd/expire" "30" "/shared/vendor/example/note" "noted")`)
	tc.ok(`a2 GETMETADATA INBOX (DEPTH infinity) (/private /shared)`)
	tc.mustHave(`* METADATA INBOX ("/private" NIL "/private/comment" "inbox comment" "/shared" NIL)`)
	tc.ok(`a3 LIST "" Lists RETURN (SPECIAL-USE)`)
	tc.mustHave(`* LIST (\HasNoChildren \Archive) "/" Lists`)

	// setinfo sets the server's /shared entries: an administrator's.
	run("bob", "setinfo comment \"our server\"\nsetinfo admin mailto:postmaster@example.org\n")
	tc.ok(`a4 GETMETADATA "" ("/shared/*")`)
	tc.mustHave(`* METADATA "" ("/shared/admin" "mailto:postmaster@example.org" "/shared/comment" "our server")`)
	if out := run("alice", "setinfo comment refused\n"); !strings.Contains(out, "ermission") {
		t.Errorf("setinfo by a user: %q", out)
	}
}
