// Package stdio implements ports.Transport for a single session on a pair
// of streams (standard input and output, as imapd runs without master) and
// ports.Conn for any byte stream (an accepted socket). With a TLS
// configuration (NewWithOptions) the session can run TLS from the start
// (-s) or after STARTTLS, over the same two streams. It depends on ports,
// the domain error kinds and the tlsconf adapter.
package stdio

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/imapd-go/imapd/adapters/transport/tlsconf"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// Transport yields exactly one connection made of its two streams, then
// io.EOF.
type Transport struct {
	mu        sync.Mutex
	conn      ports.Conn
	immediate bool
	log       *slog.Logger
	taken     bool
	closed    bool
}

var _ ports.Transport = (*Transport)(nil)

// New returns a Transport whose only connection reads in and writes out;
// ssf is the strength of an external security layer (-p), 0 for none.
// Closing the connection closes in and out when they are io.Closers.
func New(in io.Reader, out io.Writer, ssf int) *Transport {
	return &Transport{conn: &Conn{r: in, w: out, closers: closers(in, out), ssf: ssf}}
}

// Options add TLS to a stdio Transport.
type Options struct {
	SSF          int          // strength of an external layer (-p), 0 for none
	TLS          *tls.Config  // nil: no TLS (as New)
	ImmediateTLS bool         // -s: handshake before anything else
	Log          *slog.Logger // where a failed -s handshake is logged
}

// NewWithOptions is New with TLS: STARTTLS is offered when o.TLS is set,
// and with o.ImmediateTLS the handshake runs in Accept (a failed one is
// logged and ends the only session: Accept returns io.EOF).
func NewWithOptions(in io.Reader, out io.Writer, o Options) *Transport {
	if o.TLS == nil {
		return New(in, out, o.SSF)
	}
	raw := &streamConn{r: in, w: out, closers: closers(in, out)}
	c := tlsconf.NewConn(raw, tlsconf.ConnOptions{Remote: "", SSF: o.SSF, Config: o.TLS})
	return &Transport{conn: c, immediate: o.ImmediateTLS, log: o.Log}
}

func closers(in io.Reader, out io.Writer) []io.Closer {
	var cs []io.Closer
	if c, ok := in.(io.Closer); ok {
		cs = append(cs, c)
	}
	if c, ok := out.(io.Closer); ok && any(out) != any(in) {
		cs = append(cs, c)
	}
	return cs
}

// Accept returns the connection the first time, io.EOF afterwards and once
// the transport is closed.
func (t *Transport) Accept(ctx context.Context) (ports.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.taken || t.closed {
		return nil, io.EOF
	}
	t.taken = true
	if t.immediate {
		if err := t.conn.(*tlsconf.Conn).Handshake(ctx, t.log); err != nil {
			return nil, io.EOF
		}
	}
	return t.conn, nil
}

// Close stops accepting. It does not close a connection already accepted
// (that is the session's to close). Closing twice is harmless.
func (t *Transport) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	return nil
}

// Conn is a connection over plain streams.
type Conn struct {
	r       io.Reader
	w       io.Writer
	closers []io.Closer
	remote  string
	ssf     int

	closeOnce sync.Once
	closeErr  error
}

var _ ports.Conn = (*Conn)(nil)

// NewConn wraps a stream (an accepted socket, a pipe) as a ports.Conn with
// the peer's address for logs and the strength of an external layer.
func NewConn(rwc io.ReadWriteCloser, remote string, ssf int) ports.Conn {
	return &Conn{r: rwc, w: rwc, closers: []io.Closer{rwc}, remote: remote, ssf: ssf}
}

func (c *Conn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *Conn) Write(p []byte) (int, error) { return c.w.Write(p) }

// Close closes the underlying streams once; later calls return the first
// result.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		var errs []error
		for _, cl := range c.closers {
			errs = append(errs, cl.Close())
		}
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

// RemoteAddr is the peer's address, "" when unknown.
func (c *Conn) RemoteAddr() string { return c.remote }

// SSF is the external layer's strength.
func (c *Conn) SSF() int { return c.ssf }

// TLS is false: this transport has no TLS.
func (c *Conn) TLS() bool { return false }

// TLSState is nil: no TLS here.
func (c *Conn) TLSState() *tls.ConnectionState { return nil }

// CanStartTLS is false: this connection has no TLS configuration.
func (c *Conn) CanStartTLS() bool { return false }

// StartTLS is not available on this transport.
func (c *Conn) StartTLS(ctx context.Context) error {
	return imap.Errorf("starttls", imap.ErrCannot, "TLS is not available in this build")
}

// Pollable returns a File for f's descriptor in non-blocking mode, so that
// Go's poller drives it and a Close from another goroutine (the autologout
// timer) ends a Read in progress. restore puts the descriptor back in
// blocking mode, since it is shared with whoever started the process. A
// descriptor the poller cannot take (a regular file) simply stays blocking.
func Pollable(f *os.File) (pf *os.File, restore func()) {
	fd := int(f.Fd())
	if err := syscall.SetNonblock(fd, true); err != nil {
		return f, func() {}
	}
	return os.NewFile(uintptr(fd), f.Name()), func() { syscall.SetNonblock(fd, false) }
}

// streamConn presents two streams as a net.Conn for the TLS layer.
// Deadlines reach the streams that support them (pollable files); the
// addresses are those of a pipe.
type streamConn struct {
	r       io.Reader
	w       io.Writer
	closers []io.Closer
	once    sync.Once
	err     error
}

func (s *streamConn) Read(p []byte) (int, error)  { return s.r.Read(p) }
func (s *streamConn) Write(p []byte) (int, error) { return s.w.Write(p) }

func (s *streamConn) Close() error {
	s.once.Do(func() {
		var errs []error
		for _, c := range s.closers {
			errs = append(errs, c.Close())
		}
		s.err = errors.Join(errs...)
	})
	return s.err
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "stdio" }

func (s *streamConn) LocalAddr() net.Addr  { return pipeAddr{} }
func (s *streamConn) RemoteAddr() net.Addr { return pipeAddr{} }

type readDeadliner interface{ SetReadDeadline(time.Time) error }
type writeDeadliner interface{ SetWriteDeadline(time.Time) error }

func (s *streamConn) SetReadDeadline(t time.Time) error {
	if d, ok := s.r.(readDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return nil
}

func (s *streamConn) SetWriteDeadline(t time.Time) error {
	if d, ok := s.w.(writeDeadliner); ok {
		return d.SetWriteDeadline(t)
	}
	return nil
}

func (s *streamConn) SetDeadline(t time.Time) error {
	return errors.Join(s.SetReadDeadline(t), s.SetWriteDeadline(t))
}
