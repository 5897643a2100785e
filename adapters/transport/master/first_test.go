package master

import (
	"context"
	"net"
	"os"
	"testing"
	"time"
)

// line is a listening socket shared by several single-mode Transports, as
// master shares one among the processes of a service; got reports which
// of them accepted each connection, waiting which one is back in Accept.
type line struct {
	t       *testing.T
	addr    string
	trs     []*Transport
	got     chan int
	waiting chan int
	release chan struct{} // closed at the end: busy processes let go
}

func newLine(t *testing.T, n int) *line {
	t.Helper()
	ln, lf := listenFile(t, "tcp")
	defer lf.Close()
	l := &line{t: t, addr: ln.Addr().String(), got: make(chan int, 16), waiting: make(chan int, 16), release: make(chan struct{})}
	t.Cleanup(func() { close(l.release) })
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

// start runs Accept on every transport in a loop, in the reverse order of
// their registration (so that the order of the calls to Accept is not
// what decides), and returns once all of them wait. With hold, a process
// keeps each connection open (stays busy) until the test ends.
func (l *line) start(hold bool) {
	for i := len(l.trs) - 1; i >= 0; i-- {
		go func() {
			for {
				l.waiting <- i
				c, err := l.trs[i].Accept(context.Background())
				if err != nil {
					return
				}
				l.got <- i
				if hold {
					<-l.release
				}
				c.Close()
			}
		}()
	}
	for range l.trs {
		<-l.waiting
	}
}

// connect dials the socket and returns which transport accepted, with
// the client's end of the connection (closed when the test ends).
func (l *line) connect() (int, net.Conn) {
	l.t.Helper()
	time.Sleep(20 * time.Millisecond) // the last one back in its epoll_wait
	c, err := net.Dial("tcp", l.addr)
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { c.Close() })
	select {
	case i := <-l.got:
		return i, c
	case <-time.After(10 * time.Second):
		l.t.Fatal("no process accepted the connection")
		return -1, nil
	}
}

// TestOldestWaitingGetsConnection: of the processes waiting for a
// connection, the one that started first gets it, so that a few clients
// keep the same few processes busy rather than every process of a burst.
func TestOldestWaitingGetsConnection(t *testing.T) {
	l := newLine(t, 3)
	l.start(false)
	counts := [3]int{}
	for range 10 {
		i, c := l.connect()
		counts[i]++
		<-l.waiting // back for the next one
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
	l.start(true)
	for want := range 3 {
		if i, _ := l.connect(); i != want {
			t.Fatalf("connection %d went to process %d, want %d (the oldest not busy)", want, i, want)
		}
	}
}
