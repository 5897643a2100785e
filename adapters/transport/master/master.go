// Package master implements ports.Transport for an imapd run as a service
// of Cyrus's master(8) (or of our cmd/master, which speaks the same
// protocol): connections are accepted on the listening socket master hands
// over as fd 4 (first.go says which process gets which), and the process
// reports its state on the status pipe, fd 3. It also applies the rules of
// Cyrus's framework: uses per process (-U), the reuse timeout (-T), exit
// on SIGHUP when idle and when the executable changes on disk.
//
// It depends on ports, the domain error kinds and the tlsconf adapter.
package master

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/imapd-go/imapd/adapters/transport/tlsconf"
	"github.com/imapd-go/imapd/ports"
)

// The descriptors master sets up in a service.
const (
	StatusFD = 3 // the status pipe
	ListenFD = 4 // the listening socket
)

// Status messages (Cyrus's master/service.h).
const (
	StatusAvailable       = 1
	StatusUnavailable     = 2
	StatusConnection      = 3
	StatusConnectionMulti = 4
)

// DefaultUses is Cyrus's default for -U.
const DefaultUses = 250

// Listening reports whether fd is a listening socket.
func Listening(fd int) bool {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	return err == nil && v == 1
}

// Detect reports whether this process runs under master: CYRUS_SERVICE is
// set (service is its value) and fd 4 is a listening socket.
func Detect(service string) bool {
	return service != "" && Listening(ListenFD)
}

// Options configure a Transport.
type Options struct {
	Service      string        // CYRUS_SERVICE
	ID           string        // CYRUS_ID (the listener's index)
	ConfigDir    string        // configdirectory: the accept lock lives in socket/
	Uses         int           // -U: connections per process; 0 and 1 both mean one
	ReuseTimeout time.Duration // -T: how long to wait for another connection after the first; 0 = forever
	TLS          *tls.Config   // the server's TLS configuration, nil = none (no STARTTLS)
	ImmediateTLS bool          // -s: TLS handshake before anything else on each connection
	Log          *slog.Logger  // nil = discard

	// Exe is the file whose change (inode, size, mtime) makes the process
	// exit while it waits; "" = the target of /proc/self/exe.
	Exe string
	// ExeCheck is how often Exe is checked while waiting (default 1s).
	ExeCheck time.Duration

	// Multi is the many-sessions mode (multisession: yes): see AcceptMulti
	// in multi.go. The process accepts while its sessions run, reports
	// CONNECTION_MULTI per connection and stays ready.
	Multi bool
}

// Transport accepts master's connections one at a time.
type Transport struct {
	opts   Options
	status *os.File
	lfd    int  // our descriptor of the listening socket
	unix   bool // the socket is a Unix one (no keepalive, no address)
	wakeR  int  // a pipe that ends a poll for a connection
	wakeW  int

	lock    *os.File // the accept lock file, nil when it cannot be opened
	ep      int      // single mode: the epoll that waits for connections (waitFirst); -1 = the lock
	exe     string
	exeID   fileID
	uses    int
	hupOnce sync.Once
	hup     chan struct{}

	closeOnce sync.Once
	closed    chan struct{}

	// multi mode only (multi.go)
	open     atomic.Int64  // connections accepted and not yet closed
	idle     chan struct{} // a connection closed and none is open
	sentDown bool          // UNAVAILABLE was sent: master counts us busy
}

var _ ports.Transport = (*Transport)(nil)

// FromEnv returns the Transport on fds 3 and 4 with CYRUS_SERVICE and
// CYRUS_ID from the environment filling o.Service and o.ID when empty.
func FromEnv(o Options) (*Transport, error) {
	if o.Service == "" {
		o.Service = os.Getenv("CYRUS_SERVICE")
	}
	if o.ID == "" {
		o.ID = os.Getenv("CYRUS_ID")
	}
	return New(os.NewFile(StatusFD, "status"), os.NewFile(ListenFD, "listener"), o)
}

// New returns a Transport that reports on status and accepts on listener
// (a listening TCP or Unix socket). The listener's descriptor is
// duplicated, so the caller may close its file.
func New(status, listener *os.File, o Options) (*Transport, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.ExeCheck <= 0 {
		o.ExeCheck = time.Second
	}
	// The listening socket's open file description is shared with master
	// and every sibling, and any of them may switch it between blocking and
	// non-blocking at any time (Go's os/exec does, for one). So Go's poller,
	// which assumes non-blocking, is not used on it: wait polls it together
	// with a wake-up pipe and accepts only when it is readable.
	lfd, err := unix.FcntlInt(listener.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("master: listener: %w", err)
	}
	if !Listening(lfd) {
		unix.Close(lfd)
		return nil, fmt.Errorf("master: %s is not a listening socket", listener.Name())
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		unix.Close(lfd)
		return nil, fmt.Errorf("master: %w", err)
	}
	t := &Transport{opts: o, status: status, lfd: lfd, wakeR: p[0], wakeW: p[1], hup: make(chan struct{}), closed: make(chan struct{}),
		idle: make(chan struct{}, 1), ep: -1}
	if sa, err := unix.Getsockname(lfd); err == nil {
		_, t.unix = sa.(*unix.SockaddrUnix)
	}
	if !o.Multi {
		t.ep = firstInLine(lfd, t.wakeR, o.Log)
	}

	// The accept lock keeps preforked siblings from all waking for one
	// connection; without it they still work, only less politely. Single
	// mode needs it only where its epoll could not be set up.
	if o.ConfigDir != "" && o.Service != "" && t.ep < 0 {
		name := filepath.Join(o.ConfigDir, "socket", o.Service+"-"+o.ID+".lock")
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			o.Log.Debug("no accept lock", "file", name, "err", err)
		} else {
			t.lock = f
		}
	}

	t.exe = o.Exe
	if t.exe == "" {
		t.exe, _ = os.Readlink("/proc/self/exe")
	}
	if t.exe != "" {
		t.exeID, _ = identify(t.exe)
	}
	return t, nil
}

// Hangup asks the process to stop after the current connection (SIGHUP):
// a waiting Accept returns io.EOF at once, a later one without waiting.
func (t *Transport) Hangup() {
	t.hupOnce.Do(func() { close(t.hup) })
}

// Close stops accepting: a waiting Accept returns io.EOF. It closes this
// process's copy of the listener only, never master's socket.
func (t *Transport) Close() error {
	t.closeOnce.Do(func() {
		close(t.closed)
		if t.lock != nil {
			t.lock.Close()
		}
	})
	return nil
}

// Uses is the number of connections accepted so far.
func (t *Transport) Uses() int { return t.uses }

func (t *Transport) maxUses() int {
	if t.opts.Uses < 1 {
		return 1
	}
	return t.opts.Uses
}

func (t *Transport) hungUp() bool {
	select {
	case <-t.hup:
		return true
	default:
		return false
	}
}

// send writes one status message in a single write(2), as master reads
// them: {int32 message; int32 pid}, native byte order. A master that is
// gone is not our problem to report: the error is logged only.
func (t *Transport) send(msg int32) {
	var b [8]byte
	binary.NativeEndian.PutUint32(b[0:4], uint32(msg))
	binary.NativeEndian.PutUint32(b[4:8], uint32(os.Getpid()))
	if _, err := t.status.Write(b[:]); err != nil {
		t.opts.Log.Debug("status pipe", "err", err)
	}
}

// Accept returns the next connection. After the previous connection it
// first decides whether this process goes on (no SIGHUP, fewer than -U
// uses) and tells master it is available again. It returns io.EOF when the
// process should exit quietly: uses spent, SIGHUP, reuse timeout, the
// executable changed, or the transport was closed.
func (t *Transport) Accept(ctx context.Context) (ports.Conn, error) {
	if t.opts.Multi {
		return t.acceptMulti(ctx)
	}
	for {
		if t.uses > 0 {
			if t.hungUp() || t.uses >= t.maxUses() {
				return nil, io.EOF
			}
			t.send(StatusAvailable)
		}
		raw, err := t.wait(ctx)
		if err != nil {
			return nil, err
		}
		if tc, ok := raw.(*net.TCPConn); ok {
			tc.SetKeepAlive(true)
		}
		t.send(StatusUnavailable)
		t.send(StatusConnection)
		t.uses++
		remote := ""
		if t.unix {
			// A local client has no address; SSF stays 0, as for Cyrus's
			// imapd (only -p declares an external layer).
			remote = "[local]"
		}
		c := tlsconf.NewConn(raw, tlsconf.ConnOptions{Remote: remote, Config: t.opts.TLS})
		if t.opts.ImmediateTLS {
			if err := c.Handshake(ctx, t.opts.Log); err != nil {
				// The failure ends this connection only.
				continue
			}
		}
		return c, nil
	}
}

// wait takes the accept lock and accepts one connection, or in single
// mode waits in line for it (waitFirst, first.go). After an error (io.EOF
// included) the process is expected to exit, which also releases a lock
// still being waited for.
func (t *Transport) wait(ctx context.Context) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if t.hungUp() || t.exeChanged() {
		return nil, io.EOF
	}
	stop, why, done := t.watch(ctx)
	defer done()
	if t.ep >= 0 {
		return t.waitFirst(stop, why)
	}

	if t.lock != nil {
		got := make(chan error, 1)
		go func() { got <- lockFile(t.lock, unix.F_WRLCK) }()
		select {
		case err := <-got:
			if err != nil {
				t.opts.Log.Debug("accept lock", "err", err)
			} else {
				defer lockFile(t.lock, unix.F_UNLCK)
			}
		case <-stop:
			// The lock may still come; whoever gets it must give it
			// back, or siblings wait on a process that no longer
			// accepts (in multi mode it lives on while its sessions
			// finish).
			go func() {
				if <-got == nil {
					lockFile(t.lock, unix.F_UNLCK)
				}
			}()
			return nil, why()
		}
	}

	defer t.wakeOn(stop)()
	for {
		fds := []unix.PollFd{{Fd: int32(t.lfd), Events: unix.POLLIN}, {Fd: int32(t.wakeR), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil && err != unix.EINTR {
			return nil, fmt.Errorf("master: poll: %w", err)
		}
		if fds[0].Revents&unix.POLLIN != 0 {
			if c, err := t.take(); c != nil || err != nil {
				return c, err
			}
		} else if fds[0].Revents&(unix.POLLERR|unix.POLLNVAL) != 0 {
			return nil, fmt.Errorf("master: listening socket: poll events %#x", fds[0].Revents)
		}
		select {
		case <-stop:
			return nil, why()
		default:
		}
	}
}

// wakeOn drains the wake-ups left from an earlier wait, then wakes the
// wait (the pipe wakeR) once stop is closed, until the returned function
// is called.
func (t *Transport) wakeOn(stop <-chan struct{}) (done func()) {
	var buf [16]byte
	for {
		if n, _ := unix.Read(t.wakeR, buf[:]); n <= 0 {
			break
		}
	}
	stopped := make(chan struct{})
	go func() {
		select {
		case <-stop:
			unix.Write(t.wakeW, []byte{1})
		case <-stopped:
		}
	}()
	return func() { close(stopped) }
}

// take accepts a connection the listener reported: the connection, or an
// error that leaves the listener unusable, or neither when the wait goes
// on (a sibling took it, or an error worth another try).
func (t *Transport) take() (net.Conn, error) {
	c, err := t.acceptNow()
	if err == nil {
		return c, nil
	}
	if !transient(err) {
		return nil, err
	}
	if err != unix.EAGAIN {
		time.Sleep(10 * time.Millisecond)
	}
	return nil, nil
}

// acceptNow accepts a connection that poll reported. The socket is made
// non-blocking first, so that a connection a sibling took in between
// gives EAGAIN rather than a wait.
func (t *Transport) acceptNow() (net.Conn, error) {
	unix.SetNonblock(t.lfd, true)
	nfd, _, err := unix.Accept4(t.lfd, unix.SOCK_CLOEXEC)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(nfd), "client")
	defer f.Close()
	return net.FileConn(f)
}

// watch returns a channel closed when waiting must end, the reason (valid
// once it is closed), and a function to call when the wait is over. The
// reasons: ctx ends, Close, SIGHUP, the reuse timeout, or a new executable.
func (t *Transport) watch(ctx context.Context) (stop <-chan struct{}, why func() error, done func()) {
	// Cyrus arms the reuse timeout only once the process has served a
	// connection, with a random value in [T, 2T-1] seconds so that idle
	// siblings do not all expire together.
	//
	// In multi mode the process waits for connections while it serves
	// others: the timeout runs only while no session is open, and is
	// armed again when the last one closes during the wait.
	uses := t.uses // arm may run in the watching goroutine
	var timeout <-chan time.Time
	var tm *time.Timer
	arm := func() {
		if tm != nil || uses == 0 || t.opts.ReuseTimeout <= 0 || (t.opts.Multi && t.open.Load() > 0) {
			return
		}
		secs := int64(t.opts.ReuseTimeout / time.Second)
		if secs < 1 {
			secs = 1
		}
		tm = time.NewTimer(time.Duration(secs+rand.Int64N(secs)) * time.Second)
		timeout = tm.C
	}
	arm()
	var idle <-chan struct{}
	if t.opts.Multi {
		idle = t.idle
	}
	var tmMu sync.Mutex
	tick := time.NewTicker(t.opts.ExeCheck)
	stopc := make(chan struct{})
	over := make(chan struct{})
	var reason error
	go func() {
		defer tick.Stop()
		for {
			select {
			case <-over:
				return
			case <-ctx.Done():
				reason = ctx.Err()
			case <-t.closed:
				reason = io.EOF
			case <-t.hup:
				reason = io.EOF
			case <-idle:
				tmMu.Lock()
				arm()
				tmMu.Unlock()
				continue
			case <-timeout:
				t.opts.Log.Debug("reuse timeout", "uses", uses)
				reason = io.EOF
			case <-tick.C:
				if !t.exeChanged() {
					continue
				}
				t.opts.Log.Info("executable changed, exiting", "exe", t.exe)
				reason = io.EOF
			}
			close(stopc)
			return
		}
	}()
	var once sync.Once
	return stopc, func() error { return reason }, func() {
		once.Do(func() { close(over) })
		tmMu.Lock()
		if tm != nil {
			tm.Stop()
		}
		tmMu.Unlock()
	}
}

// transient reports whether an accept error leaves the listening socket
// usable, so that the process waits for the next connection instead of
// exiting. Under master an exit while waiting counts as a failure, and five
// in ten seconds disable the service, so only errors that say the listening
// socket itself is gone or wrong are fatal. Everything else is worth
// another try, as in Cyrus: a sibling took the connection (EAGAIN: without
// the accept lock every ready sibling wakes on one connection), the peer
// reset or gave up, a signal, descriptors or memory short for a moment, a
// firewall's refusal (EPERM).
//
// The test is on the errno, never on net.Error: syscall.Errno implements
// net.Error, and EAGAIN reports Timeout() true.
func transient(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		// Not from the accept system call: net.FileConn failing on a
		// connection already reset, say. That connection is lost, the
		// listener is not.
		return true
	}
	switch errno {
	case syscall.EBADF, syscall.EINVAL, syscall.ENOTSOCK, syscall.EOPNOTSUPP, syscall.EFAULT:
		return false
	}
	return true
}

// lockFile sets (F_WRLCK, waiting) or clears (F_UNLCK) an fcntl lock on
// the whole file.
func lockFile(f *os.File, typ int16) error {
	lk := unix.Flock_t{Type: typ, Whence: io.SeekStart}
	for {
		err := unix.FcntlFlock(f.Fd(), unix.F_SETLKW, &lk)
		if err != unix.EINTR {
			return err
		}
	}
}

// fileID is what tells an executable's versions apart.
type fileID struct {
	ino, size int64
	mtime     time.Time
}

func identify(path string) (fileID, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}, err
	}
	id := fileID{size: fi.Size(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.ino = int64(st.Ino)
	}
	return id, nil
}

// exeChanged reports whether the executable on disk is no longer the one
// that was started (a new build was installed). A file that cannot be
// read at the moment (being replaced) does not count as a change.
func (t *Transport) exeChanged() bool {
	if t.exe == "" || t.exeID == (fileID{}) {
		return false
	}
	id, err := identify(t.exe)
	return err == nil && id != t.exeID
}
