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
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// CyrusLMTPD is Debian's Cyrus lmtpd, and CyrusIMAPD its imapd.
const (
	CyrusLMTPD = "/usr/lib/cyrus/bin/lmtpd"
	CyrusIMAPD = "/usr/lib/cyrus/bin/imapd"
)

// lmtpTranscript is sent in one write (PIPELINING) to Cyrus's lmtpd and
// to ours; alice exists on both sides, nobody does.
var lmtpTranscript = strings.Join([]string{
	"LHLO mx",
	"MAIL FROM:<s@x> SIZE=5000",
	"MAIL FROM:<s@x>",
	"RCPT TO:<alice@y>",
	"RCPT TO:<nobody@y>",
	"RCPT TO:<ALICE@Y>",
	"DATA",
	"Return-Path: <forged@x>",
	"Subject: compared",
	"Message-ID: <cmp@x>",
	"Date: Tue, 1 Dec 2026 00:00:00 +0000",
	"",
	"..body",
	".",
	"MAIL FROM:<s@x>",
	"RCPT TO:<alice@y>",
	"DATA",
	"Subject: compared",
	"Message-ID: <cmp@x>",
	"Date: Tue, 1 Dec 2026 00:00:00 +0000",
	"",
	"body",
	".",
	"FROB",
	"EHLO mx",
	"RCPT TO:<alice@y>",
	"DATA",
	"VRFY alice",
	"MAIL FROM:<s@x>",
	"RCPT TO:<alice@y>",
	"RSET",
	"QUIT",
	"",
}, "\r\n")

// cyrusLMTPDiffers are the replies (by their index in the answer after
// LHLO's) where Cyrus 3.6 answers otherwise, with why.
var cyrusLMTPDiffers = map[int]struct{ cyrus, why string }{
	1: {"503 5.5.1 Nested MAIL command",
		"Cyrus keeps the sender of a MAIL it refused for its SIZE, so the next MAIL is nested; RFC 5321 4.1.4: a refused MAIL starts no transaction"},
	21: {"250 2.0.0 Ok SESSIONID=<id>", "Cyrus's RSET reply carries the session id"},
}

// TestLMTPRepliesLikeCyrus runs one pipelined transcript through
// Cyrus's lmtpd and ours (each under its master, on a Unix socket) and
// compares the replies after LHLO's, session ids aside.
func TestLMTPRepliesLikeCyrus(t *testing.T) {
	if len(masters(t)) < 2 {
		t.Skip("Cyrus is not installed")
	}
	if os.Geteuid() != 0 {
		t.Skip("Cyrus's master starts as root")
	}
	if _, err := user.Lookup("cyrus"); err != nil {
		t.Skip("no cyrus user")
	}
	cyrusSock := startCyrusLMTP(t)
	e := startLayout(t, "ours", []*svc{{name: "lmtpunix", bin: "lmtpd", unix: true}}, layout{socketDir: true, conf: "maxmessagesize: 1000\n"})
	ours := lmtpReplies(t, "unix", e.services["lmtpunix"].addr)
	theirs := lmtpReplies(t, "unix", cyrusSock)
	if len(ours) != len(theirs) {
		t.Fatalf("%d replies from ours, %d from Cyrus:\nours:\n%s\nCyrus:\n%s", len(ours), len(theirs), strings.Join(ours, "\n"), strings.Join(theirs, "\n"))
	}
	for i := range ours {
		if d, ok := cyrusLMTPDiffers[i]; ok {
			if theirs[i] != d.cyrus {
				t.Errorf("reply %d: Cyrus now answers %q, not %q (%s): update cyrusLMTPDiffers", i, theirs[i], d.cyrus, d.why)
			}
			continue
		}
		if ours[i] != theirs[i] {
			t.Errorf("reply %d: ours %q, Cyrus %q", i, ours[i], theirs[i])
		}
	}
}

var sessionID = regexp.MustCompile(`SESSIONID=<[^>]*>`)

// lmtpReplies sends lmtpTranscript and returns every reply line after
// LHLO's, session ids replaced by <id>.
func lmtpReplies(t *testing.T, network, addr string) []string {
	t.Helper()
	c, err := net.DialTimeout(network, addr, patience)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(patience))
	r := bufio.NewReader(c)
	if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "220 ") {
		t.Fatalf("greeting %q, %v", l, err)
	}
	if _, err := io.WriteString(c, lmtpTranscript); err != nil {
		t.Fatal(err)
	}
	for { // LHLO's reply
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(l, "250 ") {
			break
		}
	}
	var lines []string
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", lines, err)
		}
		l = sessionID.ReplaceAllString(strings.TrimRight(l, "\r\n"), "SESSIONID=<id>")
		lines = append(lines, l)
		if strings.HasPrefix(l, "221 ") {
			return lines
		}
	}
}

// startCyrusLMTP runs Cyrus's master with its imapd and lmtpd in a
// folder of the test's own (servername mastertest, any password), gives
// alice her INBOX by a login, and returns lmtpd's socket.
func startCyrusLMTP(t *testing.T) string {
	t.Helper()
	sock, _ := startCyrusLMTPConf(t, "")
	return sock
}

// startCyrusLMTPConf is startCyrusLMTP with extra added to imapd.conf;
// it returns imapd's address too.
func startCyrusLMTPConf(t *testing.T, extra string) (sock, imapAddr string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "imapd-cyrus-lmtp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	for _, d := range []string{"conf/socket", "conf/proc", "conf/db", "conf/log", "spool"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	imapAddr = freePort(t)
	sock = filepath.Join(dir, "lmtp.sock")
	conf := filepath.Join(dir, "imapd.conf")
	write := func(name, text string) {
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(conf, "configdirectory: "+dir+"/conf\npartition-default: "+dir+"/spool\nservername: mastertest\n"+
		"sasl_pwcheck_method: alwaystrue\nallowplaintext: yes\nautocreate_quota: 0\nmaxmessagesize: 1000\n"+extra)
	write(filepath.Join(dir, "cyrus.conf"), fmt.Sprintf("SERVICES {\n  imap cmd=\"%s -C %s\" listen=\"%s\" prefork=0\n"+
		"  lmtpunix cmd=\"%s -C %s\" listen=\"%s\" prefork=0\n}\n", CyrusIMAPD, conf, imapAddr, CyrusLMTPD, conf, sock))
	if out, err := exec.Command("chown", "-R", "cyrus:mail", dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	pidFile := filepath.Join(dir, "master.pid")
	if out, err := exec.Command(CyrusMaster, "-C", conf, "-M", filepath.Join(dir, "cyrus.conf"), "-p", pidFile, "-d").CombinedOutput(); err != nil {
		t.Fatalf("master: %v %s", err, out)
	}
	pid := 0
	t.Cleanup(func() {
		if pid > 0 {
			syscall.Kill(pid, syscall.SIGTERM)
			time.Sleep(200 * time.Millisecond)
			syscall.Kill(-pid, syscall.SIGKILL)
		}
	})
	deadline := time.Now().Add(patience)
	var c net.Conn
	for {
		if b, err := os.ReadFile(pidFile); err == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if pid > 0 {
			if c, err = net.Dial("tcp", imapAddr); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("Cyrus's master did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The first login creates alice's INBOX.
	r := newRaw(t, c, true)
	r.ok("a", "LOGIN alice x")
	r.ok("b", "SELECT INBOX")
	r.ok("c", "LOGOUT")
	c.Close()
	return sock, imapAddr
}
