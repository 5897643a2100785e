package master

import (
	"context"
	"testing"
	"time"

	"github.com/imapd-go/imapd/ports"
)

// accept takes one connection from a client it dials, leaving it open.
func (g *rig) accept() ports.Conn {
	g.t.Helper()
	g.dial()
	c, err := g.tr.Accept(context.Background())
	if err != nil {
		g.t.Fatalf("Accept: %v", err)
	}
	return c
}

// In multi mode every connection is reported as CONNECTION_MULTI, never
// UNAVAILABLE, while the earlier ones stay open; once -U connections were
// taken the process reports UNAVAILABLE once and accepts no more.
func TestMultiStatusAndUses(t *testing.T) {
	g := newRig(t, "tcp", Options{Uses: 3, Multi: true})
	var open []ports.Conn
	for i := 0; i < 3; i++ {
		open = append(open, g.accept())
		g.expect(StatusConnectionMulti)
		g.noStatus()
	}
	if n := g.tr.Open(); n != 3 {
		t.Errorf("Open = %d, want 3", n)
	}
	g.acceptEOF()
	g.expect(StatusUnavailable)
	g.acceptEOF()
	g.noStatus()
	for _, c := range open {
		c.Close()
		c.Close() // a second Close counts once
	}
	if n := g.tr.Open(); n != 0 {
		t.Errorf("Open = %d after closing all, want 0", n)
	}
}

// SIGHUP stops accepting at once, even with sessions open, and reports
// UNAVAILABLE so that master forks a replacement.
func TestMultiHangup(t *testing.T) {
	g := newRig(t, "tcp", Options{Uses: 100, Multi: true})
	c := g.accept()
	defer c.Close()
	g.expect(StatusConnectionMulti)
	done := make(chan error, 1)
	go func() { _, err := g.tr.Accept(context.Background()); done <- err }()
	time.Sleep(100 * time.Millisecond)
	g.tr.Hangup()
	select {
	case err := <-done:
		if err == nil || err.Error() != "EOF" {
			t.Fatalf("Accept = %v, want EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Accept went on after Hangup")
	}
	g.expect(StatusUnavailable)
	g.noStatus()
}

// The reuse timeout does not run while a session is open, and starts once
// the last one closes.
func TestMultiReuseTimeoutOnlyWhenIdle(t *testing.T) {
	g := newRig(t, "tcp", Options{Uses: 100, Multi: true, ReuseTimeout: time.Second})
	c := g.accept()
	g.expect(StatusConnectionMulti)
	done := make(chan error, 1)
	go func() { _, err := g.tr.Accept(context.Background()); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("Accept ended (%v) while a session was open", err)
	case <-time.After(2500 * time.Millisecond): // past 2T-1
	}
	start := time.Now()
	c.Close()
	select {
	case err := <-done:
		if err == nil || err.Error() != "EOF" {
			t.Fatalf("Accept = %v, want EOF", err)
		}
		if d := time.Since(start); d < 900*time.Millisecond {
			t.Errorf("reuse timeout after %v, want at least 1s from the last close", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no reuse timeout once idle")
	}
	g.expect(StatusUnavailable)
}

// A session that closes during a wait arms the reuse timeout from the
// watching goroutine; a connection that comes next is taken as usual (run
// with -race: the watcher must not read what Accept then updates).
func TestMultiIdleThenConnection(t *testing.T) {
	g := newRig(t, "tcp", Options{Uses: 100, Multi: true, ReuseTimeout: time.Hour})
	c := g.accept()
	g.expect(StatusConnectionMulti)
	for i := 0; i < 3; i++ {
		got := make(chan ports.Conn, 1)
		go func() {
			n, err := g.tr.Accept(context.Background())
			if err != nil {
				t.Error(err)
			}
			got <- n
		}()
		time.Sleep(20 * time.Millisecond)
		c.Close() // the process is idle: the timeout is armed
		time.Sleep(20 * time.Millisecond)
		g.dial()
		c = <-got
		if c == nil {
			return
		}
		g.expect(StatusConnectionMulti)
	}
	c.Close()
}
