// Package sasl implements ports.Auth: the SASL mechanisms offered to
// clients (PLAIN through go-sasl, LOGIN written here since go-sasl has only
// its client side), the plaintext policy of Cyrus imapd (allowplaintext and
// the -p external layer), the admins list, and a bcrypt password file in
// configdirectory as the user database. It depends on ports and the domain
// error kinds only.
package sasl

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gosasl "github.com/emersion/go-sasl"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// Options configure Auth.
type Options struct {
	MechList       []string // sasl_mech_list, in order of preference
	AllowPlaintext bool     // allowplaintext
	Admins         []string // admins
}

// Auth is the ports.Auth of imapd.
type Auth struct {
	opts Options
	db   *UserDB
}

var _ ports.Auth = (*Auth)(nil)

// plaintextMechs are the mechanisms this package implements; both send the
// password in the clear.
var plaintextMechs = map[string]bool{"PLAIN": true, "LOGIN": true}

// MinPlaintextSSF is the strength from which an external layer protects
// plaintext passwords (Cyrus: -p 2 and above allow LOGIN without TLS).
const MinPlaintextSSF = 2

// New builds an Auth over db.
func New(opts Options, db *UserDB) *Auth {
	mechs := make([]string, 0, len(opts.MechList))
	for _, m := range opts.MechList {
		mechs = append(mechs, strings.ToUpper(m))
	}
	opts.MechList = mechs
	return &Auth{opts: opts, db: db}
}

// PlaintextAllowed: allowplaintext, or a layer of strength 2 or more.
func (a *Auth) PlaintextAllowed(ssf int) bool {
	return a.opts.AllowPlaintext || ssf >= MinPlaintextSSF
}

// Mechanisms lists the configured mechanisms this package implements, in
// the configured order, leaving out plaintext ones when plaintext is not
// allowed at ssf.
func (a *Auth) Mechanisms(ssf int) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range a.opts.MechList {
		if seen[m] || !plaintextMechs[m] || !a.PlaintextAllowed(ssf) {
			continue
		}
		seen[m] = true
		out = append(out, m)
	}
	return out
}

// NewSASL starts an exchange for mech, which must be among
// Mechanisms(conn.SSF); otherwise an error wrapping imap.ErrCannot.
func (a *Auth) NewSASL(ctx context.Context, mech string, conn ports.ConnInfo) (ports.SASLServer, error) {
	mech = strings.ToUpper(mech)
	offered := false
	for _, m := range a.Mechanisms(conn.SSF) {
		offered = offered || m == mech
	}
	if !offered {
		return nil, imap.Errorf("authenticate", imap.ErrCannot, "mechanism %s not available", mech)
	}
	switch mech {
	case "PLAIN":
		s := &plainServer{}
		s.inner = gosasl.NewPlainServer(func(identity, username, password string) error {
			// RFC 4616 section 2: an authorization identity other than
			// the authentication one would be a proxy login, which we
			// do not offer.
			if identity != "" && identity != username {
				return imap.Errorf("authenticate", imap.ErrAuthFailed, "%s may not act as %s", username, identity)
			}
			if err := a.verify(ctx, username, password); err != nil {
				return err
			}
			s.user = username
			return nil
		})
		return s, nil
	case "LOGIN":
		return &loginServer{verify: func(user, password string) error { return a.verify(ctx, user, password) }}, nil
	}
	return nil, imap.Errorf("authenticate", imap.ErrCannot, "mechanism %s not available", mech)
}

func (a *Auth) verify(ctx context.Context, user, password string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if ValidName(user) != nil {
		return imap.Errorf("login", imap.ErrAuthFailed, "invalid user name")
	}
	return a.db.Verify(user, password)
}

// CheckPassword verifies a LOGIN and returns the user name.
func (a *Auth) CheckPassword(ctx context.Context, user, password string) (string, error) {
	if err := a.verify(ctx, user, password); err != nil {
		return "", err
	}
	return user, nil
}

// UserExists reports whether user is in the password file.
func (a *Auth) UserExists(ctx context.Context, user string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if ValidName(user) != nil {
		return false, nil
	}
	return a.db.Exists(user)
}

// IsAdmin reports whether user is listed in admins.
func (a *Auth) IsAdmin(user string) bool {
	for _, u := range a.opts.Admins {
		if u == user {
			return true
		}
	}
	return false
}

// refused wraps a mechanism's error as an authentication failure, keeping
// faults of ours (an unreadable password file) as they are.
func refused(err error) error {
	if err == nil || errors.Is(err, imap.ErrAuthFailed) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, gosasl.ErrUnexpectedClientResponse) || strings.HasPrefix(err.Error(), "sasl:") {
		return fmt.Errorf("%w: %v", imap.ErrAuthFailed, err)
	}
	return err
}

// plainServer adapts go-sasl's PLAIN server to ports.SASLServer.
type plainServer struct {
	inner gosasl.Server
	user  string
}

func (s *plainServer) Next(response []byte) ([]byte, bool, error) {
	c, done, err := s.inner.Next(response)
	if err != nil {
		return nil, false, refused(err)
	}
	return c, done, nil
}

func (s *plainServer) Identity() string { return s.user }

// loginServer is the server side of the LOGIN mechanism
// (draft-murchison-sasl-login): challenge "Username:", then "Password:".
// A client's initial response is taken as the user name.
type loginServer struct {
	verify func(user, password string) error
	state  int // 0 = start, 1 = want user name, 2 = want password, 3 = finished
	user   string
	ident  string
}

func (s *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch s.state {
	case 0:
		if len(response) == 0 {
			s.state = 1
			return []byte("Username:"), false, nil
		}
		s.user, s.state = string(response), 2
		return []byte("Password:"), false, nil
	case 1:
		s.user, s.state = string(response), 2
		return []byte("Password:"), false, nil
	case 2:
		s.state = 3
		if err := s.verify(s.user, string(response)); err != nil {
			return nil, false, err
		}
		s.ident = s.user
		return nil, true, nil
	}
	return nil, false, fmt.Errorf("%w: %v", imap.ErrAuthFailed, gosasl.ErrUnexpectedClientResponse)
}

func (s *loginServer) Identity() string { return s.ident }
