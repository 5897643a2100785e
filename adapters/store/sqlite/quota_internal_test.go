package sqlite

import (
	"strings"
	"testing"

	"github.com/imapd-go/imapd/ports"
)

// TestUpgradeFromVersion9: a database of version 9 (before quotas) gets
// its quota root, with the usage counted from the mail it holds.
func TestUpgradeFromVersion9(t *testing.T) {
	s, ctx := userStore(t)
	if err := s.CreateMailbox(ctx, "u", "a"); err != nil {
		t.Fatal(err)
	}
	for _, box := range []string{"INBOX", "a", "a"} {
		body := "Subject: x\r\n\r\n" + strings.Repeat("y", 100)
		if _, err := s.Append(ctx, "u", box, ports.NewMessage{Size: int64(len(body)), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	s = downgraded(t, s, `DROP TABLE quota`, `PRAGMA user_version = 9`)
	q, err := s.Quota(ctx, "u")
	want := ports.Quota{Limits: ports.Unlimited, Usage: ports.QuotaUsage{Storage: 3 * 114, Messages: 3, Mailboxes: 2}}
	if err != nil || q != want {
		t.Fatalf("Quota after the upgrade = %+v, %v; want %+v", q, err, want)
	}
	if err := s.SetQuota(ctx, "u", ports.QuotaLimits{Storage: 1, Messages: ports.NoLimit, Mailboxes: ports.NoLimit}); err != nil {
		t.Fatal(err)
	}
	if q, _ := s.Quota(ctx, "u"); q.Limits.Storage != 1 {
		t.Errorf("limits %+v", q.Limits)
	}
}
