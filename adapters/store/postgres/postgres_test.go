package postgres_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/imapd-go/imapd/adapters/store/postgres"
	"github.com/imapd-go/imapd/ports"
	"github.com/imapd-go/imapd/test/pgtest"
	"github.com/imapd-go/imapd/test/storetest"
)

// dsnFile holds, inside a suite's directory, the DSN of the database that
// directory stands for: every handle the suite opens on the directory, in
// this process or a child, opens that database.
const dsnFile = "postgres.dsn"

// openDir opens the database of dir, making one on first use.
func openDir(t testing.TB, dir string) ports.Store {
	t.Helper()
	dsn, err := os.ReadFile(filepath.Join(dir, dsnFile))
	if errors.Is(err, fs.ErrNotExist) {
		dsn = []byte(pgtest.Shared(t).NewDatabase(t))
		err = os.WriteFile(filepath.Join(dir, dsnFile), dsn, 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
	s, err := postgres.Open(context.Background(), postgres.Config{DSN: string(dsn), PoolSize: 4})
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	return s
}

// openChild is the child processes' opener: the directory's database
// exists already.
func openChild(dir string) (ports.Store, error) {
	dsn, err := os.ReadFile(filepath.Join(dir, dsnFile))
	if err != nil {
		return nil, err
	}
	return postgres.Open(context.Background(), postgres.Config{DSN: strings.TrimSpace(string(dsn)), PoolSize: 2})
}

func TestMain(m *testing.M) {
	storetest.Child(openChild)
	os.Exit(pgtest.Main(m))
}

func TestContract(t *testing.T) {
	storetest.Run(t, openDir)
}

func TestBodyBatches(t *testing.T) {
	storetest.RunBodyBatches(t, openDir)
}

func TestImporter(t *testing.T) {
	storetest.RunImporter(t, openDir)
}

func TestProcesses(t *testing.T) {
	storetest.RunProcesses(t, openDir, storetest.ReExec)
}

// TestKillDuringAppend runs the suite's crash test, then checks the
// counters the triggers keep, and the users' quota usage, against a count
// of what the crashes left.
func TestKillDuringAppend(t *testing.T) {
	var dirs []string
	storetest.RunCrash(t, func(t testing.TB, dir string) ports.Store {
		dirs = append(dirs, dir)
		return openDir(t, dir)
	}, storetest.ReExec)
	if len(dirs) == 0 {
		return
	}
	dsn, err := os.ReadFile(filepath.Join(dirs[0], dsnFile))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := pgx.Connect(ctx, string(dsn))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	for _, check := range []struct{ what, query string }{
		{"mailbox counters", `SELECT count(*) FROM mailboxes m
			LEFT JOIN mailbox_counts c ON c.mailbox_id = m.id
			LEFT JOIN (SELECT mailbox_id, count(*) AS n, sum(imapd_unseen(flags)) AS unseen, sum(size) AS size
				FROM messages GROUP BY mailbox_id) r ON r.mailbox_id = m.id
			WHERE coalesce(c.messages, 0) <> coalesce(r.n, 0) OR coalesce(c.unseen, 0) <> coalesce(r.unseen, 0)
				OR coalesce(c.size, 0) <> coalesce(r.size, 0)`},
		{"quota usage", `SELECT count(*) FROM users u
			LEFT JOIN (SELECT b.user_id, count(*) AS n, sum(m.size) AS size
				FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id GROUP BY b.user_id) r ON r.user_id = u.id
			WHERE u.message_used <> coalesce(r.n, 0) OR u.storage_used <> coalesce(r.size, 0)`},
		{"body references", `SELECT count(*) FROM bodies b
			WHERE b.refs <> (SELECT count(*) FROM messages m WHERE m.body_id = b.id)`},
		{"chunks without a body", `SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM bodies b WHERE b.id = c.body_id)`},
	} {
		var bad int
		if err := c.QueryRow(ctx, check.query).Scan(&bad); err != nil {
			t.Fatalf("%s: %v", check.what, err)
		}
		if bad != 0 {
			t.Errorf("%s: %d rows out of step with the mail", check.what, bad)
		}
	}
}

func TestObjectIDs(t *testing.T) {
	storetest.RunObjectIDs(t, openDir)
}

func TestSortRecords(t *testing.T) {
	storetest.RunSortRecords(t, openDir)
}

func TestMessageSortRecords(t *testing.T) {
	storetest.RunMessageSortRecords(t, openDir)
}

func TestACLs(t *testing.T) {
	storetest.RunACLs(t, openDir)
}

func TestMetadata(t *testing.T) {
	storetest.RunMetadata(t, openDir)
}

func TestReplace(t *testing.T) {
	storetest.RunReplace(t, openDir)
}

func TestKillDuringReplace(t *testing.T) {
	storetest.RunReplaceCrash(t, openDir, storetest.ReExec)
}

func TestQuotas(t *testing.T) {
	storetest.RunQuotas(t, openDir)
}

func TestQuotaProcesses(t *testing.T) {
	storetest.RunQuotaProcesses(t, openDir, storetest.ReExec)
}

func TestTextIndex(t *testing.T) {
	storetest.RunTextIndex(t, openDir)
}
