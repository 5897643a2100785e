package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/imapd-go/imapd/adapters/store/postgres"
	"github.com/imapd-go/imapd/ports"
	"github.com/imapd-go/imapd/test/duplicatestest"
	"github.com/imapd-go/imapd/test/pgtest"
)

// TestDuplicatesContract runs the contract suite for ports.Duplicates:
// the site is a database, and each handle is a store of its own on it,
// as each lmtpd process (of any host) opens one.
func TestDuplicatesContract(t *testing.T) {
	duplicatestest.Run(t, func(t testing.TB) duplicatestest.Site {
		dsn := pgtest.Shared(t).NewDatabase(t)
		return duplicatestest.Site{Open: func(t testing.TB, expiry time.Duration) ports.Duplicates {
			s, err := postgres.Open(context.Background(), postgres.Config{DSN: dsn, PoolSize: 2})
			if err != nil {
				t.Fatalf("postgres.Open: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			return s.Duplicates(expiry)
		}}
	})
}

// A database of the schema before the delivery records (version 3) is
// upgraded in place when a host starts, and its records then work.
func TestDuplicatesSchemaUpgrade(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Shared(t).NewDatabase(t)
	s, err := postgres.Open(ctx, postgres.Config{DSN: dsn, PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var v int
	if err := c.QueryRow(ctx, `SELECT version FROM imapd_schema`).Scan(&v); err != nil || v < 4 {
		t.Fatalf("schema version %d, %v; want 4 or more", v, err)
	}
	if _, err := c.Exec(ctx, `DROP TABLE delivered; UPDATE imapd_schema SET version = 3`); err != nil {
		t.Fatal(err)
	}
	s, err = postgres.Open(ctx, postgres.Config{DSN: dsn, PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := s.Duplicates(0)
	k := ports.Delivery{MessageID: "<up@x>", Date: "Tue, 1 Dec 2026 00:00:00 +0000", User: "alice", Mailbox: "INBOX"}
	if err := d.Record(ctx, k, time.Now()); err != nil {
		t.Fatalf("Record after the upgrade: %v", err)
	}
	if seen, err := d.Delivered(ctx, k); err != nil || !seen {
		t.Errorf("Delivered after the upgrade: %v, %v", seen, err)
	}
	var after int
	if err := c.QueryRow(ctx, `SELECT version FROM imapd_schema`).Scan(&after); err != nil || after != v {
		t.Errorf("schema version %d after the upgrade, %v; want %d", after, err, v)
	}
}
