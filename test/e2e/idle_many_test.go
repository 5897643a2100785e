package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/telemetry/filelog"
	"github.com/imapd-go/imapd/adapters/transport/stdio"
	"github.com/imapd-go/imapd/app"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
	"golang.org/x/sys/unix"
)

// IdleSessionsEnv sets how many sessions TestManyIdleSessions opens
// (1,000 by default; each takes two descriptors).
const IdleSessionsEnv = "IMAPD_IDLE_SESSIONS"

// IdleMessagesEnv sets how many messages INBOX holds when the sessions
// select it (none by default): a session's view of the mailbox grows
// with it.
const IdleMessagesEnv = "IMAPD_IDLE_MESSAGES"

// IdleNotifyEnv, set to 1, has each session of TestManyIdleSessions ask
// for NOTIFY (RFC 5465) events of the selected mailbox and of all the
// user's others before IDLE: what a NOTIFY session costs.
const IdleNotifyEnv = "IMAPD_IDLE_NOTIFY"

// IdleProfileEnv names a file where TestManyIdleSessions writes a heap
// profile once its sessions are idle (go tool pprof -top -sample_index=inuse_space).
const IdleProfileEnv = "IMAPD_IDLE_PROFILE"

// writeHeapProfile writes the heap profile to path.
func writeHeapProfile(t *testing.T, path string) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		t.Fatal(err)
	}
}

// idleSessionBudget is what an idle session in the multi-session mode may
// cost, heap and stacks: the 64 KB goal of `make compare`'s idle rows.
const idleSessionBudget = 64 << 10

// anyUser accepts every user with the password "secret", without a KDF:
// a thousand bcrypt checks would be the whole test's time.
type anyUser struct{}

func (anyUser) Mechanisms(ports.ConnInfo) []string { return nil }
func (anyUser) PlaintextAllowed(int) bool          { return true }
func (anyUser) NewSASL(context.Context, string, ports.ConnInfo) (ports.SASLServer, error) {
	return nil, imap.ErrCannot
}
func (anyUser) CheckPassword(_ context.Context, user, password string) (string, error) {
	if password != "secret" {
		return "", imap.ErrAuthFailed
	}
	return user, nil
}
func (anyUser) UserExists(context.Context, string) (bool, error) { return true, nil }
func (anyUser) IsAdmin(string) bool                              { return false }

// raiseFileLimit lifts the soft descriptor limit of the test process to
// its hard limit.
func raiseFileLimit(t *testing.T, need uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			t.Fatal(err)
		}
	}
	if lim.Cur < need {
		t.Skipf("%d descriptors needed, the hard limit is %d", need, lim.Max)
	}
}

// memInUse is the heap and stack memory in use after collecting garbage
// (twice more, so that sync.Pool's victims are gone and stacks shrunk).
func memInUse() (heap, stack uint64) {
	var m runtime.MemStats
	for range 3 {
		runtime.GC()
	}
	runtime.ReadMemStats(&m)
	return m.HeapInuse, m.StackInuse
}

// idleSession connects a session served on its own goroutine, as the
// multi-session mode serves each connection, and takes it to IDLE on
// INBOX. The client side is a bare socket: no goroutine, no buffer.
func idleSession(t *testing.T, ctx context.Context, srv *app.Server, wg *sync.WaitGroup) (net.Conn, error) {
	cli, sc := socketPair(t)
	wg.Add(1)
	go func() {
		defer wg.Done()
		srv.ServeConn(ctx, stdio.NewConn(sc, "test", 0))
	}()
	cli.SetDeadline(time.Now().Add(ioTimeout))
	defer cli.SetDeadline(time.Time{})
	cmds := "a LOGIN alice secret\r\nb SELECT INBOX\r\nc IDLE\r\n"
	if os.Getenv(IdleNotifyEnv) == "1" {
		cmds = "a LOGIN alice secret\r\nb SELECT INBOX\r\n" +
			"n NOTIFY SET (selected (MessageNew MessageExpunge FlagChange)) (personal (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))\r\nc IDLE\r\n"
	}
	if _, err := io.WriteString(cli, cmds); err != nil {
		return cli, err
	}
	var got []byte
	var buf [4096]byte
	for !bytes.HasSuffix(got, []byte("\r\n")) || !bytes.Contains(got, []byte("\n+ ")) {
		n, err := cli.Read(buf[:])
		got = append(got, buf[:n]...)
		if err != nil {
			return cli, fmt.Errorf("IDLE session: %v after %q", err, got)
		}
	}
	if !bytes.Contains(got, []byte("\nb OK ")) {
		return cli, fmt.Errorf("SELECT failed: %q", got)
	}
	return cli, nil
}

// idleSessions is how many sessions the idle-session tests open: def,
// or IdleSessionsEnv's number.
func idleSessions(t *testing.T, def int) int {
	t.Helper()
	s := os.Getenv(IdleSessionsEnv)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q", IdleSessionsEnv, s)
	}
	return n
}

// TestManyIdleSessions opens many sessions in one process, each SELECTed
// and IDLE on the same INBOX, and reports what one costs (heap and
// stacks, goroutines) against idleSessionBudget; then a message
// delivered through a second store on the same spool, as another process
// would, must reach every one of them as EXISTS, woken by the change
// itself: within wakeWithin, far below the fallback poll of a local
// folder (fswatch.LocalFallback, a minute). How soon they wake (the goal
// is within a second) is measured by `go run ./test/compare -idle`, on a
// quiet machine, not here, where other tests share the cores.
func TestManyIdleSessions(t *testing.T) {
	n := idleSessions(t, 1000)
	raiseFileLimit(t, uint64(2*n+200))
	dir := t.TempDir()
	spool := filepath.Join(dir, "spool")
	st := openStore(t, spool)
	defer st.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts := app.Options{ConfigDir: dir, ServerName: "test.example", IdleTimeout: time.Hour}
	srv := app.New(opts, st, anyUser{}, filelog.New(dir, "imap", logger), logger)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	messages := 0
	if s := os.Getenv(IdleMessagesEnv); s != "" {
		var err error
		if messages, err = strconv.Atoi(s); err != nil || messages < 0 {
			t.Fatalf("%s=%q", IdleMessagesEnv, s)
		}
	}
	for i := range messages {
		if _, err := srv.Deliver(ctx, "alice", "INBOX", strings.NewReader(testMessage("old "+strconv.Itoa(i), "x"))); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	conns := make([]net.Conn, 0, n+1)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("sessions did not end after their clients closed")
		}
	}()

	// One session first: the store's and the process's one-time costs
	// (the user's database, caches, the inotify instance) are not a
	// session's.
	c, err := idleSession(t, ctx, srv, &wg)
	conns = append(conns, c)
	if err != nil {
		t.Fatal(err)
	}
	heapBefore, stackBefore := memInUse()
	goBefore := runtime.NumGoroutine()
	start := time.Now()
	var mu sync.Mutex
	var workers sync.WaitGroup
	for w := range 4 {
		workers.Go(func() {
			for i := w; i < n; i += 4 {
				c, err := idleSession(t, ctx, srv, &wg)
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	workers.Wait()
	if t.Failed() {
		return
	}
	opened := time.Since(start)
	heapAfter, stackAfter := memInUse()
	goAfter := runtime.NumGoroutine()
	heap := float64(int64(heapAfter)-int64(heapBefore)) / float64(n)
	stack := float64(int64(stackAfter)-int64(stackBefore)) / float64(n)
	perSession := heap + stack
	t.Logf("%s store: %d IDLE sessions on %d messages opened in %v: %.1f KB per session (heap %.1f KB, stacks %.1f KB), %.2f goroutines per session",
		e2eStore(), n, messages, opened.Round(time.Millisecond), perSession/1024, heap/1024, stack/1024, float64(goAfter-goBefore)/float64(n))
	if f := os.Getenv(IdleProfileEnv); f != "" {
		writeHeapProfile(t, f)
	}
	if perSession > idleSessionBudget {
		t.Errorf("an idle session costs %.1f KB, more than %d KB", perSession/1024, idleSessionBudget>>10)
	}

	// The wake-ups come from inotify; when other processes took all of
	// the user's instances (max_user_instances), only the slow fallback
	// is left, and the second half cannot hold.
	if fd, err := unix.InotifyInit1(unix.IN_CLOEXEC); err != nil {
		t.Skipf("no inotify instance free (%v): only the fallback poll is left", err)
	} else {
		unix.Close(fd)
	}

	// Another store on the same spool is another process's view.
	other := openStore(t, spool)
	defer other.Close()
	srv2 := app.New(opts, other, anyUser{}, filelog.New(dir, "imap", logger), logger)
	start = time.Now()
	if _, err := srv2.Deliver(ctx, "alice", "INBOX", strings.NewReader(testMessage("wake up", "x"))); err != nil {
		t.Fatal(err)
	}
	deadline := start.Add(wakeWithin)
	exists := []byte("* " + strconv.Itoa(messages+1) + " EXISTS\r\n")
	var late, slowest = 0, time.Duration(0)
	var readers sync.WaitGroup
	for _, c := range conns {
		readers.Go(func() {
			c.SetReadDeadline(deadline)
			var got []byte
			var buf [256]byte
			for !bytes.Contains(got, exists) {
				k, err := c.Read(buf[:])
				got = append(got, buf[:k]...)
				if err != nil {
					mu.Lock()
					if late == 0 {
						t.Logf("first late session: %v after %q", err, got)
					}
					late++
					mu.Unlock()
					return
				}
			}
			mu.Lock()
			slowest = max(slowest, time.Since(start))
			mu.Unlock()
		})
	}
	readers.Wait()
	t.Logf("%s store: EXISTS reached %d of %d sessions, the last after %v",
		e2eStore(), len(conns)-late, len(conns), slowest.Round(time.Millisecond))
	if late > 0 {
		t.Errorf("%d of %d sessions saw no EXISTS within %v", late, len(conns), wakeWithin)
	}
}

// wakeWithin is how long TestManyIdleSessions waits for every session's
// EXISTS.
const wakeWithin = 10 * time.Second
