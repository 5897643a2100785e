package postgres_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/store/postgres"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
	"github.com/imapd-go/imapd/test/pgtest"
)

// TestEveryByte stores a body holding every byte value, backslashes and
// NULs among them, and reads it back as it was, through Open and
// OpenBodies: bytes go to the database as bytea, never through text.
func TestEveryByte(t *testing.T) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, postgres.Config{DSN: pgtest.Shared(t).NewDatabase(t), PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var b strings.Builder
	b.WriteString("Subject: bytes\r\n\r\n\\x41\\\\")
	for i := range 256 {
		b.WriteByte(byte(i))
	}
	body := b.String()
	r, err := s.Append(ctx, "u", "INBOX", ports.NewMessage{Size: int64(len(body)), Body: strings.NewReader(body), InternalDate: time.Now()})
	if err == nil {
		t.Fatal("append without the user")
	}
	if err := s.EnsureUser(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if r, err = s.Append(ctx, "u", "INBOX", ports.NewMessage{Size: int64(len(body)), Body: strings.NewReader(body), InternalDate: time.Now()}); err != nil {
		t.Fatal(err)
	}
	one, err := s.Open(ctx, "u", "INBOX", r.UID)
	if err != nil {
		t.Fatal(err)
	}
	many, err := s.OpenBodies(ctx, "u", "INBOX", []imap.UID{r.UID})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []ports.MessageBody{one, many[0]} {
		got, err := io.ReadAll(io.NewSectionReader(m, 0, m.Size()))
		if err != nil || string(got) != body {
			t.Errorf("read back %q (%v), want %q", got, err, body)
		}
		m.Close()
	}
}
