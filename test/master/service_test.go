package master

import (
	"encoding/binary"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imapd-go/imapd/test/proctest"
)

// fake is the test acting as master for one imapd process: the listener
// on its fd 4 and the status pipe on its fd 3.
type fake struct {
	t      *testing.T
	ln     net.Listener
	status *os.File
	cmd    *exec.Cmd
	exited chan struct{}
}

func startFake(t *testing.T, args ...string) *fake {
	t.Helper()
	return startFakeConf(t, "", args...)
}

// startFakeConf is startFake with more lines in imapd.conf.
func startFakeConf(t *testing.T, more string, args ...string) *fake {
	t.Helper()
	bins := binaries(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "imapd.conf")
	os.WriteFile(conf, []byte("configdirectory: "+dir+"\nservername: fake\nfailedloginpause: 0\n"+more), 0o644)
	os.MkdirAll(filepath.Join(dir, "socket"), 0o755)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lf, _ := ln.(*net.TCPListener).File()
	defer lf.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	f := &fake{t: t, ln: ln, status: r, exited: make(chan struct{})}
	f.cmd = exec.Command(filepath.Join(bins, "imapd"), append([]string{"-C", conf}, args...)...)
	f.cmd.Env = append(os.Environ(), "CYRUS_SERVICE=imap", "CYRUS_ID=0")
	f.cmd.ExtraFiles = []*os.File{w, lf}
	f.cmd.Stderr = os.Stderr
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { f.cmd.Wait(); close(f.exited) }()
	t.Cleanup(func() {
		f.cmd.Process.Kill()
		<-f.exited
		ln.Close()
		r.Close()
	})
	return f
}

// expect reads status messages from the service.
func (f *fake) expect(msgs ...int32) {
	f.t.Helper()
	for _, want := range msgs {
		var b [8]byte
		f.status.SetReadDeadline(time.Now().Add(patience))
		if _, err := io.ReadFull(f.status, b[:]); err != nil {
			f.t.Fatalf("status: %v", err)
		}
		msg, pid := int32(binary.NativeEndian.Uint32(b[:4])), int(binary.NativeEndian.Uint32(b[4:]))
		if msg != want || pid != f.cmd.Process.Pid {
			f.t.Fatalf("status %d from %d, want %d from %d", msg, pid, want, f.cmd.Process.Pid)
		}
	}
}

func (f *fake) session() {
	f.t.Helper()
	c, err := net.Dial("tcp", f.ln.Addr().String())
	if err != nil {
		f.t.Fatal(err)
	}
	defer c.Close()
	r := newRaw(f.t, c, true)
	if !strings.HasPrefix(r.greeting, "* OK [CAPABILITY ") {
		f.t.Fatalf("greeting %q", r.greeting)
	}
	r.ok("a1", "LOGOUT")
}

// exit waits for the process to end and returns its exit status.
func (f *fake) exit() int {
	f.t.Helper()
	select {
	case <-f.exited:
	case <-time.After(patience):
		f.t.Fatal("imapd did not exit")
	}
	ws := f.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		f.t.Fatalf("imapd died by %v", ws.Signal())
	}
	return ws.ExitStatus()
}

// running reports whether the process is still there a moment later.
func (f *fake) running() bool {
	select {
	case <-f.exited:
		return false
	case <-time.After(100 * time.Millisecond):
		return true
	}
}

// TestServiceProtocol runs imapd with the test as its master: it needs
// neither root nor Cyrus.
func TestServiceProtocol(t *testing.T) {
	t.Run("-U 2", func(t *testing.T) {
		f := startFake(t, "-U", "2")
		f.session()
		f.expect(2, 3)
		f.session()
		f.expect(1, 2, 3)
		if code := f.exit(); code != 0 {
			t.Errorf("exit %d after its uses", code)
		}
	})
	t.Run("-U 0 means one", func(t *testing.T) {
		f := startFake(t, "-U", "0")
		f.session()
		if code := f.exit(); code != 0 {
			t.Errorf("exit %d", code)
		}
	})
	t.Run("SIGHUP when idle", func(t *testing.T) {
		f := startFake(t)
		f.session()
		f.expect(2, 3, 1)
		f.cmd.Process.Signal(syscall.SIGHUP)
		if code := f.exit(); code != 0 {
			t.Errorf("exit %d", code)
		}
	})
	t.Run("SIGHUP in a session", func(t *testing.T) {
		f := startFake(t)
		c, err := net.Dial("tcp", f.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		r := newRaw(t, c, true)
		f.cmd.Process.Signal(syscall.SIGHUP)
		if !f.running() {
			t.Fatal("SIGHUP ended a session")
		}
		r.ok("a1", "NOOP")
		r.ok("a2", "LOGOUT")
		if code := f.exit(); code != 0 {
			t.Errorf("exit %d", code)
		}
	})
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT} {
		t.Run(sig.String(), func(t *testing.T) {
			f := startFake(t)
			c, err := net.Dial("tcp", f.ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			newRaw(t, c, true)
			f.cmd.Process.Signal(sig)
			if code := f.exit(); code != 75 {
				t.Errorf("exit %d, want 75", code)
			}
			// No BYE: the connection just ends.
			rest, _ := io.ReadAll(c)
			if len(rest) > 0 {
				t.Errorf("sent %q on %v", rest, sig)
			}
		})
	}
	t.Run("-T 1", func(t *testing.T) {
		f := startFake(t, "-T", "1")
		// The first wait has no limit.
		if !f.running() {
			t.Fatal("exited before its first connection")
		}
		f.session()
		if code := f.exit(); code != 0 {
			t.Errorf("exit %d", code)
		}
	})
	t.Run("new executable", func(t *testing.T) {
		// A copy of imapd, replaced on disk while it waits.
		exe := filepath.Join(t.TempDir(), "imapd")
		copyFile(t, filepath.Join(binaries(t), "imapd"), exe, 0o755)
		f := startFake(t)
		f.cmd.Process.Kill()
		<-f.exited
		g := &fake{t: t, ln: f.ln, status: f.status, exited: make(chan struct{})}
		g.cmd = exec.Command(exe, f.cmd.Args[1:]...)
		g.cmd.Env, g.cmd.ExtraFiles = f.cmd.Env, f.cmd.ExtraFiles
		lf, _ := f.ln.(*net.TCPListener).File()
		defer lf.Close()
		_, w, _ := os.Pipe()
		defer w.Close()
		g.cmd.ExtraFiles = []*os.File{w, lf}
		if err := g.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { g.cmd.Wait(); close(g.exited) }()
		t.Cleanup(func() { g.cmd.Process.Kill(); <-g.exited })
		if !g.running() {
			t.Fatal("exited at once")
		}
		copyFile(t, exe, exe+".new", 0o755)
		if err := os.Rename(exe+".new", exe); err != nil {
			t.Fatal(err)
		}
		if code := g.exit(); code != 0 {
			t.Errorf("exit %d", code)
		}
	})
}

// A process per session runs with imapd's own timer slack; a process in
// multi mode runs itself again at start with the slack master gave it,
// and then serves as usual.
func TestTimerSlackByMode(t *testing.T) {
	if os.Getenv("IMAPD_TIMERSLACK_NS") != "" {
		t.Skip("IMAPD_TIMERSLACK_NS is set")
	}
	// The thread that starts imapd (this goroutine's, locked) gives it a
	// slack of its own: master's.
	const given = 77777
	proctest.LockThreadSlack(t, given)
	for _, c := range []struct {
		conf string
		want uint64
	}{
		{"", 10000000},
		{"multisession: yes\n", given},
	} {
		f := startFakeConf(t, c.conf)
		f.session()
		f.session()
		got := proctest.ThreadSlacks(t, f.cmd.Process.Pid)
		if len(got) != 1 || got[c.want] < 2 {
			t.Errorf("%q: the threads' slacks %v, want all (two or more) %d", c.conf, got, c.want)
		}
		// Run again or not, it is still imapd to ps and pgrep.
		if b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(f.cmd.Process.Pid), "comm")); err != nil || strings.TrimSpace(string(b)) != "imapd" {
			t.Errorf("%q: the process's name %q, %v", c.conf, b, err)
		}
	}
}
