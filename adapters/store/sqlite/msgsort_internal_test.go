package sqlite

import (
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/ports"
)

// TestUpgradeFromVersion10: a per-user database of version 10 (before each
// body kept its sort record) is upgraded in place: messages stored before
// have no record, those appended after keep theirs.
func TestUpgradeFromVersion10(t *testing.T) {
	s, ctx := userStore(t)
	s = downgraded(t, s, `DROP TRIGGER body_sortrecords_gone`, `DROP TABLE body_sortrecords`, `PRAGMA user_version = 10`)
	body := "Subject: x\r\n\r\nx\r\n"
	msg := func(rec []byte) ports.NewMessage {
		return ports.NewMessage{InternalDate: time.Now(), Size: int64(len(body)), Body: strings.NewReader(body), SortRecord: rec}
	}
	if _, err := s.Append(ctx, "u", "INBOX", msg(nil)); err != nil {
		t.Fatal(err)
	}
	r, err := s.Append(ctx, "u", "INBOX", msg([]byte("rec")))
	if err != nil {
		t.Fatal(err)
	}
	v, uids, recs, err := s.MessageSortRecords(ctx, "u", "INBOX", 0)
	if err != nil || v != r.UIDValidity || len(uids) != 1 || uids[0] != r.UID || string(recs[0]) != "rec" {
		t.Errorf("MessageSortRecords = %d, %v, %q, %v", v, uids, recs, err)
	}
}
