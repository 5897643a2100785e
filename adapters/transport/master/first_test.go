package master

import (
	"context"
	"net"
	"os"
	"testing"
	"time"
)

// line is a listening socket shared by several single-mode Transports, as
// master shares one among the processes of a service.
type line struct {
	t    *testing.T
	addr string
	trs  []*Transport
}

func newLine(t *testing.T, n int) *line {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	lf, err := ln.(interface{ File() (*os.File, error) }).File()
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	l := &line{t: t, addr: ln.Addr().String()}
	for range n {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() { // the status messages, unread here
			var b [64]byte
			for {
				if _, err := r.Read(b[:]); err != nil {
					return
				}
			}
		}()
		tr, err := New(w, lf, Options{Uses: 1000, Exe: os.DevNull})
		if err != nil {
			t.Fatal(err)
		}
		if tr.ep < 0 {
			t.Skip("no EPOLLEXCLUSIVE on this kernel: the accept lock decides")
		}
		t.Cleanup(func() { tr.Close(); r.Close(); w.Close() })
		l.trs = append(l.trs, tr)
	}
	return l
}

// serve runs Accept on transport i in a loop, reporting each connection
// on got; while hold is true a connection is kept open (the process stays
// busy) until release is closed.
func (l *line) serve(i int, got chan<- int, waiting chan<- int, hold bool, release <-chan struct{}) {
	for {
		waiting <- i
		c, err := l.trs[i].Accept(context.Background())
		if err != nil {
			return
		}
		got <- i
		if hold {
			<-release
		}
		c.Close()
	}
}

// TestOldestWaitingGetsConnection: of the processes waiting for a
// connection, the one that started first gets it, so that a few clients
// keep the same few processes busy rather than every process of a burst.
func TestOldestWaitingGetsConnection(t *testing.T) {
	l := newLine(t, 3)
	got, waiting := make(chan int, 16), make(chan int, 16)
	release := make(chan struct{})
	defer close(release)
	// Started in the reverse order of their registration, so that the
	// order of the calls to Accept is not what decides.
	for i := 2; i >= 0; i-- {
		go l.serve(i, got, waiting, false, nil)
	}
	ready := map[int]bool{}
	for len(ready) < 3 {
		ready[<-waiting] = true
	}
	counts := [3]int{}
	for range 10 {
		time.Sleep(20 * time.Millisecond) // the last one back in its epoll_wait
		c, err := net.Dial("tcp", l.addr)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case i := <-got:
			counts[i]++
		case <-time.After(10 * time.Second):
			t.Fatal("no process accepted the connection")
		}
		<-waiting // back for the next one
		c.Close()
	}
	if counts[0] < 9 {
		t.Errorf("connections per process in order of start: %v; want (nearly) all for the first", counts)
	}
}

// TestNextInLineWhenBusy: while the first process serves a session, the
// next one in order of start gets the next connection.
func TestNextInLineWhenBusy(t *testing.T) {
	l := newLine(t, 3)
	got, waiting := make(chan int, 16), make(chan int, 16)
	release := make(chan struct{})
	defer close(release)
	for i := 2; i >= 0; i-- {
		go l.serve(i, got, waiting, true, release)
	}
	for range 3 {
		<-waiting
	}
	time.Sleep(20 * time.Millisecond)
	for want := range 3 {
		c, err := net.Dial("tcp", l.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		select {
		case i := <-got:
			if i != want {
				t.Fatalf("connection %d went to process %d, want %d (the oldest not busy)", want, i, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no process accepted the connection")
		}
	}
}
