package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/transport/tlsconf"
	"github.com/imapd-go/imapd/ports"
)

// RequirePostfixEnv makes TestPostfixDelivers fail, instead of skipping,
// when Postfix cannot run (CI sets it, as it installs Postfix).
const RequirePostfixEnv = "IMAPD_REQUIRE_POSTFIX"

// appendClock is a Store that notes when each Append returned.
type appendClock struct {
	ports.Store
	mu   sync.Mutex
	last time.Time
}

func (a *appendClock) Append(ctx context.Context, user, name string, msg ports.NewMessage) (ports.AppendResult, error) {
	res, err := a.Store.Append(ctx, user, name, msg)
	a.mu.Lock()
	a.last = time.Now()
	a.mu.Unlock()
	return res, err
}

// postfixMaster is Postfix's master.cf for the test: no network listener,
// nothing chrooted, only what a message from sendmail to an LMTP mailbox
// transport passes through.
const postfixMaster = `pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`

// TestPostfixDelivers: Debian's Postfix, in a folder of the test's own
// (its config_directory, queue_directory and data_directory, no listener
// on the network), hands mail from sendmail to our LMTP server with
// mailbox_transport = lmtp:unix:...; the message reaches alice's INBOX,
// and an IMAP session in IDLE hears of it within a second of its
// delivery. An unknown recipient bounces with 5.1.1.
//
// Postfix's master and the postfix command run only as root ("the
// postfix command is reserved for the superuser"); its delivery agents
// then run as the postfix user, so the socket and its folder are open to
// that user.
func TestPostfixDelivers(t *testing.T) {
	skip := t.Skipf
	if os.Getenv(RequirePostfixEnv) != "" {
		skip = t.Fatalf
	}
	if _, err := exec.LookPath("postfix"); err != nil {
		skip("postfix is not installed")
	}
	if os.Geteuid() != 0 {
		skip("Postfix's master runs only as root")
	}
	pf, err := user.Lookup("postfix")
	if err != nil {
		skip("no postfix user")
	}
	pfUID, _ := strconv.Atoi(pf.Uid)

	e := newEnv(t)
	clock := &appendClock{Store: e.store}
	l := e.lmtpOn(clock, nil)

	dir, err := os.MkdirTemp("", "lmtp-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	for _, d := range []string{"etc", "queue", "data"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chown(filepath.Join(dir, "data"), pfUID, -1)

	sock := filepath.Join(dir, "lmtp.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(sock, 0o777)
	var sessions sync.WaitGroup
	t.Cleanup(func() { ln.Close(); sessions.Wait() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			sessions.Add(1)
			go func() {
				defer sessions.Done()
				l.srv.ServeConn(e.ctx, tlsconf.NewConn(c, tlsconf.ConnOptions{Remote: "[local]"}))
			}()
		}
	}()

	etc := filepath.Join(dir, "etc")
	maillog := filepath.Join(dir, "maillog")
	mainCF := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/queue
data_directory = %[1]s/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.test.example
mydomain = test.example
myorigin = $myhostname
mydestination = $myhostname, localhost
inet_interfaces = loopback-only
inet_protocols = ipv4
alias_maps =
alias_database =
local_recipient_maps =
mailbox_transport = lmtp:unix:%[2]s
maillog_file = %[3]s
maillog_file_prefixes = %[1]s
smtputf8_enable = no
biff = no
`, dir, sock, maillog)
	if err := os.WriteFile(filepath.Join(etc, "main.cf"), []byte(mainCF), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(etc, "master.cf"), []byte(postfixMaster), 0o644); err != nil {
		t.Fatal(err)
	}
	logs := func() string { b, _ := os.ReadFile(maillog); return string(b) }
	// The postfix command writes its errors to syslog, or to standard
	// error only on a terminal: maillog_file has them.
	if out, err := exec.Command("postfix", "-c", etc, "start").CombinedOutput(); err != nil {
		t.Fatalf("postfix start: %v\n%s\n%s", err, out, logs())
	}
	t.Cleanup(func() {
		exec.Command("postfix", "-c", etc, "stop").Run()
	})

	tc := e.rawLogin("alice")
	tc.ok("s1 SELECT INBOX")
	tc.send("i1 IDLE\r\n")
	tc.expect("+ ")

	msg := "From: sender@test.example\nTo: alice@mx.test.example\nSubject: through Postfix\nMessage-ID: <postfix-1@test.example>\n\nhello from Postfix\n"
	send := exec.Command("sendmail", "-C", etc, "-f", "sender@test.example", "alice@mx.test.example", "nobody@mx.test.example")
	send.Stdin = strings.NewReader(msg)
	if out, err := send.CombinedOutput(); err != nil {
		t.Fatalf("sendmail: %v\n%s\n%s", err, out, logs())
	}
	tc.expect("* 1 EXISTS")
	seen := time.Now()
	clock.mu.Lock()
	delivered := clock.last
	clock.mu.Unlock()
	// A zero time: the session heard of the message before Append
	// had even returned.
	if d := seen.Sub(delivered); !delivered.IsZero() && d > time.Second {
		t.Errorf("IDLE heard of the delivery %v after it", d)
	}
	tc.expect("* 1 RECENT")
	tc.send("DONE\r\n")
	tc.expect("i1 OK")

	got := stored(t, e.store, "alice", "INBOX")
	for _, want := range []string{"Return-Path: <sender@test.example>\r\n", "Received: from mx.test.example ([unix socket])\r\n\t by lmtp.example with LMTP;",
		"Message-ID: <postfix-1@test.example>", "hello from Postfix\r\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("stored message lacks %q:\n%s", want, got)
		}
	}
	// Postfix logs both outcomes: sent with our 250, and the bounce.
	deadline := time.Now().Add(ioTimeout)
	for {
		log := logs()
		if strings.Contains(log, "status=sent (250 2.1.5 Success SESSIONID=") && strings.Contains(log, "to=<nobody@mx.test.example>") &&
			strings.Contains(log, "dsn=5.1.1, status=bounced") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Postfix's log lacks the deliveries:\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
