package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/auth/sasl"
	"github.com/imapd-go/imapd/adapters/telemetry/filelog"
	"github.com/imapd-go/imapd/adapters/transport/stdio"
	"github.com/imapd-go/imapd/ports"
)

// queueTransport hands out the connections sent on conns, then io.EOF once
// conns is closed.
type queueTransport struct{ conns chan ports.Conn }

func (q *queueTransport) Accept(ctx context.Context) (ports.Conn, error) {
	c, ok := <-q.conns
	if !ok {
		return nil, io.EOF
	}
	return c, nil
}

func (q *queueTransport) Close() error { return nil }

// logoutSession queues one connection whose client says LOGOUT, and
// returns when the server has answered it.
func logoutSession(t *testing.T, q *queueTransport) {
	t.Helper()
	srv, cli := net.Pipe()
	q.conns <- stdio.NewConn(srv, "test", 0)
	go cli.Write([]byte("a LOGOUT\r\n"))
	b, err := io.ReadAll(cli)
	if err != nil || len(b) == 0 {
		t.Fatalf("session: %q, %v", b, err)
	}
}

// TestServeReleasesMemoryOnlyWhenIdle: a process that goes from one session
// straight to the next does not force a garbage collection between them;
// one left waiting for a connection does.
func TestServeReleasesMemoryOnlyWhenIdle(t *testing.T) {
	var released atomic.Int32
	dir, log := t.TempDir(), slog.New(slog.DiscardHandler)
	auth := sasl.New(sasl.Options{MechList: []string{"PLAIN"}, AllowPlaintext: true}, sasl.Open(dir))
	serve := func(delay time.Duration, sessions int) {
		s := New(Options{ServerName: "test", ConfigDir: dir}, nil, auth, filelog.New(dir, "imap", log), log)
		s.releaseMemory = func() { released.Add(1) }
		s.releaseDelay = delay
		q := &queueTransport{conns: make(chan ports.Conn)}
		done := make(chan error, 1)
		go func() { done <- s.Serve(context.Background(), q) }()
		for range sessions {
			logoutSession(t, q)
		}
		if delay < time.Second {
			deadline := time.Now().Add(10 * time.Second)
			for released.Load() == 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
		}
		close(q.conns)
		if err := <-done; err != nil {
			t.Fatalf("Serve: %v", err)
		}
	}

	serve(time.Hour, 3)
	if n := released.Load(); n != 0 {
		t.Errorf("memory released %d times between back-to-back sessions, want 0", n)
	}
	// Now an idle wait longer than the delay.
	serve(time.Millisecond, 1)
	if released.Load() == 0 {
		t.Error("memory never released while the process waited for a connection")
	}
}

// TestSessionGivesBackReadBuffer: a session that ends gives its read
// buffer back, so that sessions served one after another take the same
// one instead of 16 KB each.
func TestSessionGivesBackReadBuffer(t *testing.T) {
	dir, log := t.TempDir(), slog.New(slog.DiscardHandler)
	auth := sasl.New(sasl.Options{MechList: []string{"PLAIN"}, AllowPlaintext: true}, sasl.Open(dir))
	s := New(Options{ServerName: "test", ConfigDir: dir}, nil, auth, filelog.New(dir, "imap", log), log)
	q := &queueTransport{conns: make(chan ports.Conn)}
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background(), q) }()
	logoutSession(t, q)
	free := readers.Kept
	// The server's side of the session ends after the client read its
	// last byte.
	deadline := time.Now().Add(10 * time.Second)
	for free() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	before := free()
	for range 5 {
		logoutSession(t, q)
	}
	close(q.conns)
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	// Other tests' sessions may still give theirs back meanwhile, never
	// take one.
	if before == 0 || free() < before {
		t.Errorf("free read buffers: %d after the first session, %d after five more; want as many, not 0", before, free())
	}
}
