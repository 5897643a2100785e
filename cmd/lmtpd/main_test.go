package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/auth/sasl"
)

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want options
		bad  bool
	}{
		{args: nil, want: options{ConfigPath: DefaultConfig}},
		{args: []string{"-C", "/x.conf", "-U", "3", "-T", "60", "-Da"}, want: options{ConfigPath: "/x.conf", Debug: true}},
		{args: []string{"-s"}, want: options{ConfigPath: DefaultConfig, TLS: true}},
		{args: []string{"-U3"}, bad: true},
		{args: []string{"-U", "x"}, bad: true},
		{args: []string{"-C"}, bad: true},
		{args: []string{"-N"}, bad: true},
		{args: []string{"stray"}, bad: true},
	} {
		got, err := parseFlags(tc.args)
		if tc.bad {
			if err == nil {
				t.Errorf("%q: no error", tc.args)
			}
			continue
		}
		if err != nil || got.ConfigPath != tc.want.ConfigPath || got.Debug != tc.want.Debug || got.TLS != tc.want.TLS {
			t.Errorf("%q: %+v, %v; want %+v", tc.args, got, err, tc.want)
		}
	}
	o, _ := parseFlags([]string{"-U", "3", "-T", "60"})
	if o.Uses != 3 || o.ReuseTimeout != time.Minute {
		t.Errorf("-U 3 -T 60: %+v", o)
	}
}

// TestStdio: without master, one session on standard input and output,
// as an MTA that pipes runs it; a bad configuration is exit status 78.
func TestStdio(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "imapd.conf")
	os.WriteFile(conf, []byte("configdirectory: "+dir+"\nservername: pipe.example\n"), 0o644)
	if err := sasl.Open(dir).Add("alice", "secret"); err != nil {
		t.Fatal(err)
	}
	in := "LHLO mx\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@pipe.example>\r\nDATA\r\nSubject: piped\r\n\r\nhi\r\n.\r\nQUIT\r\n"
	var out, errs bytes.Buffer
	if code := run([]string{"lmtpd", "-C", conf}, "", strings.NewReader(in), &out, &errs); code != exitOK {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	for _, want := range []string{"220 pipe.example LMTP ready\r\n", "250 2.1.5 ok\r\n", "354 ", "250 2.1.5 Success SESSIONID=<pipe.example-", "221 2.0.0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in\n%s", want, out.String())
		}
	}
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, []byte("configdirectory: "+dir+"\nduplicatesuppression: maybe\n"), 0o644)
	if code := run([]string{"lmtpd", "-C", bad}, "", strings.NewReader(""), &out, &errs); code != exitConfig {
		t.Errorf("bad configuration: exit %d", code)
	}
	if code := run([]string{"lmtpd", "-x"}, "", strings.NewReader(""), &out, &errs); code != exitUsage {
		t.Errorf("bad flag: exit %d", code)
	}
}

// TestStdioLogsDeliveries: in the stdio mode with -D, the delivery
// events (Cyrus's Delivered and dupelim lines under master) go to
// standard error, as imapd's events do.
func TestStdioLogsDeliveries(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "imapd.conf")
	os.WriteFile(conf, []byte("configdirectory: "+dir+"\nservername: pipe.example\n"), 0o644)
	if err := sasl.Open(dir).Add("alice", "secret"); err != nil {
		t.Fatal(err)
	}
	msg := "DATA\r\nSubject: piped\r\nMessage-ID: <twice@x>\r\nDate: Tue, 1 Dec 2026 00:00:00 +0000\r\n\r\nhi\r\n.\r\n"
	in := "LHLO mx\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@pipe.example>\r\n" + msg + "MAIL FROM:<s@x>\r\nRCPT TO:<alice@pipe.example>\r\n" + msg + "QUIT\r\n"
	f, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved := os.Stderr
	os.Stderr = f // the logger's standard error
	var out, errs bytes.Buffer
	code := run([]string{"lmtpd", "-D", "-C", conf}, "", strings.NewReader(in), &out, &errs)
	os.Stderr = saved
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	logged, _ := os.ReadFile(f.Name())
	// The dupelim record names the mailbox by its MAILBOXID.
	for _, want := range []string{
		`msg=delivered service=lmtp user=alice sessionid=\S+ message-id=<twice@x> date="Tue, 1 Dec 2026 00:00:00 \+0000" mailbox=user\.alice\n`,
		`msg=dupelim service=lmtp user=alice sessionid=\S+ message-id=<twice@x> date="Tue, 1 Dec 2026 00:00:00 \+0000" mailbox=F[0-9a-f]{24}\n`,
	} {
		if !regexp.MustCompile(want).Match(logged) {
			t.Errorf("no %q in standard error:\n%s", want, logged)
		}
	}
}
