package e2e

import (
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/telemetry/syslog"
	"github.com/imapd-go/imapd/adapters/transport/stdio"
	"github.com/imapd-go/imapd/app"
	"github.com/imapd-go/imapd/ports"
)

// syslogSocket stands in for /dev/log: a unixgram socket whose datagrams
// are kept as received.
type syslogSocket struct {
	path string
	mu   sync.Mutex
	got  []string
}

func newSyslogSocket(t *testing.T) *syslogSocket {
	t.Helper()
	d, err := os.MkdirTemp("", "e2e-log") // short: a socket path has room for 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	s := &syslogSocket{path: filepath.Join(d, "log")}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: s.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.got = append(s.got, string(buf[:n]))
			s.mu.Unlock()
		}
	}()
	return s
}

// wait returns the datagrams once n have come (or after ioTimeout).
func (s *syslogSocket) wait(n int) []string {
	deadline := time.Now().Add(ioTimeout)
	for {
		s.mu.Lock()
		got := slices.Clone(s.got)
		s.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syslogHead is glibc's header: "<PRI>Mmm dd hh:mm:ss ident[pid]: ".
var syslogHead = regexp.MustCompile(`^<(\d+)>([A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d) ([^ \[]+)\[(\d+)\]: (.*)$`)

// newSyslogEnv is a server whose events go to a syslog socket of the
// test, tagged cyrus/imap, as under master with syslog_prefix: cyrus.
func newSyslogEnv(t *testing.T, opts app.Options) (*env, *syslogSocket) {
	sock := newSyslogSocket(t)
	opts.SyslogPrefix = "cyrus"
	e := newEnvTel(t, opts, func(dir string, files ports.Telemetry) ports.Telemetry {
		return syslog.New(syslog.Options{Service: "imap", Prefix: "cyrus", Facility: -1, Socket: sock.path, Files: files})
	})
	return e, sock
}

// dialFrom connects a session whose client address is remote, as a TCP
// connection from there would have it ("" for a local socket).
func (e *env) dialFrom(remote string) *transcript {
	e.t.Helper()
	cli, srvConn := socketPair(e.t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.srv.ServeConn(e.ctx, stdio.NewConn(srvConn, remote, 0))
	}()
	e.t.Cleanup(func() {
		cli.Close()
		<-done
	})
	tc := newTranscript(e.t, cli, cli, cli)
	tc.greeting = tc.expect("* OK ")
	return tc
}

func plainResponse(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

// The lines Cyrus's imapd writes for logins, in its words, at NOTICE of
// LOCAL6, tagged cyrus/imap[pid]: badlogin for LOGIN and AUTHENTICATE,
// wrong password or unknown user; login with the mechanism; USAGE at
// LOGOUT; the client named by reverse DNS and address, or as a Unix
// socket. fail2ban's stock cyrus-imap filter finds every badlogin line
// and no login line in them.
func TestSyslogLines(t *testing.T) {
	e, sock := newSyslogEnv(t, app.Options{})
	tc := e.dialFrom("127.0.0.1:40000")
	tc.no("a1 LOGIN alice wrong", "AUTHENTICATIONFAILED")
	tc.no("a2 LOGIN nobody wrong", "AUTHENTICATIONFAILED")
	tc.no("a3 AUTHENTICATE PLAIN "+plainResponse("alice", "wrong"), "")
	tc.no("a4 AUTHENTICATE PLAIN "+plainResponse("nobody", "wrong"), "")
	tc.ok("a5 LOGIN alice secret")
	tc.ok("a6 LOGOUT")
	tc = e.dialFrom("192.0.2.7:1234") // TEST-NET-1: no name
	tc.no("b1 LOGIN bob wrong", "AUTHENTICATIONFAILED")
	tc.ok("b2 AUTHENTICATE PLAIN " + plainResponse("bob", "secret"))
	tc.ok("b3 LOGOUT")
	tc = e.dialFrom("")
	tc.no("c1 LOGIN alice wrong", "AUTHENTICATIONFAILED")
	tc.ok("c2 LOGIN alice secret")
	tc.ok("c3 LOGOUT")

	want := []string{
		"<181>cyrus/imap: badlogin: localhost [127.0.0.1] plaintext (alice) [SASL(-13): authentication failure: checkpass failed]",
		"<181>cyrus/imap: badlogin: localhost [127.0.0.1] plaintext (nobody) [SASL(-13): user not found: checkpass failed]",
		"<181>cyrus/imap: badlogin: localhost [127.0.0.1] PLAIN (alice) [SASL(-13): authentication failure: Password verification failed]",
		"<181>cyrus/imap: badlogin: localhost [127.0.0.1] PLAIN (-notset-) [SASL(-13): user not found: Password verification failed]",
		"<181>cyrus/imap: login: localhost [127.0.0.1] alice plaintext User logged in SESSIONID=<id>",
		"<181>cyrus/imap: USAGE alice user: N sys: N",
		"<181>cyrus/imap: badlogin: [192.0.2.7] plaintext (bob) [SASL(-13): authentication failure: checkpass failed]",
		"<181>cyrus/imap: login: [192.0.2.7] bob PLAIN User logged in SESSIONID=<id>",
		"<181>cyrus/imap: USAGE bob user: N sys: N",
		"<181>cyrus/imap: badlogin: [unix socket] plaintext (alice) [SASL(-13): authentication failure: checkpass failed]",
		"<181>cyrus/imap: login: [unix socket] alice plaintext User logged in SESSIONID=<id>",
		"<181>cyrus/imap: USAGE alice user: N sys: N",
	}
	raw := sock.wait(len(want))
	var got []string
	pid := fmt.Sprint(os.Getpid())
	for _, d := range raw {
		m := syslogHead.FindStringSubmatch(d)
		if m == nil {
			t.Errorf("datagram %q is not glibc's syslog(3) form", d)
			continue
		}
		if m[4] != pid {
			t.Errorf("pid %s in %q, want %s", m[4], d, pid)
		}
		msg := regexp.MustCompile(`SESSIONID=<[^>]+>`).ReplaceAllString(m[5], "SESSIONID=<id>")
		msg = regexp.MustCompile(`\d+\.\d{6}`).ReplaceAllString(msg, "N")
		got = append(got, "<"+m[1]+">"+m[3]+": "+msg)
	}
	if !slices.Equal(got, want) {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Session ids are Cyrus's: <syslog_prefix>-<time>-<pid>-<n>-<random>.
	for _, d := range raw {
		if m := regexp.MustCompile(`SESSIONID=<([^>]+)>`).FindStringSubmatch(d); m != nil &&
			!regexp.MustCompile(`^cyrus-\d+-`+pid+`-\d+-\d+$`).MatchString(m[1]) {
			t.Errorf("session id %q", m[1])
		}
	}
	fail2banMatches(t, raw)
}

// fail2banMatches writes the datagrams as rsyslog's traditional file
// format does ("Mmm dd hh:mm:ss host ident[pid]: message") and runs
// Debian's fail2ban cyrus-imap filter over them: it must match each
// badlogin line from an address, and nothing else.
func fail2banMatches(t *testing.T, datagrams []string) {
	t.Helper()
	const filter = "/etc/fail2ban/filter.d/cyrus-imap.conf"
	if _, err := exec.LookPath("fail2ban-regex"); err != nil {
		if os.Getenv("IMAPD_REQUIRE_FAIL2BAN") != "" {
			t.Fatalf("fail2ban-regex: %v (IMAPD_REQUIRE_FAIL2BAN is set)", err)
		}
		t.Log("fail2ban is not installed: its filter was not tried")
		return
	}
	var file strings.Builder
	var wantMatched []string
	for _, d := range datagrams {
		m := syslogHead.FindStringSubmatch(d)
		if m == nil {
			continue
		}
		line := m[2] + " mailhost " + m[3] + "[" + m[4] + "]: " + m[5]
		file.WriteString(line + "\n")
		if strings.HasPrefix(m[5], "badlogin: ") && !strings.Contains(m[5], "[unix socket]") {
			wantMatched = append(wantMatched, line)
		}
	}
	if len(wantMatched) == 0 {
		t.Fatal("no badlogin line to match")
	}
	log := filepath.Join(t.TempDir(), "mail.log")
	if err := os.WriteFile(log, []byte(file.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("fail2ban-regex", "--print-all-matched", log, filter).CombinedOutput()
	if err != nil {
		t.Fatalf("fail2ban-regex: %v\n%s", err, out)
	}
	var matched []string
	in := false
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(l, "|- Matched line(s):"):
			in = true
		case strings.HasPrefix(l, "`-"):
			in = false
		case in && strings.HasPrefix(l, "|  "):
			matched = append(matched, strings.TrimPrefix(l, "|  "))
		}
	}
	if !slices.Equal(matched, wantMatched) {
		t.Errorf("fail2ban matched:\n%s\nwant:\n%s\n%s", strings.Join(matched, "\n"), strings.Join(wantMatched, "\n"), out)
	}
}

// With -N, LOGIN checks no password and the login line says nopassword.
func TestSyslogNoPasswordLogin(t *testing.T) {
	e, sock := newSyslogEnv(t, app.Options{NoPasswordCheck: true})
	tc := e.dialFrom("192.0.2.9:5")
	tc.ok("a1 LOGIN alice anything")
	tc.ok("a2 LOGOUT")
	got := sock.wait(2)
	if len(got) < 1 || !regexp.MustCompile(`^<181>[A-Z].{14} cyrus/imap\[\d+\]: login: \[192\.0\.2\.9\] alice nopassword User logged in SESSIONID=<[^>]+>$`).MatchString(got[0]) {
		t.Errorf("lines %q", got)
	}
}

// Outside master (one session on standard input) events stay on
// standard error: nothing reaches syslog, even with CYRUS_SERVICE set.
func TestSyslogNotInStdioMode(t *testing.T) {
	sock := newSyslogSocket(t)
	bins := buildBinaries(t)
	conf := newProcessConfig(t, []string{"syslog_prefix: cyrus"})
	cmd := exec.Command(bins.imapd, "-C", conf)
	cmd.Env = append(os.Environ(), "CYRUS_SERVICE=imap", "IMAPD_TEST_ONLY_SYSLOG_SOCKET="+sock.path)
	cmd.Stdin = strings.NewReader("a1 LOGIN alice wrong\r\na2 LOGIN alice secret\r\na3 LOGOUT\r\n")
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), "a2 OK") {
		t.Fatalf("imapd: %v\n%s", err, out)
	}
	time.Sleep(100 * time.Millisecond)
	if got := sock.wait(0); len(got) != 0 {
		t.Errorf("syslog got %q in the stdio mode", got)
	}
}
