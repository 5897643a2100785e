package wiring

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/imapd-go/imapd/app"
	"github.com/imapd-go/imapd/app/config"
)

func settings(t *testing.T, extra string) *config.Settings {
	t.Helper()
	dir := t.TempDir()
	c, err := config.Parse(filepath.Join(dir, "imapd.conf"), "configdirectory: "+dir+"\n"+extra, "imap")
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Settings()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestProvideStoreUnknownBackend(t *testing.T) {
	s := settings(t, "")
	s.Store = "maildir" // what a later build might accept
	st, cleanup, err := ProvideStore(s)
	if err == nil || st != nil || cleanup != nil {
		t.Fatalf("got %v, cleanup %t, %v; want a nil interface and an error", st, cleanup != nil, err)
	}
}

func TestProvideStoreSQLite(t *testing.T) {
	s := settings(t, "partition-default: {configdirectory}/mail/spool\n")
	st, cleanup, err := ProvideStore(s)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if st == nil {
		t.Fatal("nil store")
	}
	if fi, err := os.Stat(s.Partition); err != nil || !fi.IsDir() {
		t.Errorf("partition not created: %v", err)
	}
}

func TestProvideOptions(t *testing.T) {
	s := settings(t, "servername: mail.example\ntimeout: 45\nfailedloginpause: 1\nmaxmessagesize: 1M\nimapidresponse: no\n")
	got := ProvideOptions(s, Flags{Service: "imaps", NoPasswordCheck: true, ExternalSSF: 2})
	want := app.Options{
		ServerName: "mail.example", ConfigDir: s.ConfigDir, Service: "imaps", IdleTimeout: 45 * time.Minute,
		FailedLoginPause: time.Second, MaxMessageSize: 1 << 20, IDResponse: false, NoPasswordCheck: true, ExternalSSF: 2,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if got := ProvideOptions(s, Flags{}).Service; got != "imap" {
		t.Errorf("default service = %q", got)
	}
}

func TestProvideAuth(t *testing.T) {
	s := settings(t, "allowplaintext: no\nsasl_mech_list: LOGIN\nadmins: cyrus\n")
	a := ProvideAuth(s, ProvideUserDB(s))
	if got := a.Mechanisms(0); len(got) != 0 {
		t.Errorf("Mechanisms(0) = %q", got)
	}
	if got := a.Mechanisms(2); !reflect.DeepEqual(got, []string{"LOGIN"}) {
		t.Errorf("Mechanisms(2) = %q", got)
	}
	if !a.IsAdmin("cyrus") || a.IsAdmin("alice") {
		t.Error("admins not passed on")
	}
}

func TestProvideTelemetry(t *testing.T) {
	s := settings(t, "")
	if err := os.MkdirAll(filepath.Join(s.ConfigDir, "log", "alice"), 0o755); err != nil {
		t.Fatal(err)
	}
	tel := ProvideTelemetry(s, Flags{Service: "imap2"}, ProvideLogger(s))
	l := tel.SessionLog("alice")
	if l == nil {
		t.Fatal("no session log")
	}
	l.Close()
	if _, err := os.Stat(filepath.Join(s.ConfigDir, "log", "alice", "imap2-"+strconv.Itoa(os.Getpid()))); err != nil {
		t.Error(err)
	}
}
