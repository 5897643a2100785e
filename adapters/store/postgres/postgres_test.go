package postgres_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

func TestImporter(t *testing.T) {
	storetest.RunImporter(t, openDir)
}

func TestProcesses(t *testing.T) {
	storetest.RunProcesses(t, openDir, storetest.ReExec)
}

func TestKillDuringAppend(t *testing.T) {
	storetest.RunCrash(t, openDir, storetest.ReExec)
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
