package ports

import (
	"context"
	"crypto/tls"
	"io"
)

// Transport yields client connections: one (stdin/stdout) or many (a
// listening socket handed over by master).
type Transport interface {
	// Accept waits for the next connection. It returns io.EOF when no more
	// will come (the single stdio connection was taken, a reuse timeout
	// passed, or the transport was closed).
	Accept(ctx context.Context) (Conn, error)

	// Close stops accepting.
	Close() error
}

// Conn is one client connection.
type Conn interface {
	io.Reader
	io.Writer
	io.Closer

	// RemoteAddr is the peer's address for logs, "" when unknown.
	RemoteAddr() string

	// SSF is the strength of the security layer under the connection (TLS
	// cipher bits, an external layer given with -p, ...); 0 = none.
	SSF() int

	// TLS reports whether the connection runs over TLS.
	TLS() bool

	// TLSState is the state of the TLS layer (for channel binding and
	// client certificates), nil without TLS.
	TLSState() *tls.ConnectionState

	// CanStartTLS reports whether StartTLS is possible now: TLS is
	// configured and the connection does not run over TLS yet.
	CanStartTLS() bool

	// StartTLS upgrades the connection in place (server side handshake).
	// imap.ErrCannot when the transport cannot do TLS. After a failed
	// handshake the connection is unusable.
	StartTLS(ctx context.Context) error
}
