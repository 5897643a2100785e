package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/imapd-go/imapd/adapters/store/postgres"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
	"github.com/imapd-go/imapd/test/pgtest"
)

// statements counts the statements sent to the database: without
// pipelining, one round trip each (BEGIN and COMMIT included).
type statements struct{ n atomic.Int64 }

func (c *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestRoundTrips holds the hot paths to the round trips they take: each
// costs a network latency, and on a database shared by many hosts these
// add up before anything else does.
func TestRoundTrips(t *testing.T) {
	ctx := context.Background()
	var count statements
	s, err := postgres.OpenTraced(ctx, postgres.Config{DSN: pgtest.Shared(t).NewDatabase(t), PoolSize: 1}, &count)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const user = "rt"
	if err := s.EnsureUser(ctx, user); err != nil {
		t.Fatal(err)
	}
	msg := func(i int) ports.NewMessage {
		body := fmt.Sprintf("Subject: %d\r\n\r\n%s\r\n", i, strings.Repeat("x", 2000))
		return ports.NewMessage{Size: int64(len(body)), Body: strings.NewReader(body), InternalDate: time.Now(),
			Flags: []string{imap.FlagSeen}, Structure: []byte("s")}
	}
	var uids []imap.UID
	for i := range 50 {
		r, err := s.Append(ctx, user, "INBOX", msg(i))
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, r.UID)
	}
	sparse := []imap.UID{uids[1], uids[7], uids[30]}
	i := 100
	for _, tt := range []struct {
		name string
		max  int64
		fn   func() error
	}{
		// A lookup refusing a missing mailbox before any byte is
		// read, BEGIN, the body with its chunk, the lock with the
		// mailbox, one statement for the rest, COMMIT.
		{"Append", 6, func() error { i++; _, err := s.Append(ctx, user, "INBOX", msg(i)); return err }},
		{"Fetch", 1, func() error { _, err := s.Fetch(ctx, user, "INBOX", uids); return err }},
		{"FetchSparse", 1, func() error { _, err := s.Fetch(ctx, user, "INBOX", sparse); return err }},
		{"Snapshot", 1, func() error { _, _, err := s.Snapshot(ctx, user, "INBOX"); return err }},
		{"ChangesSince", 1, func() error { _, err := s.ChangesSince(ctx, user, "INBOX", 3); return err }},
		{"ChangesSinceNone", 1, func() error { _, err := s.ChangesSince(ctx, user, "INBOX", 1<<40); return err }},
		{"Status", 1, func() error { _, err := s.Status(ctx, user, "INBOX"); return err }},
		{"OpenBodies", 1, func() error {
			bodies, err := s.OpenBodies(ctx, user, "INBOX", uids)
			for _, b := range bodies {
				var p [100]byte
				if _, err := b.ReadAt(p[:], 1000); err != nil {
					return err
				}
				b.Close()
			}
			return err
		}},
		// BEGIN, the lock with the mailbox, the messages' flags, one
		// statement for the change, COMMIT.
		{"UpdateFlags", 5, func() error {
			_, err := s.UpdateFlags(ctx, user, "INBOX", sparse, ports.FlagsAdd, []string{imap.FlagFlagged})
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := count.n.Load()
			if err := tt.fn(); err != nil {
				t.Fatal(err)
			}
			if n := count.n.Load() - before; n > tt.max {
				t.Errorf("%d statements, want at most %d", n, tt.max)
			}
		})
	}
}
