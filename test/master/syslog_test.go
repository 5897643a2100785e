package master

import (
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// syslogSessions runs, on the service of addr (network "tcp" or "unix"),
// the sessions whose lines an operator reads: LOGIN with a wrong
// password and with an unknown user, AUTHENTICATE PLAIN likewise, a good
// LOGIN and LOGOUT, a good AUTHENTICATE and LOGOUT, and with withTLS a
// LOGIN after STARTTLS.
func syslogSessions(t *testing.T, network, addr string, withTLS bool) {
	t.Helper()
	dial := func() *raw {
		c, err := net.DialTimeout(network, addr, patience)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return newRaw(t, c, true)
	}
	plain := func(user, pass string) string {
		return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	}
	no := func(r *raw, tag, text string) {
		t.Helper()
		if l := r.cmd(tag, text); !strings.HasPrefix(l[len(l)-1], tag+" NO") {
			t.Fatalf("%s %s: %q", tag, text, l)
		}
	}
	r := dial()
	no(r, "a1", "LOGIN alice wrong")
	no(r, "a2", "LOGIN nobody wrong")
	no(r, "a3", "AUTHENTICATE PLAIN "+plain("alice", "wrong"))
	no(r, "a4", "AUTHENTICATE PLAIN "+plain("nobody", "wrong"))
	r.ok("a5", "LOGIN alice secret")
	r.ok("a6", "LOGOUT")
	r = dial()
	r.ok("b1", "AUTHENTICATE PLAIN "+plain("alice", "secret"))
	r.ok("b2", "LOGOUT")
	if !withTLS {
		return
	}
	r = dial()
	r.ok("c1", "STARTTLS")
	tc := tls.Client(r.c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	r = newRaw(t, tc, false)
	r.ok("c2", "LOGIN alice secret")
	r.ok("c3", "LOGOUT")
}

// uniquePrefix is a syslog_prefix no other server uses now.
func uniquePrefix() string {
	return fmt.Sprintf("cyrus%d", time.Now().UnixNano()%1e9)
}

// syslogLinesOf returns the messages of the lines ident sent: what
// follows "<PRI>Mmm dd hh:mm:ss ident[pid]: ", with the PRI in front,
// once the count of lines in want have come.
func syslogLinesOf(t *testing.T, logs *syslog, ident string, want int) []string {
	t.Helper()
	head := regexp.MustCompile(`^<(\d+)>[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d ` + regexp.QuoteMeta(ident) + `\[(\d+)\]: (.*)$`)
	var out []string
	deadline := time.Now().Add(patience)
	for {
		out = out[:0]
		for _, l := range logs.lines() {
			if m := head.FindStringSubmatch(l); m != nil {
				out = append(out, "<"+m[1]+">"+m[3])
			}
		}
		if len(out) >= want || time.Now().After(deadline) {
			return out
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// normalise takes the run's values out of a line: session ids, CPU
// times; and the facility out of its priority, which is left as the
// severity ("<5>" for NOTICE).
func normalise(l string) string {
	l = regexp.MustCompile(`SESSIONID=<[^>]*>`).ReplaceAllString(l, "SESSIONID=<id>")
	l = regexp.MustCompile(`\d+\.\d{6}`).ReplaceAllString(l, "N")
	if m := regexp.MustCompile(`^<(\d+)>`).FindStringSubmatch(l); m != nil {
		pri, _ := strconv.Atoi(m[1])
		l = "<" + strconv.Itoa(pri%8) + ">" + l[len(m[0]):]
	}
	return l
}

// syslogWant are the lines of syslogSessions without TLS, normalised, in
// the order of each session: those Cyrus 3.6's imapd writes.
func syslogWant(host string) []string {
	return []string{
		"<5>badlogin: " + host + " plaintext (alice) [SASL(-13): authentication failure: checkpass failed]",
		"<5>badlogin: " + host + " plaintext (nobody) [SASL(-13): user not found: checkpass failed]",
		"<5>badlogin: " + host + " PLAIN (alice) [SASL(-13): authentication failure: Password verification failed]",
		"<5>badlogin: " + host + " PLAIN (-notset-) [SASL(-13): user not found: Password verification failed]",
		"<5>login: " + host + " alice plaintext User logged in SESSIONID=<id>",
		"<5>USAGE alice user: N sys: N",
		"<5>login: " + host + " alice PLAIN User logged in SESSIONID=<id>",
		"<5>USAGE alice user: N sys: N",
	}
}

// sameLines reports the lines of want missing from got and those of got
// not in want, order aside (the sessions run in processes of their own).
func sameLines(t *testing.T, got, want []string) {
	t.Helper()
	got = slices.Clone(got)
	for _, w := range want {
		i := slices.Index(got, w)
		if i < 0 {
			t.Errorf("no line %q in\n%s", w, strings.Join(got, "\n"))
			continue
		}
		got = slices.Delete(got, i, i+1)
	}
	for _, l := range got {
		t.Errorf("unexpected line %q", l)
	}
}

// Our imapd, under Cyrus's master and ours, writes to /dev/log the lines
// Cyrus's imapd writes, tagged cyrus/<service>[pid] with syslog_prefix:
// cyrus, at LOCAL6 (syslog_facility's default) or at the configured
// facility.
func TestSyslogUnderMaster(t *testing.T) {
	logs := takeSyslog(t)
	if logs == nil {
		t.Skip("a syslog daemon owns /dev/log: the lines cannot be read")
	}
	for _, kind := range masters(t) {
		t.Run(kind, func(t *testing.T) {
			// A prefix of the run's own: other servers on this machine
			// (Cyrus's, with Debian's "cyrus") write to the test's
			// /dev/log too.
			prefix := uniquePrefix()
			e := startLayout(t, kind, []*svc{{name: "imap", prefork: 1}, {name: "imapunix", unix: true, prefork: 0}},
				layout{socketDir: true, conf: "syslog_prefix: " + prefix + "\nallowplaintext: yes\n"})
			tcp := e.services["imap"]
			syslogSessions(t, "tcp", tcp.addr, true)
			u := e.dial("imapunix")
			u.ok("u1", "LOGIN alice secret")
			u.ok("u2", "LOGOUT")
			lines := syslogLinesOf(t, logs, prefix+"/imap", 10)
			unix := syslogLinesOf(t, logs, prefix+"/imapunix", 2)
			e.stop()
			want := append(syslogWant("localhost [127.0.0.1]"),
				"<5>login: localhost [127.0.0.1] alice plaintext+TLS User logged in SESSIONID=<id>",
				"<5>USAGE alice user: N sys: N")
			var got []string
			for _, l := range lines {
				// LOCAL6, syslog_facility's default.
				if !strings.HasPrefix(l, "<18") {
					t.Errorf("line %q is not at LOCAL6", l)
				}
				got = append(got, normalise(l))
			}
			sameLines(t, got, want)
			var gotUnix []string
			for _, l := range unix {
				gotUnix = append(gotUnix, normalise(l))
			}
			sameLines(t, gotUnix, []string{"<5>login: [unix socket] alice plaintext User logged in SESSIONID=<id>", "<5>USAGE alice user: N sys: N"})
			// The session id is Cyrus's: <syslog_prefix>-<time>-<pid>-<n>-<random>.
			for _, l := range lines {
				if m := regexp.MustCompile(`SESSIONID=<([^>]*)>`).FindStringSubmatch(l); m != nil &&
					!regexp.MustCompile(`^`+prefix+`-\d{10}-\d+-\d+-\d+$`).MatchString(m[1]) {
					t.Errorf("session id %q is not Cyrus's form", m[1])
				}
			}
		})
	}
}

// TestSyslogLikeCyrus runs the same sessions against Cyrus 3.6's imapd
// under its master, with passwords in a sasldb, and prints its lines
// beside ours: test/conformance/cyrus-differences.txt lists where they
// differ and why. It asserts the lines fail2ban and log tools read.
func TestSyslogLikeCyrus(t *testing.T) {
	const cyrusImapd = "/usr/lib/cyrus/bin/imapd"
	for _, p := range []string{CyrusMaster, cyrusImapd, "/usr/sbin/saslpasswd2"} {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("IMAPD_REQUIRE_CYRUS") != "" {
				t.Fatalf("%s: %v (IMAPD_REQUIRE_CYRUS is set)", p, err)
			}
			t.Skipf("%s is absent", p)
		}
	}
	if _, err := user.Lookup("cyrus"); err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and the cyrus user")
	}
	logs := takeSyslog(t)
	if logs == nil {
		t.Skip("a syslog daemon owns /dev/log: the lines cannot be read")
	}
	prefix := uniquePrefix()
	dir, err := os.MkdirTemp("", "imapd-syslog-cyrus-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	for _, d := range []string{"conf/socket", "conf/proc", "conf/db", "conf/log", "spool"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	addr := freePort(t)
	conf := filepath.Join(dir, "imapd.conf")
	sasldb := filepath.Join(dir, "conf", "sasldb2")
	write(t, conf, "configdirectory: "+dir+"/conf\npartition-default: "+dir+"/spool\nservername: cyrus.example\n"+
		"sasl_pwcheck_method: auxprop\nsasl_auxprop_plugin: sasldb\nsasl_sasldb_path: "+sasldb+"\n"+
		"sasl_mech_list: PLAIN LOGIN\nallowplaintext: yes\nautocreate_quota: 0\nfailedloginpause: 0\nsyslog_prefix: "+prefix+"\n")
	pw := exec.Command("/usr/sbin/saslpasswd2", "-p", "-c", "-f", sasldb, "-u", "cyrus.example", "alice")
	pw.Stdin = strings.NewReader("secret")
	if out, err := pw.CombinedOutput(); err != nil {
		t.Fatalf("saslpasswd2: %v %s", err, out)
	}
	write(t, filepath.Join(dir, "cyrus.conf"), fmt.Sprintf("SERVICES {\n  imap cmd=\"%s -C %s\" listen=\"%s\" prefork=1\n}\n", cyrusImapd, conf, addr))
	if out, err := exec.Command("chown", "-R", "cyrus:mail", dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	pidFile := filepath.Join(dir, "master.pid")
	if out, err := exec.Command(CyrusMaster, "-C", conf, "-M", dir+"/cyrus.conf", "-p", pidFile, "-d").CombinedOutput(); err != nil {
		t.Fatalf("master: %v %s", err, out)
	}
	defer func() {
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				syscall.Kill(pid, syscall.SIGTERM)
				time.Sleep(time.Second)
				syscall.Kill(-pid, syscall.SIGKILL)
			}
		}
	}()
	deadline := time.Now().Add(patience)
	for !tcpListening(t, addr) {
		if time.Now().After(deadline) {
			t.Fatal("Cyrus's master does not listen")
		}
		time.Sleep(50 * time.Millisecond)
	}
	syslogSessions(t, "tcp", addr, false)
	time.Sleep(500 * time.Millisecond)
	var got []string
	for _, l := range syslogLinesOf(t, logs, prefix+"/imap", 9) {
		if m := regexp.MustCompile(`SESSIONID=<([^>]*)>`).FindStringSubmatch(l); m != nil &&
			!regexp.MustCompile(`^`+prefix+`-\d{10}-\d+-\d+-\d+$`).MatchString(m[1]) {
			t.Errorf("Cyrus's session id %q", m[1])
		}
		l = normalise(l)
		if strings.Contains(l, "login: ") || strings.Contains(l, "USAGE ") {
			got = append(got, l)
		}
	}
	t.Logf("Cyrus 3.6's lines:\n%s", strings.Join(got, "\n"))
	sameLines(t, got, syslogWant("localhost [127.0.0.1]"))
}
