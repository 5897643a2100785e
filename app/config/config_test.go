package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseSyntax(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		service string
		want    map[string]string // key -> String(key, "")
		err     string            // substring of the error; "" = none
		errLine int
	}{
		{name: "basic", text: "configdirectory: /var/lib/imap\nservername: mail.example\n",
			want: map[string]string{"configdirectory": "/var/lib/imap", "servername": "mail.example"}},
		{name: "value trimmed", text: "configdirectory:    /d  \t\nadmins:\tcyrus root  \n",
			want: map[string]string{"configdirectory": "/d", "admins": "cyrus root"}},
		{name: "no space after colon", text: "configdirectory:/d\n", want: map[string]string{"configdirectory": "/d"}},
		{name: "key lowercased", text: "ConfigDirectory: /d\nSERVERNAME: x\n",
			want: map[string]string{"configdirectory": "/d", "servername": "x"}},
		{name: "key with dash and underscore", text: "configdirectory: /d\npartition-default: /p\nsasl_mech_list: PLAIN\n",
			want: map[string]string{"partition-default": "/p", "sasl_mech_list": "PLAIN"}},
		{name: "comments and blank lines", text: "# a comment\n\n   \n  # indented comment\nconfigdirectory: /d\n",
			want: map[string]string{"configdirectory": "/d"}},
		{name: "hash inside a value is kept", text: "configdirectory: /d\nservername: a#b # c\n",
			want: map[string]string{"servername": "a#b # c"}},
		{name: "continuation", text: "configdirectory: /d\nsasl_mech_list: PLAIN \\\nLOGIN\n",
			want: map[string]string{"sasl_mech_list": "PLAIN LOGIN"}},
		{name: "continuation of the key line", text: "configdirectory: \\\n/d\n",
			want: map[string]string{"configdirectory": "/d"}},
		{name: "CRLF line ends", text: "configdirectory: /d\r\nservername: x\r\n",
			want: map[string]string{"servername": "x"}},
		{name: "no final newline", text: "configdirectory: /d", want: map[string]string{"configdirectory": "/d"}},
		{name: "leading blanks before key", text: "  configdirectory: /d\n", want: map[string]string{"configdirectory": "/d"}},
		{name: "configdirectory expansion", text: "configdirectory: /d\npartition-default: {configdirectory}/spool\nx: a{configdirectory}\n",
			want: map[string]string{"partition-default": "/d/spool", "x": "a{configdirectory}"}},
		{name: "service override", service: "imaps", text: "configdirectory: /d\ntimeout: 40\nimaps_timeout: 50\n",
			want: map[string]string{"timeout": "50"}},
		{name: "service override of another service ignored", service: "imap", text: "configdirectory: /d\ntimeout: 40\nimaps_timeout: 50\n",
			want: map[string]string{"timeout": "40"}},
		{name: "service name case", service: "IMAP", text: "configdirectory: /d\nIMAP_servername: y\n",
			want: map[string]string{"servername": "y"}},
		{name: "unknown keys kept", text: "configdirectory: /d\nfrobnicate: 3\n", want: map[string]string{"frobnicate": "3"}},

		{name: "missing configdirectory", text: "servername: x\n", err: "configdirectory is not set"},
		{name: "space before colon", text: "configdirectory: /d\nservername : x\n", err: "invalid option name", errLine: 2},
		{name: "no colon", text: "configdirectory: /d\nservername x\n", err: "invalid option name", errLine: 2},
		{name: "bad key character", text: "configdirectory: /d\nserver.name: x\n", err: "invalid option name", errLine: 2},
		{name: "empty key", text: "configdirectory: /d\n: x\n", err: "missing option name", errLine: 2},
		{name: "empty value", text: "configdirectory: /d\n\nservername:   \n", err: "empty value", errLine: 3},
		{name: "key set twice", text: "configdirectory: /d\nservername: a\nServerName: b\n", err: "set twice", errLine: 3},
		{name: "error line after continuation", text: "configdirectory: /d\nadmins: a \\\nb\nbad line\n", err: "invalid option name", errLine: 4},
		{name: "unknown directive", text: "configdirectory: /d\n@frob: x\n", err: "unknown directive", errLine: 2},
		{name: "include missing file", text: "configdirectory: /d\n@include: nope.conf\n", err: "cannot read", errLine: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			name := filepath.Join(dir, "imapd.conf")
			c, err := Parse(name, tt.text, tt.service)
			if tt.err != "" {
				var ce *Error
				if !errors.As(err, &ce) {
					t.Fatalf("err = %v, want a *config.Error containing %q", err, tt.err)
				}
				if !strings.Contains(ce.Msg, tt.err) || ce.Line != tt.errLine || ce.File != name {
					t.Fatalf("err = %q (line %d), want %q at %s:%d", err, ce.Line, tt.err, name, tt.errLine)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if got := c.String(k, ""); got != v {
					t.Errorf("String(%q) = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	e := &Error{File: "/etc/imapd.conf", Line: 7, Msg: "invalid option name"}
	if got := e.Error(); got != "/etc/imapd.conf:7: invalid option name" {
		t.Errorf("got %q", got)
	}
	e = &Error{File: "/etc/imapd.conf", Msg: "configdirectory is not set"}
	if got := e.Error(); got != "/etc/imapd.conf: configdirectory is not set" {
		t.Errorf("got %q", got)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestInclude(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "imapd.conf")
	writeFile(t, main, "configdirectory: /d\n@include: sub/a.conf\nservername: top\n")
	writeFile(t, filepath.Join(dir, "sub", "a.conf"), "admins: cyrus\n@include: b.conf\n")
	writeFile(t, filepath.Join(dir, "sub", "b.conf"), "timeout: 45\n")
	c, err := Load(main, "")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"admins": "cyrus", "timeout": "45", "servername": "top"} {
		if got := c.String(k, ""); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestIncludeErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		file  string // where the error is reported
		line  int
		msg   string
	}{
		{name: "same file twice",
			files: map[string]string{"imapd.conf": "configdirectory: /d\n@include: a.conf\n@include: a.conf\n", "a.conf": "admins: x\n"},
			file:  "imapd.conf", line: 3, msg: "included twice"},
		{name: "includes itself",
			files: map[string]string{"imapd.conf": "configdirectory: /d\n@include: imapd.conf\n"},
			file:  "imapd.conf", line: 2, msg: "included twice"},
		{name: "cycle",
			files: map[string]string{"imapd.conf": "configdirectory: /d\n@include: a.conf\n", "a.conf": "\n@include: imapd.conf\n"},
			file:  "a.conf", line: 2, msg: "included twice"},
		{name: "key set in main and include",
			files: map[string]string{"imapd.conf": "configdirectory: /d\n@include: a.conf\n", "a.conf": "# x\nconfigdirectory: /e\n"},
			file:  "a.conf", line: 2, msg: "set twice"},
		{name: "syntax error in include",
			files: map[string]string{"imapd.conf": "configdirectory: /d\n@include: a.conf\n", "a.conf": "ok: 1\nbroken\n"},
			file:  "a.conf", line: 2, msg: "invalid option name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, text := range tt.files {
				writeFile(t, filepath.Join(dir, n), text)
			}
			_, err := Load(filepath.Join(dir, "imapd.conf"), "")
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if filepath.Base(ce.File) != tt.file || ce.Line != tt.line || !strings.Contains(ce.Msg, tt.msg) {
				t.Fatalf("err = %v, want %s:%d: ...%s...", err, tt.file, tt.line, tt.msg)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.conf"), "")
	var ce *Error
	if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "cannot read") || ce.Line != 0 {
		t.Fatalf("err = %v", err)
	}
}

func parse(t *testing.T, text string) *Config {
	t.Helper()
	c, err := Parse("/etc/imapd.conf", "configdirectory: /d\n"+text, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBool(t *testing.T) {
	tests := []struct {
		value string
		want  bool
		err   bool
	}{
		{"1", true, false}, {"yes", true, false}, {"on", true, false}, {"true", true, false}, {"YES", true, false}, {"True", true, false},
		{"0", false, false}, {"no", false, false}, {"off", false, false}, {"false", false, false}, {"Off", false, false},
		{"2", false, true}, {"y", false, true}, {"enabled", false, true},
	}
	for _, tt := range tests {
		c := parse(t, "allowplaintext: "+tt.value+"\n")
		got, err := c.Bool("allowplaintext", false)
		if (err != nil) != tt.err || (!tt.err && got != tt.want) {
			t.Errorf("Bool(%q) = %v, %v", tt.value, got, err)
		}
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || ce.Line != 2 {
				t.Errorf("Bool(%q) error %v lacks the line", tt.value, err)
			}
		}
	}
	c := parse(t, "")
	if v, err := c.Bool("allowplaintext", true); !v || err != nil {
		t.Errorf("default: %v %v", v, err)
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		value string
		unit  time.Duration
		want  time.Duration
		err   bool
	}{
		{"30", time.Minute, 30 * time.Minute, false},
		{"30", time.Second, 30 * time.Second, false},
		{"0", time.Minute, 0, false},
		{"45s", time.Minute, 45 * time.Second, false},
		{"2m", time.Second, 2 * time.Minute, false},
		{"1h30m", time.Minute, 90 * time.Minute, false},
		{"1d2h3m4s", time.Second, 26*time.Hour + 3*time.Minute + 4*time.Second, false},
		{"1h30", time.Minute, 90 * time.Minute, false},
		{"1H", time.Minute, time.Hour, false},
		{"-5", time.Second, -5 * time.Second, false},
		{"", time.Second, 0, true},
		{"m", time.Second, 0, true},
		{"5x", time.Second, 0, true},
		{"5 m", time.Second, 0, true},
		{"1.5h", time.Second, 0, true},
		{"99999999999999999999", time.Second, 0, true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.value, tt.unit)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseDuration(%q, %v) = %v, %v; want %v, err=%v", tt.value, tt.unit, got, err, tt.want, tt.err)
		}
	}
	c := parse(t, "timeout: 1h\nfailedloginpause: soon\n")
	if d, err := c.Duration("timeout", time.Minute, 0); d != time.Hour || err != nil {
		t.Errorf("timeout = %v %v", d, err)
	}
	if _, err := c.Duration("failedloginpause", time.Second, 0); err == nil || !strings.HasPrefix(err.Error(), "/etc/imapd.conf:3: ") {
		t.Errorf("failedloginpause err = %v", err)
	}
	if d, _ := c.Duration("absent", time.Second, 7*time.Second); d != 7*time.Second {
		t.Errorf("default = %v", d)
	}
}

func TestIntAndSize(t *testing.T) {
	c := parse(t, "a: 42\nb: x\nmaxmessagesize: 1048576\nm2: 10M\nm3: 2k\nm4: 3GB\nm5: -1\nm6: 1T\n")
	if n, err := c.Int("a", 0); n != 42 || err != nil {
		t.Errorf("Int(a) = %d %v", n, err)
	}
	if _, err := c.Int("b", 0); err == nil {
		t.Error("Int(b): no error")
	}
	sizes := []struct {
		key  string
		want int64
		err  bool
	}{
		{"maxmessagesize", 1 << 20, false}, {"m2", 10 << 20, false}, {"m3", 2 << 10, false}, {"m4", 3 << 30, false},
		{"m5", 0, true}, {"m6", 0, true}, {"absent", 9, false},
	}
	for _, s := range sizes {
		n, err := c.Size(s.key, 9)
		if (err != nil) != s.err || (!s.err && n != s.want) {
			t.Errorf("Size(%s) = %d %v", s.key, n, err)
		}
	}
}

func TestList(t *testing.T) {
	c := parse(t, "admins: cyrus  root,bob\n")
	if got := c.List("admins", nil); !reflect.DeepEqual(got, []string{"cyrus", "root", "bob"}) {
		t.Errorf("List = %q", got)
	}
	if got := c.List("absent", []string{"x"}); !reflect.DeepEqual(got, []string{"x"}) {
		t.Errorf("default = %q", got)
	}
}

func TestSettings(t *testing.T) {
	c := parse(t, "")
	s, err := c.Settings()
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	want := &Settings{
		Path: "/etc/imapd.conf", ConfigDir: "/d", Partition: "/d/spool", Store: "sqlite", ServerName: host,
		Timeout: 32 * time.Minute, FailedLoginPause: 3 * time.Second,
		IDResponse: true, TLSVersions: "tls1_2 tls1_3",
		SASLPwcheck: []string{"auxprop"}, SASLSaslauthd: "/var/run/saslauthd/mux",
		LoginCacheDir: "/dev/shm", LoginCacheTTL: 10 * time.Minute,
		QuotaWarn: 90, AutocreateQuota: -1, SyslogFacility: "LOCAL6",
	}
	if host == "" {
		want.ServerName = "localhost"
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", s, want)
	}

	c = parse(t, "partition-default: /p\nstore: SQLite\nservername: mail\nadmins: cyrus admin\n"+
		"allowplaintext: yes\nsasl_mech_list: login plain\ntimeout: 45\nfailedloginpause: 1\n"+
		"maxmessagesize: 1000\nimapidresponse: no\ndebug: on\ndebug_command: gdb %s %d\ntls_server_cert: {configdirectory}/c.pem\ntls_server_key: /k\n"+
		"tls_client_ca_file: /ca.pem\ntls_versions: tls1_3\ntls_required: yes\n"+
		"sasl_pwcheck_method: SASLauthd auxprop\nsasl_saslauthd_path: /run/mux\nsearch_index_on_write: yes\n"+
		"logincache_dir: /run/imapd\nlogincache_ttl: 90s\nsubmitservers: postfix, smtp\ndefaultacl: anyone lr\n"+
		"syslog_prefix: cyrus\nsyslog_facility: mail\n")
	s, err = c.Settings()
	if err != nil {
		t.Fatal(err)
	}
	want = &Settings{
		Path: "/etc/imapd.conf", ConfigDir: "/d", Partition: "/p", Store: "sqlite", ServerName: "mail",
		Admins: []string{"cyrus", "admin"}, AllowPlaintext: true, SASLMechList: []string{"LOGIN", "PLAIN"},
		Timeout: 45 * time.Minute, FailedLoginPause: time.Second, MaxMessageSize: 1000, IDResponse: false,
		DebugCommand: "gdb %s %d", Debug: true, TLSServerCert: "/d/c.pem", TLSServerKey: "/k",
		TLSClientCAFile: "/ca.pem", TLSVersions: "tls1_3", TLSRequired: true,
		SASLPwcheck: []string{"saslauthd", "auxprop"}, SASLSaslauthd: "/run/mux", SearchIndexOnWrite: true,
		LoginCacheDir: "/run/imapd", LoginCacheTTL: 90 * time.Second, SubmitServers: []string{"postfix", "smtp"},
		DefaultACL: "anyone lr",
		QuotaWarn:  90, AutocreateQuota: -1,
		SyslogPrefix: "cyrus", SyslogFacility: "MAIL",
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("set:\n got %+v\nwant %+v", s, want)
	}
}

// syslog_facility takes syslog.h's names in any case; another is an
// error naming its line, not lines sent where nobody reads.
func TestSettingsSyslogFacility(t *testing.T) {
	if _, err := parse(t, "syslog_facility: LOCAL8\n").Settings(); err == nil || !strings.Contains(err.Error(), "syslog_facility") {
		t.Errorf("LOCAL8: %v", err)
	}
	s, err := parse(t, "syslog_facility: local0\n").Settings()
	if err != nil || s.SyslogFacility != "LOCAL0" {
		t.Errorf("local0: %v %+v", err, s)
	}
}

func TestSettingsLoginCache(t *testing.T) {
	tests := []struct {
		text string
		ttl  time.Duration
		dir  string
		err  string
	}{
		{text: "", ttl: 10 * time.Minute, dir: "/dev/shm"},
		{text: "logincache_ttl: 30\n", ttl: 30 * time.Minute, dir: "/dev/shm"},
		{text: "logincache_ttl: 1h30m\n", ttl: 90 * time.Minute, dir: "/dev/shm"},
		{text: "logincache_ttl: 0\nlogincache_dir: {configdirectory}/shm\n", ttl: 0, dir: "/d/shm"},
		{text: "logincache_ttl: -1\n", err: "/etc/imapd.conf:2: option logincache_ttl: must not be negative"},
		{text: "logincache_ttl: soon\n", err: "/etc/imapd.conf:2: option logincache_ttl"},
		{text: "logincache_dir: shm\n", err: "/etc/imapd.conf:2: option logincache_dir: must be an absolute path"},
	}
	for _, tt := range tests {
		s, err := parse(t, tt.text).Settings()
		if tt.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Errorf("%q: err = %v, want prefix %q", tt.text, err, tt.err)
			}
			continue
		}
		if err != nil || s.LoginCacheTTL != tt.ttl || s.LoginCacheDir != tt.dir {
			t.Errorf("%q: %v %q %v, want %v %q", tt.text, s.LoginCacheTTL, s.LoginCacheDir, err, tt.ttl, tt.dir)
		}
	}
}

func TestSettingsRules(t *testing.T) {
	tests := []struct {
		text    string
		timeout time.Duration
		err     string
	}{
		{text: "timeout: 10\n", timeout: 30 * time.Minute},
		{text: "timeout: 0\n", timeout: 30 * time.Minute},
		{text: "timeout: 2h\n", timeout: 2 * time.Hour},
		{text: "timeout: long\n", err: "/etc/imapd.conf:2: option timeout"},
		{text: "store: maildir\n", timeout: 32 * time.Minute},
		{text: "store: MailDir\n", timeout: 32 * time.Minute},
		{text: "store: mbox\n", err: `/etc/imapd.conf:2: option store: "mbox" is not available (valid: sqlite, maildir, postgres)`},
		{text: "allowplaintext: maybe\n", err: "/etc/imapd.conf:2: option allowplaintext"},
		{text: "imapidresponse: maybe\n", err: "/etc/imapd.conf:2: option imapidresponse"},
		{text: "debug: 2\n", err: "/etc/imapd.conf:2: option debug"},
		{text: "failedloginpause: -3\n", err: "/etc/imapd.conf:2: option failedloginpause"},
		{text: "maxmessagesize: big\n", err: "/etc/imapd.conf:2: option maxmessagesize"},
		{text: "sasl_pwcheck_method: auxprop pam\n", err: `/etc/imapd.conf:2: option sasl_pwcheck_method: "pam" is not available`},
	}
	for _, tt := range tests {
		c := parse(t, tt.text)
		s, err := c.Settings()
		if tt.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Errorf("%q: err = %v, want prefix %q", tt.text, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.text, err)
			continue
		}
		if s.Timeout != tt.timeout {
			t.Errorf("%q: timeout = %v, want %v", tt.text, s.Timeout, tt.timeout)
		}
	}
	c, err := Parse("/x.conf", "configdirectory: rel/dir\n", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Settings(); err == nil || err.Error() != "/x.conf:1: configdirectory must be an absolute path" {
		t.Errorf("relative configdirectory: %v", err)
	}
}

// multisession is off by default and set per service with
// <service>_multisession.
func TestMultiSessionPerService(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "imapd.conf")
	writeFile(t, path, "configdirectory: "+dir+"\nimap_multisession: yes\n")
	for service, want := range map[string]bool{"imap": true, "imaps": false} {
		c, err := Load(path, service)
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.Settings()
		if err != nil {
			t.Fatal(err)
		}
		if s.MultiSession != want {
			t.Errorf("service %s: MultiSession = %v, want %v", service, s.MultiSession, want)
		}
	}
	writeFile(t, path, "configdirectory: "+dir+"\nmultisession: maybe\n")
	c, _ := Load(path, "imap")
	if _, err := c.Settings(); err == nil {
		t.Error("multisession: maybe accepted")
	}
}
