package app

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/auth/sasl"
	"github.com/imapd-go/imapd/adapters/store/sqlite"
	"github.com/imapd-go/imapd/adapters/telemetry/filelog"
	"github.com/imapd-go/imapd/adapters/transport/tlsconf"
	"github.com/imapd-go/imapd/ports"
)

// panicStore panics when asked for the status of a mailbox named "Panic":
// a broken invariant deep in a command.
type panicStore struct{ ports.Store }

func (p panicStore) Status(ctx context.Context, user, name string) (ports.MailboxStatus, error) {
	if name == "Panic" {
		var m map[string]int
		m["boom"]++ // a real runtime panic: assignment to entry in nil map
	}
	return p.Store.Status(ctx, user, name)
}

// listenTransport accepts TCP connections; Close makes Accept return
// io.EOF.
type listenTransport struct {
	ln   net.Listener
	once sync.Once
}

func (l *listenTransport) Accept(ctx context.Context) (ports.Conn, error) {
	c, err := l.ln.Accept()
	if err != nil {
		return nil, io.EOF
	}
	return tlsconf.NewConn(c, tlsconf.ConnOptions{}), nil
}

func (l *listenTransport) Close() error {
	l.once.Do(func() { l.ln.Close() })
	return nil
}

// syncBuffer is a log sink for several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type multiRig struct {
	t    *testing.T
	dir  string
	srv  *Server
	tr   *listenTransport
	logs *syncBuffer
	done chan error
}

func newMultiRig(t *testing.T) *multiRig {
	t.Helper()
	return newMultiRigWith(t, func(st *sqlite.Store) ports.Store { return panicStore{st} }, Options{})
}

// newMultiRigWith is newMultiRig with the store wrapped by wrap, and opts.
func newMultiRigWith(t *testing.T, wrap func(*sqlite.Store) ports.Store, opts Options) *multiRig {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	db := sasl.Open(dir)
	for _, u := range []string{"alice", "bob", "root"} {
		if err := db.Add(u, "pw"); err != nil {
			t.Fatal(err)
		}
	}
	auth := sasl.New(sasl.Options{MechList: []string{"PLAIN"}, AllowPlaintext: true, Admins: []string{"root"}}, db)
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	opts.ServerName, opts.ConfigDir, opts.MultiSession = "test", dir, true
	srv := New(opts, wrap(st), auth, filelog.New(dir, "imap", log), log)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &multiRig{t: t, dir: dir, srv: srv, tr: &listenTransport{ln: ln}, logs: logs, done: make(chan error, 1)}
	go func() { r.done <- srv.Serve(context.Background(), r.tr) }()
	t.Cleanup(func() {
		r.tr.Close()
		r.srv.Shutdown("test over", 5*time.Second)
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return r
}

type client struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

// login connects and logs user in.
func (r *multiRig) login(user string) *client {
	r.t.Helper()
	c, err := net.Dial("tcp", r.tr.ln.Addr().String())
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { c.Close() })
	cl := &client{t: r.t, c: c, br: bufio.NewReader(c)}
	cl.expect("* OK")
	cl.run("l LOGIN "+user+" pw", "l OK")
	return cl
}

// line reads one line (10 s at most).
func (cl *client) line() (string, error) {
	cl.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	return cl.br.ReadString('\n')
}

func (cl *client) expect(prefix string) string {
	cl.t.Helper()
	for {
		l, err := cl.line()
		if err != nil {
			cl.t.Fatalf("waiting for %q: %v", prefix, err)
		}
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
}

func (cl *client) run(cmd, want string) string {
	cl.t.Helper()
	if _, err := cl.c.Write([]byte(cmd + "\r\n")); err != nil {
		cl.t.Fatal(err)
	}
	return cl.expect(want)
}

// expectEOF checks the server closed the connection.
func (cl *client) expectEOF() {
	cl.t.Helper()
	for {
		l, err := cl.line()
		if err != nil {
			if err != io.EOF {
				cl.t.Fatalf("want EOF, got %v", err)
			}
			return
		}
		if l == "" {
			return
		}
	}
}

// One session's panic ends that session only: the others, of the same
// process, go on, and the log has the panic's stack.
func TestMultiPanicEndsOneSession(t *testing.T) {
	r := newMultiRig(t)
	a, b := r.login("alice"), r.login("bob")
	a.run("s STATUS Panic (MESSAGES)", "* BYE [SERVERBUG]")
	a.expectEOF()
	b.run("n NOOP", "n OK")
	b.run("s STATUS INBOX (MESSAGES)", "s OK")
	c := r.login("alice")
	c.run("n NOOP", "n OK")
	logs := r.logs.String()
	if !strings.Contains(logs, "panic in session") || !strings.Contains(logs, "panicStore") {
		t.Errorf("panic not logged with its stack:\n%s", logs)
	}
}

// msg/shutdown ends every non-admin session, including those waiting for
// a command, without waiting for their next command; Serve then stops
// accepting and returns once the admin's session ends too.
func TestMultiShutdownFileEndsWaitingSessions(t *testing.T) {
	r := newMultiRig(t)
	a, b, root := r.login("alice"), r.login("bob"), r.login("root")
	os.MkdirAll(filepath.Join(r.dir, "msg"), 0o755)
	if err := os.WriteFile(filepath.Join(r.dir, "msg", "shutdown"), []byte("back at noon\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for _, cl := range []*client{a, b} {
		if l := cl.expect("* BYE"); !strings.Contains(l, "[ALERT] back at noon") {
			t.Errorf("BYE line %q", l)
		}
		cl.expectEOF()
	}
	if d := time.Since(start); d > 3*shutdownPoll {
		t.Errorf("sessions ended after %v", d)
	}
	root.run("n NOOP", "n OK")
	select {
	case <-r.done:
		t.Fatal("Serve returned while the admin's session was open")
	case <-time.After(100 * time.Millisecond):
	}
	root.run("o LOGOUT", "o OK")
	select {
	case err := <-r.done:
		r.done <- err
	case <-time.After(10 * time.Second):
		t.Fatal("Serve went on accepting after msg/shutdown")
	}
}

// Shutdown (SIGTERM) says BYE to every session: one waiting for a
// command, one in IDLE, an admin's; none of them interleaved with a
// response.
func TestMultiShutdownSaysBye(t *testing.T) {
	r := newMultiRig(t)
	a, b, root := r.login("alice"), r.login("bob"), r.login("root")
	b.run("s SELECT INBOX", "s OK")
	b.run("i IDLE", "+ ")
	if left := r.srv.Shutdown("Server shutting down", 5*time.Second); left != 0 {
		t.Fatalf("%d sessions left after Shutdown", left)
	}
	for _, cl := range []*client{a, b, root} {
		if l := cl.expect("* BYE"); l != "* BYE Server shutting down\r\n" {
			t.Errorf("BYE line %q", l)
		}
		cl.expectEOF()
	}
}

// In multi mode memory is released once the last session ends, not at the
// end of each session while others are open and busy.
func TestMultiReleasesMemoryWhenNoSession(t *testing.T) {
	r := newMultiRig(t)
	var mu sync.Mutex
	released := 0
	r.srv.releaseDelay = time.Millisecond
	r.srv.releaseMemory = func() { mu.Lock(); released++; mu.Unlock() }
	a, b := r.login("alice"), r.login("bob")
	a.run("o LOGOUT", "o OK")
	a.expectEOF()
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	n := released
	mu.Unlock()
	if n != 0 {
		t.Fatalf("memory released %d times while a session was open", n)
	}
	b.run("o LOGOUT", "o OK")
	b.expectEOF()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n = released
		mu.Unlock()
		if n > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("memory never released once the last session ended")
}

// With sessions open, memory is released once the process has gone a
// whole period without a command: the sessions are idle.
func TestMultiReleasesMemoryWhenQuiet(t *testing.T) {
	r := newMultiRig(t)
	var released atomic.Int32
	r.srv.releaseMemory = func() { released.Add(1) }
	a := r.login("alice")
	a.run("s SELECT INBOX", "s OK")
	a.run("i IDLE", "+ ")
	deadline := time.Now().Add(3*shutdownPoll + time.Second)
	for released.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("memory not released while the only session idled")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Once per quiet spell: not again while nothing happens.
	time.Sleep(2*shutdownPoll + 100*time.Millisecond)
	if n := released.Load(); n != 1 {
		t.Errorf("released %d times in one quiet spell, want 1", n)
	}
}

// indexPanicStore panics when indexing a mailbox named "Panic": in the
// goroutine a session starts to index what it stored.
type indexPanicStore struct {
	ports.Store
	ports.TextIndex
}

func (p indexPanicStore) IndexMailbox(ctx context.Context, user, name string) error {
	if name == "Panic" {
		panic("index broken")
	}
	return p.TextIndex.IndexMailbox(ctx, user, name)
}

// A panic in a goroutine a session started (the indexer of
// search_index_on_write) ends that session, not the process.
func TestMultiPanicInSessionGoroutine(t *testing.T) {
	r := newMultiRigWith(t, func(st *sqlite.Store) ports.Store { return indexPanicStore{st, st} }, Options{IndexOnWrite: true})
	a, b := r.login("alice"), r.login("bob")
	a.run("c CREATE Panic", "c OK")
	msg := "Subject: x\r\n\r\ny\r\n"
	a.run("p APPEND Panic {"+strconv.Itoa(len(msg))+"+}\r\n"+msg, "p OK")
	a.expectEOF()
	b.run("n NOOP", "n OK")
	r.login("alice").run("n NOOP", "n OK")
	if logs := r.logs.String(); !strings.Contains(logs, "panic in session goroutine") || !strings.Contains(logs, "IndexMailbox") {
		t.Errorf("panic not logged with its stack:\n%s", logs)
	}
}

// quiet releases once per burst of work, after a whole period without
// any, and never while work goes on or when nothing happened since.
func TestQuietReleasesOncePerBurst(t *testing.T) {
	var q quiet
	steps := []struct {
		activity uint64
		release  bool
	}{
		{0, false}, // nothing ever happened
		{5, false}, // work
		{9, false}, // more work
		{9, true},  // a period without any: release
		{9, false}, // still quiet: released already
		{12, false},
		{12, true},
		{13, false},
		{14, false},
		{14, true},
	}
	for i, st := range steps {
		if got := q.settled(st.activity); got != st.release {
			t.Errorf("step %d (activity %d): release %v, want %v", i, st.activity, got, st.release)
		}
	}
}

// An empty msg/shutdown younger than a poll period is one being written
// (the shell creates it, then writes the line): it is looked at again
// later rather than taken for a file without a message.
func TestShutdownMessageWaitsForTheLine(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "msg"), 0o755)
	now := time.Now()
	if got := shutdownMessageAt(dir, "imap", now); got != "" {
		t.Fatalf("no file: %q", got)
	}
	p := filepath.Join(dir, "msg", "shutdown")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(p, now, now)
	if got := shutdownMessageAt(dir, "imap", now.Add(shutdownPoll/2)); got != "" {
		t.Errorf("a fresh empty file: %q, want it looked at again", got)
	}
	if got := shutdownMessageAt(dir, "imap", now.Add(shutdownPoll)); got != "Server shutting down" {
		t.Errorf("an empty file a period old: %q", got)
	}
	os.WriteFile(p, []byte("back at noon\n"), 0o644)
	if got := shutdownMessageAt(dir, "imap", time.Now()); got != "back at noon" {
		t.Errorf("the written file: %q", got)
	}
	// The service's own file is read first.
	os.WriteFile(filepath.Join(dir, "msg", "shutdown.imap"), []byte("imap only\r\n"), 0o644)
	if got := shutdownMessageAt(dir, "imap", time.Now()); got != "imap only" {
		t.Errorf("with shutdown.imap: %q", got)
	}
}
