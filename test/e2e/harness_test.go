// Package e2e drives the whole server as clients see it: a real IMAP client
// library and raw protocol transcripts over Unix socket pairs, the imapd
// binary over standard input and output, and Python's imaplib. It may
// import anything in the module.
package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"golang.org/x/crypto/bcrypt"

	"github.com/imapd-go/imapd/adapters/auth/sasl"
	"github.com/imapd-go/imapd/adapters/store/maildir"
	"github.com/imapd-go/imapd/adapters/store/postgres"
	"github.com/imapd-go/imapd/adapters/store/sqlite"
	"github.com/imapd-go/imapd/adapters/telemetry/filelog"
	"github.com/imapd-go/imapd/adapters/transport/stdio"
	"github.com/imapd-go/imapd/app"
	"github.com/imapd-go/imapd/ports"
	"github.com/imapd-go/imapd/test/pgtest"
)

// ioTimeout bounds every wait for the server, so that a server that stops
// answering fails the test instead of hanging it.
const ioTimeout = 20 * time.Second

// testUsers are the accounts every test server knows.
var testUsers = map[string]string{"alice": "secret", "bob": "secret", testAdmin: "secret"}

// testAdmin is the test servers' one admin (imapd.conf admins).
const testAdmin = "cyrus"

// StoreEnv names the store backend every test of a run uses ("sqlite",
// the default, "maildir" or "postgres", which starts a PostgreSQL server
// private to the run and gives each store directory a database of its
// own, see postgresDSN); `make test` runs the package once per
// backend, so that clients see the same server on both.
const StoreEnv = "IMAPD_E2E_STORE"

// RanEnv names a file that TestMain writes after the tests ran: the
// backend and the number of tests, so that `make test` can prove its
// second pass ran instead of coming from the test cache.
const RanEnv = "IMAPD_E2E_RAN"

// e2eStore is the backend of this run. It is read while the tests run,
// never at package init, so that go test's cache sees the variable.
func e2eStore() string {
	if s := os.Getenv(StoreEnv); s != "" {
		return s
	}
	return "sqlite"
}

// ModeEnv names the way sessions reach the server: "single" (the default:
// each dial runs app.Server.ServeConn on a socket pair) or "multi" (each
// dial connects to a listening socket that a master.Transport in multi
// mode accepts on for app.Server.Serve, many sessions in one server, as
// multisession runs them under master).
const ModeEnv = "IMAPD_E2E_MODE"

// e2eMode is the mode of this run, read while the tests run.
func e2eMode() string {
	if m := os.Getenv(ModeEnv); m != "" {
		return m
	}
	return "single"
}

func TestMain(m *testing.M) {
	store := e2eStore()
	code := pgtest.Main(m) // stops the PostgreSQL server of store postgres
	if e2eMode() != "single" {
		store += " mode=" + e2eMode()
	}
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	if f := os.Getenv(RanEnv); f != "" {
		if err := os.WriteFile(f, []byte(fmt.Sprintf("store=%s code=%d\n", store, code)), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// openStore opens the run's backend on dir.
func openStore(t *testing.T, dir string) ports.Store {
	t.Helper()
	var st ports.Store
	var err error
	switch store := e2eStore(); store {
	case "sqlite":
		st, err = sqlite.Open(dir)
	case "maildir":
		st, err = maildir.Open(dir)
	case "postgres":
		st, err = postgres.Open(context.Background(), postgres.Config{DSN: postgresDSN(t, dir)})
	default:
		t.Fatalf("%s=%q: no such store", StoreEnv, store)
	}
	if err != nil {
		t.Fatalf("open %s store: %v", e2eStore(), err)
	}
	return st
}

// env is one server: a configdirectory, a store and the app.
type env struct {
	t     *testing.T
	dir   string
	store ports.Store
	srv   *app.Server
	ctx   context.Context

	multi *multiServer // multi mode: started by the first dial
}

// newEnv starts a server with the real adapters in a temporary folder.
func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvOpts(t, app.Options{})
}

func newEnvOpts(t *testing.T, opts app.Options) *env {
	t.Helper()
	return newEnvTel(t, opts, nil)
}

// newEnvTel is newEnvOpts with the telemetry tel makes for the
// configdirectory and the Cyrus-style session logs there (nil: those
// logs alone).
func newEnvTel(t *testing.T, opts app.Options, tel func(dir string, files ports.Telemetry) ports.Telemetry) *env {
	t.Helper()
	dir := t.TempDir()
	st := openStore(t, filepath.Join(dir, "spool"))
	t.Cleanup(func() { st.Close() })
	return newEnvOn(t, dir, st, opts, tel)
}

// newEnvOn is newEnvTel with the store st, whose configdirectory is dir.
func newEnvOn(t *testing.T, dir string, st ports.Store, opts app.Options, tel func(dir string, files ports.Telemetry) ports.Telemetry) *env {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, sasl.PasswdFile), testPasswd(t), 0o600); err != nil {
		t.Fatal(err)
	}
	db := sasl.Open(dir)
	auth := sasl.New(sasl.Options{MechList: []string{"PLAIN", "LOGIN"}, AllowPlaintext: true, Admins: []string{testAdmin}}, db)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var files ports.Telemetry = filelog.New(dir, "imap", logger)
	if tel != nil {
		files = tel(dir, files)
	}
	opts.ConfigDir = dir
	if opts.ServerName == "" {
		opts.ServerName = "test.example"
	}
	if opts.FailedLoginPause == 0 {
		opts.FailedLoginPause = 10 * time.Millisecond
	}
	switch mode := e2eMode(); mode {
	case "single":
	case "multi":
		opts.MultiSession = true
	default:
		t.Fatalf("%s=%q: no such mode", ModeEnv, mode)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &env{t: t, dir: dir, store: st, srv: app.New(opts, st, auth, files, logger), ctx: ctx}
}

// passwd is testPasswd's file, made once per test binary.
var passwd struct {
	once sync.Once
	data []byte
	err  error
}

// testPasswd returns an imapd.passwd holding testUsers, as `imapctl user
// add` writes it (bcrypt hash and SCRAM-SHA-256 keys), but with bcrypt's
// lowest cost instead of 10: every test server checks real bcrypt hashes,
// and the race detector, which makes bcrypt ten times slower, no longer
// spends seconds of each test on hashing the same two passwords.
func testPasswd(t *testing.T) []byte {
	t.Helper()
	passwd.once.Do(func() {
		dir, err := os.MkdirTemp("", "e2e-passwd")
		if err != nil {
			passwd.err = err
			return
		}
		defer os.RemoveAll(dir)
		db := sasl.Open(dir)
		for u, p := range testUsers {
			if passwd.err = db.Add(u, p); passwd.err != nil {
				return
			}
		}
		b, err := os.ReadFile(filepath.Join(dir, sasl.PasswdFile))
		if err != nil {
			passwd.err = err
			return
		}
		var out []byte
		for _, line := range strings.SplitAfter(string(b), "\n") {
			name, rest, ok := strings.Cut(line, ":")
			if !ok {
				out = append(out, line...)
				continue
			}
			_, creds, _ := strings.Cut(rest, ":")
			h, err := bcrypt.GenerateFromPassword([]byte(testUsers[name]), bcrypt.MinCost)
			if err != nil {
				passwd.err = err
				return
			}
			out = append(out, name+":"+string(h)+":"+creds...)
		}
		passwd.data = out
	})
	if passwd.err != nil {
		t.Fatalf("the test users' password file: %v", passwd.err)
	}
	return passwd.data
}

// socketPair returns the two ends of a connected AF_UNIX stream socket.
func socketPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	conns := make([]net.Conn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair-"+strconv.Itoa(i))
		c, err := net.FileConn(f)
		f.Close() // FileConn holds its own duplicate
		if err != nil {
			t.Fatalf("FileConn: %v", err)
		}
		conns[i] = c
	}
	return conns[0], conns[1]
}

// dial connects a new session to the server and returns the client end.
// The session's goroutine is waited for at the end of the test.
func (e *env) dial() net.Conn {
	e.t.Helper()
	if e2eMode() == "multi" {
		return e.dialMulti()
	}
	cli, srvConn := socketPair(e.t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.srv.ServeConn(e.ctx, stdio.NewConn(srvConn, "test", 0))
	}()
	e.t.Cleanup(func() {
		cli.Close()
		select {
		case <-done:
		case <-time.After(ioTimeout):
			e.t.Errorf("session did not end after the client closed")
		}
	})
	return cli
}

// client connects a go-imap client, without logging in.
func (e *env) client(opts *imapclient.Options) *imapclient.Client {
	e.t.Helper()
	c := imapclient.New(e.dial(), opts)
	e.t.Cleanup(func() { c.Close() })
	if err := c.WaitGreeting(); err != nil {
		e.t.Fatalf("greeting: %v", err)
	}
	return c
}

// login connects a go-imap client logged in as user.
func (e *env) login(user string, opts *imapclient.Options) *imapclient.Client {
	e.t.Helper()
	c := e.client(opts)
	if err := c.Login(user, testUsers[user]).Wait(); err != nil {
		e.t.Fatalf("LOGIN %s: %v", user, err)
	}
	return c
}

// raw connects a transcript client and reads the greeting.
func (e *env) raw() *transcript {
	e.t.Helper()
	c := e.dial()
	tc := newTranscript(e.t, c, c, c)
	tc.greeting = tc.expect("* OK ")
	return tc
}

// rawLogin connects a transcript client logged in as user.
func (e *env) rawLogin(user string) *transcript {
	tc := e.raw()
	tc.ok("l0 LOGIN " + user + " " + testUsers[user])
	return tc
}

// transcript is a raw IMAP client that reads like a protocol transcript.
// Responses are returned whole: a response line with literals keeps them
// inline ("{n}\r\n" followed by the n bytes), as on the wire, without the
// final CRLF.
type transcript struct {
	t        testing.TB
	r        *bufio.Reader
	w        io.Writer
	dl       interface{ SetReadDeadline(time.Time) error }
	greeting string
	// untagged holds the untagged responses of the last command run with
	// ok, no, bad or run.
	untagged []string
}

func newTranscript(t testing.TB, r io.Reader, w io.Writer, dl any) *transcript {
	tc := &transcript{t: t, r: bufio.NewReaderSize(r, 64<<10), w: w}
	if d, ok := dl.(interface{ SetReadDeadline(time.Time) error }); ok {
		tc.dl = d
	}
	return tc
}

var literalAtEnd = regexp.MustCompile(`\{(\d+)\}$`)

// read returns the next response, or an error (io.EOF at the end).
func (tc *transcript) read() (string, error) {
	if tc.dl != nil {
		tc.dl.SetReadDeadline(time.Now().Add(ioTimeout))
	}
	var b strings.Builder
	for {
		line, err := tc.r.ReadString('\n')
		if err != nil {
			if b.Len() > 0 || line != "" {
				return b.String() + line, fmt.Errorf("response cut short: %w", err)
			}
			return "", err
		}
		line = strings.TrimSuffix(line, "\n")
		line = strings.TrimSuffix(line, "\r")
		b.WriteString(line)
		m := literalAtEnd.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(b.String(), "+") {
			return b.String(), nil
		}
		n, _ := strconv.Atoi(m[1])
		b.WriteString("\r\n")
		buf := make([]byte, n)
		if _, err := io.ReadFull(tc.r, buf); err != nil {
			return b.String(), fmt.Errorf("literal cut short: %w", err)
		}
		b.Write(buf)
	}
}

// next returns the next response or fails the test.
func (tc *transcript) next() string {
	tc.t.Helper()
	s, err := tc.read()
	if err != nil {
		tc.t.Fatalf("reading response: %v (got %q)", err, s)
	}
	return s
}

// send writes raw bytes as they are.
func (tc *transcript) send(raw string) {
	tc.t.Helper()
	if _, err := io.WriteString(tc.w, raw); err != nil {
		tc.t.Fatalf("send: %v", err)
	}
}

// expect reads the next response and checks that it starts with prefix.
func (tc *transcript) expect(prefix string) string {
	tc.t.Helper()
	s := tc.next()
	if !strings.HasPrefix(s, prefix) {
		tc.t.Fatalf("got %q, want a response starting with %q", s, prefix)
	}
	return s
}

// expectEOF checks that the server closed the connection.
func (tc *transcript) expectEOF() {
	tc.t.Helper()
	if s, err := tc.read(); err == nil {
		tc.t.Fatalf("got %q, want the connection closed", s)
	}
}

var syncLiteral = regexp.MustCompile(`\{(\d+)\}\r\n`)

// run sends one command (CRLF added) and reads its responses up to the
// tagged one, which it returns; untagged ones go to tc.untagged. Before the
// bytes of each synchronizing literal it waits for the server's "+".
func (tc *transcript) run(cmd string) string {
	tc.t.Helper()
	tag, _, _ := strings.Cut(cmd, " ")
	tc.untagged = nil
	rest := cmd + "\r\n"
	for {
		loc := syncLiteral.FindStringIndex(rest)
		if loc == nil {
			tc.send(rest)
			break
		}
		tc.send(rest[:loc[1]])
		rest = rest[loc[1]:]
		for {
			s := tc.next()
			if strings.HasPrefix(s, "+") {
				break
			}
			if strings.HasPrefix(s, tag+" ") {
				tc.t.Fatalf("%s: got %q while waiting for a continuation", cmd, s)
			}
			tc.untagged = append(tc.untagged, s)
		}
	}
	return tc.finish(tag)
}

// finish reads responses up to the one tagged tag.
func (tc *transcript) finish(tag string) string {
	tc.t.Helper()
	for {
		s := tc.next()
		if strings.HasPrefix(s, tag+" ") {
			return s
		}
		tc.untagged = append(tc.untagged, s)
	}
}

// status runs cmd and checks the tagged status and, when code is not
// empty, that the response carries "[code".
func (tc *transcript) status(cmd, status, code string) string {
	tc.t.Helper()
	tag, _, _ := strings.Cut(cmd, " ")
	s := tc.run(cmd)
	if !strings.HasPrefix(s, tag+" "+status+" ") && s != tag+" "+status {
		tc.t.Fatalf("%q: got %q, want %s %s", cmd, s, tag, status)
	}
	if code != "" && !strings.Contains(s, "["+code) {
		tc.t.Fatalf("%q: got %q, want response code [%s]", cmd, s, code)
	}
	return s
}

func (tc *transcript) ok(cmd string) string { tc.t.Helper(); return tc.status(cmd, "OK", "") }

func (tc *transcript) no(cmd, code string) string { tc.t.Helper(); return tc.status(cmd, "NO", code) }

func (tc *transcript) bad(cmd string) string { tc.t.Helper(); return tc.status(cmd, "BAD", "") }

// has reports whether one of the last untagged responses equals s, up
// to the form of strings that could be atoms: a server may send a mailbox
// name as INBOX or "INBOX".
func (tc *transcript) has(s string) bool {
	s = unquoteAtoms(s)
	for _, u := range tc.untagged {
		if unquoteAtoms(u) == s {
			return true
		}
	}
	return false
}

var quotedAtom = regexp.MustCompile(`"([^"\\\x00-\x20(){%*\]\x7f-\xff]+)"`)

// unquoteAtoms rewrites each quoted string that could be sent as an atom
// ("INBOX", "a/b") in its atom form, except NIL.
func unquoteAtoms(s string) string {
	return quotedAtom.ReplaceAllStringFunc(s, func(q string) string {
		if strings.EqualFold(q, `"NIL"`) {
			return q
		}
		return q[1 : len(q)-1]
	})
}

// mustHave fails unless the last command's untagged responses include
// each of want exactly.
func (tc *transcript) mustHave(want ...string) {
	tc.t.Helper()
	for _, w := range want {
		if !tc.has(w) {
			tc.t.Errorf("untagged responses %q lack %q", tc.untagged, w)
		}
	}
}

// withPrefix returns the last untagged responses starting with prefix.
func (tc *transcript) withPrefix(prefix string) []string {
	var out []string
	for _, u := range tc.untagged {
		if strings.HasPrefix(u, prefix) {
			out = append(out, u)
		}
	}
	return out
}

// mustNotHavePrefix fails if an untagged response starts with prefix or
// contains it after "* n ".
func (tc *transcript) mustNotContain(part string) {
	tc.t.Helper()
	for _, u := range tc.untagged {
		if strings.Contains(u, part) {
			tc.t.Errorf("unexpected untagged response %q", u)
		}
	}
}

// literal returns s as a non-synchronizing literal "{n+}\r\n" + s.
func literalPlus(s string) string { return "{" + strconv.Itoa(len(s)) + "+}\r\n" + s }

// literal returns s as a synchronizing literal "{n}\r\n" + s.
func literal(s string) string { return "{" + strconv.Itoa(len(s)) + "}\r\n" + s }

// fixture returns a small test message with CRLF line ends.
func testMessage(subject, body string) string {
	return strings.ReplaceAll("From: Alice <alice@example.com>\n"+
		"To: Bob <bob@example.com>\n"+
		"Subject: "+subject+"\n"+
		"Date: Tue, 4 Jun 2024 10:00:00 +0000\n"+
		"Message-ID: <"+strings.ReplaceAll(subject, " ", ".")+"@example.com>\n"+
		"MIME-Version: 1.0\n"+
		"Content-Type: text/plain; charset=us-ascii\n"+
		"\n"+body+"\n", "\n", "\r\n")
}
