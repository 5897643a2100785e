package master

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCompareWithCyrus measures, side by side under Cyrus's own master in
// one run, what a whole session (connect, LOGIN, SELECT INBOX, LOGOUT)
// costs with Cyrus's imapd and with ours, and the memory of a logged-in
// idle process of each. It prints figures and asserts nothing about them;
// it runs only with IMAPD_COMPARE=1 (as root, with cyrus-imapd installed):
//
//	IMAPD_COMPARE=1 go test -run TestCompareWithCyrus -v ./test/master
func TestCompareWithCyrus(t *testing.T) {
	if os.Getenv("IMAPD_COMPARE") == "" {
		t.Skip("set IMAPD_COMPARE=1 to compare with Cyrus imapd")
	}
	const cyrusImapd = "/usr/lib/cyrus/bin/imapd"
	if _, err := os.Stat(cyrusImapd); err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and Debian's cyrus-imapd")
	}
	bins := binaries(t)
	dir, err := os.MkdirTemp("", "imapd-compare-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	for _, d := range []string{"cyrus/conf/socket", "cyrus/conf/proc", "cyrus/conf/db", "cyrus/spool", "ours/socket", "bin"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, filepath.Join(bins, "imapd"), filepath.Join(dir, "bin", "imapd"), 0o755)
	// Both check passwords the same cheap way, so that the session cost
	// is the server's own.
	write(t, filepath.Join(dir, "cyrus.imapd.conf"), "configdirectory: "+dir+"/cyrus/conf\npartition-default: "+dir+
		"/cyrus/spool\nsasl_pwcheck_method: alwaystrue\nallowplaintext: yes\nautocreate_quota: 0\nservername: cyrus\n")
	write(t, filepath.Join(dir, "ours.imapd.conf"), "configdirectory: "+dir+"/ours\nsasl_pwcheck_method: alwaystrue\nallowplaintext: yes\nservername: ours\n")
	cyrusAddr, oursAddr := freePort(t), freePort(t)
	write(t, filepath.Join(dir, "cyrus.conf"), fmt.Sprintf("SERVICES {\n  cyrimap cmd=\"%s -C %s/cyrus.imapd.conf\" listen=\"%s\" prefork=2\n"+
		"  ourimap cmd=\"%s/bin/imapd -C %s/ours.imapd.conf\" listen=\"%s\" prefork=2\n}\n",
		cyrusImapd, dir, cyrusAddr, dir, dir, oursAddr))
	if out, err := exec.Command("chown", "-R", "cyrus:mail", dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	pidFile := filepath.Join(dir, "master.pid")
	if out, err := exec.Command(CyrusMaster, "-C", dir+"/cyrus.imapd.conf", "-M", dir+"/cyrus.conf", "-p", pidFile, "-d").CombinedOutput(); err != nil {
		t.Fatalf("master: %v %s", err, out)
	}
	defer func() {
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				syscall.Kill(pid, syscall.SIGTERM)
				time.Sleep(time.Second)
			}
		}
	}()
	for _, a := range []string{cyrusAddr, oursAddr} {
		deadline := time.Now().Add(patience)
		for session(a) != nil {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %v", a, session(a))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	const n = 300
	var cost [2]time.Duration
	for i := 0; i < n; i++ {
		for j, a := range []string{cyrusAddr, oursAddr} {
			start := time.Now()
			if err := session(a); err != nil {
				t.Fatal(err)
			}
			cost[j] += time.Since(start)
		}
	}
	c, o := cost[0].Seconds()*1000/n, cost[1].Seconds()*1000/n
	t.Logf("session (connect, LOGIN, SELECT, LOGOUT), %d each, interleaved: Cyrus %.3f ms, ours %.3f ms, ours/Cyrus %.2f", n, c, o, o/c)

	// A logged-in, idle session of each; then the memory of the processes.
	for _, a := range []string{cyrusAddr, oursAddr} {
		conn, err := net.Dial("tcp", a)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		r.ReadString('\n')
		for _, cmd := range []string{"a LOGIN alice x", "b SELECT INBOX"} {
			fmt.Fprintf(conn, "%s\r\n", cmd)
			for {
				l, _ := r.ReadString('\n')
				if strings.HasPrefix(l, cmd[:2]) || l == "" {
					break
				}
			}
		}
	}
	time.Sleep(500 * time.Millisecond)
	out, _ := exec.Command("ps", "-u", "cyrus", "-o", "pid=,rss=,args=").Output()
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || !strings.HasSuffix(f[2], "imapd") {
			continue
		}
		roll, _ := os.ReadFile("/proc/" + f[0] + "/smaps_rollup")
		t.Logf("%s: RSS %s kB; %s", f[2], f[1], strings.Join(strings.Fields(grep(string(roll), "Pss:", "Anonymous:")), " "))
	}
}

func session(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, patience)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(patience))
	r := bufio.NewReader(conn)
	if _, err := r.ReadString('\n'); err != nil {
		return err
	}
	for _, cmd := range []string{"a LOGIN alice x", "b SELECT INBOX", "c LOGOUT"} {
		fmt.Fprintf(conn, "%s\r\n", cmd)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return err
			}
			if strings.HasPrefix(l, cmd[:2]) {
				if !strings.HasPrefix(l, cmd[:2]+"OK") {
					return fmt.Errorf("%s: %s", cmd, l)
				}
				break
			}
		}
	}
	return nil
}

func grep(s string, prefixes ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
			}
		}
	}
	return strings.Join(out, " ")
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
