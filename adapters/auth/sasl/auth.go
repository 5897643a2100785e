// Package sasl implements ports.Auth: the SASL mechanisms offered to
// clients (PLAIN through go-sasl; LOGIN, SCRAM-SHA-256, SCRAM-SHA-256-PLUS
// and EXTERNAL written here), the policy of Cyrus imapd over them
// (sasl_mech_list, allowplaintext, tls_required and the -p external layer),
// the password checks of sasl_pwcheck_method (the user database, saslauthd,
// alwaystrue), the admins list, and the user database itself: a password
// file in configdirectory with a bcrypt hash and SCRAM keys per user, or,
// as libsasl's sql auxprop plugin has it, a table in PostgreSQL (sql.go).
// It depends on ports, the domain error kinds and, for SQL, pgx only.
package sasl

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	gosasl "github.com/emersion/go-sasl"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// Password check methods (sasl_pwcheck_method), as Cyrus names them.
const (
	PwcheckAuxprop    = "auxprop"    // the user database: in configdirectory, or in SQL (OpenSQL)
	PwcheckSaslauthd  = "saslauthd"  // a running saslauthd, over its socket
	PwcheckAlwaysTrue = "alwaystrue" // any password for any user: tests only
)

// Mechanism names besides ScramSHA256, ScramSHA256Plus and External.
const (
	Plain = "PLAIN"
	Login = "LOGIN"
)

// DefaultMechList is the order of the mechanisms offered when
// sasl_mech_list is not set; each is still offered only where it can work.
var DefaultMechList = []string{ScramSHA256Plus, ScramSHA256, Plain, Login, External}

// Options configure Auth.
type Options struct {
	// MechList is sasl_mech_list: the mechanisms offered, in order of
	// preference; empty means DefaultMechList. Names this package does not
	// implement are left out.
	MechList       []string
	AllowPlaintext bool     // allowplaintext
	Admins         []string // admins
	// TLSRequired is tls_required: no mechanism is offered, and LOGIN is
	// refused, until a security layer exists.
	TLSRequired bool
	// PwcheckMethods is sasl_pwcheck_method: how LOGIN, PLAIN and SASL
	// LOGIN passwords are checked, tried in order until one accepts;
	// empty means auxprop. Unknown names are ignored (the configuration
	// loader rejects them).
	PwcheckMethods []string
	SaslauthdPath  string // sasl_saslauthd_path; DefaultSaslauthdPath when empty
	// ClientCerts tells that the transport asks for client certificates
	// (tls_client_ca_file is set), so EXTERNAL may work under TLS.
	ClientCerts bool
}

// Auth is the ports.Auth of imapd.
type Auth struct {
	opts      Options
	db        *UserDB
	saslauthd *Saslauthd
	auxprop   bool // the user database is among the password checks
	anyUser   bool // a check that cannot list users is configured
	newNonce  func() (string, error)
}

var _ ports.Auth = (*Auth)(nil)

// MinPlaintextSSF is the strength from which an external layer protects
// plaintext passwords (Cyrus: -p 2 and above allow LOGIN without TLS). It is
// also the strength from which a connection counts as having a security
// layer at all: TLS always has more, and -p 1 changes nothing in Cyrus.
const MinPlaintextSSF = 2

// New builds an Auth over db.
func New(opts Options, db *UserDB) *Auth {
	list := opts.MechList
	if len(list) == 0 {
		list = DefaultMechList
	}
	mechs := make([]string, 0, len(list))
	seen := map[string]bool{}
	for _, m := range list {
		m = strings.ToUpper(m)
		if seen[m] {
			continue
		}
		seen[m] = true
		mechs = append(mechs, m)
	}
	opts.MechList = mechs
	a := &Auth{opts: opts, db: db, newNonce: randomNonce}
	methods := opts.PwcheckMethods
	if len(methods) == 0 {
		methods = []string{PwcheckAuxprop}
	}
	opts.PwcheckMethods = nil
	for _, m := range methods {
		switch m = strings.ToLower(m); m {
		case PwcheckAuxprop:
			a.auxprop = true
		case PwcheckSaslauthd:
			a.saslauthd = &Saslauthd{Path: opts.SaslauthdPath, Service: "imap"}
			a.anyUser = true
		case PwcheckAlwaysTrue:
			a.anyUser = true
		default:
			continue
		}
		opts.PwcheckMethods = append(opts.PwcheckMethods, m)
	}
	a.opts = opts
	return a
}

// layer reports whether a connection of that strength has a security layer.
func layer(ssf int) bool { return ssf >= MinPlaintextSSF }

// PlaintextAllowed: allowplaintext, or a layer of strength 2 or more; never
// before a layer with tls_required.
func (a *Auth) PlaintextAllowed(ssf int) bool {
	if a.opts.TLSRequired && !layer(ssf) {
		return false
	}
	return a.opts.AllowPlaintext || layer(ssf)
}

// Mechanisms lists the configured mechanisms that can work at ssf, in the
// configured order. Since only the strength is known here, an SSF of
// MinPlaintextSSF or more is taken for a TLS layer: SCRAM-SHA-256-PLUS is
// offered then (and NewSASL refuses it, with imap.ErrCannot, on a
// connection that has no channel binding after all, such as an external
// layer given with -p), and so is EXTERNAL when client certificates are
// configured (NewSASL refuses it without a verified certificate).
// MechanismsFor gives the exact list for a known connection.
// Mechanisms lists the mechanisms that can work on conn, in the
// configured order: -PLUS only with channel binding data, EXTERNAL only
// with a verified client certificate.
func (a *Auth) Mechanisms(conn ports.ConnInfo) []string {
	_, _, cb := channelBinding(conn.TLSState)
	_, cert := certIdentity(conn.TLSState)
	return a.mechanisms(conn.SSF, cb, cert)
}

func (a *Auth) mechanisms(ssf int, channelBinding, cert bool) []string {
	if a.opts.TLSRequired && !layer(ssf) {
		// Cyrus's tls_required hides every AUTH= until TLS.
		return nil
	}
	var out []string
	for _, m := range a.opts.MechList {
		var ok bool
		switch m {
		case Plain, Login:
			ok = a.PlaintextAllowed(ssf)
		case ScramSHA256:
			// SCRAM needs the stored keys: the user database.
			ok = a.auxprop
		case ScramSHA256Plus:
			ok = a.auxprop && channelBinding
		case External:
			ok = cert
		}
		if ok {
			out = append(out, m)
		}
	}
	return out
}

// NewSASL starts an exchange for mech, which must be among
// Mechanisms(conn); otherwise an error wrapping imap.ErrCannot.
func (a *Auth) NewSASL(ctx context.Context, mech string, conn ports.ConnInfo) (ports.SASLServer, error) {
	mech = strings.ToUpper(mech)
	offered := a.Mechanisms(conn)
	if !slices.Contains(offered, mech) {
		return nil, imap.Errorf("authenticate", imap.ErrCannot, "mechanism %s not available", mech)
	}
	switch mech {
	case Plain:
		s := &plainServer{}
		s.inner = gosasl.NewPlainServer(func(identity, username, password string) error {
			// RFC 4616 section 2: an authorization identity other than
			// the authentication one would be a proxy login, which we
			// do not offer.
			if identity != "" && identity != username {
				return imap.Errorf("authenticate", imap.ErrAuthFailed, "%s may not act as %s", username, identity)
			}
			s.user = username // for the log, even when refused
			return a.verify(ctx, username, password)
		})
		return s, nil
	case Login:
		return &loginServer{verify: func(user, password string) error { return a.verify(ctx, user, password) }}, nil
	case ScramSHA256, ScramSHA256Plus:
		s := &scramServer{
			plus:        mech == ScramSHA256Plus,
			plusOffered: slices.Contains(offered, ScramSHA256Plus),
			keys: func(user string) (ScramKeys, bool, error) {
				if err := ctx.Err(); err != nil {
					return ScramKeys{}, false, err
				}
				return a.db.scramKeys(ctx, user)
			},
			newNonce: a.newNonce,
		}
		s.cbName, s.cbData, _ = channelBinding(conn.TLSState)
		return s, nil
	case External:
		user, _ := certIdentity(conn.TLSState)
		return &externalServer{certUser: user}, nil
	}
	return nil, imap.Errorf("authenticate", imap.ErrCannot, "mechanism %s not available", mech)
}

// verify checks a plaintext password with each configured method in turn
// until one accepts. When none does, a fault (saslauthd unreachable) is
// reported as such rather than as a refusal, so that it is logged.
func (a *Auth) verify(ctx context.Context, user, password string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if ValidName(user) != nil {
		return imap.Errorf("login", imap.ErrAuthFailed, "invalid user name")
	}
	var fault error
	noUser := true // every method that refused knows no such user
	for _, m := range a.opts.PwcheckMethods {
		var err error
		switch m {
		case PwcheckAuxprop:
			err = a.db.verify(ctx, user, password)
		case PwcheckSaslauthd:
			err = a.saslauthd.Check(ctx, user, password)
		case PwcheckAlwaysTrue:
			// As Cyrus has it: any password for any user name.
			err = nil
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, imap.ErrAuthFailed) {
			fault = err
		}
		noUser = noUser && errors.Is(err, imap.ErrNoUser)
	}
	if fault != nil {
		return fault
	}
	if noUser {
		return fmt.Errorf("%w: %w: %s", imap.ErrAuthFailed, imap.ErrNoUser, user)
	}
	return imap.Errorf("login", imap.ErrAuthFailed, "password refused for %s", user)
}

// CheckPassword verifies a LOGIN and returns the user name.
func (a *Auth) CheckPassword(ctx context.Context, user, password string) (string, error) {
	if err := a.verify(ctx, user, password); err != nil {
		return "", err
	}
	return user, nil
}

// UserExists reports whether user is in the password file; with saslauthd
// or alwaystrue among the password checks, which cannot list users, every
// valid name may exist.
func (a *Auth) UserExists(ctx context.Context, user string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if ValidName(user) != nil {
		return false, nil
	}
	if a.anyUser {
		return true, nil
	}
	return a.db.exists(ctx, user)
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

// Identity is the user once authenticated, and the name given when
// refused.
func (s *loginServer) Identity() string {
	if s.ident == "" && s.state == 3 {
		return s.user
	}
	return s.ident
}
