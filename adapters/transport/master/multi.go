package master

import (
	"context"
	"io"
	"net"
	"sync"

	"github.com/imapd-go/imapd/adapters/transport/tlsconf"
	"github.com/imapd-go/imapd/ports"
)

// The many-sessions mode (Options.Multi, imapd.conf's multisession).
//
// The process keeps accepting while the sessions it took run, as Cyrus's
// threaded services do (master/service-thread.c): it never reports
// UNAVAILABLE for a connection, sends CONNECTION_MULTI for each, and so
// stays READY in master's accounting. Our own limits still apply:
//
//   - -U counts connections. Once that many were accepted the process stops
//     accepting; so does SIGHUP, a new executable on disk, the reuse timeout
//     or Close. Either way it first sends UNAVAILABLE, once: master then
//     counts it BUSY and forks another to keep prefork ready, and a process
//     that ends while BUSY is never counted as a failure. Accept returns
//     io.EOF and the server lets its sessions finish, then exits 0.
//   - -T, the reuse timeout, runs only while no session of the process is
//     open: a process with open sessions is not idle.
//   - Every error Accept returns is preceded by UNAVAILABLE for the same
//     reason: a process that exits non-zero while READY is a failure, and
//     five of them disable the service (CYRUS-COMPAT.md section 6).
//
// The accept lock is kept. Cyrus's threaded services do without it since
// one of them runs per service; ours may run prefork > 1 of them, or an old
// process still accepting next to its successor, and without the lock each
// connection would wake every one of them to find a single winner. The
// lock is held only around the poll and accept(2), never while a session
// runs, so a process that waits for it delays nobody's session; a lock
// that arrives after the wait was given up is released at once (wait).

// acceptMulti is Accept in multi mode.
func (t *Transport) acceptMulti(ctx context.Context) (ports.Conn, error) {
	for {
		if t.hungUp() || (t.uses > 0 && t.uses >= t.maxUses()) {
			t.goBusy()
			return nil, io.EOF
		}
		raw, err := t.wait(ctx)
		if err != nil {
			t.goBusy()
			return nil, err
		}
		if tc, ok := raw.(*net.TCPConn); ok {
			tc.SetKeepAlive(true)
		}
		t.send(StatusConnectionMulti)
		t.uses++
		t.open.Add(1)
		remote := ""
		if t.unix {
			remote = "[local]"
		}
		c := tlsconf.NewConn(raw, tlsconf.ConnOptions{Remote: remote, Config: t.opts.TLS})
		mc := &multiConn{Conn: c, t: t}
		if t.opts.ImmediateTLS {
			// The handshake runs in the session's goroutine (Handshake
			// of the returned connection), not here: one slow client
			// must not hold up every later connection.
			mc.handshake = true
		}
		return mc, nil
	}
}

// goBusy sends UNAVAILABLE once: from now on master counts this process
// busy and keeps its prefork ready with others.
func (t *Transport) goBusy() {
	if !t.sentDown {
		t.sentDown = true
		t.send(StatusUnavailable)
	}
}

// Open is the number of connections of a multi-mode transport that are
// not closed yet.
func (t *Transport) Open() int { return int(t.open.Load()) }

// multiConn counts its Close in the transport's open connections.
type multiConn struct {
	*tlsconf.Conn
	t         *Transport
	handshake bool
	once      sync.Once
}

// Handshake does the -s handshake, when one is due, in the caller's
// goroutine. A failed one ends this connection only.
func (c *multiConn) Handshake(ctx context.Context) error {
	if !c.handshake {
		return nil
	}
	c.handshake = false
	if err := c.Conn.Handshake(ctx, c.t.opts.Log); err != nil {
		c.Close()
		return err
	}
	return nil
}

func (c *multiConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		if c.t.open.Add(-1) == 0 {
			select {
			case c.t.idle <- struct{}{}:
			default:
			}
		}
	})
	return err
}
