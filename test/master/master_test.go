package master

import (
	"crypto/tls"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// suiteServices are the services every master runs for the suite.
func suiteServices() []*svc {
	return []*svc{
		{name: "imap", prefork: 1},
		{name: "imapu", flags: "-U 2 -p 2", prefork: 1, maxchld: 1},
		{name: "imapunix", flags: "-U 1 -p 2", unix: true},
		{name: "imaps", flags: "-s"},
		{name: "imapt", flags: "-T 1 -p 2"},
		{name: "imapn", flags: "-N -p 2"},
		{name: "imapdbg", flags: "-D -p 2"},
		{name: "imapshut", flags: "-p 2"},
		{name: "imapmax", flags: "-U 1 -p 2", maxchld: 1},
		{name: "imappre", flags: "-p 2", prefork: 2},
	}
}

func masters(t *testing.T) []string {
	if os.Geteuid() != 0 {
		t.Skip("the master tests run as root (Cyrus's master starts as root and runs services as cyrus)")
	}
	kinds := []string{"ours"}
	if _, err := os.Stat(CyrusMaster); err == nil {
		kinds = append([]string{"cyrus"}, kinds...)
	} else if os.Getenv("IMAPD_REQUIRE_CYRUS") != "" {
		t.Fatalf("%s: %v (IMAPD_REQUIRE_CYRUS is set)", CyrusMaster, err)
	} else {
		t.Logf("%s is absent (install cyrus-imapd): only our master is tested", CyrusMaster)
	}
	return kinds
}

func TestUnderMaster(t *testing.T) {
	kinds := masters(t)
	logs := takeSyslog(t)
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			e := start(t, kind, suiteServices())
			e.logs = logs
			for _, c := range checks {
				t.Run(c.name, func(t *testing.T) {
					e.t = t
					c.run(t, e)
				})
				if t.Failed() {
					break
				}
			}
			e.t = t
			t.Run("SIGTERM", func(t *testing.T) {
				e.t = t
				e.stop()
				if _, err := os.Stat(e.pidFile); err == nil && kind == "ours" {
					t.Error("pid file left behind")
				}
			})
		})
	}
}

var checks = []struct {
	name string
	run  func(t *testing.T, e *env)
}{
	{"greeting and motd", func(t *testing.T, e *env) {
		r := e.dial("imap")
		if !regexp.MustCompile(`^\* OK \[CAPABILITY IMAP4rev1 .*STARTTLS.* LOGINDISABLED.*\] mastertest `).MatchString(r.greeting) {
			t.Errorf("greeting %q", r.greeting)
		}
		if l := r.line(); l != "* OK [ALERT] Welcome to the test server\r\n" {
			t.Errorf("motd line %q", l)
		}
		if l := r.cmd("a1", "LOGIN alice secret"); !strings.HasPrefix(l[len(l)-1], "a1 NO") {
			t.Errorf("LOGIN without TLS: %q", l)
		}
		if l := r.ok("a2", "LOGOUT"); l[0] != "* BYE LOGOUT received\r\n" {
			t.Errorf("LOGOUT: %q", l)
		}
	}},

	{"imapclient over STARTTLS", func(t *testing.T, e *env) {
		start := time.Now()
		c, err := imapclient.DialStartTLS(e.services["imap"].addr, &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Login("alice", "secret").Wait(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		if err := c.Logout().Wait(); err != nil {
			t.Fatal(err)
		}
		t.Logf("a STARTTLS session (connect, TLS, LOGIN, SELECT, LOGOUT) took %v", time.Since(start))
	}},

	{"-p 2 allows LOGIN without TLS", func(t *testing.T, e *env) {
		r := e.dial("imapshut")
		if strings.Contains(r.greeting, "LOGINDISABLED") || !strings.Contains(r.greeting, "STARTTLS") {
			t.Errorf("greeting %q", r.greeting)
		}
		r.line() // motd
		r.ok("a1", "LOGIN alice secret")
		r.ok("a2", "LOGOUT")
	}},

	{"METADATA across processes", func(t *testing.T, e *env) {
		// RFC 5464: one session sets entries, another one, in another
		// imapd process (the first one is still busy), reads them.
		a := e.dial("imapshut")
		a.line()
		a.ok("a1", "LOGIN alice secret")
		a.ok("a2", `SETMETADATA INBOX (/private/comment "from one process" /shared/comment "shared")`)
		b := e.dial("imapshut")
		b.line()
		b.ok("b1", "LOGIN alice secret")
		got := b.ok("b2", "GETMETADATA INBOX (/private/comment /shared/comment)")
		if want := "* METADATA \"INBOX\" (\"/private/comment\" \"from one process\" \"/shared/comment\" \"shared\")\r\n"; got[0] != want {
			t.Errorf("GETMETADATA: %q, want %q", got, want)
		}
		b.ok("b3", "LOGOUT")
		a.ok("a3", "LOGOUT")
	}},

	{"Unix socket", func(t *testing.T, e *env) {
		r := e.dial("imapunix")
		r.line()
		r.ok("a1", "LOGIN alice secret")
		r.ok("a2", "SELECT INBOX")
		r.ok("a3", "LOGOUT")
	}},

	{"a folder shared between two processes", func(t *testing.T, e *env) {
		// Each session has a process of its own: the ACL, the shared
		// mailbox and bob's own \Seen go through the store.
		alice := e.dial("imapshut")
		alice.line()
		alice.ok("a1", "LOGIN alice secret")
		alice.ok("a2", "CREATE Shared")
		alice.ok("a3", "APPEND Shared (\\Seen) {11+}\r\nSubject: x\r\n")
		alice.ok("a4", "SETACL Shared bob lrs")
		bob := e.dial("imapshut")
		bob.line()
		bob.ok("b1", "LOGIN bob secret")
		if l := bob.ok("b2", `MYRIGHTS "Other Users/alice/Shared"`); l[0] != "* MYRIGHTS \"Other Users/alice/Shared\" lrs\r\n" {
			t.Errorf("MYRIGHTS: %q", l)
		}
		bob.ok("b3", `SELECT "Other Users/alice/Shared"`)
		if l := bob.ok("b4", "FETCH 1 (FLAGS)"); l[0] != "* 1 FETCH (FLAGS ())\r\n" {
			t.Errorf("bob's flags: %q", l)
		}
		bob.ok("b5", "STORE 1 +FLAGS.SILENT (\\Seen)")
		alice.ok("a5", "SETACL Shared bob lr")
		bob.ok("b6", "NOOP")
		if l := bob.cmd("b7", "STORE 1 -FLAGS (\\Seen)"); !strings.HasPrefix(l[len(l)-1], "b7 NO [NOPERM]") {
			t.Errorf("STORE without s: %q", l)
		}
		bob.ok("b8", "LOGOUT")
		alice.ok("a6", "DELETE Shared")
		alice.ok("a7", "LOGOUT")
	}},

	{"-U respawns and the telemetry log", func(t *testing.T, e *env) {
		for i := 0; i < 4; i++ {
			r := e.dial("imapu")
			r.line()
			r.ok("a1", "LOGIN alice secret")
			r.ok("a2", "NOOP")
			r.ok("a3", "LOGOUT")
		}
		var files []string
		e.eventually("four logged sessions", func() bool {
			files, _ = filepath.Glob(filepath.Join(e.confDir, "log", "alice", "imapu-*"))
			n := 0
			for _, f := range files {
				b, _ := os.ReadFile(f)
				n += strings.Count(string(b), "---------- alice ")
			}
			return n == 4
		})
		if len(files) != 2 {
			t.Fatalf("log files %q: want one per process, two processes of two sessions each", files)
		}
		header := regexp.MustCompile(`^---------- alice [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}\n\n`)
		for _, f := range files {
			b, _ := os.ReadFile(f)
			s := string(b)
			if strings.Count(s, "---------- alice ") != 2 {
				t.Errorf("%s: not two sessions:\n%s", f, s)
			}
			if !header.MatchString(s) {
				t.Errorf("%s: header:\n%s", f, s)
			}
			if strings.Contains(s, "secret") {
				t.Errorf("%s: the password is logged", f)
			}
			if !regexp.MustCompile(`<\d{10}<a2 NOOP\r\n`).MatchString(s) || !regexp.MustCompile(`>\d{10}>a2 OK`).MatchString(s) {
				t.Errorf("%s: records:\n%q", f, s)
			}
			if fi, _ := os.Stat(f); fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v", f, fi.Mode())
			}
		}
	}},

	{"-s with Go's TLS client", func(t *testing.T, e *env) {
		tc, err := tls.Dial("tcp", e.services["imaps"].addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer tc.Close()
		r := newRaw(t, tc, true)
		if strings.Contains(r.greeting, "STARTTLS") || strings.Contains(r.greeting, "LOGINDISABLED") {
			t.Errorf("greeting over TLS: %q", r.greeting)
		}
		r.line()
		r.ok("a1", "LOGIN alice secret")
		r.ok("a2", "LOGOUT")
	}},

	{"-s with openssl s_client", func(t *testing.T, e *env) {
		out := runClient(t, "a1 LOGIN alice secret\r\na2 LOGOUT\r\n", "openssl", "s_client", "-connect", e.services["imaps"].addr, "-quiet", "-ign_eof")
		if !strings.Contains(out, "a1 OK") || !strings.Contains(out, "* BYE LOGOUT received") {
			t.Errorf("openssl s_client:\n%s", out)
		}
	}},

	{"-s with curl", func(t *testing.T, e *env) {
		out := runClient(t, "", "curl", "-sS", "-k", "--max-time", "20", "imaps://alice:secret@"+e.services["imaps"].addr+"/")
		if !strings.Contains(out, "INBOX") {
			t.Errorf("curl LIST:\n%s", out)
		}
	}},

	{"-s with Python's imaplib", func(t *testing.T, e *env) {
		host, port, _ := strings.Cut(e.services["imaps"].addr, ":")
		script := `import imaplib, ssl, sys
ctx = ssl._create_unverified_context()
m = imaplib.IMAP4_SSL(sys.argv[1], int(sys.argv[2]), ssl_context=ctx)
print(m.login("alice", "secret")[0])
print(m.select("INBOX")[0])
print(m.logout()[0])
`
		out := runClient(t, "", "python3", "-c", script, host, port)
		if out != "OK\nOK\nBYE\n" {
			t.Errorf("imaplib:\n%s", out)
		}
	}},

	{"imtest over STARTTLS", func(t *testing.T, e *env) {
		imtest := "/usr/lib/cyrus/bin/imtest"
		if _, err := os.Stat(imtest); err != nil {
			t.Skip("imtest is absent (cyrus-clients)")
		}
		_, port, _ := strings.Cut(e.services["imap"].addr, ":")
		for _, mech := range []string{"PLAIN", "SCRAM-SHA-256"} {
			out := runClient(t, "", imtest, "-t", "", "-a", "alice", "-w", "secret", "-m", mech, "-p", port, "127.0.0.1")
			if !strings.Contains(out, "AUTHENTICATE "+mech) || !strings.Contains(out, "\nAuthenticated.\n") ||
				!strings.Contains(out, "TLS connection established") {
				t.Errorf("imtest -m %s:\n%s", mech, out)
			}
		}
	}},

	{"-N accepts any password for an existing user", func(t *testing.T, e *env) {
		r := e.dial("imapn")
		r.line()
		r.ok("a1", "LOGIN alice wrong")
		r.ok("a2", "LOGOUT")
		r = e.dial("imapn")
		r.line()
		if l := r.cmd("a1", "LOGIN nobody wrong"); !strings.HasPrefix(l[len(l)-1], "a1 NO") {
			t.Errorf("unknown user: %q", l)
		}
	}},

	{"-D runs debug_command", func(t *testing.T, e *env) {
		r := e.dial("imapdbg")
		r.line()
		r.ok("a1", "LOGOUT")
		var text string
		e.eventually("debug.out", func() bool {
			b, _ := os.ReadFile(filepath.Join(e.confDir, "debug.out"))
			text = string(b)
			return text != ""
		})
		if f := strings.Fields(text); len(f) != 3 || f[0] != e.imapd || f[2] != "imapdbg" {
			t.Errorf("debug_command wrote %q", text)
		}
	}},

	{"msg/shutdown", func(t *testing.T, e *env) {
		r := e.dial("imapshut")
		r.line()
		e.write("config/msg/shutdown.imapshut", "Down for maintenance\nuntil noon\n")
		defer os.Remove(filepath.Join(e.confDir, "msg", "shutdown.imapshut"))
		r.ok("a1", "LOGIN alice secret")
		if l := r.line(); l != "* BYE [ALERT] Down for maintenance\r\n" {
			t.Errorf("after LOGIN: %q", l)
		}
	}},

	{"-T ends an idle process", func(t *testing.T, e *env) {
		r := e.dial("imapt")
		r.line()
		r.ok("a1", "LOGOUT")
		pids := e.procs("imapt")
		if len(pids) != 1 {
			t.Fatalf("imapt processes after a session: %v", pids)
		}
		e.eventually("the -T 1 process to exit", func() bool { return !alive(pids[0]) })
	}},

	{"maxchild", func(t *testing.T, e *env) {
		a := e.dial("imapmax")
		s := e.services["imapmax"]
		c, err := net.Dial(s.network(), s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// With one process allowed and it busy, the second client waits.
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if n, _ := c.Read(make([]byte, 1)); n > 0 {
			t.Fatal("a second process served while maxchild=1 was busy")
		}
		if n := len(e.procs("imapmax")); n != 1 {
			t.Errorf("%d imapmax processes, want 1", n)
		}
		a.line()
		a.ok("a1", "LOGOUT")
		b := newRaw(t, c, true)
		if !strings.HasPrefix(b.greeting, "* OK ") {
			t.Errorf("second greeting %q", b.greeting)
		}
	}},

	{"prefork", func(t *testing.T, e *env) {
		e.eventually("two ready imappre processes", func() bool { return len(e.procs("imappre")) == 2 })
	}},

	{"SIGTERM to an idle service is replaced", func(t *testing.T, e *env) {
		e.eventually("two ready imappre processes", func() bool { return len(e.procs("imappre")) == 2 })
		old := e.procs("imappre")
		syscall.Kill(old[0], syscall.SIGTERM)
		e.eventually("a replacement", func() bool {
			now := e.procs("imappre")
			return len(now) == 2 && !slices.Contains(now, old[0])
		})
	}},

	{"SIGHUP to master", func(t *testing.T, e *env) {
		r := e.dial("imappre")
		r.line()
		r.ok("a1", "LOGIN alice secret")
		// prefork=2 keeps two ready beside the busy one.
		e.eventually("three imappre processes", func() bool { return len(e.procs("imappre")) == 3 })
		old := e.procs("imappre")
		if err := syscall.Kill(e.pid, syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		// The idle ones leave and are replaced; the session goes on.
		e.eventually("the idle processes to be replaced", func() bool {
			now := e.procs("imappre")
			kept := 0
			for _, p := range now {
				if slices.Contains(old, p) {
					kept++
				}
			}
			return kept == 1 && len(now) == 3
		})
		r.ok("a2", "NOOP")
		r.ok("a3", "LOGOUT")
		e.eventually("the session's process to exit after it", func() bool {
			for _, p := range e.procs("imappre") {
				if slices.Contains(old, p) {
					return false
				}
			}
			return true
		})
	}},
}

// runClient runs a client program with input on its standard input and
// returns its output; a missing program skips the test.
func runClient(t *testing.T, input string, name string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil && !filepath.IsAbs(name) {
		t.Skipf("%s is not installed", name)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(input)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
		case <-time.After(patience):
			cmd.Process.Kill()
		}
	}()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Logf("%s: %v", name, err)
	}
	return string(out)
}
