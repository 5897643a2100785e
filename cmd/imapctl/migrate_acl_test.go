package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/auth/sasl"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// migrate carries ACLs, shared mailboxes (with their messages and ACLs)
// and the seen state users keep of mailboxes they do not own.
func TestMigrateACLs(t *testing.T) {
	for _, to := range []string{"maildir", "sqlite"} {
		t.Run(to, func(t *testing.T) {
			from, dst := newSite(t, map[string]string{"maildir": "sqlite", "sqlite": "maildir"}[to]), newSite(t, to)
			if err := sasl.Open(from.dir).Add("alice", "secret"); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			src := from.open(t)
			if err := src.EnsureUser(ctx, "alice"); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct{ user, name string }{{"alice", "Team"}, {ports.SharedOwner, "news"}} {
				if err := src.CreateMailbox(ctx, c.user, c.name); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := src.Append(ctx, ports.SharedOwner, "news", ports.NewMessage{
				Size: 11, Body: strings.NewReader("Subject: x\n"), InternalDate: time.Unix(1e9, 0),
			}); err != nil {
				t.Fatal(err)
			}
			set := func(s ports.Store, user, name, acl string) {
				a, _ := imap.ParseDefaultACL(acl)
				if _, err := s.(ports.ACLs).ModifyACL(ctx, user, name, func(imap.ACL, bool) (imap.ACL, error) { return a, nil }); err != nil {
					t.Fatal(err)
				}
			}
			set(src, "alice", "Team", "alice lrswipkxtecdan bob lrs")
			set(src, ports.SharedOwner, "news", "anyone lrs")
			if _, err := src.(ports.SeenStates).UpdateSeen(ctx, "alice", ports.SharedOwner+"/X", []imap.UID{1, 2}, true); err != nil {
				t.Fatal(err)
			}
			if code, out, errOut := imapctl(t, "-C", from.conf, "migrate", dst.conf); code != 0 {
				t.Fatalf("migrate: exit %d, %s %s", code, out, errOut)
			}
			d := dst.open(t)
			for _, c := range []struct{ user, name, want string }{
				{"alice", "Team", "alice\tlrswipkxtecdan\tbob\tlrs\t"},
				{ports.SharedOwner, "news", "anyone\tlrs\t"},
			} {
				acl, ok, err := d.(ports.ACLs).MailboxACL(ctx, c.user, c.name)
				if err != nil || !ok || acl.String() != c.want {
					t.Errorf("%s %s: %q %v %v, want %q", c.user, c.name, acl, ok, err, c.want)
				}
			}
			if st, err := d.Status(ctx, ports.SharedOwner, "news"); err != nil || st.Messages != 1 {
				t.Errorf("shared mailbox: %+v %v", st, err)
			}
			if l, _ := d.ListMailboxes(ctx, ports.SharedOwner); len(l) != 1 {
				t.Errorf("shared mailboxes: %v", l)
			}
			if uids, _, err := d.(ports.SeenStates).LoadSeen(ctx, "alice", ports.SharedOwner+"/X"); err != nil || !slices.Equal(uids, []imap.UID{1, 2}) {
				t.Errorf("seen: %v %v", uids, err)
			}
		})
	}
}
