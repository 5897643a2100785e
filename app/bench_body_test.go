package app_test

import (
	"bufio"
	"context"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/transport/tlsconf"
)

// bodyCount messages of bodySize bytes: the shape of the comparison's
// FETCH 1:* BODY[] row.
const (
	bodyCount = 300
	bodySize  = 30 << 10
)

// newStoreServer is a benchServer on the named store kind ("sqlite" or
// "maildir") holding bodyCount distinct messages in INBOX.
func newStoreServer(b *testing.B, kind string) (*benchServer, int64) {
	dir := b.TempDir()
	st := openBenchStore(b, kind, dir)
	b.Cleanup(func() { st.Close() })
	s := newBenchServerOn(b, dir, st)
	srv := s.srv
	ctx := context.Background()
	if err := st.EnsureUser(ctx, "alice"); err != nil {
		b.Fatal(err)
	}
	var total int64
	for i := range bodyCount {
		msg := benchMessage(i, bodySize, "")
		total += int64(len(msg))
		if _, err := srv.Deliver(ctx, "alice", "INBOX", strings.NewReader(msg)); err != nil {
			b.Fatal(err)
		}
	}
	return s, total
}

// BenchmarkFetchBody measures FETCH 1:* BODY[] of a few hundred 30 KB
// messages over a socket, on each store; the MB/s figure is message
// bytes sent.
func BenchmarkFetchBody(b *testing.B) {
	benchFetchBody(b, (*benchServer).connect, "EXAMINE INBOX", "FETCH 1:* BODY.PEEK[]")
}

// BenchmarkFetchBodyTCP is BenchmarkFetchBody over a loopback TCP
// connection wrapped as the master transport wraps it, the comparison's
// setting (a socket pair reaches other kernel paths).
func BenchmarkFetchBodyTCP(b *testing.B) {
	benchFetchBody(b, (*benchServer).connectTCP, "SELECT INBOX", "FETCH 1:* BODY[]")
}

func benchFetchBody(b *testing.B, connect func(*benchServer, testing.TB) *rawClient, open, fetch string) {
	for _, kind := range []string{"sqlite", "maildir"} {
		b.Run(kind, func(b *testing.B) {
			s, total := newStoreServer(b, kind)
			c := connect(s, b)
			defer c.close()
			c.cmd("l", "LOGIN alice secret")
			c.cmd("s", open)
			b.SetBytes(total)
			b.ResetTimer()
			cpu := cpuTime()
			for i := 0; i < b.N; i++ {
				if n := c.cmd("f", fetch); n != bodyCount {
					b.Fatalf("FETCH returned %d responses", n)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// connectTCP is connect over loopback TCP.
func (s *benchServer) connectTCP(b testing.TB) *rawClient {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	cli, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	srv, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	c := &rawClient{b: b, conn: cli, r: bufio.NewReaderSize(cli, 256<<10), done: make(chan struct{})}
	// A context that can end, as imapd's can: database/sql and the driver
	// do more per query for one.
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	go func() {
		defer close(c.done)
		s.srv.ServeConn(ctx, tlsconf.NewConn(srv, tlsconf.ConnOptions{}))
	}()
	if line := c.readResponse(); !strings.HasPrefix(line, "* OK") {
		b.Fatalf("greeting %q", line)
	}
	return c
}

// BenchmarkFetchFlags measures FETCH 1:* FLAGS on each store.
func BenchmarkFetchFlags(b *testing.B) {
	for _, kind := range []string{"sqlite", "maildir"} {
		b.Run(kind, func(b *testing.B) {
			s, _ := newStoreServer(b, kind)
			c := s.connect(b)
			defer c.close()
			c.cmd("l", "LOGIN alice secret")
			c.cmd("s", "EXAMINE INBOX")
			b.ResetTimer()
			cpu := cpuTime()
			for i := 0; i < b.N; i++ {
				if n := c.cmd("f", "FETCH 1:* FLAGS"); n != bodyCount {
					b.Fatalf("FETCH returned %d responses", n)
				}
			}
			reportCPU(b, cpu)
			b.ReportMetric(float64(b.N)*bodyCount/b.Elapsed().Seconds(), "messages/s")
		})
	}
}

// cpuTime is the process's user and system time so far. On a shared
// machine the CPU time an operation takes (server and client together)
// varies much less than its wall-clock time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, since time.Duration) {
	b.ReportMetric(float64((cpuTime()-since).Microseconds())/float64(b.N), "cpu-us/op")
}
