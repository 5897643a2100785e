package storetest_test

import (
	"testing"

	"github.com/imapd-go/imapd/adapters/store/sqlite"
	"github.com/imapd-go/imapd/ports"
	"github.com/imapd-go/imapd/test/storetest"
)

// A backend proves it keeps every promise of ports.Store by running the
// suite from its own tests, with a function that opens it on a directory.
// Opening the same directory twice must give two handles on the same data,
// as two server processes would have.
func ExampleRun() {
	// In a _test.go file of the adapter's package:
	//
	//	func TestContract(t *testing.T) { storetest.Run(t, openSQLite) }
	//	func TestImporter(t *testing.T) { storetest.RunImporter(t, openSQLite) }
	_ = openSQLite
}

// The multi-process and crash tests start the test binary again as child
// processes that open the same store; TestMain hands them to Child.
func ExampleRunCrash() {
	// In the adapter's _test.go files:
	//
	//	func TestMain(m *testing.M) {
	//		storetest.Child(func(dir string) (ports.Store, error) { return sqlite.Open(dir) })
	//		os.Exit(m.Run())
	//	}
	//
	//	func TestCrash(t *testing.T)     { storetest.RunCrash(t, openSQLite, storetest.ReExec) }
	//	func TestProcesses(t *testing.T) { storetest.RunProcesses(t, openSQLite, storetest.ReExec) }
}

func openSQLite(t testing.TB, dir string) ports.Store {
	s, err := sqlite.Open(dir)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

// TestExample runs the suite on the SQLite adapter, as a third party would
// on its own.
func TestExample(t *testing.T) {
	if testing.Short() {
		t.Skip("the full suite runs in adapters/store/sqlite")
	}
	storetest.Run(t, openSQLite)
}
