package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/imapd-go/imapd/domain/grammar"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/session"
	"github.com/imapd-go/imapd/ports"
)

// baseCapabilities are advertised in every state (the literal extension,
// LITERAL+ or LITERAL-, is added by capabilities).
const baseCapabilities = "IMAP4rev1 IMAP4rev2 SASL-IR ID ENABLE"

// authCapabilities are added once the user is logged in.
const authCapabilities = "BINARY CATENATE CHILDREN CONDSTORE CONTEXT=SEARCH CREATE-SPECIAL-USE ESEARCH IDLE LIST-EXTENDED LIST-STATUS MOVE MULTIAPPEND NAMESPACE PARTIAL PREVIEW QRESYNC SEARCHRES SPECIAL-USE STATUS=SIZE SAVEDATE UIDPLUS UNSELECT URLAUTH URLAUTH=BINARY UTF8=ACCEPT WITHIN"

// capabilities is the list for the current state and security layer.
func (c *conn) capabilities() string {
	// One buffer for the whole line, rather than a string per addition:
	// it is sent with every LOGIN's OK.
	var b strings.Builder
	b.Grow(1024)
	add := func(s ...string) {
		for _, x := range s {
			b.WriteString(x)
		}
	}
	add(baseCapabilities)
	if c.srv.opts.LiteralMinus {
		add(" LITERAL-")
	} else {
		add(" LITERAL+")
	}
	if c.state != session.NotAuthenticated {
		add(" ", authCapabilities, c.objectIDCapability())
		add(" COMPRESS=DEFLATE REPLACE UNAUTHENTICATE") // compress.go, replace.go, unauthenticate.go
		if c.srv.quotas() != nil {
			add(quotaCapabilities) // quota.go
		}
		add(" ", sortCapabilities, " ", esortCapabilities)
		// RFC 5465, notify.go.
		add(" NOTIFY")
		// RFC 5464, metadata.go.
		add(" METADATA METADATA-SERVER LIST-METADATA")
		add(c.aclCapability()) // acl.go
		// RFC 7889: the largest message APPEND takes.
		var n [20]byte
		add(" APPENDLIMIT=")
		b.Write(strconv.AppendInt(n[:0], c.srv.maxMessage(), 10))
		return b.String()
	}
	// cyradm (Cyrus::IMAP::Admin) reads the capabilities once, before
	// it logs in, and refuses its metadata commands without METADATA
	// there; Cyrus lists it before login too (metadata.go).
	add(" METADATA METADATA-SERVER LIST-METADATA")
	ssf := c.ssf()
	if c.canStartTLS() {
		add(" STARTTLS")
	}
	if !c.srv.auth.PlaintextAllowed(ssf) {
		add(" LOGINDISABLED")
	}
	for _, m := range c.srv.auth.Mechanisms(c.connInfo()) {
		add(" AUTH=", m)
	}
	return b.String()
}

func cmdCapability(c *conn, cmd *grammar.Command) (result, error) {
	c.w.Untagged("CAPABILITY " + c.capabilities())
	return result{}, nil
}

func cmdNoop(c *conn, cmd *grammar.Command) (result, error) {
	return result{}, nil
}

func cmdLogout(c *conn, cmd *grammar.Command) (result, error) {
	if c.user != "" {
		c.srv.tel.Event(c.event("logout")) // Cyrus's USAGE line
	}
	c.w.Untagged("BYE LOGOUT received")
	c.state = session.Logout
	return result{}, nil
}

// cmdID answers RFC 2971 ID; the server's own fields only with
// imapidresponse.
func cmdID(c *conn, cmd *grammar.Command) (result, error) {
	if !c.srv.opts.IDResponse {
		c.w.Untagged("ID NIL")
		return result{}, nil
	}
	b := []byte("ID (")
	b = imap.AppendString(b, "name")
	b = append(b, ' ')
	b = imap.AppendString(b, Product)
	b = append(b, ' ')
	b = imap.AppendString(b, "version")
	b = append(b, ' ')
	b = imap.AppendString(b, Version)
	b = append(b, ')')
	c.w.Untagged(string(b))
	return result{}, nil
}

// Version is the server's version string.
const Version = "0.1"

func cmdLogin(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.LoginArgs)
	ctx := c.ctx
	if !c.srv.auth.PlaintextAllowed(c.ssf()) {
		return result{}, &grammar.Error{Status: "NO", Code: "PRIVACYREQUIRED", Text: "Login only available under a layer"}
	}
	var user string
	var err error
	if c.srv.opts.NoPasswordCheck {
		var ok bool
		ok, err = c.srv.auth.UserExists(ctx, args.User)
		if err == nil && !ok {
			err = imap.ErrAuthFailed
		}
		user = args.User
	} else {
		user, err = c.srv.auth.CheckPassword(ctx, args.User, args.Password)
	}
	if err != nil {
		return c.loginFailed(loginMech(c.srv.opts.NoPasswordCheck), args.User, err)
	}
	return c.loggedIn(loginMech(c.srv.opts.NoPasswordCheck), user)
}

// loginMech is how LOGIN checked the user, as Cyrus's login lines say it.
func loginMech(noPasswordCheck bool) string {
	if noPasswordCheck {
		return "nopassword"
	}
	return "plaintext"
}

// loginFailed pauses (failedloginpause) and reports the failure of a
// login by mech ("plaintext" for LOGIN, or the SASL mechanism).
func (c *conn) loginFailed(mech, user string, err error) (result, error) {
	e := c.event("login-failed")
	e.User, e.Mech, e.Err = user, mech, err
	c.srv.tel.Event(e)
	if c.srv.opts.FailedLoginPause > 0 {
		select {
		case <-time.After(c.srv.opts.FailedLoginPause):
		case <-c.ctx.Done():
		}
	}
	if errors.Is(err, imap.ErrAuthFailed) || errors.Is(err, imap.ErrNoUser) {
		return result{}, imap.ErrAuthFailed
	}
	return result{}, err
}

// loggedIn moves the session to the authenticated state, user having
// been checked by mech.
func (c *conn) loggedIn(mech, user string) (result, error) {
	if err := c.srv.EnsureUser(c.ctx, user); err != nil {
		return result{}, err
	}
	if err := c.checkLimits(user); err != nil {
		return result{}, err
	}
	c.user = user
	c.admin = c.srv.auth.IsAdmin(user)
	c.state = session.Authenticated
	if l := c.srv.tel.SessionLog(user, c.sessionID); l != nil {
		c.in.log, c.out.log = l, l
	}
	e := c.event("login")
	e.Mech = mech
	c.srv.tel.Event(e)
	return result{code: "CAPABILITY " + c.capabilities(), text: "User logged in SESSIONID=<" + c.sessionID + ">"}, nil
}

// checkLimits records the login with Presence and refuses it when the
// user or the client's host already has maxlogins_per_user or
// maxlogins_per_host sessions, in any process.
func (c *conn) checkLimits(user string) error {
	p := c.srv.presence
	if p == nil || (c.srv.opts.MaxLoginsPerUser <= 0 && c.srv.opts.MaxLoginsPerHost <= 0) {
		return nil
	}
	sameUser, sameHost, logout, err := p.Login(user, c.host())
	if err != nil {
		return err
	}
	c.logout = logout
	if max := c.srv.opts.MaxLoginsPerUser; max > 0 && sameUser >= max {
		logout()
		c.logout = nil
		return &grammar.Error{Status: "NO", Code: "LIMIT", Text: "Too many open connections for this user"}
	}
	if max := c.srv.opts.MaxLoginsPerHost; max > 0 && sameHost >= max {
		logout()
		c.logout = nil
		return &grammar.Error{Status: "NO", Code: "LIMIT", Text: "Too many open connections from this host"}
	}
	return nil
}

// host is the client's address without its port.
func (c *conn) host() string {
	addr := c.c.RemoteAddr()
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

func cmdAuthenticate(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.AuthenticateArgs)
	offered := false
	for _, m := range c.srv.auth.Mechanisms(c.connInfo()) {
		if strings.EqualFold(m, args.Mechanism) {
			offered = true
		}
	}
	if !offered {
		return result{}, &grammar.Error{Status: "NO", Code: "CANNOT", Text: "Authentication mechanism not available"}
	}
	srv, err := c.srv.auth.NewSASL(c.ctx, args.Mechanism, c.connInfo())
	if err != nil {
		return result{}, err
	}
	var resp []byte
	if args.HasInitial {
		resp = args.Initial
		if resp == nil {
			resp = []byte{}
		}
	}
	for {
		challenge, done, err := srv.Next(resp)
		if err != nil {
			return c.loginFailed(strings.ToUpper(args.Mechanism), srv.Identity(), err)
		}
		if done {
			return c.loggedIn(strings.ToUpper(args.Mechanism), srv.Identity())
		}
		c.w.Continue(base64.StdEncoding.EncodeToString(challenge))
		if err := c.w.Flush(); err != nil {
			return result{}, err
		}
		line, err := c.p.ReadLine()
		var perr *grammar.Error
		if errors.As(err, &perr) {
			return result{}, bad(perr.Text)
		}
		if err != nil {
			return result{}, fmt.Errorf("%w: %v", errConnection, err)
		}
		line = bytes.TrimSpace(line)
		if string(line) == "*" {
			return result{}, bad("Authentication cancelled")
		}
		resp, err = base64.StdEncoding.DecodeString(string(line))
		if err != nil {
			return result{}, bad("Invalid base64 in authentication response")
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// cmdStartTLS answers OK, then runs the TLS handshake (RFC 3501 6.2.1).
// Whatever the client sent after the command in plaintext is dropped, so
// that nothing injected before the handshake is read as protected.
func cmdStartTLS(c *conn, cmd *grammar.Command) (result, error) {
	if !c.canStartTLS() {
		// RFC 3501 6.2.1 gives STARTTLS only OK or BAD: without TLS (none
		// configured, or the layer is already on) the command is unknown.
		return result{}, &grammar.Error{Status: "BAD", Text: "STARTTLS not available"}
	}
	c.br.Discard(c.br.Buffered())
	c.w.Tagged(cmd.Tag, "OK", "", "Begin TLS negotiation now")
	if err := c.w.Flush(); err != nil {
		return result{written: true}, fmt.Errorf("%w: %v", errConnection, err)
	}
	if err := c.c.StartTLS(c.ctx); err != nil {
		c.srv.log.Warn("TLS handshake failed", "remote", c.c.RemoteAddr(), "err", err)
		return result{written: true}, fmt.Errorf("%w: TLS handshake: %v", errConnection, err)
	}
	c.br.Reset(c.in)
	return result{written: true}, nil
}

// connInfo is what Auth may know of this connection.
func (c *conn) connInfo() ports.ConnInfo {
	return ports.ConnInfo{RemoteAddr: c.c.RemoteAddr(), SSF: c.ssf(), TLS: c.c.TLS(), TLSState: c.c.TLSState()}
}

// specialUses maps the usual folder names to their RFC 6154 attribute, for
// autocreate_inbox_folders.
var specialUses = map[string]string{
	"drafts": `\Drafts`, "sent": `\Sent`, "trash": `\Trash`, "junk": `\Junk`,
	"spam": `\Junk`, "archive": `\Archive`,
}

// EnsureUser makes sure the user's INBOX exists; the first time (no
// mailbox yet) it also creates autocreate_inbox_folders, each with the
// special use its name implies, as Cyrus creates them with the INBOX,
// and gives the user's quota root autocreate_quota (quota.go).
func (s *Server) EnsureUser(ctx context.Context, user string) error {
	first := false
	if len(s.opts.AutocreateFolders) > 0 || s.opts.AutocreateQuota > 0 {
		boxes, err := s.store.ListMailboxes(ctx, user)
		first = err == nil && len(boxes) == 0
	}
	if err := s.store.EnsureUser(ctx, user); err != nil {
		return err
	}
	if !first {
		return nil
	}
	if err := s.autocreateQuota(ctx, user); err != nil {
		return err
	}
	for _, name := range s.opts.AutocreateFolders {
		if err := s.store.CreateMailbox(ctx, user, name); err != nil && !errors.Is(err, imap.ErrAlreadyExists) {
			return err
		}
		if use, ok := specialUses[strings.ToLower(name)]; ok {
			if err := s.store.SetSpecialUse(ctx, user, name, []string{use}); err != nil {
				return err
			}
		}
		if err := s.store.SetSubscribed(ctx, user, name, true); err != nil {
			return err
		}
	}
	return nil
}
