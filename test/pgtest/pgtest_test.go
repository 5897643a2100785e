package pgtest_test

import (
	"context"
	"os"
	"testing"

	"github.com/imapd-go/imapd/test/pgtest"
	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// A database survives an immediate stop and a restart, over both the
// socket and TCP, and is gone once its test ends.
func TestServer(t *testing.T) {
	s := pgtest.Shared(t)
	ctx := context.Background()
	var dsn string
	t.Run("create", func(t *testing.T) {
		dsn = s.NewDatabase(t)
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, "CREATE TABLE x (v int); INSERT INTO x VALUES (42)"); err != nil {
			t.Fatal(err)
		}
		c.Close(ctx)
		s.Kill()
		if _, err := pgx.Connect(ctx, dsn); err == nil {
			t.Fatal("connected to a stopped server")
		}
		if err := s.Restart(); err != nil {
			t.Fatal(err)
		}
		c, err = pgx.Connect(ctx, s.TCPDSN(pgtest.DatabaseOf(dsn)))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		var v int
		if err := c.QueryRow(ctx, "SELECT v FROM x").Scan(&v); err != nil || v != 42 {
			t.Fatalf("after restart: %d, %v", v, err)
		}
	})
	c, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", pgtest.DatabaseOf(dsn)).Scan(&n); err != nil || n != 0 {
		t.Fatalf("database left behind: %d, %v", n, err)
	}
}
