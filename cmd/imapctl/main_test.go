package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/adapters/auth/sasl"
)

type env struct {
	t    *testing.T
	bin  string
	conf string
	dir  string
}

func setup(t *testing.T) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "imapctl")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	conf := filepath.Join(dir, "imapd.conf")
	text := "configdirectory: " + dir + "\nmaxmessagesize: 1000\n"
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, bin: bin, conf: conf, dir: dir}
}

// run runs imapctl -C conf args... with stdin and checks the exit status.
func (e *env) run(stdin string, code int, args ...string) string {
	e.t.Helper()
	cmd := exec.Command(e.bin, append([]string{"-C", e.conf}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, s bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &s
	cmd.Run()
	if got := cmd.ProcessState.ExitCode(); got != code {
		e.t.Fatalf("imapctl %q: exit %d, want %d; stderr %q", args, got, code, s.String())
	}
	if code != 0 && code != exitUsage {
		if msg := s.String(); !strings.HasPrefix(msg, "imapctl: ") || strings.Count(msg, "\n") != 1 {
			e.t.Errorf("imapctl %q: stderr %q is not one line", args, msg)
		}
	}
	return o.String()
}

func TestUsers(t *testing.T) {
	e := setup(t)
	if out := e.run("", 0, "user", "list"); out != "" {
		t.Errorf("empty list = %q", out)
	}
	e.run("secret\n", 0, "user", "add", "bob")
	e.run("wonder land\r\n", 0, "user", "add", "alice")
	e.run("again\n", exitDataErr, "user", "add", "alice")
	e.run("x\n", exitDataErr, "user", "add", "bad/name")
	e.run("", exitDataErr, "user", "add", "carol") // no password
	if out := e.run("", 0, "user", "list"); out != "alice\nbob\n" {
		t.Errorf("list = %q", out)
	}
	passwd, err := os.ReadFile(filepath.Join(e.dir, "imapd.passwd"))
	if err != nil || !strings.Contains(string(passwd), "alice:$2a$10$") {
		t.Errorf("imapd.passwd = %q, %v", passwd, err)
	}
	// Both credentials: the bcrypt hash and SCRAM-SHA-256 keys of the
	// same password, after add and after passwd.
	scramOf := func(user, password string) {
		t.Helper()
		k, ok, err := sasl.Open(e.dir).ScramKeys(user)
		if err != nil || !ok || k.Iterations < 4096 {
			t.Fatalf("SCRAM keys of %s: %+v %v %v", user, k, ok, err)
		}
		want, _ := sasl.DeriveScramKeys(password, k.Salt, k.Iterations)
		if !bytes.Equal(k.StoredKey, want.StoredKey) || !bytes.Equal(k.ServerKey, want.ServerKey) {
			t.Errorf("SCRAM keys of %s do not match %q", user, password)
		}
	}
	scramOf("alice", "wonder land")
	scramOf("bob", "secret")
	e.run("new\n", 0, "user", "passwd", "bob")
	scramOf("bob", "new")
	e.run("new\n", exitNoUser, "user", "passwd", "nobody")
	e.run("", 0, "user", "del", "bob")
	e.run("", exitNoUser, "user", "del", "bob")
	if out := e.run("", 0, "user", "list"); out != "alice\n" {
		t.Errorf("list after del = %q", out)
	}
}

func TestMailboxesAndDeliver(t *testing.T) {
	e := setup(t)
	e.run("pw\n", 0, "user", "add", "alice")
	if out := e.run("", 0, "mailbox", "list", "alice"); out != "INBOX\n" {
		t.Errorf("new user's mailboxes = %q", out)
	}
	e.run("", 0, "mailbox", "create", "alice", "Work/2024")
	e.run("", exitDataErr, "mailbox", "create", "alice", "Work")
	if out := e.run("", 0, "mailbox", "list", "alice"); out != "INBOX\nWork\nWork/2024\n" {
		t.Errorf("mailboxes = %q", out)
	}
	e.run("", 0, "mailbox", "delete", "alice", "Work/2024")
	e.run("", exitNoUser, "mailbox", "delete", "alice", "Work/2024")
	e.run("", exitNoUser, "mailbox", "list", "nobody")

	msg := "From: a@example.org\r\nTo: alice@example.org\r\nSubject: hi\r\n\r\nHello\r\n"
	e.run(msg, 0, "deliver", "alice")
	e.run(msg, 0, "deliver", "alice", "Work")
	e.run(msg, exitNoUser, "deliver", "nobody")
	e.run(msg, exitNoUser, "deliver", "alice", "Nowhere")
	e.run(msg+strings.Repeat("x", 1000), exitDataErr, "deliver", "alice") // maxmessagesize: 1000
	// A binary part with NUL is stored encoded; NUL in a header is refused
	// for good.
	e.run("Subject: bin\r\nContent-Transfer-Encoding: binary\r\n\r\na\x00b\r\n", 0, "deliver", "alice")
	e.run("Subject: a\x00b\r\n\r\nbody\r\n", exitDataErr, "deliver", "alice")

	// Deleting the user deletes the mail too.
	e.run("", 0, "user", "del", "alice")
	e.run("pw\n", 0, "user", "add", "alice")
	if out := e.run("", 0, "mailbox", "list", "alice"); out != "INBOX\n" {
		t.Errorf("mailboxes of a re-created user = %q", out)
	}
}

func TestUsageAndConfig(t *testing.T) {
	e := setup(t)
	for _, args := range [][]string{{}, {"user"}, {"user", "add"}, {"user", "add", "a", "b"}, {"user", "list", "x"},
		{"mailbox", "create", "alice"}, {"deliver"}, {"deliver", "a", "b", "c"}, {"frob"}} {
		e.run("", exitUsage, args...)
	}
	bad := filepath.Join(e.dir, "bad.conf")
	os.WriteFile(bad, []byte("configdirectory: "+e.dir+"\nstore: mbox\n"), 0o644)
	e.conf = bad
	e.run("", exitConfig, "user", "list")
}

func TestLookup(t *testing.T) {
	tests := []struct {
		args []string
		ok   bool
	}{
		{[]string{"user", "add", "a"}, true}, {[]string{"user", "list"}, true}, {[]string{"deliver", "a"}, true},
		{[]string{"deliver", "a", "INBOX"}, true}, {[]string{"mailbox", "list", "a"}, true},
		{[]string{"user", "add"}, false}, {[]string{"users", "list"}, false}, {[]string{"deliver"}, false}, {nil, false},
	}
	for _, tt := range tests {
		if _, ok := lookup(tt.args); ok != tt.ok {
			t.Errorf("lookup(%q) = %v", tt.args, ok)
		}
	}
}
