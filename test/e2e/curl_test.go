package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/imapd-go/imapd/adapters/transport/stdio"
)

// listenTCP serves the env's server on a loopback TCP port, for clients
// that only speak TCP (curl).
func (e *env) listenTCP() string {
	e.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				e.srv.ServeConn(e.ctx, stdio.NewConn(conn, conn.RemoteAddr().String(), 0))
			}()
		}
	}()
	e.t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

// TestCurl: curl's IMAP client lists, fetches by UID, searches and appends.
func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("c1 APPEND INBOX " + literal(testMessage("for curl", "fetched by curl")))
	addr := e.listenTCP()
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(curl, append([]string{"-sS", "--max-time", "20", "--user", "alice:secret"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := run("imap://" + addr + "/"); !strings.Contains(out, `"INBOX"`) && !strings.Contains(out, " INBOX") {
		t.Errorf("curl LIST: %q", out)
	}
	if out := run("imap://" + addr + "/INBOX;UID=1"); !strings.Contains(out, "fetched by curl") {
		t.Errorf("curl FETCH: %q", out)
	}
	if out := run("imap://"+addr+"/INBOX", "-X", "SEARCH SUBJECT curl"); !strings.Contains(out, "SEARCH 1") {
		t.Errorf("curl SEARCH: %q", out)
	}
	file := filepath.Join(t.TempDir(), "upload.eml")
	if err := os.WriteFile(file, []byte(testMessage("from curl", "uploaded")), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(curl, "-sS", "--max-time", "20", "--user", "alice:secret", "-T", file, "imap://"+addr+"/INBOX")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("curl upload: %v\n%s", err, out)
	}
	tc.ok("c2 STATUS INBOX (MESSAGES)")
	tc.mustHave(`* STATUS "INBOX" (MESSAGES 2)`)
}
