package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/imapd-go/imapd/adapters/auth/sasl"
	"github.com/imapd-go/imapd/adapters/store/postgres"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
	"github.com/imapd-go/imapd/test/pgtest"
)

// newPostgresSite is a configuration with store: postgres on a fresh
// database; its password file holds a password the test server (trust
// authentication) does not ask for.
func newPostgresSite(t *testing.T) site {
	t.Helper()
	dsn := pgtest.Shared(t).NewDatabase(t)
	dir := t.TempDir()
	pw := filepath.Join(dir, "pg.pw")
	if err := os.WriteFile(pw, []byte("unused\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "imapd.conf")
	text := "configdirectory: " + dir + "\nstore: postgres\npostgres_dsn: " + dsn +
		"\npostgres_password_file: " + pw + "\npostgres_pool_size: 3\n"
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dsn"), []byte(dsn), 0o600); err != nil {
		t.Fatal(err)
	}
	return site{conf: conf, dir: dir, store: "postgres"}
}

func openPostgresSite(s site) (ports.Store, error) {
	dsn, err := os.ReadFile(filepath.Join(s.dir, "dsn"))
	if err != nil {
		return nil, err
	}
	return postgres.Open(context.Background(), postgres.Config{DSN: string(dsn)})
}

// TestMigratePostgresRoundTrip moves mail from SQLite to PostgreSQL, from
// there to maildir and back to SQLite, and from maildir through another
// PostgreSQL database to SQLite again: every hop keeps the mailboxes,
// UIDVALIDITY, UIDNEXT, UIDs, flags, dates, bytes, subscriptions, object
// ids, sort records, METADATA, ACLs, seen states and the quota.
func TestMigratePostgresRoundTrip(t *testing.T) {
	from, pg, md, back := newSite(t, "sqlite"), newPostgresSite(t), newSite(t, "maildir"), newSite(t, "sqlite")
	pg2, back2 := newPostgresSite(t), newSite(t, "sqlite")
	if err := sasl.Open(from.dir).Add("alice", "secret"); err != nil {
		t.Fatal(err)
	}
	src := from.open(t)
	fill(t, src)
	ctx := context.Background()
	entries := map[string][]ports.MetadataEntry{
		"INBOX": {{Name: "/private/comment", Value: []byte("inbox")}, {Name: "/shared/vendor/x/bin", Value: []byte("a\x00b")}},
		"":      {{Name: "/shared/admin", Value: []byte("mailto:root@example.org")}},
	}
	for box, es := range entries {
		if err := src.(ports.Metadata).SetMetadata(ctx, "alice", box, es, 0); err != nil {
			t.Fatal(err)
		}
	}
	acl, _ := imap.ParseDefaultACL("alice lrswipkxtecdan bob lrs")
	if _, err := src.(ports.ACLs).ModifyACL(ctx, "alice", "Sent", func(imap.ACL, bool) (imap.ACL, error) { return acl, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := src.(ports.SeenStates).UpdateSeen(ctx, "alice", "bob/X", []imap.UID{1, 3}, true); err != nil {
		t.Fatal(err)
	}
	if err := src.(ports.Quotas).SetQuota(ctx, "alice", ports.QuotaLimits{Storage: 10000, Messages: ports.NoLimit, Mailboxes: 50}); err != nil {
		t.Fatal(err)
	}
	same := func(hop string, dst ports.Store) {
		t.Helper()
		sameMail(t, src, dst)
		sameObjectIDs(t, src, dst)
		for box := range entries {
			want, _ := src.(ports.Metadata).GetMetadata(ctx, "alice", box)
			got, err := dst.(ports.Metadata).GetMetadata(ctx, "alice", box)
			if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: metadata of %q: %q, %v; want %q", hop, box, got, err, want)
			}
		}
		if a, _, err := dst.(ports.ACLs).MailboxACL(ctx, "alice", "Sent"); err != nil || a.String() != acl.String() {
			t.Errorf("%s: ACL %q, %v; want %q", hop, a, err, acl)
		}
		if uids, _, err := dst.(ports.SeenStates).LoadSeen(ctx, "alice", "bob/X"); err != nil || fmt.Sprint(uids) != "[1 3]" {
			t.Errorf("%s: seen %v, %v", hop, uids, err)
		}
		want, _ := src.(ports.Quotas).Quota(ctx, "alice")
		if got, err := dst.(ports.Quotas).Quota(ctx, "alice"); err != nil || got != want {
			t.Errorf("%s: quota %+v, %v; want %+v", hop, got, err, want)
		}
	}
	// There and back: sqlite, postgres, maildir, sqlite; then maildir,
	// postgres, sqlite.
	for _, hop := range []struct{ from, to site }{{from, pg}, {pg, md}, {md, back}, {md, pg2}, {pg2, back2}} {
		name := hop.from.store + " to " + hop.to.store
		if code, out, errOut := imapctl(t, "-C", hop.from.conf, "migrate", hop.to.conf); code != 0 {
			t.Fatalf("migrate %s: exit %d, %s %s", name, code, out, errOut)
		}
		same(name, hop.to.open(t))
		if err := sasl.Open(hop.to.dir).Verify("alice", "secret"); err != nil {
			t.Errorf("%s: password not migrated: %v", name, err)
		}
	}
	// Run again onto PostgreSQL: a restarted migration finds everything
	// there and verifies it.
	if code, out, errOut := imapctl(t, "-C", from.conf, "migrate", pg.conf); code != 0 {
		t.Fatalf("migrate again: exit %d, %s %s", code, out, errOut)
	}
}
