package sqlite_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/imapd-go/imapd/adapters/store/sqlite"
	"github.com/imapd-go/imapd/ports"
	"github.com/imapd-go/imapd/test/storetest"
)

func open(t testing.TB, dir string) ports.Store {
	s, err := sqlite.Open(dir)
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	return s
}

// TestMain lets the test binary serve as the suite's child process.
func TestMain(m *testing.M) {
	storetest.Child(func(dir string) (ports.Store, error) { return sqlite.Open(dir) })
	os.Exit(m.Run())
}

func TestContract(t *testing.T) {
	storetest.Run(t, open)
}

func TestTextIndex(t *testing.T) {
	storetest.RunTextIndex(t, open)
}

func TestImporter(t *testing.T) {
	storetest.RunImporter(t, open)
}

func TestObjectIDs(t *testing.T) {
	storetest.RunObjectIDs(t, open)
}

func TestSortRecords(t *testing.T) {
	storetest.RunSortRecords(t, open)
}

func TestACLs(t *testing.T) {
	storetest.RunACLs(t, open)
}

func TestMessageSortRecords(t *testing.T) {
	storetest.RunMessageSortRecords(t, open)
}

func TestProcesses(t *testing.T) {
	storetest.RunProcesses(t, open, storetest.ReExec)
}

// TestKillDuringAppend runs the suite's crash test, then checks the
// database file itself with SQLite's integrity check, and the counters
// it keeps against a count.
func TestKillDuringAppend(t *testing.T) {
	var dirs []string
	storetest.RunCrash(t, func(t testing.TB, dir string) ports.Store {
		dirs = append(dirs, dir)
		return open(t, dir)
	}, storetest.ReExec)
	if len(dirs) == 0 {
		return
	}
	files, _ := filepath.Glob(filepath.Join(dirs[0], sqlite.UsersDir, "*", sqlite.FileName))
	if len(files) == 0 {
		t.Fatal("no user database")
	}
	for _, f := range append(files, filepath.Join(dirs[0], sqlite.FileName)) {
		db, err := sql.Open("sqlite3", f)
		if err != nil {
			t.Fatal(err)
		}
		var check string
		if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
			t.Errorf("%s: integrity_check = %q, %v", f, check, err)
		}
		db.Close()
	}
	// The mailboxes' kept counters are the count of what the crash left.
	for _, f := range files {
		if bad, err := sqlite.Miscounted(f); err != nil || len(bad) > 0 {
			t.Errorf("%s: counters %q, %v", f, bad, err)
		}
	}
}

func TestMetadata(t *testing.T) {
	storetest.RunMetadata(t, open)
}

func TestReplace(t *testing.T) {
	storetest.RunReplace(t, open)
}

func TestKillDuringReplace(t *testing.T) {
	storetest.RunReplaceCrash(t, open, storetest.ReExec)
}

func TestQuotas(t *testing.T) {
	storetest.RunQuotas(t, open)
}

func TestQuotaProcesses(t *testing.T) {
	storetest.RunQuotaProcesses(t, open, storetest.ReExec)
}
