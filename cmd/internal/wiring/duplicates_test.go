package wiring

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/duplicates"
	"github.com/imapd-go/imapd/adapters/store/postgres"
	"github.com/imapd-go/imapd/app/config"
)

// lmtpSettings reads imapd.conf text as lmtpd does.
func lmtpSettings(t *testing.T, extra string) (*config.Settings, *config.LMTP) {
	t.Helper()
	dir := t.TempDir()
	c, err := config.Parse(filepath.Join(dir, "imapd.conf"), "configdirectory: "+dir+"\n"+extra, "lmtp")
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Settings()
	if err != nil {
		t.Fatal(err)
	}
	l, err := c.LMTP()
	if err != nil {
		t.Fatal(err)
	}
	return s, l
}

// The delivery records live where the mail does when many hosts share
// it: with store: postgres in the database, with no file in
// configdirectory; otherwise in configdirectory. (A database that cannot
// be reached at start is no error: the store starts all the same.)
func TestProvideDuplicates(t *testing.T) {
	for _, tc := range []struct {
		conf   string
		inFile bool
	}{
		{"", true},
		{"store: maildir\n", true},
		{"store: postgres\npostgres_dsn: host=/nonexistent/socket dbname=mail\nlmtp_duplicate_expire: 2\n", false},
	} {
		s, l := lmtpSettings(t, tc.conf)
		st, cleanup, err := ProvideLMTPStore(s)
		if err != nil {
			t.Fatalf("%q: store: %v", tc.conf, err)
		}
		d, dcleanup, err := ProvideDuplicates(s, l, st)
		if err != nil {
			t.Fatalf("%q: %v", tc.conf, err)
		}
		_, statErr := os.Stat(filepath.Join(s.ConfigDir, duplicates.File))
		if tc.inFile {
			if _, ok := d.(*duplicates.DB); !ok || statErr != nil {
				t.Errorf("%q: %T, %v; want the records in configdirectory", tc.conf, d, statErr)
			}
		} else {
			if _, ok := d.(*postgres.Duplicates); !ok || statErr == nil {
				t.Errorf("%q: %T, file %v; want the records in the database, no file", tc.conf, d, statErr)
			}
			if l.DuplicateExpire != 48*time.Hour {
				t.Errorf("lmtp_duplicate_expire: %v", l.DuplicateExpire)
			}
		}
		dcleanup()
		cleanup()
	}
}
