// Package pgtest runs a PostgreSQL cluster private to one test binary:
// initdb into a temporary directory, then the server on a private socket
// directory and a free loopback port, as an unprivileged user (PostgreSQL
// refuses to run as root, so a root test run drops to "nobody"). Each test
// takes a fresh database from it.
//
// It needs Debian's postgresql package (or initdb, pg_ctl and postgres on
// PATH). Without it the tests that ask for a server are skipped, and the
// binary says so in one line; with IMAPD_REQUIRE_POSTGRES set they fail.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is one running cluster. Its superuser is "imapd", with trust
// authentication on the socket and on loopback.
type Server struct {
	// Dir holds the cluster's files: data/ and the socket directory.
	Dir string
	// SocketDir is the directory of the Unix socket (a pgx host).
	SocketDir string
	// Port is the TCP port on 127.0.0.1, also the socket's number.
	Port int
	// User is the superuser's name.
	User string

	bin  string
	cred *syscall.Credential
	mu   sync.Mutex
	next int
	up   bool
}

// Options change how a server is started.
type Options struct {
	// Durable keeps fsync on, for benchmarks that must pay for it as a
	// production server does. Tests leave it off: no test here survives a
	// crash of the machine, only of the processes on it.
	Durable bool
}

var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
	skipOnce   sync.Once
)

// Shared returns the binary's one server, starting it on first use. When
// PostgreSQL is missing it skips t (and fails it when IMAPD_REQUIRE_POSTGRES
// is set). Call Main from TestMain to stop it at the end.
func Shared(t testing.TB) *Server {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = Start(Options{}) })
	if sharedErr != nil {
		Unavailable(t, sharedErr)
	}
	return shared
}

// Unavailable skips or fails t for a server that could not start.
func Unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("IMAPD_REQUIRE_POSTGRES") != "" {
		t.Fatalf("PostgreSQL: %v (IMAPD_REQUIRE_POSTGRES is set)", err)
	}
	skipOnce.Do(func() {
		fmt.Fprintf(os.Stderr, "pgtest: skipping every PostgreSQL test of %s: %v\n", filepath.Base(os.Args[0]), err)
	})
	t.Skipf("PostgreSQL: %v", err)
}

// Main runs the tests and stops the shared server, if one was started.
// Use it as TestMain's body: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	return code
}

// Bin finds the directory of initdb, pg_ctl and postgres: Debian's newest
// /usr/lib/postgresql/<version>/bin, else PATH.
func Bin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	p, err := exec.LookPath("initdb")
	if err != nil {
		return "", errors.New("initdb not found (install Debian's postgresql package)")
	}
	return filepath.Dir(p), nil
}

func versionOf(bin string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(bin)))
	return n
}

// Start creates and starts a new cluster.
func Start(o Options) (*Server, error) {
	bin, err := Bin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "imapd-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, SocketDir: filepath.Join(dir, "sock"), User: "imapd", bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			return nil, fmt.Errorf("running as root and no user nobody to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// Services under Cyrus's master run as another user than the test:
	// the socket directory is open to all, as /run/postgresql is.
	if err := os.MkdirAll(s.SocketDir, 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return nil, err
	}
	if s.cred != nil {
		// The parent must be passable for the server's user; the rest is
		// its own.
		if err := os.Chmod(dir, 0o755); err != nil {
			return nil, err
		}
		for _, d := range []string{dir, s.SocketDir, filepath.Join(dir, "data")} {
			if err := os.Chown(d, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
				return nil, err
			}
		}
	}
	if out, err := s.run("initdb", "-D", filepath.Join(dir, "data"), "-U", s.User,
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"); err != nil {
		s.cleanup()
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	fsync := "off"
	if o.Durable {
		fsync = "on"
	}
	conf := fmt.Sprintf("\n# pgtest\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n"+
		"fsync = %s\nfull_page_writes = %s\nmax_connections = 400\nshared_buffers = 32MB\n"+
		"logging_collector = off\nlog_min_messages = warning\n", s.SocketDir, fsync, fsync)
	f, err := os.OpenFile(filepath.Join(dir, "data", "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		s.cleanup()
		return nil, err
	}
	_, err = f.WriteString(conf)
	f.Close()
	if err != nil {
		s.cleanup()
		return nil, err
	}
	// A free port is asked of the kernel and given back; a race with
	// another binary taking it between is retried.
	for attempt := 0; ; attempt++ {
		s.Port, err = freePort()
		if err == nil {
			err = s.Restart()
		}
		if err == nil {
			return s, nil
		}
		if attempt == 4 {
			s.cleanup()
			return nil, err
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.Dir
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// Restart starts the server if it is stopped (Stop, Kill), and waits until
// it takes connections.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.up {
		return nil
	}
	out, err := s.run("pg_ctl", "-D", filepath.Join(s.Dir, "data"), "-l", filepath.Join(s.Dir, "log"),
		"-o", "-p "+strconv.Itoa(s.Port), "-w", "-t", "60", "start")
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(s.Dir, "log"))
		return fmt.Errorf("pg_ctl start: %v: %s%s", err, out, tail(log))
	}
	s.up = true
	return nil
}

// Stop shuts the server down at once (pg_ctl's immediate mode, which is
// what a crash of the database looks like to its clients) and removes its
// files.
func (s *Server) Stop() {
	s.Kill()
	s.cleanup()
}

// Kill stops the server in immediate mode and keeps its files, so that
// Restart brings the same data back.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.up {
		return
	}
	s.run("pg_ctl", "-D", filepath.Join(s.Dir, "data"), "-m", "immediate", "-w", "stop")
	s.up = false
}

func (s *Server) cleanup() { os.RemoveAll(s.Dir) }

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// DSN is the connection string of database db over the socket.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", s.SocketDir, s.Port, s.User, db)
}

// TCPDSN is the connection string of database db over loopback TCP.
func (s *Server) TCPDSN(db string) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=%s dbname=%s sslmode=disable", s.Port, s.User, db)
}

// CreateDatabase creates a new, empty database and returns its name.
func (s *Server) CreateDatabase() (string, error) {
	s.mu.Lock()
	s.next++
	name := fmt.Sprintf("t%d_%d", os.Getpid(), s.next)
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return "", err
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	return name, nil
}

// NewDatabase creates a database for t and returns its DSN over the socket.
// The database is dropped when t ends.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name, err := s.CreateDatabase()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { s.DropDatabase(name) })
	return s.DSN(name)
}

// DropDatabase drops database name, ending its sessions first.
func (s *Server) DropDatabase(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// DatabaseOf returns the dbname of a DSN made by this package.
func DatabaseOf(dsn string) string {
	for _, f := range strings.Fields(dsn) {
		if v, ok := strings.CutPrefix(f, "dbname="); ok {
			return v
		}
	}
	return ""
}
