package app_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
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

	"github.com/imapd-go/imapd/adapters/store/sqlite"
	"github.com/imapd-go/imapd/adapters/transport/stdio"
	"github.com/imapd-go/imapd/app"
	"github.com/imapd-go/imapd/domain/imap"
)

// benchServer is an app.Server on a sqlite store in a temporary folder,
// with user "alice" (password "secret").
type benchServer struct {
	srv   *app.Server
	store *sqlite.Store
	dir   string
}

func newBenchServer(b testing.TB, dir string) *benchServer {
	b.Helper()
	st, err := sqlite.Open(filepath.Join(dir, "spool"))
	if err != nil {
		b.Fatalf("sqlite.Open: %v", err)
	}
	s := newBenchServerOn(b, dir, st)
	s.store = st
	return s
}

// rawClient speaks IMAP line by line over one end of a socket pair.
type rawClient struct {
	b    testing.TB
	conn net.Conn
	r    *bufio.Reader
	done chan struct{}
}

func socketPair(b testing.TB) (net.Conn, net.Conn) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	var conns [2]net.Conn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		conns[i] = c
	}
	return conns[0], conns[1]
}

// connect starts a session and reads the greeting.
func (s *benchServer) connect(b testing.TB) *rawClient {
	cli, srv := socketPair(b)
	c := &rawClient{b: b, conn: cli, r: bufio.NewReaderSize(cli, 64<<10), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		s.srv.ServeConn(context.Background(), stdio.NewConn(srv, "bench", 0))
	}()
	if line := c.readResponse(); !strings.HasPrefix(line, "* OK") {
		b.Fatalf("greeting %q", line)
	}
	return c
}

var literalEnd = regexp.MustCompile(`\{(\d+)\}$`)

// readResponse returns one response line with its literals skipped.
func (c *rawClient) readResponse() string {
	c.conn.SetReadDeadline(time.Now().Add(time.Minute))
	var first string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.b.Fatalf("read: %v", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if first == "" {
			first = line
		}
		m := literalEnd.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(line, "+") {
			return first
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		if _, err := io.CopyN(io.Discard, c.r, n); err != nil {
			c.b.Fatalf("literal: %v", err)
		}
	}
}

// cmd sends a command and reads up to its tagged response, which must be
// OK; it returns the number of untagged responses.
func (c *rawClient) cmd(tag, command string) int {
	if _, err := io.WriteString(c.conn, tag+" "+command+"\r\n"); err != nil {
		c.b.Fatalf("write: %v", err)
	}
	n := 0
	for {
		line := c.readResponse()
		if strings.HasPrefix(line, tag+" ") {
			if !strings.HasPrefix(line, tag+" OK") {
				c.b.Fatalf("%s: %s", command, line)
			}
			return n
		}
		n++
	}
}

func (c *rawClient) close() {
	c.conn.Close()
	<-c.done
}

func benchMessage(i int, size int, word string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "From: Sender %d <sender%d@example.com>\r\nTo: Alice <alice@example.com>\r\n"+
		"Subject: Benchmark message %d\r\nDate: Tue, 4 Jun 2024 10:00:00 +0000\r\n"+
		"Message-ID: <bench%d@example.com>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=us-ascii\r\n\r\n", i, i, i, i)
	if word != "" {
		sb.WriteString("This one mentions " + word + ".\r\n")
	}
	line := "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do.\r\n"
	for sb.Len()+len(line) <= size {
		sb.WriteString(line)
	}
	return sb.String()
}

// bigMailbox is a 10,000-message INBOX prepared once per process; every
// hundredth message holds the word "zanzibar".
var (
	bigOnce sync.Once
	bigDir  string
	bigErr  error
)

const bigCount = 10000

func prepareBig(b *testing.B) *benchServer {
	bigOnce.Do(func() {
		bigDir, bigErr = os.MkdirTemp("", "imapd-bench-")
		if bigErr != nil {
			return
		}
		s := newBenchServer(b, bigDir)
		ctx := context.Background()
		// 100 distinct messages delivered once, then copied in bulk:
		// one transaction per copy instead of one per message.
		if bigErr = s.store.EnsureUser(ctx, "alice"); bigErr != nil {
			return
		}
		if bigErr = s.store.CreateMailbox(ctx, "alice", "stage"); bigErr != nil {
			return
		}
		for i := range 100 {
			word := ""
			if i == 42 {
				word = "zanzibar"
			}
			if _, bigErr = s.srv.Deliver(ctx, "alice", "stage", strings.NewReader(benchMessage(i, 2048, word))); bigErr != nil {
				return
			}
		}
		_, metas, err := s.store.Snapshot(ctx, "alice", "stage")
		if err != nil {
			bigErr = err
			return
		}
		uids := make([]imap.UID, len(metas))
		for i, m := range metas {
			uids[i] = m.UID
		}
		for range bigCount / len(uids) {
			if _, bigErr = s.store.Copy(ctx, "alice", "stage", uids, "INBOX"); bigErr != nil {
				return
			}
		}
		bigErr = s.store.Close()
	})
	if bigErr != nil {
		b.Fatalf("preparing the mailbox: %v", bigErr)
	}
	s := newBenchServer(b, bigDir)
	b.Cleanup(func() { s.store.Close() })
	return s
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bigDir != "" {
		os.RemoveAll(bigDir)
	}
	for _, dir := range headerCorpusDirs {
		os.RemoveAll(dir)
	}
	for _, dir := range fetchCorpusDirs {
		os.RemoveAll(dir)
	}
	for _, dir := range sortCorpusTemps {
		os.RemoveAll(dir)
	}
	for _, b := range fuzz2Srvs {
		b.store.Close()
	}
	if fuzz2Dir != "" {
		os.RemoveAll(fuzz2Dir)
	}
	os.Exit(code)
}

func BenchmarkFetchEnvelope10k(b *testing.B) { benchFetchBig(b, "UID FLAGS ENVELOPE") }

func BenchmarkFetchBodyStructure10k(b *testing.B) { benchFetchBig(b, "UID FLAGS BODYSTRUCTURE") }

// benchFetchBig times FETCH 1:* (items) over the 10k mailbox.
func benchFetchBig(b *testing.B, items string) {
	s := prepareBig(b)
	c := s.connect(b)
	defer c.close()
	c.cmd("l", "LOGIN alice secret")
	c.cmd("s", "EXAMINE INBOX")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if n := c.cmd("f", "FETCH 1:* ("+items+")"); n != bigCount {
			b.Fatalf("FETCH returned %d responses", n)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fetches/s")
	b.ReportMetric(float64(b.N)*bigCount/b.Elapsed().Seconds(), "messages/s")
}

func BenchmarkSearchText10k(b *testing.B) {
	s := prepareBig(b)
	c := s.connect(b)
	defer c.close()
	c.cmd("l", "LOGIN alice secret")
	c.cmd("s", "EXAMINE INBOX")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.cmd("q", `UID SEARCH TEXT "zanzibar"`)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "searches/s")
}

func BenchmarkSession(b *testing.B) {
	s := newBenchServer(b, b.TempDir())
	warm := s.connect(b)
	warm.cmd("l", "LOGIN alice secret") // creates the user's INBOX
	warm.close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := s.connect(b)
		c.cmd("l", "LOGIN alice secret")
		c.cmd("s", "SELECT INBOX")
		c.cmd("o", "LOGOUT")
		c.close()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/session")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sessions/s")
}
