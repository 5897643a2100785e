package master

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/imapd-go/imapd/adapters/transport/tlsconf"
)

// rig is a Transport on a loopback or Unix listener, with the reading end
// of its status pipe.
type rig struct {
	t      *testing.T
	tr     *Transport
	addr   net.Addr
	status *os.File
}

// listenFile listens on loopback TCP or a Unix socket in a temporary
// folder, and returns the listener with a file of its descriptor, as
// master hands it to its children (the caller closes the file).
func listenFile(t *testing.T, network string) (net.Listener, *os.File) {
	t.Helper()
	var ln net.Listener
	var err error
	switch network {
	case "unix":
		ln, err = net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	default:
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	lf, err := ln.(interface{ File() (*os.File, error) }).File()
	if err != nil {
		t.Fatal(err)
	}
	return ln, lf
}

func newRig(t *testing.T, network string, o Options) *rig {
	t.Helper()
	ln, lf := listenFile(t, network)
	defer lf.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	if o.Exe == "" {
		o.Exe = os.DevNull
	}
	tr, err := New(w, lf, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return &rig{t: t, tr: tr, addr: ln.Addr(), status: r}
}

// next reads one status message and checks it comes from this process.
func (g *rig) next() int32 {
	g.t.Helper()
	var b [8]byte
	g.status.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(g.status, b[:]); err != nil {
		g.t.Fatalf("status pipe: %v", err)
	}
	if pid := int32(binary.NativeEndian.Uint32(b[4:])); pid != int32(os.Getpid()) {
		g.t.Fatalf("status from pid %d, want %d", pid, os.Getpid())
	}
	return int32(binary.NativeEndian.Uint32(b[:4]))
}

func (g *rig) expect(msgs ...int32) {
	g.t.Helper()
	for _, want := range msgs {
		if got := g.next(); got != want {
			g.t.Fatalf("status %d, want %d", got, want)
		}
	}
}

// noStatus checks that nothing more was sent.
func (g *rig) noStatus() {
	g.t.Helper()
	g.status.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	var b [8]byte
	if n, err := g.status.Read(b[:]); n > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		g.t.Fatalf("unexpected status bytes %v (%v)", b[:n], err)
	}
}

func (g *rig) dial() net.Conn {
	g.t.Helper()
	c, err := net.Dial(g.addr.Network(), g.addr.String())
	if err != nil {
		g.t.Fatal(err)
	}
	g.t.Cleanup(func() { c.Close() })
	return c
}

// session accepts one connection and checks both directions work.
func (g *rig) session() {
	g.t.Helper()
	cl := g.dial()
	c, err := g.tr.Accept(context.Background())
	if err != nil {
		g.t.Fatalf("Accept: %v", err)
	}
	if _, err := c.Write([]byte("* OK hello\r\n")); err != nil {
		g.t.Fatal(err)
	}
	line, err := bufio.NewReader(cl).ReadString('\n')
	if err != nil || line != "* OK hello\r\n" {
		g.t.Fatalf("client read %q, %v", line, err)
	}
	c.Close()
}

func (g *rig) acceptEOF() {
	g.t.Helper()
	done := make(chan error, 1)
	go func() {
		c, err := g.tr.Accept(context.Background())
		if c != nil {
			c.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != io.EOF {
			g.t.Fatalf("Accept = %v, want io.EOF", err)
		}
	case <-time.After(20 * time.Second):
		g.t.Fatal("Accept did not give up")
	}
}

func TestStatusAndUses(t *testing.T) {
	tests := []struct {
		network  string
		uses     int
		sessions int
	}{
		{"tcp", 0, 1},
		{"tcp", 1, 1},
		{"tcp", 3, 3},
		{"unix", 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.network, func(t *testing.T) {
			g := newRig(t, tt.network, Options{Uses: tt.uses})
			for i := 0; i < tt.sessions; i++ {
				g.session()
				if i > 0 {
					g.expect(StatusAvailable)
				}
				g.expect(StatusUnavailable, StatusConnection)
			}
			g.acceptEOF()
			g.noStatus() // no AVAILABLE from a process that is leaving
			if g.tr.Uses() != tt.sessions {
				t.Errorf("Uses = %d, want %d", g.tr.Uses(), tt.sessions)
			}
		})
	}
}

func TestRemoteAddrAndSSF(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			g := newRig(t, network, Options{})
			g.dial()
			c, err := g.tr.Accept(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if c.SSF() != 0 || c.TLS() || c.CanStartTLS() {
				t.Errorf("plain conn: SSF %d TLS %v CanStartTLS %v", c.SSF(), c.TLS(), c.CanStartTLS())
			}
			ra := c.RemoteAddr()
			if network == "tcp" && !strings.HasPrefix(ra, "127.0.0.1:") || network == "unix" && ra != "[local]" {
				t.Errorf("RemoteAddr = %q", ra)
			}
		})
	}
}

func TestHangup(t *testing.T) {
	// Idle: a waiting Accept ends at once.
	g := newRig(t, "tcp", Options{Uses: 5})
	go func() { time.Sleep(20 * time.Millisecond); g.tr.Hangup() }()
	g.acceptEOF()

	// During a session: the session goes on, the next Accept ends.
	g = newRig(t, "tcp", Options{Uses: 5})
	g.session()
	g.tr.Hangup()
	g.acceptEOF()
	g.expect(StatusUnavailable, StatusConnection)
	g.noStatus()
}

func TestReuseTimeout(t *testing.T) {
	g := newRig(t, "tcp", Options{Uses: 5, ReuseTimeout: time.Second})
	// The first wait never times out: a connection 1.5 s later is served.
	go func() { time.Sleep(1500 * time.Millisecond); g.dial() }()
	c, err := g.tr.Accept(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	g.acceptEOF()
	g.expect(StatusUnavailable, StatusConnection, StatusAvailable)
}

func TestExecutableChange(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "imapd")
	if err := os.WriteFile(exe, []byte("v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	g := newRig(t, "tcp", Options{Exe: exe, ExeCheck: 20 * time.Millisecond})
	go func() {
		time.Sleep(50 * time.Millisecond)
		os.WriteFile(exe+".new", []byte("v2 is longer"), 0o755)
		os.Rename(exe+".new", exe)
	}()
	g.acceptEOF()
}

func TestCloseAndContext(t *testing.T) {
	g := newRig(t, "tcp", Options{})
	go func() { time.Sleep(20 * time.Millisecond); g.tr.Close() }()
	g.acceptEOF()

	g = newRig(t, "tcp", Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.tr.Accept(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Accept with a cancelled context = %v", err)
	}
}

func TestAcceptLockFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "socket"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Single mode waits in line instead (first.go), where the kernel has
	// EPOLLEXCLUSIVE.
	g := newRig(t, "tcp", Options{ConfigDir: dir, Service: "imap", ID: "0", Uses: 2})
	g.session()
	if _, err := os.Stat(filepath.Join(dir, "socket", "imap-0.lock")); g.tr.ep >= 0 && err == nil {
		t.Error("single mode made an accept lock file")
	}
	g = newRig(t, "tcp", Options{ConfigDir: dir, Service: "imap", ID: "0", Uses: 2, Multi: true})
	g.session()
	g.session()
	if _, err := os.Stat(filepath.Join(dir, "socket", "imap-0.lock")); err != nil {
		t.Errorf("lock file: %v", err)
	}
	// Without a socket/ folder the service carries on without a lock.
	g = newRig(t, "tcp", Options{ConfigDir: filepath.Join(dir, "none"), Service: "imap", ID: "0", Multi: true})
	g.session()
}

func TestImmediateTLS(t *testing.T) {
	certPEM, keyPEM, err := tlsconf.SelfSigned([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	g := newRig(t, "tcp", Options{Uses: 3, TLS: cfg, ImmediateTLS: true})

	// A client that does not speak TLS costs one use, not the process.
	bad := g.dial()
	bad.Write([]byte("a1 LOGOUT\r\n"))

	good := g.dial()
	cl := tls.Client(good, &tls.Config{InsecureSkipVerify: true})
	go cl.Handshake()
	c, err := g.tr.Accept(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.TLS() || c.SSF() < 128 || c.CanStartTLS() || c.TLSState() == nil {
		t.Errorf("after -s handshake: TLS %v SSF %d CanStartTLS %v", c.TLS(), c.SSF(), c.CanStartTLS())
	}
	if g.tr.Uses() != 2 {
		t.Errorf("Uses = %d, want 2", g.tr.Uses())
	}
	g.expect(StatusUnavailable, StatusConnection, StatusAvailable, StatusUnavailable, StatusConnection)
}

func TestListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, _ := ln.(*net.TCPListener).File()
	defer f.Close()
	if !Listening(int(f.Fd())) {
		t.Error("a listener is not Listening")
	}
	r, w, _ := os.Pipe()
	defer r.Close()
	defer w.Close()
	if Listening(int(r.Fd())) {
		t.Error("a pipe is Listening")
	}
	c, _ := net.Dial("tcp", ln.Addr().String())
	defer c.Close()
	cf, _ := c.(*net.TCPConn).File()
	defer cf.Close()
	if Listening(int(cf.Fd())) {
		t.Error("a connected socket is Listening")
	}
}

// TestBlockingListener: master and siblings share the listening socket's
// file description and may leave it in blocking mode (Go's os/exec does
// when it hands the socket to a child); waiting must still end on SIGHUP,
// and connections must still be served.
func TestBlockingListener(t *testing.T) {
	g := newRig(t, "tcp", Options{Uses: 3})
	setBlocking := func() {
		if err := unix.SetNonblock(g.tr.lfd, false); err != nil {
			t.Fatal(err)
		}
	}
	setBlocking()
	g.session()
	setBlocking()
	g.session()
	setBlocking()
	go func() { time.Sleep(50 * time.Millisecond); g.tr.Hangup() }()
	g.acceptEOF()
}

// TestTransientAcceptErrors: no error that a sibling's race, a peer or a
// signal can cause ends the accept loop; only a broken listening socket
// does. EAGAIN is the case that matters most: without the accept lock every
// ready sibling wakes for one connection and all but one get it.
func TestTransientAcceptErrors(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{unix.EAGAIN, true},
		{fmt.Errorf("accept: %w", unix.EAGAIN), true},
		{os.NewSyscallError("accept4", unix.EWOULDBLOCK), true},
		{unix.ECONNABORTED, true},
		{unix.ECONNRESET, true},
		{unix.EINTR, true},
		{unix.EPROTO, true},
		{unix.EPERM, true},
		{unix.EMFILE, true},
		{unix.ENFILE, true},
		{unix.ENOBUFS, true},
		{unix.ENOMEM, true},
		{unix.ETIMEDOUT, true},
		{unix.EHOSTUNREACH, true},
		{errors.New("file conn: use of closed file"), true},
		{unix.EBADF, false},
		{unix.EINVAL, false},
		{unix.ENOTSOCK, false},
		{os.NewSyscallError("accept4", unix.EOPNOTSUPP), false},
	} {
		if got := transient(c.err); got != c.want {
			t.Errorf("transient(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
