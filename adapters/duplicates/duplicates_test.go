package duplicates

import (
	"context"
	"testing"
	"time"

	"github.com/imapd-go/imapd/ports"
	"github.com/imapd-go/imapd/test/duplicatestest"
)

// Two handles on one folder stand for two lmtpd processes: what one
// records, the other sees; records expire.
func TestSharedAndExpiring(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a, err := Open(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	k := ports.Delivery{MessageID: "<1@x>", Date: "Tue, 1 Dec 2026 00:00:00 +0000", User: "alice", Mailbox: "INBOX"}
	if seen, err := b.Delivered(ctx, k); err != nil || seen {
		t.Fatalf("before: %v %v", seen, err)
	}
	if err := a.Record(ctx, k, time.Now()); err != nil {
		t.Fatal(err)
	}
	if seen, err := b.Delivered(ctx, k); err != nil || !seen {
		t.Fatalf("after: %v %v", seen, err)
	}
	for _, other := range []ports.Delivery{
		{MessageID: k.MessageID, Date: k.Date, User: "alice", Mailbox: "Work"},
		{MessageID: k.MessageID, Date: k.Date, User: "bob", Mailbox: "INBOX"},
		{MessageID: k.MessageID, Date: "other", User: "alice", Mailbox: "INBOX"},
		{MessageID: "<2@x>", Date: k.Date, User: "alice", Mailbox: "INBOX"},
	} {
		if seen, _ := b.Delivered(ctx, other); seen {
			t.Errorf("%+v seen", other)
		}
	}
	old := ports.Delivery{MessageID: "<old@x>", User: "alice", Mailbox: "INBOX"}
	if err := a.Record(ctx, old, time.Now().Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if seen, _ := b.Delivered(ctx, old); seen {
		t.Error("an expired record is still seen")
	}
	if n, err := b.Prune(ctx); err != nil || n != 1 {
		t.Errorf("Prune: %d, %v; want 1", n, err)
	}
	if seen, _ := a.Delivered(ctx, k); !seen {
		t.Error("Prune removed a live record")
	}
}

// TestContract runs the contract suite: the site is a configdirectory.
func TestContract(t *testing.T) {
	duplicatestest.Run(t, func(t testing.TB) duplicatestest.Site {
		dir := t.TempDir()
		return duplicatestest.Site{Open: func(t testing.TB, expiry time.Duration) ports.Duplicates {
			d, err := Open(dir, expiry)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return d
		}}
	})
}
