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
	// passed, or the transport was closed, even while Accept waits), and
	// the context's error when ctx is done.
	Accept(ctx context.Context) (Conn, error)

	// Close stops accepting. Connections already accepted stay open: each
	// is its session's to close. Closing twice is harmless.
	Close() error
}

// Conn is one client connection. Read returns what the client sent, then
// io.EOF (again on every later Read) once the client closed its end. Close
// ends the client's stream after what was written; a second Close is
// harmless.
type Conn interface {
	io.Reader
	io.Writer
	io.Closer

	// RemoteAddr is the peer's address for logs, "" when unknown.
	RemoteAddr() string

	// SSF is the strength of the security layer under the connection (TLS
	// cipher bits once TLS is up, an external layer given with -p before);
	// 0 = none.
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
	// imap.ErrCannot when the transport cannot do TLS or TLS is up
	// already (the connection stays usable then). After a failed
	// handshake the connection is unusable and CanStartTLS is false.
	StartTLS(ctx context.Context) error
}
