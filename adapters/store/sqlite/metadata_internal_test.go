package sqlite

import (
	"testing"

	"github.com/imapd-go/imapd/ports"
)

// TestUpgradeFromVersion7: a per-user database of version 7 (before
// METADATA entries) is upgraded in place and then keeps entries.
func TestUpgradeFromVersion7(t *testing.T) {
	s, ctx := userStore(t)
	s = downgraded(t, s, `DROP TABLE metadata`, `PRAGMA user_version = 7`)
	if got, err := s.GetMetadata(ctx, "u", "INBOX"); err != nil || len(got) != 0 {
		t.Fatalf("GetMetadata after the upgrade = %q, %v", got, err)
	}
	e := []ports.MetadataEntry{{Name: "/private/comment", Value: []byte("kept")}}
	if err := s.SetMetadata(ctx, "u", "INBOX", e, 0); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetMetadata(ctx, "u", "INBOX"); err != nil || len(got) != 1 || string(got[0].Value) != "kept" {
		t.Errorf("GetMetadata = %q, %v", got, err)
	}
}
