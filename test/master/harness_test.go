package master

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/transport/tlsconf"
	"github.com/imapd-go/imapd/test/pgtest"
)

// CyrusMaster is where Debian's cyrus-imapd package puts master(8).
const CyrusMaster = "/usr/lib/cyrus/bin/master"

// Patience for things that happen "soon" (a process starting or leaving):
// generous, since it only bounds a failure.
const patience = 15 * time.Second

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// binaries builds imapd, imapctl and master once per test run into a
// folder every user can read.
func binaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "imapd-bin-")
		if buildErr != nil {
			return
		}
		os.Chmod(buildDir, 0o755)
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		for _, name := range []string{"imapd", "imapctl", "master", "lmtpd"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(buildDir, name), "./cmd/"+name)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", name, err, out)
				return
			}
		}
		// imapd with the test hook of app/testpanic.go: STATUS of
		// app.TestPanicMailbox panics.
		cmd := exec.Command("go", "build", "-tags", "imapd_testpanic,sqlite_fts5", "-o", filepath.Join(buildDir, "imapd-testpanic"), "./cmd/imapd")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build imapd-testpanic: %v\n%s", err, out)
			return
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// freePort returns a loopback address no one listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// svc is one SERVICES entry of the test's cyrus.conf.
type svc struct {
	name    string
	flags   string
	unix    bool
	prefork int
	maxchld int // 0 = no maxchild
	addr    string
	bin     string // the program: "" for imapd, or "lmtpd"
}

// env is a running master with our imapd as its services, in a fresh
// folder owned by the user the services run as.
type env struct {
	t        *testing.T
	kind     string // "cyrus" or "ours"
	dir      string
	conf     string
	confDir  string
	imapd    string
	lmtpd    string
	pidFile  string
	pid      int
	services map[string]*svc
	// logs, when the test holds /dev/log, is what the masters and the
	// services sent to syslog; a failed wait shows it.
	logs *syslog
}

// start lays out the folder and starts the master of kind.
func start(t *testing.T, kind string, services []*svc) *env {
	t.Helper()
	return startLayout(t, kind, services, layout{socketDir: true})
}

// layout holds the choices a test makes about the configdirectory.
type layout struct {
	// socketDir: {configdirectory}/socket exists, so multisession
	// services serialise accept() under its lock files; without it every
	// ready process of theirs wakes for each connection. (A session per
	// process needs no lock: the oldest waiting process is woken.)
	socketDir bool
	// conf is added to imapd.conf.
	conf string
	// testPanic runs the imapd built with the imapd_testpanic tag.
	testPanic bool
}

// loginCacheConf puts the login cache of a test's processes in a tmpfs
// folder of the test's own, removed at its end (imapd's default, /dev/shm
// itself, would keep the cache's folder until a day's sweep). The folder
// is writable by all, as /dev/shm is: Cyrus's master runs imapd as cyrus.
// storeConf names the store IMAPD_E2E_STORE asks for, as the end-to-end
// tests do (sqlite, the default, or maildir).
// A layout that names its own store keeps it.
func storeConf(l layout) string {
	if strings.Contains(l.conf, "store:") {
		return ""
	}
	if s := os.Getenv("IMAPD_E2E_STORE"); s != "" {
		return "store: " + s + "\n"
	}
	return ""
}

func loginCacheConf(t *testing.T) string {
	d, err := os.MkdirTemp("/dev/shm", "imapd-master-")
	if err != nil {
		return ""
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	os.Chmod(d, 0o1777)
	return "logincache_dir: " + d + "\n"
}

// startLayout is start with the configdirectory laid out as l says.
func startLayout(t *testing.T, kind string, services []*svc, l layout) *env {
	t.Helper()
	bins := binaries(t)
	dir, err := os.MkdirTemp("", "imapd-master-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	e := &env{t: t, kind: kind, dir: dir, services: map[string]*svc{}}
	e.confDir = filepath.Join(dir, "config")
	e.conf = filepath.Join(dir, "imapd.conf")
	e.pidFile = filepath.Join(dir, "master.pid")
	e.imapd = filepath.Join(dir, "bin", "imapd")
	e.lmtpd = filepath.Join(dir, "bin", "lmtpd")
	for _, d := range []string{"bin", "config/socket", "config/msg", "config/log/alice", "config/spool"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []string{"imapd", "master", "lmtpd"} {
		from := b
		if b == "imapd" && l.testPanic {
			from = "imapd-testpanic"
		}
		copyFile(t, filepath.Join(bins, from), filepath.Join(dir, "bin", b), 0o755)
	}
	certPEM, keyPEM, err := tlsconf.SelfSigned([]string{"localhost", "127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	e.write("config/cert.pem", string(certPEM))
	e.write("config/key.pem", string(keyPEM))
	e.write("imapd.conf", "configdirectory: "+e.confDir+"\n"+
		"partition-default: "+e.confDir+"/spool\n"+
		"servername: mastertest\n"+
		"failedloginpause: 0\n"+
		"tls_server_cert: "+e.confDir+"/cert.pem\n"+
		"tls_server_key: "+e.confDir+"/key.pem\n"+
		"debug_command: echo %s %d %s >> "+e.confDir+"/debug.out\n"+
		loginCacheConf(t)+storeConf(l)+l.conf)
	e.write("config/msg/motd", "[Welcome to the test server\rnot sent\nsecond line\n")
	if !l.socketDir {
		if err := os.Remove(filepath.Join(e.confDir, "socket")); err != nil {
			t.Fatal(err)
		}
	}

	// The users exist before the services start.
	for _, u := range []string{"alice", "bob"} {
		add := exec.Command(filepath.Join(bins, "imapctl"), "-C", e.conf, "user", "add", u)
		add.Stdin = strings.NewReader("secret\n")
		if out, err := add.CombinedOutput(); err != nil {
			t.Fatalf("imapctl user add %s: %v\n%s", u, err, out)
		}
	}
	if kind == "cyrus" {
		// Debian's master runs its services as cyrus:mail.
		u, err := user.Lookup("cyrus")
		if err != nil {
			t.Skip("no cyrus user")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
			if err == nil {
				os.Lchown(p, uid, gid)
			}
			return nil
		})
	}

	t.Cleanup(e.cleanup)
	// A port freePort found free may be taken by another program (a test
	// of another package) before master binds it: master then serves
	// nothing there. Such a start is undone and made again on new ports.
	for attempt := 1; ; attempt++ {
		stolen := e.startMaster(kind, services)
		if stolen == "" {
			break
		}
		if attempt == 3 {
			t.Fatalf("%s master: the port of %s was taken by another program, three times", kind, stolen)
		}
		t.Logf("%s master: the port of %s was taken by another program: starting again on new ports", kind, stolen)
		e.stopAll()
	}
	return e
}

// startMaster writes cyrus.conf with a new port for each TCP service,
// starts master and waits until it listens on every service's address. It
// returns the name of a service whose port another program listens on
// instead of master ("" when master has them all).
func (e *env) startMaster(kind string, services []*svc) (stolen string) {
	t, dir := e.t, e.dir
	var conf strings.Builder
	conf.WriteString("# the test's services\nSERVICES {\n")
	for _, s := range services {
		if s.unix {
			s.addr = filepath.Join(dir, s.name+".sock")
		} else {
			s.addr = freePort(t)
		}
		prog := e.imapd
		if s.bin == "lmtpd" {
			prog = e.lmtpd
		}
		fmt.Fprintf(&conf, "  %s cmd=\"%s -C %s %s\" listen=\"%s\" prefork=%d", s.name, prog, e.conf, s.flags, s.addr, s.prefork)
		if s.maxchld > 0 {
			fmt.Fprintf(&conf, " maxchild=%d", s.maxchld)
		}
		conf.WriteString("\n")
		e.services[s.name] = s
	}
	conf.WriteString("}\nEVENTS {\n  # nothing\n}\n")
	e.write("cyrus.conf", conf.String())

	var cmd *exec.Cmd
	switch kind {
	case "cyrus":
		cmd = exec.Command(CyrusMaster, "-C", e.conf, "-M", filepath.Join(dir, "cyrus.conf"), "-p", e.pidFile, "-d")
	default:
		cmd = exec.Command(filepath.Join(dir, "bin", "master"), "-C", e.conf, "-M", filepath.Join(dir, "cyrus.conf"),
			"-p", e.pidFile, "-d", "-L", filepath.Join(dir, "master.log"), "-D")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s%s", cmd, err, out, e.masterLog())
	}
	e.eventually("master's pid file", func() bool {
		b, err := os.ReadFile(e.pidFile)
		if err != nil {
			return false
		}
		e.pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && e.pid > 0
	})
	// A probe connection would cost a use of a service process, and a
	// probe bind could take the port at the moment master binds it: read
	// the kernel's table of listening sockets instead, and master's
	// descriptors for whose they are.
	for _, s := range services {
		since := time.Now()
		e.eventually("listener of "+s.name, func() bool {
			if s.unix {
				fi, err := os.Stat(s.addr)
				return err == nil && fi.Mode()&os.ModeSocket != 0
			}
			ours, others := tcpListeners(t, s.addr, e.pid)
			if !ours && others && time.Since(since) > 2*time.Second {
				stolen = s.name
				return true
			}
			return ours
		})
		if stolen != "" {
			return stolen
		}
	}
	return ""
}

// stopAll ends master and every process of ours, as cleanup does, so that
// master can be started again in the same folder.
func (e *env) stopAll() {
	e.kill()
	e.eventually("our processes to exit", func() bool { return len(e.procs("")) == 0 })
	os.Remove(e.pidFile)
	e.pid = 0
}

// tcpListeners tells whether a socket that pid holds listens on addr
// (host:port), and whether one that pid does not hold does (see
// tcpListening).
func tcpListeners(t *testing.T, addr string, pid int) (ours, others bool) {
	held := map[string]bool{}
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil {
			if ino, ok := strings.CutPrefix(l, "socket:["); ok {
				held[strings.TrimSuffix(ino, "]")] = true
			}
		}
	}
	for _, ino := range listenerInodes(t, addr) {
		if held[ino] {
			ours = true
		} else {
			others = true
		}
	}
	return ours, others
}

// tcpListening tells whether a socket listens on addr (host:port), from
// /proc/net/tcp and tcp6: any local address with that port in state
// LISTEN (0A).
func tcpListening(t *testing.T, addr string) bool {
	return len(listenerInodes(t, addr)) > 0
}

// listenerInodes returns the inodes of the sockets that listen on addr's
// port (any local address, state LISTEN: 0A), from /proc/net/tcp and tcp6.
func listenerInodes(t *testing.T, addr string) []string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("listener address %q: %v", addr, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatalf("listener address %q: %v", addr, err)
	}
	want := fmt.Sprintf(":%04X", n)
	var inodes []string
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) > 9 && strings.HasSuffix(f[1], want) && f[3] == "0A" {
				inodes = append(inodes, f[9])
			}
		}
	}
	return inodes
}

func (s *svc) network() string {
	if s.unix {
		return "unix"
	}
	return "tcp"
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// write creates a file under the folder (owned by the service user when
// the folder is).
func (e *env) write(name, text string) {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		e.t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Dir(p)); err == nil {
		st := fi.Sys().(*syscall.Stat_t)
		os.Chown(p, int(st.Uid), int(st.Gid))
	}
}

func (e *env) masterLog() string {
	b, _ := os.ReadFile(filepath.Join(e.dir, "master.log"))
	if len(b) == 0 {
		return ""
	}
	return "master.log:\n" + string(b)
}

// eventually waits until cond holds, failing the test after patience.
func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("%s master: waited in vain for %s\n%s%s%s", e.kind, what, e.processes(), e.masterLog(), e.syslogTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processes lists our imapd and lmtpd processes, with the service each
// serves and its state, for a failure's message.
func (e *env) processes() string {
	var b strings.Builder
	b.WriteString("processes:\n")
	for _, pid := range e.procs("") {
		fmt.Fprintf(&b, "  %d %s %s\n", pid, procService(pid), procState(pid))
	}
	return b.String()
}

// syslogTail returns the last lines the test's syslog received, if it
// holds /dev/log.
func (e *env) syslogTail() string {
	if e.logs == nil {
		return ""
	}
	lines := e.logs.lines()
	if len(lines) == 0 {
		return "syslog: no lines\n"
	}
	lines = lines[max(0, len(lines)-60):]
	return "syslog (last lines):\n" + strings.Join(lines, "\n") + "\n"
}

// procs returns the pids of our imapd and lmtpd processes serving
// service ("" for any service).
func (e *env) procs(service string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, d := range ents {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", d.Name(), "exe"))
		if err != nil || (exe != e.imapd && exe != e.lmtpd) {
			continue
		}
		// A zombie has exited already.
		if procState(pid) == "Z" || (service != "" && procService(pid) != service) {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	st := procState(pid)
	return st != "" && st != "Z"
}

// procState returns the state letter of pid (proc(5): R, S, D, Z...), or
// "" when it cannot be read.
func procState(pid int) string {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// The command name, in parentheses, may hold spaces.
	if f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:])); len(f) > 0 {
		return f[0]
	}
	return ""
}

// procService returns the CYRUS_SERVICE of pid's environment ("" if none).
func procService(pid int) string {
	env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	for _, kv := range strings.Split(string(env), "\x00") {
		if v, ok := strings.CutPrefix(kv, "CYRUS_SERVICE="); ok {
			return v
		}
	}
	return ""
}

// stop sends SIGTERM to master and waits until it and every service
// process are gone.
func (e *env) stop() {
	e.t.Helper()
	if e.pid == 0 {
		return
	}
	syscall.Kill(e.pid, syscall.SIGTERM)
	e.eventually("master and its services to exit", func() bool {
		return !alive(e.pid) && len(e.procs("")) == 0
	})
	e.pid = 0
}

// cleanup never leaves a process behind (kill), and removes the folder.
func (e *env) cleanup() {
	e.kill()
	if e.t.Failed() {
		e.t.Log(e.masterLog())
	}
	os.RemoveAll(e.dir)
}

// kill ends master's process group (it made its own session) and any of
// our imapd processes.
func (e *env) kill() {
	if e.pid > 0 {
		syscall.Kill(e.pid, syscall.SIGTERM)
		deadline := time.Now().Add(5 * time.Second)
		for alive(e.pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		syscall.Kill(-e.pid, syscall.SIGKILL)
		syscall.Kill(e.pid, syscall.SIGKILL)
	}
	for _, p := range e.procs("") {
		syscall.Kill(p, syscall.SIGKILL)
	}
}

// raw is a client that speaks IMAP by hand.
type raw struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
	// Greeting holds the lines sent before the first command.
	greeting string
}

func (e *env) dial(service string) *raw {
	e.t.Helper()
	s := e.services[service]
	c, err := net.DialTimeout(s.network(), s.addr, patience)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return newRaw(e.t, c, true)
}

func newRaw(t *testing.T, c net.Conn, greet bool) *raw {
	t.Helper()
	c.SetDeadline(time.Now().Add(patience))
	r := &raw{t: t, c: c, r: bufio.NewReader(c)}
	if greet {
		r.greeting = r.line()
	}
	return r
}

func (r *raw) line() string {
	r.t.Helper()
	l, err := r.r.ReadString('\n')
	if err != nil {
		r.t.Fatalf("read: %v (after %q)", err, l)
	}
	return l
}

// cmd sends a tagged command and returns every line up to and including
// the tagged answer.
func (r *raw) cmd(tag, text string) []string {
	r.t.Helper()
	if _, err := r.c.Write([]byte(tag + " " + text + "\r\n")); err != nil {
		r.t.Fatal(err)
	}
	var lines []string
	for {
		l := r.line()
		lines = append(lines, l)
		if strings.HasPrefix(l, tag+" ") {
			return lines
		}
	}
}

// finish checks that the session still answers (NOOP), then logs out.
func (r *raw) finish() {
	r.t.Helper()
	r.ok("n", "NOOP")
	r.ok("o", "LOGOUT")
}

// ok runs a command that must answer OK and returns its lines.
func (r *raw) ok(tag, text string) []string {
	r.t.Helper()
	lines := r.cmd(tag, text)
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, tag+" OK") {
		r.t.Fatalf("%s %s: %q", tag, text, lines)
	}
	return lines
}

// tcpListening sees a listener, and no longer once it is closed.
func TestTCPListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if !tcpListening(t, addr) {
		t.Errorf("%s: a listening socket not seen", addr)
	}
	ln.Close()
	if tcpListening(t, addr) {
		t.Errorf("%s: seen listening after its close", addr)
	}
}
