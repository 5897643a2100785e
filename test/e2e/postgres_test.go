package e2e

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/imapd-go/imapd/adapters/store/postgres"
	"github.com/imapd-go/imapd/app"
	"github.com/imapd-go/imapd/test/pgtest"
)

// postgresDSN returns the DSN of the database that stands for the store
// directory dir with store postgres, making one (dropped when t ends) on
// first use: every handle and process that opens dir's store, in this
// test, opens that database. The DSN is kept in a file inside dir.
func postgresDSN(t testing.TB, dir string) string {
	t.Helper()
	f := filepath.Join(dir, "postgres.dsn")
	dsn, err := os.ReadFile(f)
	if err == nil {
		return string(dsn)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	d := pgtest.Shared(t).NewDatabase(t)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, []byte(d), 0o600); err != nil {
		t.Fatal(err)
	}
	return d
}

// postgresPending counts the messages store postgres lists as not yet
// in its full-text index, in the database of store directory dir.
func postgresPending(t testing.TB, dir string) (int, error) {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, postgresDSN(t, dir))
	if err != nil {
		return 0, err
	}
	defer c.Close(ctx)
	var n int
	err = c.QueryRow(ctx, `SELECT count(*) FROM search_pending`).Scan(&n)
	return n, err
}

// TestPostgresRestart: with store postgres, a database that goes away
// under a session makes its commands answer NO [UNAVAILABLE] (RFC 5530),
// not BAD, not a dropped connection nor an internal error, and once the
// database is back the same session works again and finds every message
// it was told was stored. The database runs on a server of its own, so
// that killing it disturbs no other test.
func TestPostgresRestart(t *testing.T) {
	if e2eStore() != "postgres" {
		t.Skip("store postgres only")
	}
	srv, err := pgtest.Start(pgtest.Options{})
	if err != nil {
		pgtest.Unavailable(t, err)
	}
	t.Cleanup(func() { srv.Kill(); os.RemoveAll(srv.Dir) })
	db, err := srv.CreateDatabase()
	if err != nil {
		t.Fatal(err)
	}
	st, err := postgres.Open(context.Background(), postgres.Config{DSN: srv.DSN(db)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnvOn(t, t.TempDir(), st, app.Options{}, nil)
	tc := e.rawLogin("alice")
	tc.ok("a1 SELECT INBOX")
	tc.ok("a2 APPEND INBOX " + literal(testMessage("before", "stored before the restart")))
	tc.mustHave("* 1 EXISTS")

	srv.Kill()
	tc.no("b1 APPEND INBOX "+literal(testMessage("during", "refused")), "UNAVAILABLE")
	tc.no("b2 STATUS INBOX (MESSAGES)", "UNAVAILABLE")
	tc.no("b3 FETCH 1 (BODY[])", "UNAVAILABLE")

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	tc.ok("c1 APPEND INBOX " + literal(testMessage("after", "stored after the restart")))
	tc.mustHave("* 2 EXISTS")
	tc.ok("c2 FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
	tc.mustHave("* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {19}\r\nSubject: before\r\n\r\n)",
		"* 2 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {18}\r\nSubject: after\r\n\r\n)")
	other := e.rawLogin("alice")
	other.ok("d1 STATUS INBOX (MESSAGES)")
	other.mustHave("* STATUS INBOX (MESSAGES 2)")
}
