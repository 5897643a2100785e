package wiring

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/auth/sasl"
	"github.com/imapd-go/imapd/adapters/store/maildir"
	"github.com/imapd-go/imapd/adapters/telemetry/filelog"
	"github.com/imapd-go/imapd/app"
	"github.com/imapd-go/imapd/app/config"
	"github.com/imapd-go/imapd/ports"
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
	s.Store = "mbox" // what a later build might accept
	st, cleanup, err := ProvideStore(s)
	if err == nil || st != nil || cleanup != nil {
		t.Fatalf("got %v, cleanup %t, %v; want a nil interface and an error", st, cleanup != nil, err)
	}
}

func TestProvideStoreMaildir(t *testing.T) {
	s := settings(t, "store: maildir\npartition-default: {configdirectory}/mail/spool\n")
	st, cleanup, err := ProvideStore(s)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if _, ok := st.(*maildir.Store); !ok {
		t.Fatalf("store: maildir gave %T", st)
	}
	if err := st.EnsureUser(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(s.Partition, "alice", "cur")); err != nil || !fi.IsDir() {
		t.Errorf("no Maildir++ INBOX in the partition: %v", err)
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
		QuotaWarn: 90, AutocreateQuota: -1,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if got := ProvideOptions(s, Flags{}).Service; got != "imap" {
		t.Errorf("default service = %q", got)
	}
}

// userDB is ProvideUserDB's users, closed when t ends.
func userDB(t *testing.T, s *config.Settings) *sasl.UserDB {
	t.Helper()
	db, cleanup, err := ProvideUserDB(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	return db
}

// sasl_auxprop_plugin: sql gives the SQL source, and a statement that
// cannot work stops the start, naming the option.
func TestProvideUserDBSQL(t *testing.T) {
	if db := userDB(t, settings(t, "")); db.InSQL() {
		t.Error("password file expected without sasl_auxprop_plugin")
	}
	if db := userDB(t, settings(t, "sasl_auxprop_plugin: sql\nsql_hostnames: /run/postgresql\n")); !db.InSQL() {
		t.Error("sasl_auxprop_plugin: sql did not give the SQL source")
	}
	s := settings(t, "sasl_auxprop_plugin: sql\nsql_select: SELECT pw FROM u WHERE name = %u\n")
	if _, _, err := ProvideUserDB(s, nil); err == nil || !strings.Contains(err.Error(), "sql_select: macro %u must be inside single quotes") {
		t.Errorf("unquoted macro: %v", err)
	}
}

func TestProvideAuth(t *testing.T) {
	s := settings(t, "allowplaintext: no\nsasl_mech_list: LOGIN\nadmins: cyrus\n")
	a := ProvideAuth(s, userDB(t, s))
	if got := a.Mechanisms(ports.ConnInfo{SSF: 0}); len(got) != 0 {
		t.Errorf("Mechanisms(0) = %q", got)
	}
	if got := a.Mechanisms(ports.ConnInfo{SSF: 2}); !reflect.DeepEqual(got, []string{"LOGIN"}) {
		t.Errorf("Mechanisms(2) = %q", got)
	}
	if !a.IsAdmin("cyrus") || a.IsAdmin("alice") {
		t.Error("admins not passed on")
	}
}

// Each SASL key of imapd.conf reaches the Auth.
func TestProvideAuthSASLKeys(t *testing.T) {
	tests := []struct {
		conf string
		ssf  int
		want []string
	}{
		{"", 0, []string{"SCRAM-SHA-256"}},
		// Without a TLS state there is no channel binding and no client
		// certificate: -PLUS and EXTERNAL are not offered.
		{"", 256, []string{"SCRAM-SHA-256", "PLAIN", "LOGIN"}},
		{"tls_client_ca_file: /ca.pem\n", 256, []string{"SCRAM-SHA-256", "PLAIN", "LOGIN"}},
		{"allowplaintext: yes\ntls_required: yes\n", 0, nil},
		{"allowplaintext: yes\nsasl_pwcheck_method: alwaystrue\n", 0, []string{"PLAIN", "LOGIN"}},
		{"sasl_mech_list: plain scram-sha-256\n", 256, []string{"PLAIN", "SCRAM-SHA-256"}},
	}
	for _, tt := range tests {
		s := settings(t, tt.conf)
		if got := ProvideAuth(s, userDB(t, s)).Mechanisms(ports.ConnInfo{SSF: tt.ssf}); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: Mechanisms(%d) = %q, want %q", tt.conf, tt.ssf, got, tt.want)
		}
	}
	s := settings(t, "sasl_pwcheck_method: alwaystrue\n")
	if u, err := ProvideAuth(s, userDB(t, s)).CheckPassword(context.Background(), "anyone", "x"); err != nil || u != "anyone" {
		t.Errorf("alwaystrue: %q %v", u, err)
	}
	// The saslauthd socket is the configured one: a missing socket is a
	// fault naming it.
	s = settings(t, "sasl_pwcheck_method: saslauthd\nsasl_saslauthd_path: /nonexistent/mux\n")
	if _, err := ProvideAuth(s, userDB(t, s)).CheckPassword(context.Background(), "bob", "x"); err == nil || !strings.Contains(err.Error(), "/nonexistent/mux") {
		t.Errorf("saslauthd path: %v", err)
	}
}

func TestProvideTelemetry(t *testing.T) {
	s := settings(t, "")
	if err := os.MkdirAll(filepath.Join(s.ConfigDir, "log", "alice"), 0o755); err != nil {
		t.Fatal(err)
	}
	tel := ProvideTelemetry(s, Flags{Service: "imap2"}, ProvideLogger(s))
	l := tel.SessionLog("alice", "")
	if l == nil {
		t.Fatal("no session log")
	}
	l.Close()
	if _, err := os.Stat(filepath.Join(s.ConfigDir, "log", "alice", "imap2-"+strconv.Itoa(os.Getpid()))); err != nil {
		t.Error(err)
	}
}

// TestOptionsIdleAndLiterals: imapidletimeout, literalminus and
// search_index_on_write reach the app.
func TestOptionsIdleAndLiterals(t *testing.T) {
	o := ProvideOptions(settings(t, "imapidletimeout: 5\nliteralminus: yes\nautocreate_inbox_folders: Sent | Drafts|Trash \nsearch_index_on_write: 1\n"), Flags{})
	if o.IMAPIdleTimeout != 5*time.Minute || !o.LiteralMinus || strings.Join(o.AutocreateFolders, ",") != "Sent,Drafts,Trash" || !o.IndexOnWrite {
		t.Fatalf("options %+v", o)
	}
	o = ProvideOptions(settings(t, ""), Flags{})
	if o.IMAPIdleTimeout != 0 || o.LiteralMinus || o.IndexOnWrite {
		t.Fatalf("defaults %+v", o)
	}
}

// Under master events go to syslog (syslog_prefix, syslog_facility, the
// service name); outside it, to standard error with the session logs.
func TestProvideTelemetrySyslog(t *testing.T) {
	d, err := os.MkdirTemp("", "wlog")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(d)
	path := filepath.Join(d, "log")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Setenv(TestSyslogSocketEnv, path)
	s := settings(t, "syslog_prefix: cyrus\nsyslog_facility: mail\n")
	if _, ok := ProvideTelemetry(s, Flags{Service: "imap"}, ProvideLogger(s)).(*filelog.Telemetry); !ok {
		t.Error("outside master: not the standard error telemetry")
	}
	tel := ProvideTelemetry(s, Flags{Service: "imaps", UnderMaster: true}, ProvideLogger(s))
	tel.Event(ports.Event{Kind: "login", User: "alice", Mech: "plaintext", TLS: true, SessionID: "x"})
	buf := make([]byte, 1024)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(buf[:n]); !regexp.MustCompile(`^<21>\w{3} [ \d]\d \d\d:\d\d:\d\d cyrus/imaps\[\d+\]: login: \[unix socket\] alice plaintext\+TLS User logged in SESSIONID=<x>$`).MatchString(got) {
		t.Errorf("line %q", got)
	}
}
