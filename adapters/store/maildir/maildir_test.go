package maildir_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/imapd-go/imapd/adapters/store/maildir"
	"github.com/imapd-go/imapd/ports"
	"github.com/imapd-go/imapd/test/storetest"
)

func open(t testing.TB, dir string) ports.Store {
	s, err := maildir.Open(dir)
	if err != nil {
		t.Fatalf("maildir.Open: %v", err)
	}
	return s
}

// TestMain lets the test binary serve as the suite's child process.
func TestMain(m *testing.M) {
	// Children of the compaction tests compact after a few appends.
	if n, err := strconv.ParseInt(os.Getenv(logLimitEnv), 10, 64); err == nil {
		maildir.SetLogLimit(n)
	}
	storetest.Child(func(dir string) (ports.Store, error) { return maildir.Open(dir) })
	os.Exit(m.Run())
}

func TestContract(t *testing.T)  { storetest.Run(t, open) }
func TestImporter(t *testing.T)  { storetest.RunImporter(t, open) }
func TestTextIndex(t *testing.T) { storetest.RunTextIndex(t, open) }
func TestProcesses(t *testing.T) { storetest.RunProcesses(t, open, storetest.ReExec) }
func TestCrash(t *testing.T)     { storetest.RunCrash(t, open, storetest.ReExec) }
