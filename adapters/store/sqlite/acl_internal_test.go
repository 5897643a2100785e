package sqlite

import (
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
)

// Version 9 adds the ACL and seen tables to a version 8 database;
// mailboxes keep the default (unset) ACL.
func TestUpgradeFromVersion8(t *testing.T) {
	s, ctx := userStore(t)
	s = downgraded(t, s, `DROP TABLE acls`, `DROP TABLE seen`, `PRAGMA user_version = 8`)
	if acl, set, err := s.MailboxACL(ctx, "u", "INBOX"); err != nil || set || len(acl) != 0 {
		t.Fatalf("MailboxACL after the upgrade = %v %v %v, want unset", acl, set, err)
	}
	_, err := s.ModifyACL(ctx, "u", "INBOX", func(cur imap.ACL, _ bool) (imap.ACL, error) {
		return cur.With("bob", imap.ACLReplace, "lr"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if acl, _, err := s.MailboxACL(ctx, "u", "INBOX"); err != nil || acl.String() != "bob\tlr\t" {
		t.Errorf("MailboxACL = %q, %v", acl, err)
	}
	if _, err := s.UpdateSeen(ctx, "u", "alice/M1", []imap.UID{1}, true); err != nil {
		t.Errorf("UpdateSeen after the upgrade: %v", err)
	}
}
