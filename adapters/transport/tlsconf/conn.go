package tlsconf

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// ConnOptions describe a connection for NewConn.
type ConnOptions struct {
	Remote string      // the peer, for logs ("" = raw.RemoteAddr())
	SSF    int         // strength of a layer under the stream before any TLS (0 = none)
	Config *tls.Config // the server's TLS configuration; nil = no TLS on this connection
}

// Conn is a ports.Conn over a net.Conn that may switch to TLS once. Read
// and Write go to the TLS layer after a successful handshake, to the raw
// stream before it.
type Conn struct {
	raw    net.Conn
	remote string
	ssf    int
	cfg    *tls.Config

	mu  sync.Mutex
	cur net.Conn  // raw, then the *tls.Conn
	tc  *tls.Conn // nil until a handshake succeeded
	bad bool      // a handshake failed: the stream is unusable
	cs  *tls.ConnectionState
}

var _ ports.Conn = (*Conn)(nil)

// NewConn wraps raw.
func NewConn(raw net.Conn, o ConnOptions) *Conn {
	remote := o.Remote
	if remote == "" && raw.RemoteAddr() != nil {
		remote = raw.RemoteAddr().String()
	}
	return &Conn{raw: raw, remote: remote, ssf: o.SSF, cfg: o.Config, cur: raw}
}

func (c *Conn) current() net.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

func (c *Conn) Read(p []byte) (int, error)  { return c.current().Read(p) }
func (c *Conn) Write(p []byte) (int, error) { return c.current().Write(p) }

// Close closes the connection (with a TLS close_notify when TLS is up).
func (c *Conn) Close() error {
	cur := c.current()
	err := cur.Close()
	if cur != c.raw {
		c.raw.Close()
	}
	return err
}

// RemoteAddr is the peer's address for logs.
func (c *Conn) RemoteAddr() string { return c.remote }

// SSF is the TLS cipher's strength once TLS is up, the strength of the
// layer given to NewConn before.
func (c *Conn) SSF() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cs != nil {
		return SSF(c.cs)
	}
	return c.ssf
}

// TLS reports whether the connection runs over TLS.
func (c *Conn) TLS() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tc != nil
}

// TLSState is the TLS session's state, nil before the handshake.
func (c *Conn) TLSState() *tls.ConnectionState {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cs == nil {
		return nil
	}
	cs := *c.cs
	return &cs
}

// CanStartTLS is true when TLS is configured and not up yet.
func (c *Conn) CanStartTLS() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg != nil && c.tc == nil && !c.bad
}

// StartTLS runs the server handshake (for STARTTLS, or before the greeting
// with -s) within HandshakeTimeout. imap.ErrCannot when TLS is not
// configured or already up; after any other error the connection is
// unusable and should be closed.
func (c *Conn) StartTLS(ctx context.Context) error {
	if !c.CanStartTLS() {
		return imap.Errorf("starttls", imap.ErrCannot, "TLS is not available on this connection")
	}
	ctx, cancel := context.WithTimeout(ctx, HandshakeTimeout)
	defer cancel()
	tc := tls.Server(c.raw, c.cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.mu.Lock()
		c.bad = true
		c.mu.Unlock()
		return err
	}
	cs := tc.ConnectionState()
	c.mu.Lock()
	c.tc, c.cur, c.cs = tc, tc, &cs
	c.mu.Unlock()
	return nil
}

// Handshake runs StartTLS for a connection that speaks TLS from its first
// byte (imapd -s); on failure it logs why, closes the connection and
// returns the error.
func (c *Conn) Handshake(ctx context.Context, log *slog.Logger) error {
	err := c.StartTLS(ctx)
	if err != nil {
		if log != nil {
			log.Warn("TLS handshake failed", "remote", c.remote, "err", err)
		}
		c.raw.Close()
	}
	return err
}

// SetReadDeadline sets the deadline of reads on the connection (and on
// its TLS layer once there is one): a server ending a session from
// another goroutine cuts a read short with it.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.current().SetReadDeadline(t) }
