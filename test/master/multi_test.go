package master

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/transport/master"
	"github.com/imapd-go/imapd/adapters/transport/tlsconf"
)

// testPanicMailbox is app.TestPanicMailbox (defined only in the build
// with the imapd_testpanic tag): its STATUS panics.
const testPanicMailbox = "imapd-test-panic"

// multiConf turns multisession on for the named services only.
func multiConf(services ...string) string {
	var b strings.Builder
	for _, s := range services {
		b.WriteString(s + "_multisession: yes\n")
	}
	return b.String()
}

// dialFake connects to the fake master's listener and reads the greeting.
func (f *fake) dial() *raw {
	f.t.Helper()
	c, err := net.Dial("tcp", f.ln.Addr().String())
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { c.Close() })
	return newRaw(f.t, c, true)
}

// noGreeting checks that nobody accepts a new connection for a while.
func (f *fake) noGreeting() net.Conn {
	f.t.Helper()
	c, err := net.Dial("tcp", f.ln.Addr().String())
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, _ := c.Read(make([]byte, 1)); n > 0 {
		f.t.Fatal("a process that stopped accepting greeted a new connection")
	}
	return c
}

// TestMultiServiceProtocol runs a multisession imapd with the test as its
// master: the status messages, -U, SIGHUP, -T and SIGTERM of the mode.
func TestMultiServiceProtocol(t *testing.T) {
	conf := "multisession: yes\n"
	t.Run("-U 3 with the sessions open", func(t *testing.T) {
		f := startFakeConf(t, conf, "-U", "3")
		var rs []*raw
		for i := 0; i < 3; i++ {
			rs = append(rs, f.dial())
			f.expect(master.StatusConnectionMulti)
		}
		// Spent: busy for master, no more connections, the sessions go on.
		f.expect(master.StatusUnavailable)
		f.noGreeting()
		for i, r := range rs {
			r.ok("n"+strconv.Itoa(i), "NOOP")
		}
		for i, r := range rs[:2] {
			r.ok("o"+strconv.Itoa(i), "LOGOUT")
		}
		if !f.running() {
			t.Fatal("exited with a session open")
		}
		rs[2].ok("o", "LOGOUT")
		if code := f.exit(); code != 0 {
			t.Errorf("exit %d after its uses", code)
		}
	})
	t.Run("SIGHUP with sessions open", func(t *testing.T) {
		f := startFakeConf(t, conf)
		a, b := f.dial(), f.dial()
		f.expect(master.StatusConnectionMulti, master.StatusConnectionMulti)
		f.cmd.Process.Signal(syscall.SIGHUP)
		f.expect(master.StatusUnavailable)
		f.noGreeting()
		a.ok("a1", "NOOP")
		a.ok("a2", "LOGOUT")
		if !f.running() {
			t.Fatal("exited with a session open")
		}
		b.ok("b1", "LOGOUT")
		if code := f.exit(); code != 0 {
			t.Errorf("exit %d", code)
		}
	})
	t.Run("-T 1 only when no session is open", func(t *testing.T) {
		f := startFakeConf(t, conf, "-T", "1")
		a := f.dial()
		f.expect(master.StatusConnectionMulti)
		a.ok("a1", "NOOP")
		time.Sleep(2500 * time.Millisecond) // past the longest timeout, 2T-1
		if !f.running() {
			t.Fatal("the reuse timeout ended a process with a session open")
		}
		a.ok("a2", "LOGOUT")
		if code := f.exit(); code != 0 {
			t.Errorf("exit %d", code)
		}
	})
	t.Run("-s: a slow handshake holds up no other client", func(t *testing.T) {
		dir := t.TempDir()
		cert, key, err := tlsconf.SelfSigned([]string{"127.0.0.1"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "cert.pem"), cert, 0o600)
		os.WriteFile(filepath.Join(dir, "key.pem"), key, 0o600)
		f := startFakeConf(t, conf+"tls_server_cert: "+dir+"/cert.pem\ntls_server_key: "+dir+"/key.pem\n", "-s")
		// A client that connects and never starts its handshake.
		slow, err := net.Dial("tcp", f.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer slow.Close()
		f.expect(master.StatusConnectionMulti)
		c, err := tls.Dial("tcp", f.ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		r := newRaw(t, c, true)
		if !strings.HasPrefix(r.greeting, "* OK ") {
			t.Fatalf("greeting over TLS: %q", r.greeting)
		}
		r.ok("a1", "LOGOUT")
	})
	t.Run("SIGTERM says BYE", func(t *testing.T) {
		f := startFakeConf(t, conf)
		a, b := f.dial(), f.dial()
		f.expect(master.StatusConnectionMulti, master.StatusConnectionMulti)
		a.ok("a1", "NOOP")
		f.cmd.Process.Signal(syscall.SIGTERM)
		for _, r := range []*raw{a, b} {
			if l := r.line(); l != "* BYE Server shutting down\r\n" {
				t.Errorf("on SIGTERM: %q", l)
			}
		}
		if code := f.exit(); code != 75 {
			t.Errorf("exit %d, want 75", code)
		}
	})
}

// TestMultiUnderMaster runs multisession services under Cyrus's master and
// ours.
func TestMultiUnderMaster(t *testing.T) {
	for _, kind := range masters(t) {
		t.Run(kind, func(t *testing.T) {
			services := []*svc{
				{name: "imapm", flags: "-p 2", prefork: 1},
				{name: "imapmu", flags: "-U 3 -p 2", prefork: 1},
				{name: "imapmshut", flags: "-p 2", prefork: 1},
				{name: "imapone", flags: "-p 2"},
			}
			e := startLayout(t, kind, services, layout{socketDir: true, testPanic: true,
				conf: multiConf("imapm", "imapmu", "imapmshut") + "maxlogins_per_user: 1000\n"})
			for _, c := range multiChecks {
				t.Run(c.name, func(t *testing.T) {
					e.t = t
					c.run(t, e)
				})
				if t.Failed() {
					break
				}
			}
			e.t = t
		})
	}
}

// login dials service and logs alice in.
func (e *env) login(service string) *raw {
	e.t.Helper()
	r := e.dial(service)
	r.line() // motd
	r.ok("l", "LOGIN alice secret")
	return r
}

// oneProc waits for the single process of service and returns it.
func (e *env) oneProc(service string) int {
	e.t.Helper()
	var pid int
	e.eventually("one "+service+" process", func() bool {
		p := e.procs(service)
		if len(p) == 1 {
			pid = p[0]
		}
		return len(p) == 1
	})
	return pid
}

// records counts the proc/ records of pid (one per logged-in session).
func (e *env) records(pid int) int {
	m, _ := filepath.Glob(filepath.Join(e.confDir, "proc", strconv.Itoa(pid)+"-*"))
	return len(m)
}

var multiChecks = []struct {
	name string
	run  func(t *testing.T, e *env)
}{
	{"many sessions in one process", func(t *testing.T, e *env) {
		pid := e.oneProc("imapm")
		const n = 20
		rs := make([]*raw, n)
		var wg sync.WaitGroup
		for i := range rs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := net.DialTimeout("tcp", e.services["imapm"].addr, patience)
				if err != nil {
					t.Error(err)
					return
				}
				rs[i] = &raw{t: t, c: c}
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		for i, r := range rs {
			t.Cleanup(func() { r.c.Close() })
			*r = *newRaw(t, r.c, true)
			r.line()
			r.ok("l"+strconv.Itoa(i), "LOGIN alice secret")
		}
		if p := e.procs("imapm"); len(p) != 1 || p[0] != pid {
			t.Errorf("imapm processes %v, want only %d", p, pid)
		}
		if got := e.records(pid); got != n {
			t.Errorf("%d proc/ records of %d, want one per session (%d)", got, pid, n)
		}
		for i, r := range rs {
			r.ok("o"+strconv.Itoa(i), "LOGOUT")
		}
		e.eventually("the records to go", func() bool { return e.records(pid) == 0 })
	}},

	{"IDLE wakes on another process's delivery", func(t *testing.T, e *env) {
		a, b := e.login("imapm"), e.login("imapm")
		for _, r := range []*raw{a, b} {
			r.ok("s", "SELECT INBOX")
			r.c.Write([]byte("i IDLE\r\n"))
			if l := r.line(); !strings.HasPrefix(l, "+ ") {
				t.Fatalf("IDLE: %q", l)
			}
		}
		d := e.login("imapone")
		msg := "Subject: wake\r\n\r\nup\r\n"
		d.c.Write([]byte("p APPEND INBOX {" + strconv.Itoa(len(msg)) + "+}\r\n" + msg + "\r\n"))
		for {
			if l := d.line(); strings.HasPrefix(l, "p ") {
				if !strings.HasPrefix(l, "p OK") {
					t.Fatalf("APPEND: %q", l)
				}
				break
			}
		}
		for _, r := range []*raw{a, b} {
			r.c.SetDeadline(time.Now().Add(5 * time.Second))
			if l := r.line(); !strings.HasSuffix(l, " EXISTS\r\n") {
				t.Errorf("in IDLE after a delivery: %q", l)
			}
			r.c.SetDeadline(time.Now().Add(patience))
			r.c.Write([]byte("DONE\r\n"))
			for !strings.HasPrefix(r.line(), "i OK") {
			}
			r.ok("o", "LOGOUT")
		}
		d.ok("o", "LOGOUT")
	}},

	{"a panic ends its session only", func(t *testing.T, e *env) {
		pid := e.oneProc("imapm")
		a, b := e.login("imapm"), e.login("imapm")
		b.ok("s", "SELECT INBOX")
		a.c.Write([]byte("x STATUS " + testPanicMailbox + " (MESSAGES)\r\n"))
		if l := a.line(); !strings.HasPrefix(l, "* BYE [SERVERBUG]") {
			t.Errorf("the panicking session got %q", l)
		}
		b.ok("n", "NOOP")
		c := e.login("imapm")
		c.ok("n", "NOOP")
		if !alive(pid) {
			t.Fatal("the process died")
		}
		b.ok("o", "LOGOUT")
		c.ok("o", "LOGOUT")
	}},

	{"-U counts connections", func(t *testing.T, e *env) {
		first := e.oneProc("imapmu")
		var rs []*raw
		for i := 0; i < 3; i++ {
			rs = append(rs, e.login("imapmu"))
		}
		if got := e.records(first); got != 3 {
			t.Errorf("%d sessions in the first process, want 3", got)
		}
		// Spent: master starts another for the next connection.
		d := e.login("imapmu")
		if p := e.procs("imapmu"); len(p) != 2 {
			t.Errorf("imapmu processes %v, want two", p)
		}
		if got := e.records(first); got != 3 {
			t.Errorf("%d sessions in the spent process, want still 3", got)
		}
		for _, r := range rs {
			r.finish()
		}
		e.eventually("the spent process to exit", func() bool { return !alive(first) })
		d.finish()
	}},

	{"msg/shutdown ends every session", func(t *testing.T, e *env) {
		pid := e.oneProc("imapmshut")
		a, b := e.login("imapmshut"), e.login("imapmshut")
		b.ok("s", "SELECT INBOX")
		e.write("config/msg/shutdown.imapmshut", "Down for maintenance\n")
		defer os.Remove(filepath.Join(e.confDir, "msg", "shutdown.imapmshut"))
		// No command sent: the sessions wait between commands.
		for _, r := range []*raw{a, b} {
			if l := r.line(); l != "* BYE [ALERT] Down for maintenance\r\n" {
				t.Errorf("waiting session got %q", l)
			}
		}
		e.eventually("the process to exit", func() bool { return !alive(pid) })
	}},

	{"SIGHUP lets the sessions finish", func(t *testing.T, e *env) {
		pid := e.oneProc("imapm")
		a := e.login("imapm")
		syscall.Kill(pid, syscall.SIGHUP)
		e.eventually("a new imapm process", func() bool {
			p := e.procs("imapm")
			return len(p) == 2 && slices.Contains(p, pid)
		})
		b := e.login("imapm")
		a.finish()
		e.eventually("the old process to exit", func() bool { return !alive(pid) })
		b.finish()
	}},

	{"SIGTERM says BYE and master replaces the process", func(t *testing.T, e *env) {
		pid := e.oneProc("imapm")
		a, b := e.login("imapm"), e.login("imapm")
		b.ok("s", "SELECT INBOX")
		b.c.Write([]byte("i IDLE\r\n"))
		b.line()
		syscall.Kill(pid, syscall.SIGTERM)
		for _, r := range []*raw{a, b} {
			if l := r.line(); l != "* BYE Server shutting down\r\n" {
				t.Errorf("on SIGTERM: %q", l)
			}
		}
		e.eventually("a replacement", func() bool {
			p := e.procs("imapm")
			return len(p) == 1 && p[0] != pid
		})
		e.login("imapm").ok("o", "LOGOUT")
	}},
}
