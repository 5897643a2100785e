package maildir_test

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/store/maildir"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// BenchmarkUpdateFlags10 measures a durable STORE toggling \Flagged on
// ten messages of a 500-message mailbox (the comparison's STORE 1:10
// rows): the files' renames, the folder made durable, the index record.
func BenchmarkUpdateFlags10(b *testing.B) {
	s, err := maildir.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.EnsureUser(ctx, "u"); err != nil {
		b.Fatal(err)
	}
	var uids []imap.UID
	for i := range 500 {
		msg := []byte("Subject: " + strconv.Itoa(i) + "\r\n\r\nbody\r\n")
		res, err := s.Append(ctx, "u", "INBOX", ports.NewMessage{
			Flags: []string{imap.FlagSeen}, InternalDate: time.Now(), Size: int64(len(msg)),
			Body: bytes.NewReader(msg), Structure: []byte("s"),
		})
		if err != nil {
			b.Fatal(err)
		}
		uids = append(uids, res.UID)
	}
	op := ports.FlagsAdd
	for b.Loop() {
		metas, err := s.UpdateFlags(ctx, "u", "INBOX", uids[:10], op, []string{imap.FlagFlagged})
		if err != nil || len(metas) != 10 {
			b.Fatalf("%d touched, %v", len(metas), err)
		}
		if op == ports.FlagsAdd {
			op = ports.FlagsRemove
		} else {
			op = ports.FlagsAdd
		}
	}
}
