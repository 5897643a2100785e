package master

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLoadUnderCyrusMaster runs many clients at once, in mixed sessions
// over a few users, against our imapd under Debian's Cyrus master with
// preforked services, with and without the accept lock's folder. Without {configdirectory}/socket every ready
// process wakes for each connection and all but one find nothing to accept;
// none of them may exit for it, or master counts failures and, after five
// in ten seconds, disables the service and refuses every later connection.
//
// It checks that no connection is refused, that every session gets the
// answers it should, and, from master's own syslog lines (the test takes
// /dev/log when no syslog daemon has it), that no imapd process exited
// with a status other than 0, or 75 after master's SIGTERM, or died by a
// signal.
//
// `make test` runs 20 clients for 10 s without the socket folder. The
// longer runs take IMAPD_LOAD="clients:seconds,..." (each with and without
// the socket folder), for example:
//
//	IMAPD_LOAD=10:60,50:60 go test -count=1 -run TestLoadUnderCyrusMaster -v ./test/master
func TestLoadUnderCyrusMaster(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the master tests run as root (Cyrus's master starts as root and runs services as cyrus)")
	}
	if _, err := os.Stat(CyrusMaster); err != nil {
		if os.Getenv("IMAPD_REQUIRE_CYRUS") != "" {
			t.Fatalf("%s: %v (IMAPD_REQUIRE_CYRUS is set)", CyrusMaster, err)
		}
		t.Skipf("%s is absent (install cyrus-imapd)", CyrusMaster)
	}
	type run struct {
		clients   int
		duration  time.Duration
		socketDir bool
	}
	runs := []run{{20, 10 * time.Second, false}}
	if spec := os.Getenv("IMAPD_LOAD"); spec != "" {
		runs = nil
		for _, item := range strings.Split(spec, ",") {
			c, s, ok := strings.Cut(item, ":")
			clients, err1 := strconv.Atoi(c)
			secs, err2 := strconv.Atoi(s)
			if !ok || err1 != nil || err2 != nil || clients <= 0 || secs <= 0 {
				t.Fatalf("IMAPD_LOAD=%q: want clients:seconds,...", spec)
			}
			for _, dir := range []bool{false, true} {
				runs = append(runs, run{clients, time.Duration(secs) * time.Second, dir})
			}
		}
	}
	logs := takeSyslog(t)
	for _, r := range runs {
		name := fmt.Sprintf("%dclients-%s-socketdir=%v", r.clients, r.duration, r.socketDir)
		t.Run(name, func(t *testing.T) {
			// A name of its own per run, to tell its lines in master's
			// log from those of any other master running now.
			service := fmt.Sprintf("imapload%d", time.Now().UnixNano()%1e9)
			// Passwords are checked by alwaystrue, so that the load is
			// the sessions' own, not bcrypt's.
			e := startLayout(t, "cyrus", []*svc{{name: service, flags: "-U 20 -p 2", prefork: 5}},
				layout{socketDir: r.socketDir, conf: "sasl_pwcheck_method: alwaystrue\n"})
			st := loadClients(e.services[service].addr, r.clients, r.duration)
			e.stop()
			t.Logf("%d sessions, %d refused connections, %d protocol errors", st.sessions.Load(), st.refused.Load(), st.protocol.Load())
			if st.refused.Load() > 0 || st.protocol.Load() > 0 {
				t.Errorf("%d refused connections, %d protocol errors; first: %s", st.refused.Load(), st.protocol.Load(), st.first())
			}
			if st.sessions.Load() < int64(r.clients) {
				t.Errorf("only %d sessions in %s", st.sessions.Load(), r.duration)
			}
			if logs == nil {
				t.Log("a syslog daemon owns /dev/log: master's reports of exits were not read")
				return
			}
			// master writes "... name:<service> ... exited, status N" and
			// "... signaled to death ..." at LOG_ERR for every abnormal
			// end; a normal exit or 75 is a LOG_DEBUG line.
			for _, l := range logs.lines() {
				if strings.Contains(l, service) && (strings.Contains(l, "exited, status") ||
					strings.Contains(l, "signaled to death") || strings.Contains(l, "too many failures")) {
					t.Errorf("master: %s", l)
				}
			}
		})
	}
}

// loadStats counts what the clients of a load run met.
type loadStats struct {
	sessions, refused, protocol atomic.Int64
	mu                          sync.Mutex
	firstErr                    string
}

func (s *loadStats) fail(counter *atomic.Int64, what string) {
	counter.Add(1)
	s.mu.Lock()
	if s.firstErr == "" {
		s.firstErr = what
	}
	s.mu.Unlock()
}

func (s *loadStats) first() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstErr
}

// loadUsers is how many users the load's sessions spread over, so that
// sessions in different processes meet on one mailbox.
const loadUsers = 8

// loadClients runs n clients, each repeating whole sessions until d has
// passed.
func loadClients(addr string, n int, d time.Duration) *loadStats {
	st := &loadStats{}
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := i; time.Now().Before(end); k += n {
				c, err := net.DialTimeout("tcp", addr, patience)
				if err != nil {
					st.fail(&st.refused, err.Error())
					time.Sleep(50 * time.Millisecond)
					continue
				}
				if err := loadSession(c, fmt.Sprintf("load%d", k%loadUsers)); err != nil {
					st.fail(&st.protocol, err.Error())
				} else {
					st.sessions.Add(1)
				}
				c.Close()
			}
		}()
	}
	wg.Wait()
	return st
}

var appendUID = regexp.MustCompile(`\[APPENDUID \d+ (\d+)\]`)

// loadSession is one mixed session of user: LOGIN, SELECT, APPEND, FETCH,
// STORE, UID EXPUNGE of its own message, LOGOUT. Any answer other than the
// expected one is an error.
func loadSession(c net.Conn, user string) error {
	c.SetDeadline(time.Now().Add(patience))
	r := bufio.NewReader(c)
	line := func() (string, error) {
		l, err := r.ReadString('\n')
		if err != nil {
			return l, fmt.Errorf("read after %q: %w", l, err)
		}
		return l, nil
	}
	greeting, err := line()
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if !strings.HasPrefix(greeting, "* OK ") {
		return fmt.Errorf("greeting %q", greeting)
	}
	msg := "From: load@example.org\r\nSubject: load\r\n\r\nbody\r\n"
	uid := ""
	for _, cmd := range []struct{ tag, text, untagged string }{
		{"a1", "LOGIN " + user + " secret", ""},
		{"a2", "SELECT INBOX", "* OK [UIDVALIDITY "},
		{"a3", fmt.Sprintf("APPEND INBOX (\\Seen) {%d+}\r\n%s", len(msg), msg), ""},
		{"a4", "NOOP", ""},
		{"a5", "FETCH 1:* (UID FLAGS)", ""},
		{"a6", "UID STORE $ +FLAGS.SILENT (\\Deleted)", ""},
		{"a7", "UID EXPUNGE $", ""},
		{"a8", "LOGOUT", "* BYE "},
	} {
		text := strings.ReplaceAll(cmd.text, "$", uid)
		if _, err := fmt.Fprintf(c, "%s %s\r\n", cmd.tag, text); err != nil {
			return fmt.Errorf("%s: %w", cmd.text, err)
		}
		seen := cmd.untagged == ""
		for {
			l, err := line()
			if err != nil {
				return fmt.Errorf("%s: %w", cmd.text, err)
			}
			if strings.HasPrefix(l, cmd.untagged) {
				seen = true
			}
			if strings.HasPrefix(l, cmd.tag+" ") {
				if !strings.HasPrefix(l, cmd.tag+" OK") || !seen {
					return fmt.Errorf("%s: %q", cmd.text, l)
				}
				if m := appendUID.FindStringSubmatch(l); m != nil {
					uid = m[1]
				}
				break
			}
			if !strings.HasPrefix(l, "* ") {
				return fmt.Errorf("%s: unexpected %q", cmd.text, l)
			}
		}
		if cmd.tag == "a3" && uid == "" {
			return fmt.Errorf("APPEND: no APPENDUID")
		}
	}
	return nil
}

// syslog holds what processes sent to /dev/log during the test.
type syslog struct {
	mu  sync.Mutex
	buf []string
}

func (s *syslog) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.buf...)
}

// takeSyslog listens on /dev/log when nothing else does, so that master's
// syslog lines can be read; it returns nil when a syslog daemon has it.
func takeSyslog(t *testing.T) *syslog {
	t.Helper()
	const path = "/dev/log"
	if _, err := os.Lstat(path); err == nil {
		if c, err := net.Dial("unixgram", path); err == nil {
			c.Close()
			return nil
		}
		// A socket nobody reads: a test of ours that did not clean up.
		os.Remove(path)
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen on %s: %v", path, err)
	}
	os.Chmod(path, 0o666)
	s := &syslog{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.buf = append(s.buf, strings.TrimRight(string(buf[:n]), "\x00\n"))
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
		os.Remove(path)
	})
	return s
}
