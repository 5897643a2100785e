package app

import (
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/imapd-go/imapd/domain/grammar"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/imapurl"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/ports"
)

// The IMAP URLs of CATENATE (RFC 4469) and URLAUTH (RFC 4467, RFC 5524):
// how a URL names a message part of a user's mailbox, who may read it, and
// the GENURLAUTH, RESETKEY and URLFETCH commands.

// errBadURL is a URL that names nothing this session may read.
var errBadURL = errors.New("bad URL")

// badURL is CATENATE's answer to a URL it cannot use (RFC 4469 section 5:
// NO [BADURL url]).
func badURL(url string) error {
	// url-resp-text cannot hold "]".
	return &grammar.Error{Status: "NO", Code: "BADURL " + strings.ReplaceAll(url, "]", "%5D"), Text: "Invalid or inaccessible URL"}
}

func (s *Server) keys() *accessKeys {
	return &accessKeys{dir: filepath.Join(s.opts.ConfigDir, "urlauth")}
}

// ForgetURLAuthKeys removes user's URLAUTH mailbox access keys, for
// `imapctl user del`.
func (s *Server) ForgetURLAuthKeys(user string) error {
	return s.keys().Forget(user)
}

// urlPart is the message part a URL names, opened.
type urlPart struct {
	st   *message.Structure
	body ports.MessageBody
	sec  message.Section
	u    *imapurl.URL
}

func (p *urlPart) Close() error { return p.body.Close() }

// section is the part's bytes as FETCH BODY[section]<partial> gives them.
func (p *urlPart) section() (io.Reader, int64, error) {
	r, n, err := p.st.Section(p.body, p.sec)
	if err != nil {
		return nil, 0, err
	}
	if p.u.HasPartial {
		count := p.u.Count
		if count == 0 {
			count = n
		}
		r, n = partial(r, n, message.Partial{Offset: p.u.Offset, Count: count})
	}
	return r, n, nil
}

// openURL opens the part u names in owner's mailbox: errBadURL when the
// mailbox, UIDVALIDITY, message or section does not match.
func (c *conn) openURL(owner, mailbox string, u *imapurl.URL) (*urlPart, error) {
	sec, ok := grammar.ParseSection(u.Section)
	if !ok {
		return nil, errBadURL
	}
	st, err := c.srv.store.Status(c.ctx, owner, mailbox)
	if errors.Is(err, imap.ErrNonexistent) {
		return nil, errBadURL
	}
	if err != nil {
		return nil, err
	}
	if u.UIDValidity != 0 && u.UIDValidity != st.UIDValidity {
		return nil, errBadURL
	}
	recs, err := c.srv.store.Fetch(c.ctx, owner, mailbox, []imap.UID{imap.UID(u.UID)})
	if errors.Is(err, imap.ErrNonexistent) {
		return nil, errBadURL
	}
	if err != nil {
		return nil, err
	}
	if len(recs) != 1 {
		return nil, errBadURL
	}
	ms, err := message.Unmarshal(recs[0].Structure)
	if err != nil {
		return nil, err
	}
	if !ms.HasPart(sec.Path) {
		return nil, errBadURL
	}
	body, err := c.srv.store.Open(c.ctx, owner, mailbox, imap.UID(u.UID))
	if errors.Is(err, imap.ErrNonexistent) {
		return nil, errBadURL
	}
	if err != nil {
		return nil, err
	}
	return &urlPart{st: ms, body: body, sec: sec, u: u}, nil
}

// mayFetch says whether this session may use a URLAUTH-authorized URL's
// access identifier (RFC 4467 section 3). The token is checked apart.
func (c *conn) mayFetch(u *imapurl.URL) bool {
	if !u.Expire.IsZero() && !time.Now().Before(u.Expire) {
		return false
	}
	switch {
	case u.Access == "anonymous":
		return true
	case u.Access == "authuser":
		return c.user != ""
	case strings.HasPrefix(u.Access, "user+"):
		return c.user != "" && c.user == u.AccessFor
	case strings.HasPrefix(u.Access, "submit+"):
		// A message submission agent, acting for AccessFor, logs in as
		// one of the submitservers (as Cyrus's option says).
		return c.user != "" && slices.Contains(c.srv.opts.SubmitServers, c.user)
	}
	return false
}

// openAuthorized opens the part a URLAUTH-authorized URL names, after
// checking its access identifier, its expiry and its token: errBadURL
// when any of them fails.
func (c *conn) openAuthorized(u *imapurl.URL) (*urlPart, error) {
	if u.Kind != imapurl.Absolute || u.User == "" || u.Mechanism != imapurl.Mechanism || !c.mayFetch(u) {
		return nil, errBadURL
	}
	st, err := c.srv.store.Status(c.ctx, u.User, u.Mailbox)
	if errors.Is(err, imap.ErrNonexistent) || errors.Is(err, imap.ErrNoUser) {
		return nil, errBadURL
	}
	if err != nil {
		return nil, err
	}
	key, err := c.srv.keys().Key(u.User, u.Mailbox, st.UIDValidity, false)
	if err != nil {
		return nil, err
	}
	if key == nil || !imapurl.Verify(key, u.Rump, u.Token) {
		return nil, errBadURL
	}
	return c.openURL(u.User, u.Mailbox, u)
}

// openCatURL opens a CATENATE URL part (RFC 4469 section 5): a URL of the
// session's own user, absolute or relative to the server ("/mailbox...")
// or to the selected mailbox (";UID=..."), or any URLAUTH-authorized URL
// this session may fetch.
func (c *conn) openCatURL(text string) (*urlPart, error) {
	u, err := imapurl.Parse(text)
	if err != nil {
		return nil, errBadURL
	}
	if u.Mechanism != "" {
		return c.openAuthorized(u)
	}
	if u.Access != "" {
		return nil, errBadURL // a rump, unsigned
	}
	mailbox := u.Mailbox
	switch u.Kind {
	case imapurl.Absolute:
		if u.User != c.user {
			return nil, errBadURL
		}
	case imapurl.UIDOnly:
		if c.sel == nil {
			return nil, errBadURL
		}
		mailbox = c.sel.name
	}
	return c.openURL(c.user, mailbox, u)
}

// cmdGenURLAuth signs URL rumps (RFC 4467 section 6.1): each must be an
// absolute URL of the session's user, with ;URLAUTH= and no verifier, to
// a message that exists; the answer is "* GENURLAUTH" with the full URLs.
func cmdGenURLAuth(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.GenURLAuthArgs)
	out := []byte("GENURLAUTH")
	for _, it := range args.Items {
		if it.Mechanism != imapurl.Mechanism {
			return result{}, &grammar.Error{Status: "NO", Text: "Unsupported URLAUTH mechanism " + it.Mechanism}
		}
		u, err := imapurl.Parse(it.Rump)
		if err != nil || u.Kind != imapurl.Absolute || u.Access == "" || u.Mechanism != "" {
			return result{}, &grammar.Error{Status: "BAD", Text: "Not a URL rump: " + errDetail(err, "an absolute URL with ;URLAUTH= and no mechanism")}
		}
		if u.User != c.user {
			return result{}, badURL(it.Rump)
		}
		part, err := c.openURL(c.user, u.Mailbox, u)
		if errors.Is(err, errBadURL) {
			return result{}, badURL(it.Rump)
		}
		if err != nil {
			return result{}, err
		}
		part.Close()
		st, err := c.srv.store.Status(c.ctx, c.user, u.Mailbox)
		if err != nil {
			return result{}, err
		}
		key, err := c.srv.keys().Key(c.user, u.Mailbox, st.UIDValidity, true)
		if err != nil {
			return result{}, err
		}
		out = append(out, ' ')
		out = imap.AppendString(out, imapurl.Full(u.Rump, imapurl.Token(key, u.Rump)))
	}
	c.w.Untagged(string(out))
	return result{}, nil
}

func errDetail(err error, def string) string {
	if err != nil {
		return err.Error()
	}
	return def
}

// cmdResetKey forgets mailbox access keys (RFC 4467 section 6.2): every
// key of the user, or the given mailbox's, which invalidates the URLs
// they signed.
func cmdResetKey(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.ResetKeyArgs)
	for _, m := range args.Mechanisms {
		if m != imapurl.Mechanism {
			return result{}, &grammar.Error{Status: "NO", Text: "Unsupported URLAUTH mechanism " + m}
		}
	}
	if args.Mailbox == "" {
		if err := c.srv.keys().Reset(c.user, ""); err != nil {
			return result{}, err
		}
		return result{text: "All keys removed"}, nil
	}
	if err := imap.RefuseName(imap.UseExisting, args.Mailbox, args.MailboxErr); err != nil {
		return result{}, err
	}
	if _, err := c.srv.store.Status(c.ctx, c.user, args.Mailbox); err != nil {
		return result{}, err
	}
	if err := c.srv.keys().Reset(c.user, args.Mailbox); err != nil {
		return result{}, err
	}
	// RFC 4467 section 6.2: the mechanisms the mailbox's key serves.
	return result{code: "URLMECH INTERNAL", text: "Key reset"}, nil
}

// cmdURLFetch fetches URLAUTH-authorized URLs (RFC 4467 section 6.3), with
// RFC 5524's BODYPARTSTRUCTURE, BINARY and BODY in the extended form. A
// URL that is invalid, expired, not signed or not for this session gives
// NIL for it, not a failed command. All URLs are answered in one
// "* URLFETCH" response (urlfetch-data = "* URLFETCH" 1*(SP url-full SP
// nstring)), as Cyrus does; every part is opened before the response
// starts, so that a store failure fails the command cleanly.
func cmdURLFetch(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.URLFetchArgs)
	parts := make([]*urlPart, len(args.Items))
	defer func() {
		for _, p := range parts {
			if p != nil {
				p.Close()
			}
		}
	}()
	for i, it := range args.Items {
		u, err := imapurl.Parse(it.URL)
		if err != nil {
			continue
		}
		parts[i], err = c.openAuthorized(u)
		if errors.Is(err, errBadURL) {
			continue
		}
		if err != nil {
			return result{}, err
		}
	}
	b := []byte("* URLFETCH")
	for i, it := range args.Items {
		b = append(b, ' ')
		b = imap.AppendString(b, it.URL)
		b = append(b, ' ')
		var err error
		if b, err = c.urlFetchData(b, it, parts[i]); err != nil {
			return result{}, err
		}
	}
	c.w.Raw(append(b, "\r\n"...))
	return result{}, c.w.Err()
}

// urlFetchData appends (or writes, for literals) one URL's data: NIL when
// part is nil, the part's bytes, or RFC 5524's metadata items, each in
// parentheses of its own: url SP "(" "BODYPARTSTRUCTURE" SP body ")" SP
// "(" "BINARY" SP nstring8 ")". It returns what is left to write.
func (c *conn) urlFetchData(b []byte, it grammar.URLFetchItem, part *urlPart) ([]byte, error) {
	if part == nil {
		return append(b, "NIL"...), nil
	}
	if !it.Extended {
		r, n, err := part.section()
		if err != nil {
			return b, err
		}
		c.w.Raw(b)
		c.w.Literal(r, n)
		return b[:0], c.w.Err()
	}
	if it.BodyPartStructure {
		b = append(b, "(BODYPARTSTRUCTURE "...)
		ok := false
		if part.sec.Specifier == "" || part.sec.Specifier == "TEXT" {
			// A header has no body structure of its own.
			b, ok = part.st.AppendPartStructure(b, part.sec.Path)
		}
		if !ok {
			b = append(b, "NIL"...)
		}
		b = append(b, ')')
		if it.Binary || it.Body {
			b = append(b, ' ')
		}
	}
	switch {
	case it.Binary:
		b = append(b, "(BINARY "...)
		if part.sec.Specifier != "" {
			// RFC 5524 section 3.1: BINARY decodes a body part; a header
			// or text section has nothing to decode.
			return append(b, "NIL)"...), nil
		}
		r, n, err := part.st.Decoded(part.body, part.sec.Path)
		if errors.Is(err, message.ErrUnknownCTE) {
			return append(b, "NIL)"...), nil
		}
		if err != nil {
			return b, err
		}
		if part.u.HasPartial {
			count := part.u.Count
			if count == 0 {
				count = n
			}
			r, n = partial(r, n, message.Partial{Offset: part.u.Offset, Count: count})
		}
		c.w.Raw(b)
		c.w.Literal8(r, n)
		b = append(b[:0], ')')
	case it.Body:
		b = append(b, "(BODY "...)
		r, n, err := part.section()
		if err != nil {
			return b, err
		}
		c.w.Raw(b)
		c.w.Literal(r, n)
		b = append(b[:0], ')')
	}
	return b, c.w.Err()
}
