package main

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/cmd/imapd/timerslack"
	"github.com/imapd-go/imapd/test/proctest"
)

// Every thread of the process, the runtime's own included, runs with the
// timer slack set before the runtime started them (this test binary holds
// the same constructor as imapd).
func TestTimerSlackEveryThread(t *testing.T) {
	if os.Getenv(timerslack.Env) != "" {
		t.Skipf("%s is set", timerslack.Env)
	}
	if got := timerslack.Current(); got != timerslack.Default {
		t.Fatalf("timerslack.Current() = %d, want %d", got, timerslack.Default)
	}
	if got := proctest.ThreadSlacks(t, os.Getpid()); len(got) != 1 || got[timerslack.Default] == 0 {
		t.Errorf("the threads' slacks: %v, want all %d", got, timerslack.Default)
	}
}

// The binary's threads take their slack from timerslack.Env: a number of
// nanoseconds, 0 for whatever the process inherited, anything else
// ignored.
func TestBinaryTimerSlack(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildImapd(t)
	conf := writeConfig(t)
	// The thread that starts the child gives it a slack of its own, which
	// is what the child keeps when it is told to leave the slack alone.
	const inherited = 77777
	proctest.LockThreadSlack(t, inherited)
	for _, c := range []struct {
		env  string
		want uint64
	}{
		{"", timerslack.Default},
		{"5000000", 5000000},
		{"0", inherited},
		{"5ms", inherited},
	} {
		cmd := exec.Command(bin, "-C", conf)
		cmd.Env = append(os.Environ(), "CYRUS_SERVICE=", timerslack.Env+"="+c.env)
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(out)
		// The greeting: the runtime has started its threads by now.
		if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "* OK") {
			t.Fatalf("greeting %q, %v", l, err)
		}
		got := proctest.ThreadSlacks(t, cmd.Process.Pid)
		in.Write([]byte("a LOGOUT\r\n"))
		in.Close()
		cmd.Wait()
		if len(got) != 1 || got[c.want] < 2 {
			t.Errorf("%s=%q: the threads' slacks %v, want all (two or more) %d", timerslack.Env, c.env, got, c.want)
		}
	}
}
