// Package stdio implements ports.Transport for a single session on a pair
// of streams (standard input and output, as imapd runs without master) and
// ports.Conn for any byte stream (an accepted socket). It does no TLS yet:
// StartTLS refuses. It depends on ports and the domain error kinds only.
package stdio

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"os"
	"sync"
	"syscall"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// Transport yields exactly one connection made of its two streams, then
// io.EOF.
type Transport struct {
	mu     sync.Mutex
	conn   *Conn
	taken  bool
	closed bool
}

var _ ports.Transport = (*Transport)(nil)

// New returns a Transport whose only connection reads in and writes out;
// ssf is the strength of an external security layer (-p), 0 for none.
// Closing the connection closes in and out when they are io.Closers.
func New(in io.Reader, out io.Writer, ssf int) *Transport {
	return &Transport{conn: &Conn{r: in, w: out, closers: closers(in, out), ssf: ssf}}
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
