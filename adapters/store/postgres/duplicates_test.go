package postgres_test

import (
	"context"
	"testing"
	"time"

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
