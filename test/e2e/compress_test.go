package e2e

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/telemetry/filelog"
	"github.com/imapd-go/imapd/adapters/transport/stdio"
	"github.com/imapd-go/imapd/adapters/transport/tlsconf"
	"github.com/imapd-go/imapd/app"
	"github.com/imapd-go/imapd/ports"
)

// countingReader counts the bytes that came off the wire.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// syncFlusher compresses each write as one burst: the client side of
// RFC 4978, flushing after every command line or literal.
type syncFlusher struct{ fw *flate.Writer }

func (s *syncFlusher) Write(p []byte) (int, error) {
	n, err := s.fw.Write(p)
	if err == nil {
		err = s.fw.Flush()
	}
	return n, err
}

// compressed runs COMPRESS DEFLATE on tc and returns a transcript that
// speaks through raw DEFLATE both ways over w (the stream under tc); in
// counts the compressed bytes the server sent from then on.
func compressed(t *testing.T, tc *transcript, w io.Writer) (ztc *transcript, in *countingReader) {
	t.Helper()
	tc.ok("z0 COMPRESS DEFLATE")
	if tc.r.Buffered() != 0 {
		t.Fatalf("%d bytes after COMPRESS's OK before any command", tc.r.Buffered())
	}
	in = &countingReader{r: tc.r}
	fw, err := flate.NewWriter(w, flate.DefaultCompression)
	if err != nil {
		t.Fatal(err)
	}
	ztc = newTranscript(t, flate.NewReader(in), &syncFlusher{fw}, nil)
	ztc.dl = tc.dl
	return ztc, in
}

// TestCompressDeflate: RFC 4978 on a session that goes through the
// commands whose output comes in several bursts (continuation requests,
// IDLE updates) and a large FETCH, with LITERAL+ and synchronizing
// literals, both ways compressed.
func TestCompressDeflate(t *testing.T) {
	e := newEnv(t)
	pre := e.raw()
	// Cyrus 3.6 too: not before login.
	pre.bad("p1 COMPRESS DEFLATE")
	pre.ok("p2 LOGIN alice secret")
	pre.ok("p3 CAPABILITY")
	if !strings.Contains(pre.untagged[0], " COMPRESS=DEFLATE") {
		t.Errorf("COMPRESS=DEFLATE not advertised: %q", pre.untagged[0])
	}
	// RFC 4978 section 3: an unknown algorithm, or none, is BAD.
	pre.bad("p4 COMPRESS LZW")
	pre.bad("p5 COMPRESS")
	pre.bad("p6 COMPRESS DEFLATE EXTRA")
	pre.ok("p7 SELECT INBOX")

	c := pre.w.(net.Conn)
	tc, in := compressed(t, pre, c)
	tc.ok("a1 NOOP")
	// Once only: BAD (RFC 4978 section 3) with RFC 5530's COMPRESSIONACTIVE,
	// as Cyrus 3.6 answers.
	tc.status("a2 COMPRESS DEFLATE", "BAD", "COMPRESSIONACTIVE")
	tc.ok("a3 NOOP")

	// A synchronizing literal: the "+" comes compressed and flushed.
	small := testMessage("small", "hello")
	tc.ok("a4 APPEND INBOX " + literal(small))
	tc.mustHave("* 1 EXISTS")
	// LITERAL+: no continuation.
	tc.ok("a5 APPEND INBOX " + literalPlus(small))
	// A large, compressible message: FETCH sends it in many bursts of
	// the response buffer, all of one compressed stream.
	big := testMessage("big", strings.Repeat("All work and no play makes Jack a dull boy.\r\n", 40000))
	tc.ok("a6 APPEND INBOX " + literal(big))
	before := in.n.Load()
	tc.ok("a7 FETCH 3 BODY.PEEK[]")
	if got := strings.Join(tc.untagged, "\n"); !strings.Contains(got, big) {
		t.Fatalf("FETCH of the big message lost bytes (%d bytes of responses)", len(got))
	}
	if wire := in.n.Load() - before; wire > int64(len(big))/10 {
		t.Errorf("FETCH of %d compressible bytes took %d compressed ones", len(big), wire)
	}

	// IDLE: each update is flushed at once, not held in the compressor.
	tc.send("i1 IDLE\r\n")
	tc.expect("+ ")
	other := e.rawLogin("alice")
	other.ok("o1 APPEND INBOX " + literal(small))
	expectSkipping(tc, "* 4 EXISTS", "* 4 RECENT")
	other.ok("o2 APPEND INBOX " + literal(small))
	expectSkipping(tc, "* 5 EXISTS", "* 4 RECENT", "* 5 RECENT")
	tc.send("DONE\r\n")
	expectSkipping(tc, "i1 OK", "* 5 RECENT")

	// Pipelined commands in one compressed burst.
	tc.send("b1 NOOP\r\nb2 FETCH 1 (FLAGS)\r\nb3 NOOP\r\n")
	tc.expect("b1 OK")
	tc.expect("* 1 FETCH")
	tc.expect("b2 OK")
	tc.expect("b3 OK")
	tc.ok("z9 LOGOUT")
}

// TestCompressOverTLS: after STARTTLS, the compressed stream is what TLS
// carries (compression on the clear text, then encryption).
func TestCompressOverTLS(t *testing.T) {
	certPEM, keyPEM, err := tlsconf.SelfSigned([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	dialTLSable := func() net.Conn {
		cli, sc := socketPair(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.srv.ServeConn(context.Background(), tlsconf.NewConn(sc, tlsconf.ConnOptions{Config: cfg}))
		}()
		t.Cleanup(func() { cli.Close() })
		return cli
	}

	// COMPRESS, then UNAUTHENTICATE: TLS may no longer start, since it
	// would have to go under the compression already running.
	cli := dialTLSable()
	plain := newTranscript(t, cli, cli, cli)
	plain.expect("* OK [CAPABILITY ")
	plain.ok("p1 LOGIN alice secret")
	ztc, _ := compressed(t, plain, cli)
	ztc.ok("p2 UNAUTHENTICATE")
	ztc.ok("p3 CAPABILITY")
	if strings.Contains(ztc.untagged[0], "STARTTLS") {
		t.Errorf("STARTTLS offered under COMPRESS: %q", ztc.untagged[0])
	}
	ztc.bad("p4 STARTTLS")
	ztc.ok("p5 LOGOUT")

	cli = dialTLSable()
	tc := newTranscript(t, cli, cli, cli)
	tc.expect("* OK ")
	tc.ok("s1 STARTTLS")
	tlc := tls.Client(cli, &tls.Config{InsecureSkipVerify: true})
	if err := tlc.Handshake(); err != nil {
		t.Fatal(err)
	}
	tc = newTranscript(t, tlc, tlc, cli)
	tc.ok("s2 LOGIN alice secret")
	ztc, _ = compressed(t, tc, tlc)
	msg := testMessage("over tls", strings.Repeat("compressed inside TLS\r\n", 5000))
	ztc.ok("t1 APPEND INBOX " + literal(msg))
	ztc.ok("t2 SELECT INBOX")
	ztc.ok("t3 FETCH 1 BODY[]")
	if !strings.Contains(strings.Join(ztc.untagged, "\n"), msg) {
		t.Fatal("FETCH over TLS and COMPRESS lost bytes")
	}
	ztc.ok("t4 LOGOUT")
}

// expectSkipping reads up to a response starting with want, passing over
// the responses in skip (and failing on any other).
func expectSkipping(tc *transcript, want string, skip ...string) {
	tc.t.Helper()
	for {
		s := tc.next()
		if strings.HasPrefix(s, want) {
			return
		}
		ok := false
		for _, k := range skip {
			ok = ok || s == k
		}
		if !ok {
			tc.t.Fatalf("got %q, want %q", s, want)
		}
	}
}

// compressedIdleSession is idleSession with COMPRESS DEFLATE before SELECT
// and IDLE. start is the client's compressed "SELECT INBOX" and "IDLE"
// (the same bytes open every client's stream); the client's reader of the
// server's stream is dropped once IDLE is on, so that the test process
// holds no decompressor per session.
func compressedIdleSession(t *testing.T, ctx context.Context, srv interface {
	ServeConn(context.Context, ports.Conn) error
}, wg *sync.WaitGroup, start []byte) (net.Conn, error) {
	cli, sc := socketPair(t)
	wg.Add(1)
	go func() {
		defer wg.Done()
		srv.ServeConn(ctx, stdio.NewConn(sc, "test", 0))
	}()
	cli.SetDeadline(time.Now().Add(ioTimeout))
	defer cli.SetDeadline(time.Time{})
	tc := newTranscript(t, cli, cli, nil)
	if _, err := io.WriteString(cli, "a LOGIN alice secret\r\nz COMPRESS DEFLATE\r\n"); err != nil {
		return cli, err
	}
	for {
		s, err := tc.read()
		if err != nil {
			return cli, err
		}
		if strings.HasPrefix(s, "z ") {
			if !strings.HasPrefix(s, "z OK") {
				return cli, fmt.Errorf("COMPRESS: %q", s)
			}
			break
		}
	}
	if _, err := cli.Write(start); err != nil {
		return cli, err
	}
	zr := bufio.NewReader(flate.NewReader(tc.r))
	for {
		line, err := zr.ReadString('\n')
		if err != nil {
			return cli, fmt.Errorf("IDLE session: %v after %q", err, line)
		}
		if strings.HasPrefix(line, "+ ") {
			return cli, nil
		}
	}
}

// TestCompressedIdleSessions reports what an idle compressed session
// costs: COMPRESS keeps no flate writer (about 1 MB) between bursts, only
// its reader's 32 KB window and tables.
func TestCompressedIdleSessions(t *testing.T) {
	n := idleSessions(t, 200)
	raiseFileLimit(t, uint64(2*n+200))
	dir := t.TempDir()
	st := openStore(t, filepath.Join(dir, "spool"))
	defer st.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts := app.Options{ConfigDir: dir, ServerName: "test.example", IdleTimeout: time.Hour}
	srv := app.New(opts, st, anyUser{}, filelog.New(dir, "imap", logger), logger)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var start bytes.Buffer
	fw, _ := flate.NewWriter(&start, flate.BestSpeed)
	io.WriteString(fw, "b SELECT INBOX\r\nc IDLE\r\n")
	fw.Flush()
	var wg sync.WaitGroup
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}()
	c, err := compressedIdleSession(t, ctx, srv, &wg, start.Bytes())
	conns = append(conns, c)
	if err != nil {
		t.Fatal(err)
	}
	heapBefore, stackBefore := memInUse()
	for range n {
		c, err := compressedIdleSession(t, ctx, srv, &wg, start.Bytes())
		conns = append(conns, c)
		if err != nil {
			t.Fatal(err)
		}
	}
	heapAfter, stackAfter := memInUse()
	heap := float64(int64(heapAfter)-int64(heapBefore)) / float64(n)
	stack := float64(int64(stackAfter)-int64(stackBefore)) / float64(n)
	t.Logf("%s store: %d compressed IDLE sessions: %.1f KB per session (heap %.1f KB, stacks %.1f KB)",
		e2eStore(), n, (heap+stack)/1024, heap/1024, stack/1024)
	// The reader's window (32 KB) and tables come on top of an idle
	// session's budget; a flate writer per session would be ~1 MB.
	if budget := float64(idleSessionBudget + 64<<10); heap+stack > budget {
		t.Errorf("an idle compressed session costs %.1f KB, more than %.0f KB", (heap+stack)/1024, budget/1024)
	}
}

// TestCompressPipelined: a client that sends compressed commands right
// behind COMPRESS, before the OK (RFC 4978 asks it to wait), has them
// read as the start of its compressed stream, not as clear text.
func TestCompressPipelined(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestSpeed)
	io.WriteString(fw, "a1 NOOP\r\na2 LOGOUT\r\n")
	fw.Flush()
	tc.send("z0 COMPRESS DEFLATE\r\n" + z.String())
	tc.expect("z0 OK")
	zr := bufio.NewReader(flate.NewReader(tc.r))
	for _, want := range []string{"a1 OK", "* BYE", "a2 OK"} {
		line, err := zr.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, want) {
			t.Fatalf("got %q, %v; want %q", line, err, want)
		}
	}
}
