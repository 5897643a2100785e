package procdir

import (
	"os"
	"os/exec"
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
	os.WriteFile(dir+"/proc/"+strconv.Itoa(dead.Process.Pid), []byte("imap\th1\talice\n"), 0o640)
	os.WriteFile(dir+"/proc/notapid", []byte("x"), 0o640)

	u, h, err := p.Login("alice", "h1")
	if err != nil || u != 1 || h != 1 {
		t.Fatalf("Login = %d, %d, %v; want 1, 1", u, h, err)
	}
	u, h, _ = p.Login("bob", "h2")
	if u != 0 || h != 0 {
		t.Fatalf("Login(bob) = %d, %d", u, h)
	}
	p.Logout()
	if _, err := os.Stat(dir + "/proc/" + strconv.Itoa(os.Getpid())); !os.IsNotExist(err) {
		t.Fatalf("record left after Logout: %v", err)
	}
}
