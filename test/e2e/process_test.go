package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// binaries are bin/imapd and bin/imapctl built once per test run.
type binaries struct{ imapd, imapctl string }

var (
	buildOnce sync.Once
	buildDir  string
	built     binaries
	buildErr  error
)

// buildBinaries builds imapd and imapctl with the race detector off (the
// processes are the subject, not the test binary) into a temporary folder.
func buildBinaries(t testing.TB) binaries {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "imapd-e2e-bin-")
		if buildErr != nil {
			return
		}
		for _, b := range []struct{ out, pkg string }{
			{filepath.Join(buildDir, "imapd"), "github.com/imapd-go/imapd/cmd/imapd"},
			{filepath.Join(buildDir, "imapctl"), "github.com/imapd-go/imapd/cmd/imapctl"},
		} {
			cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
				return
			}
		}
		built = binaries{imapd: filepath.Join(buildDir, "imapd"), imapctl: filepath.Join(buildDir, "imapctl")}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

// newProcessConfig writes an imapd.conf in a fresh configdirectory, with
// extra lines appended, and creates the test users with imapctl.
func newProcessConfig(t testing.TB, extra []string) string {
	t.Helper()
	bins := buildBinaries(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "imapd.conf")
	lines := []string{
		"configdirectory: " + dir,
		"partition-default: {configdirectory}/spool",
		"servername: e2e.example",
		"allowplaintext: yes",
		"sasl_mech_list: PLAIN LOGIN",
		"failedloginpause: 0",
	}
	lines = append(lines, extra...)
	if !slices.ContainsFunc(extra, func(l string) bool { return strings.HasPrefix(l, "store:") }) {
		lines = append(lines, "store: "+e2eStore())
	}
	if slices.Contains(lines, "store: postgres") {
		lines = append(lines, "postgres_dsn: "+postgresDSN(t, filepath.Join(dir, "spool")))
	}
	if !slices.ContainsFunc(extra, func(l string) bool { return strings.HasPrefix(l, "logincache_dir:") }) {
		lines = append(lines, "logincache_dir: "+tmpfsDir(t)) // not /dev/shm itself: removed after the test
	}
	if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for u, p := range testUsers {
		cmd := exec.Command(bins.imapctl, "-C", conf, "user", "add", u)
		cmd.Stdin = strings.NewReader(p + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("imapctl user add %s: %v\n%s", u, err, out)
		}
	}
	return conf
}

// process is an imapd process serving one session on its stdin/stdout.
type process struct {
	*transcript
	cmd    *exec.Cmd
	stderr *bytes.Buffer
}

// spawnImapd starts imapd -C conf with pipes for its standard input and
// output, and its standard error kept.
func spawnImapd(t testing.TB, bins binaries, conf string) (cmd *exec.Cmd, stdin io.WriteCloser, stdout io.ReadCloser, stderr *bytes.Buffer) {
	t.Helper()
	cmd = exec.Command(bins.imapd, "-C", conf)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err = cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr = &bytes.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, stdin, stdout, stderr
}

// startImapd starts imapd -C conf and reads its greeting.
func startImapd(t testing.TB, bins binaries, conf string) *process {
	t.Helper()
	cmd, stdin, stdout, stderr := spawnImapd(t, bins, conf)
	p := &process{cmd: cmd, stderr: stderr}
	p.transcript = newTranscript(t, stdout, stdin, stdout)
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("imapd exited with %v; stderr:\n%s", err, stderr.String())
			}
		case <-time.After(ioTimeout):
			cmd.Process.Kill()
			<-done
			t.Errorf("imapd did not exit at the end of its input")
		}
	})
	p.greeting = p.expect("* OK [CAPABILITY ")
	if !strings.Contains(p.greeting, "e2e.example") {
		t.Errorf("greeting %q lacks the servername", p.greeting)
	}
	return p
}

// TestProcessSession runs one whole session against the binary.
func TestProcessSession(t *testing.T) {
	bins := buildBinaries(t)
	conf := newProcessConfig(t, nil)
	p := startImapd(t, bins, conf)
	p.no("a1 LOGIN alice wrong", "AUTHENTICATIONFAILED")
	p.ok("a2 LOGIN alice secret")
	p.ok("a3 CREATE Sent")
	p.ok("a4 APPEND Sent (\\Seen) " + literal(testMessage("hello", "process body")))
	p.ok("a5 SELECT Sent")
	p.mustHave("* 1 EXISTS")
	p.ok("a6 FETCH 1 (BODY[TEXT])")
	if got := p.withPrefix("* 1 FETCH (BODY[TEXT] {14}\r\nprocess body\r\n"); len(got) != 1 {
		t.Errorf("FETCH BODY[TEXT]: %q", p.untagged)
	}
	p.ok("a7 LOGOUT")
	p.mustHave("* BYE LOGOUT received")
	p.expectEOF()
}

// TestProcessPeakRSS measures the peak resident memory of one imapd stdio
// session after LOGIN, SELECT and FETCH of a mailbox of a few hundred
// messages. It logs the figure; it asserts nothing about it.
func TestProcessPeakRSS(t *testing.T) {
	bins := buildBinaries(t)
	conf := newProcessConfig(t, nil)
	p := startImapd(t, bins, conf)
	p.ok("a1 LOGIN alice secret")
	body := strings.Repeat("The quick brown fox jumps over the lazy dog.\r\n", 90)
	for i := range 300 {
		p.ok("a2 APPEND INBOX " + literalPlus(testMessage(fmt.Sprintf("message %d", i), body)))
	}
	p.ok("a3 SELECT INBOX")
	p.ok("a4 FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE RFC822.SIZE)")
	if n := len(p.withPrefix("* ")); n != 300 {
		t.Errorf("FETCH 1:*: %d responses", n)
	}
	p.ok("a5 FETCH 1:50 BODY.PEEK[]")
	p.ok("a6 UID SEARCH TEXT lazy")
	hwm, rss := procStatus(t, p.cmd.Process.Pid)
	t.Logf("imapd stdio session after LOGIN, 300 APPENDs, SELECT, FETCH and SEARCH: VmHWM %s, VmRSS %s", hwm, rss)
	p.ok("a7 LOGOUT")
}

// procStatus returns the VmHWM and VmRSS lines of /proc/<pid>/status.
func procStatus(t *testing.T, pid int) (hwm, rss string) {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		switch k {
		case "VmHWM":
			hwm = strings.TrimSpace(v)
		case "VmRSS":
			rss = strings.TrimSpace(v)
		}
	}
	return hwm, rss
}
