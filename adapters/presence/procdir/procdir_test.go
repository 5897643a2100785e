package procdir

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

func TestCountsLiveProcessesOnly(t *testing.T) {
	dir := t.TempDir()
	p := New(dir, "imap")
	// Another live process (a child that sleeps) serving alice from h1,
	// and a dead one whose file was left behind.
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { child.Process.Kill(); child.Wait() }()
	if err := os.MkdirAll(dir+"/proc", 0o750); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(dir+"/proc/"+strconv.Itoa(child.Process.Pid), []byte("imap\th1\talice\n"), 0o640)
	dead := exec.Command("true")
	dead.Run()
	os.WriteFile(dir+"/proc/"+strconv.Itoa(dead.Process.Pid)+"-1", []byte("imap\th1\talice\n"), 0o640)
	os.WriteFile(dir+"/proc/notapid", []byte("x"), 0o640)

	u, h, out, err := p.Login("alice", "h1")
	if err != nil || u != 1 || h != 1 {
		t.Fatalf("Login = %d, %d, %v; want 1, 1", u, h, err)
	}
	out()
	u, h, out, _ = p.Login("bob", "h2")
	if u != 0 || h != 0 {
		t.Fatalf("Login(bob) = %d, %d", u, h)
	}
	out()
	out() // a second call does nothing
	left, _ := filepath.Glob(filepath.Join(dir, "proc", strconv.Itoa(os.Getpid())+"*"))
	if len(left) != 0 {
		t.Fatalf("records left after logout: %v", left)
	}
}

// Sessions of one process (multisession) count each other, and each
// logout removes its own record only.
func TestSessionsOfOneProcess(t *testing.T) {
	dir := t.TempDir()
	p := New(dir, "imap")
	var outs []func()
	for i := 0; i < 3; i++ {
		u, h, out, err := p.Login("alice", "h1")
		if err != nil || u != i || h != i {
			t.Fatalf("login %d = %d, %d, %v; want %d, %d", i, u, h, err, i, i)
		}
		outs = append(outs, out)
	}
	outs[1]()
	u, _, out, _ := p.Login("alice", "h2")
	if u != 2 {
		t.Fatalf("after one logout: %d others, want 2", u)
	}
	out()
	outs[0]()
	outs[2]()
	if left, _ := os.ReadDir(filepath.Join(dir, "proc")); len(left) != 0 {
		t.Fatalf("records left: %d", len(left))
	}
}
