package ports

import (
	"context"
	"crypto/tls"
)

// Auth decides who may log in and how.
type Auth interface {
	// Mechanisms returns the SASL mechanism names (upper-case, in the
	// configured order) offered on a connection: its security layer's
	// strength (SSF; 0 = none) decides whether mechanisms that expose a
	// password may be used, and its TLS state whether channel binding
	// (-PLUS) and EXTERNAL can work.
	Mechanisms(conn ConnInfo) []string

	// PlaintextAllowed reports whether LOGIN (and PLAIN) may be used at the
	// given SSF.
	PlaintextAllowed(ssf int) bool

	// NewSASL starts a server-side SASL exchange for mech (one that
	// Mechanisms offered). imap.ErrCannot if the mechanism is not supported.
	NewSASL(ctx context.Context, mech string, conn ConnInfo) (SASLServer, error)

	// CheckPassword verifies a LOGIN. It returns the canonical user name on
	// success, an error wrapping imap.ErrAuthFailed when the user is unknown
	// or the password is wrong (the two are indistinguishable to callers,
	// by the error and by the time taken: an unknown user's password is
	// checked against something too). A name that is not a valid user
	// name never logs in.
	CheckPassword(ctx context.Context, user, password string) (string, error)

	// UserExists reports whether user may log in at all (used by -N, which
	// skips the password check for an existing user). A password check
	// that cannot list users (saslauthd, alwaystrue) answers true for
	// every valid name; an invalid name never exists.
	UserExists(ctx context.Context, user string) (bool, error)

	// IsAdmin reports whether user is listed in the admins option, by
	// exact name.
	IsAdmin(user string) bool
}

// SASLServer is one server-side SASL exchange.
type SASLServer interface {
	// Next takes the client's response (nil before the first one when the
	// client sent no initial response) and returns the next challenge, or
	// done with a nil error when the client is authenticated. An error
	// wrapping imap.ErrAuthFailed means the credentials were refused.
	Next(response []byte) (challenge []byte, done bool, err error)

	// Identity is the authenticated (authorization) user, valid once done.
	// After a refusal it is the user name the client gave, for the log
	// (Cyrus's badlogin line names it), or "" when it gave none.
	Identity() string
}

// ConnInfo is what Auth may know about the connection.
type ConnInfo struct {
	RemoteAddr string
	SSF        int
	TLS        bool
	// TLSState is the TLS layer's state (channel binding data for
	// SCRAM-*-PLUS, the client certificate for EXTERNAL), nil without TLS.
	TLSState *tls.ConnectionState
}
