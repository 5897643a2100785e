package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildImapd builds the binary once per test run.
func buildImapd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "imapd")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func runImapd(t *testing.T, bin string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "CYRUS_SERVICE=")
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatal(err)
		}
	}
	return cmd.ProcessState.ExitCode(), o.String(), e.String()
}

func TestBinaryExitCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildImapd(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.conf", "configdirectory: "+dir+"\nthis is not an option\n")
	noCert := write("nocert.conf", "configdirectory: "+dir+"\n")
	withCert := write("cert.conf", "configdirectory: "+dir+"\ntls_server_cert: /c.pem\ntls_server_key: /k.pem\n")
	marker := filepath.Join(dir, "debug-ran")
	debug := write("debug.conf", "configdirectory: "+dir+"\ntls_server_cert: /c\ntls_server_key: /k\n"+
		"debug_command: echo %s %d %s > "+marker+"\n")

	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"attached argument", []string{"-U3"}, 64, usageLine + "\n"},
		{"unknown flag", []string{"-x"}, 64, usageLine + "\n"},
		{"bad number", []string{"-p", "two"}, 64, usageLine + "\n"},
		{"stray argument", []string{"-C", noCert, "extra"}, 64, usageLine + "\n"},
		{"bad config line", []string{"-C", bad}, 78, "imapd: " + bad + ":2: invalid option name\n"},
		{"missing config", []string{"-C", filepath.Join(dir, "none.conf")}, 78, "imapd: " + filepath.Join(dir, "none.conf") + ": cannot read"},
		{"-s without certificate", []string{"-C", noCert, "-s"}, 78, "imapd: -s needs tls_server_cert and tls_server_key"},
		{"-s with a missing certificate", []string{"-C", withCert, "-s"}, 78, "imapd: tls_server_cert /c.pem"},
		{"-D runs debug_command", []string{"-C", debug, "-D", "-s"}, 78, "imapd: tls_server_cert /c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runImapd(t, bin, "", tt.args...)
			if code != tt.code || !strings.HasPrefix(stderr, tt.stderr) || stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit %d, stderr starting %q", code, stderr, stdout, tt.code, tt.stderr)
			}
			if strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", stderr)
			}
		})
	}
	got, err := os.ReadFile(marker)
	if err != nil {
		t.Fatalf("debug_command did not run: %v", err)
	}
	if fields := strings.Fields(string(got)); len(fields) != 3 || fields[0] != bin || fields[2] != "imap" {
		t.Errorf("debug_command got %q", got)
	}
}

// writeConfig makes a configuration for a working server in a fresh folder.
func writeConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "imapd.conf")
	text := "configdirectory: " + dir + "\npartition-default: {configdirectory}/spool\nservername: test.example\n"
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return conf
}

func TestBinarySession(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildImapd(t)
	conf := writeConfig(t)
	tests := []struct {
		name  string
		input string
		args  []string
		want  []string // substrings of stdout, in order
	}{
		{"logout", "a1 LOGOUT\r\n", nil, []string{"* OK ", "test.example", "* BYE", "a1 OK"}},
		{"eof", "a1 NOOP\r\n", nil, []string{"* OK ", "a1 OK"}},
		{"plaintext refused without a layer", "a1 CAPABILITY\r\na2 LOGOUT\r\n", nil, []string{"LOGINDISABLED", "a2 OK"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runImapd(t, bin, tt.input, append([]string{"-C", conf}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			rest := stdout
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("stdout %q lacks %q (in order)", stdout, w)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

// A client that is gone before the greeting must not kill imapd with
// SIGPIPE: the write fails and the process exits normally.
func TestBinaryBrokenPipe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildImapd(t)
	conf := writeConfig(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // nobody will read the greeting
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	inW.Close()
	cmd := exec.Command(bin, "-C", conf)
	cmd.Stdin, cmd.Stdout = inR, w
	var e bytes.Buffer
	cmd.Stderr = &e
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	inR.Close()
	cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(interface{ Signaled() bool }); ok && ws.Signaled() {
		t.Fatalf("imapd died by a signal: %v (stderr %q)", cmd.ProcessState, e.String())
	}
}
