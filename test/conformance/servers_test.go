package conformance

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/auth/sasl"
	"github.com/imapd-go/imapd/adapters/store/maildir"
	"github.com/imapd-go/imapd/adapters/store/sqlite"
	"github.com/imapd-go/imapd/adapters/telemetry/filelog"
	"github.com/imapd-go/imapd/adapters/transport/stdio"
	"github.com/imapd-go/imapd/app"
	"github.com/imapd-go/imapd/ports"
)

// Stores are the store backends of ours the corpus runs on.
var Stores = []string{"sqlite", "maildir"}

// ours starts our server in-process on a fresh configdirectory with the
// store backend named store; every user logs in with any password and
// gets an INBOX at the first login, as on Cyrus's side.
func ours(t *testing.T, store string) Target {
	t.Helper()
	dir := t.TempDir()
	var st ports.Store
	var err error
	switch store {
	case "sqlite":
		st, err = sqlite.Open(filepath.Join(dir, "spool"))
	case "maildir":
		st, err = maildir.Open(filepath.Join(dir, "spool"))
	default:
		t.Fatalf("no store %q", store)
	}
	if err != nil {
		t.Fatalf("open %s store: %v", store, err)
	}
	t.Cleanup(func() { st.Close() })
	auth := sasl.New(sasl.Options{MechList: []string{"PLAIN", "LOGIN"}, AllowPlaintext: true,
		PwcheckMethods: []string{"alwaystrue"}, Admins: []string{Admin}}, sasl.Open(dir))
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := app.New(app.Options{ConfigDir: dir, ServerName: "ours.example", FailedLoginPause: time.Millisecond,
		DefaultACL: DefaultACL},
		st, auth, filelog.New(dir, "imap", logger), logger)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return Target{Name: store, Dial: func() (net.Conn, error) {
		cli, srvConn, err := socketPair()
		if err != nil {
			return nil, err
		}
		go func() {
			defer srvConn.Close()
			srv.ServeConn(ctx, stdio.NewConn(srvConn, "conformance", 0))
		}()
		return cli, nil
	}}
}

// socketPair returns the two ends of a connected AF_UNIX stream socket
// (not net.Pipe, which is synchronous and hides pipelining bugs).
func socketPair() (client, server net.Conn, err error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	conns := make([]net.Conn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair-"+strconv.Itoa(i))
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			return nil, nil, err
		}
		conns[i] = c
	}
	return conns[0], conns[1], nil
}

// CyrusMaster is where Debian's cyrus-imapd package puts master(8), and
// CyrusImapd its imapd.
const (
	CyrusMaster = "/usr/lib/cyrus/bin/master"
	CyrusImapd  = "/usr/lib/cyrus/bin/imapd"
)

// RequireCyrusEnv names the variable that turns a missing Cyrus (or a run
// that is not root) from a skip into a failure; CI sets it.
const RequireCyrusEnv = "IMAPD_REQUIRE_CYRUS"

// Admin is the one admin (imapd.conf admins) of both servers: transcripts
// log in as it for Cyrus's admin view, and look only at their own
// user's mailboxes (user/{$user}/...), since transcripts run at once.
const Admin = "admin"

// DefaultACL is both servers' defaultacl: not Cyrus's "anyone lrs", so
// that a shared mailbox one transcript creates is not seen by the users
// of the others.
const DefaultACL = Admin + " lrs"

// cyrus starts Cyrus's master with its imapd on a loopback port, in a
// fresh folder owned by cyrus:mail (Debian's master runs services as that
// user), with INBOX created at each user's first login and any password
// accepted. It skips (or fails, under IMAPD_REQUIRE_CYRUS=1) when Cyrus is
// not installed or the test does not run as root.
func cyrus(t *testing.T) Target {
	t.Helper()
	unavailable := func(why string) {
		if os.Getenv(RequireCyrusEnv) == "1" {
			t.Fatalf("%s=1 but %s", RequireCyrusEnv, why)
		}
		t.Skip(why)
	}
	for _, p := range []string{CyrusMaster, CyrusImapd} {
		if _, err := os.Stat(p); err != nil {
			unavailable(p + " is absent (install cyrus-imapd)")
		}
	}
	if os.Geteuid() != 0 {
		unavailable("Cyrus's master starts as root: run as root")
	}
	if _, err := user.Lookup("cyrus"); err != nil {
		unavailable("no cyrus user")
	}
	dir, err := os.MkdirTemp("", "imapd-conformance-")
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	conf := filepath.Join(dir, "imapd.conf")
	writeFile(t, conf, strings.Join([]string{
		"configdirectory: " + dir + "/conf",
		"partition-default: " + dir + "/spool",
		"servername: cyrus.example",
		"sasl_pwcheck_method: alwaystrue",
		"allowplaintext: yes",
		"autocreate_quota: 0",
		"failedloginpause: 0",
		"imapidlepoll: 1",
		"admins: " + Admin,
		"defaultacl: " + DefaultACL,
		"",
	}, "\n"))
	writeFile(t, filepath.Join(dir, "cyrus.conf"), fmt.Sprintf(
		"SERVICES {\n  imap cmd=\"%s -C %s\" listen=\"%s\" prefork=8\n}\n", CyrusImapd, conf, addr))
	if out, err := exec.Command("chown", "-R", "cyrus:mail", dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	pidFile := filepath.Join(dir, "master.pid")
	master := exec.Command(CyrusMaster, "-C", conf, "-M", filepath.Join(dir, "cyrus.conf"), "-p", pidFile, "-d")
	master.Env = append(os.Environ(), "LD_PRELOAD="+randomRand(t, dir, unavailable))
	if out, err := master.CombinedOutput(); err != nil {
		t.Fatalf("master: %v %s", err, out)
	}
	pid := 0
	t.Cleanup(func() {
		if pid == 0 {
			return
		}
		syscall.Kill(pid, syscall.SIGTERM)
		deadline := time.Now().Add(5 * time.Second)
		for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		// master made its own session: its group holds every imapd.
		syscall.Kill(-pid, syscall.SIGKILL)
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if b, err := os.ReadFile(pidFile); err == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if pid > 0 {
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Cyrus's master did not start listening on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return Target{Name: "cyrus", Dial: func() (net.Conn, error) {
		return net.DialTimeout("tcp", addr, 10*time.Second)
	}}
}

// randomRand builds, in dir, a library that gives rand(3) its numbers
// from getrandom(2), for Cyrus's processes to preload. Debian's Cyrus 3.6
// makes mailbox ids (MAILBOXID, and the key of a mailbox's folder and
// annotations) from rand() without seeding it, so every imapd process
// draws the same ids: two users' mailboxes created by two processes get
// one id, and share a folder and their special-use attributes.
func randomRand(t *testing.T, dir string, unavailable func(string)) string {
	t.Helper()
	src := filepath.Join(dir, "rand.c")
	lib := filepath.Join(dir, "rand.so")
	writeFile(t, src, `#include <sys/random.h>
int rand(void) {
	unsigned int v = 0;
	if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
		return 0;
	return (int)(v & 0x7fffffff);
}
`)
	if out, err := exec.Command("gcc", "-shared", "-fPIC", "-O2", "-o", lib, src).CombinedOutput(); err != nil {
		unavailable(fmt.Sprintf("gcc cannot build the rand(3) replacement Cyrus needs: %v\n%s", err, out))
	}
	return lib
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
