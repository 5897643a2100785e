package e2e

import (
	"testing"

	"github.com/imapd-go/imapd/app"
)

// TestSpecialUse: RFC 6154 attributes in LIST, the SPECIAL-USE selection
// and return options, and CREATE (USE (...)).
func TestSpecialUse(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok(`s1 CREATE Sent (USE (\Sent))`)
	tc.ok(`s2 CREATE "Old Mail" (USE (\Archive))`)
	tc.ok(`s3 CREATE Plain`)
	tc.no(`s4 CREATE Bad (USE (\Inbox))`, "USEATTR")
	tc.ok(`s5 LIST "" "*"`)
	tc.mustHave(`* LIST (\HasNoChildren \Sent) "/" "Sent"`, `* LIST (\HasNoChildren \Archive) "/" "Old Mail"`, `* LIST (\HasNoChildren) "/" "Plain"`)
	tc.ok(`s6 LIST (SPECIAL-USE) "" "*"`)
	if len(tc.untagged) != 2 {
		t.Errorf("SPECIAL-USE selection: %q", tc.untagged)
	}
	tc.ok(`s7 LIST "" "*" RETURN (SPECIAL-USE)`)
	tc.mustHave(`* LIST (\HasNoChildren \Sent) "/" "Sent"`)
	tc.ok(`s8 RENAME Sent "Sent Items"`)
	tc.ok(`s9 LIST "" "Sent*"`)
	tc.mustHave(`* LIST (\HasNoChildren \Sent) "/" "Sent Items"`)
}

// TestAutocreateInboxFolders: autocreate_inbox_folders at the first login,
// with the special uses their names imply, subscribed; not again later.
func TestAutocreateInboxFolders(t *testing.T) {
	e := newEnvOpts(t, app.Options{AutocreateFolders: []string{"Drafts", "Sent", "Trash", "Junk", "Archive"}})
	tc := e.rawLogin("alice")
	tc.ok(`a1 LIST "" "*"`)
	tc.mustHave(`* LIST (\HasNoChildren \Drafts) "/" "Drafts"`, `* LIST (\HasNoChildren \Sent) "/" "Sent"`,
		`* LIST (\HasNoChildren \Trash) "/" "Trash"`, `* LIST (\HasNoChildren \Junk) "/" "Junk"`,
		`* LIST (\HasNoChildren \Archive) "/" "Archive"`)
	tc.ok(`a2 LSUB "" "*"`)
	tc.mustHave(`* LSUB () "/" "Drafts"`)
	tc.ok("a3 DELETE Junk")
	tc.ok("a4 LOGOUT")
	tc = e.rawLogin("alice")
	tc.ok(`a5 LIST "" "Junk"`)
	tc.mustNotContain("Junk")
}
