// Package imapurl parses the IMAP URLs of RFC 5092 that name one message or
// a part of it (imessagepart), as CATENATE (RFC 4469), GENURLAUTH and
// URLFETCH (RFC 4467) take them, and computes and checks URLAUTH tokens.
// It performs no I/O and depends only on the other domain packages.
package imapurl

import (
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/imapd-go/imapd/domain/imap"
)

// Kind says how much of a URL was given.
type Kind int

const (
	// Absolute: "imap://" iserver "/" imessagepart.
	Absolute Kind = iota
	// PathAbsolute: "/" imessagepart, relative to the session's server
	// and user (RFC 4469 section 5).
	PathAbsolute
	// UIDOnly: ";UID=" ..., relative to the selected mailbox.
	UIDOnly
)

// URL is a parsed imessagepart URL. Names are decoded (percent-decoding;
// the mailbox is UTF-8, RFC 5092 section 3.1).
type URL struct {
	Kind        Kind
	User        string // enc-user of the iserver, decoded; "" if absent
	Host        string // host[:port] as given
	Mailbox     string // normalised (INBOX)
	UIDValidity uint32 // 0 when absent
	UID         uint32
	Section     string // enc-section decoded, as inside BODY[...]; "" for the whole message
	HasPartial  bool
	Offset      int64
	Count       int64 // 0 when the range has no length: to the end

	Expire    time.Time // zero when absent
	Access    string    // "authuser", "anonymous", "user+name" or "submit+name" (lower-case keyword); "" without URLAUTH
	AccessFor string    // the decoded user of user+ / submit+
	Mechanism string    // upper-case; "" for a rump
	Token     string    // enc-urlauth as given (hex)

	// Rump is the text of the URL up to and including the access
	// identifier (RFC 4467 iurlauth-rump): what the token signs.
	Rump string
}

// ErrSyntax is a URL that the grammar refuses.
var ErrSyntax = errors.New("invalid IMAP URL")

func fail(what string) error { return &syntaxError{what} }

type syntaxError struct{ what string }

func (e *syntaxError) Error() string        { return "invalid IMAP URL: " + e.what }
func (e *syntaxError) Is(target error) bool { return target == ErrSyntax }

// Parse parses an imessagepart URL, absolute or relative, with optional
// ;EXPIRE= and ;URLAUTH= (with or without its verifier).
func Parse(s string) (*URL, error) {
	u := &URL{}
	rest := s
	switch {
	case hasPrefixFold(rest, "imap://"):
		u.Kind = Absolute
		rest = rest[len("imap://"):]
		slash := strings.IndexByte(rest, '/')
		if slash < 0 {
			return nil, fail("no message")
		}
		if err := u.server(rest[:slash]); err != nil {
			return nil, err
		}
		rest = rest[slash+1:]
	case strings.HasPrefix(rest, "//"):
		return nil, fail("network-path references are not supported")
	case strings.HasPrefix(rest, "/"):
		u.Kind = PathAbsolute
		rest = rest[1:]
	case hasPrefixFold(rest, ";UID="):
		u.Kind = UIDOnly
	default:
		return nil, fail("not an IMAP URL")
	}
	slash := u.Kind == UIDOnly // a "/" came before the first parameter
	if u.Kind != UIDOnly {
		semi := strings.IndexByte(rest, ';')
		if semi < 0 {
			return nil, fail("no ;UID=")
		}
		enc := rest[:semi]
		rest = rest[semi:]
		if strings.HasSuffix(enc, "/") { // "INBOX/;UID=20"
			enc, slash = enc[:len(enc)-1], true
		}
		if enc == "" {
			return nil, fail("no mailbox")
		}
		name, err := decode(enc)
		if err != nil {
			return nil, err
		}
		u.Mailbox = imap.NormalizeMailbox(name)
	}
	if err := u.params(s, rest, slash); err != nil {
		return nil, err
	}
	return u, nil
}

// server reads iserver: [iuserinfo "@"] host [":" port]; iuserinfo is
// enc-user [";AUTH=" ...].
func (u *URL) server(s string) error {
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		info := s[:at]
		s = s[at+1:]
		if i := indexFold(info, ";AUTH="); i >= 0 {
			if i+len(";AUTH=") == len(info) {
				return fail("empty ;AUTH=")
			}
			info = info[:i]
		}
		user, err := decode(info)
		if err != nil {
			return err
		}
		u.User = user
	}
	if s == "" {
		return fail("no host")
	}
	host := s
	if c := strings.LastIndexByte(s, ':'); c >= 0 && !strings.HasSuffix(s, "]") {
		port := s[c+1:]
		if port != "" {
			if _, err := strconv.ParseUint(port, 10, 16); err != nil {
				return fail("bad port")
			}
		}
		host = s[:c]
	}
	if host == "" {
		return fail("no host")
	}
	u.Host = s
	return nil
}

// params reads the ";KEY=value" parameters after the mailbox, in the
// order RFC 5092 gives them: [";UIDVALIDITY=" n] "/;UID=" n
// ["/;SECTION=" s] ["/;PARTIAL=" o["."l]] [";EXPIRE=" t] [";URLAUTH=" a
// [":" mech ":" token]]. Keys are case-insensitive.
func (u *URL) params(whole, rest string, slash bool) error {
	const (
		sUIDValidity = iota
		sUID
		sSection
		sPartial
		sExpire
		sURLAuth
		sDone
	)
	state := sUIDValidity
	for rest != "" {
		if rest[0] != ';' {
			return fail("expected ;")
		}
		start := len(whole) - len(rest)
		rest = rest[1:]
		eq := strings.IndexByte(rest, '=')
		if eq < 0 {
			return fail("parameter without =")
		}
		key := strings.ToUpper(rest[:eq])
		rest = rest[eq+1:]
		end := strings.IndexAny(rest, ";/")
		if key == "URLAUTH" {
			end = -1 // the rest is the access and its verifier
		}
		var val string
		next := false
		if end < 0 {
			val, rest = rest, ""
		} else {
			val, rest = rest[:end], rest[end:]
			if rest[0] == '/' {
				next = true
				rest = rest[1:]
				if rest == "" || rest[0] != ';' {
					return fail("expected ; after /")
				}
			}
		}
		if val == "" {
			return fail("empty " + key)
		}
		switch {
		case key == "UIDVALIDITY" && state <= sUIDValidity && !slash && u.Kind != UIDOnly:
			n, err := nzNumber(val)
			if err != nil {
				return err
			}
			u.UIDValidity, state = n, sUID
		case key == "UID" && state <= sUID && slash:
			n, err := nzNumber(val)
			if err != nil {
				return err
			}
			u.UID, state = n, sSection
		case key == "SECTION" && state == sSection && slash:
			sec, err := decode(val)
			if err != nil {
				return err
			}
			u.Section, state = sec, sPartial
		case key == "PARTIAL" && (state == sSection || state == sPartial) && slash:
			if err := u.partial(val); err != nil {
				return err
			}
			state = sExpire
		case key == "EXPIRE" && state >= sSection && state <= sExpire && !slash:
			t, err := time.Parse(time.RFC3339, val)
			if err != nil {
				return fail("bad ;EXPIRE= date-time")
			}
			u.Expire, state = t, sURLAuth
		case key == "URLAUTH" && state >= sSection && state <= sURLAuth && !slash:
			if err := u.urlauth(val); err != nil {
				return err
			}
			u.Rump = whole[:start+len(";URLAUTH=")+len(u.accessText(val))]
			state = sDone
		default:
			return fail("unexpected ;" + key + "=")
		}
		slash = next
	}
	if slash {
		return fail("trailing /")
	}
	if u.UID == 0 {
		return fail("no ;UID=")
	}
	return nil
}

// accessText is the access part of a ;URLAUTH= value (before any ":").
func (u *URL) accessText(val string) string {
	if i := strings.IndexByte(val, ':'); i >= 0 {
		return val[:i]
	}
	return val
}

// urlauth reads access [":" mechanism ":" enc-urlauth] (RFC 5092 section
// 11: access = ("submit+" enc-user) / ("user+" enc-user) / "authuser" /
// "anonymous"; enc-urlauth = 32*HEXDIG).
func (u *URL) urlauth(val string) error {
	access := u.accessText(val)
	verifier := val[len(access):]
	lower := strings.ToLower(access)
	switch {
	case lower == "authuser", lower == "anonymous":
		u.Access = lower
	case strings.HasPrefix(lower, "submit+"), strings.HasPrefix(lower, "user+"):
		plus := strings.IndexByte(access, '+')
		who, err := decode(access[plus+1:])
		if err != nil {
			return err
		}
		if who == "" {
			return fail("empty user in access")
		}
		u.Access = lower[:plus+1] + access[plus+1:]
		u.AccessFor = who
	default:
		return fail("unknown access identifier")
	}
	if verifier == "" {
		return nil
	}
	parts := strings.Split(verifier[1:], ":")
	if len(parts) != 2 || parts[0] == "" {
		return fail("bad URLAUTH verifier")
	}
	for _, c := range parts[0] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return fail("bad URLAUTH mechanism")
		}
	}
	if len(parts[1]) < 32 {
		return fail("URLAUTH token too short")
	}
	for _, c := range parts[1] {
		if !isHex(byte(c)) {
			return fail("URLAUTH token is not hex")
		}
	}
	u.Mechanism = strings.ToUpper(parts[0])
	u.Token = parts[1]
	return nil
}

// partial reads partial-range = number ["." nz-number].
func (u *URL) partial(val string) error {
	off, length, hasLen := val, "", false
	if i := strings.IndexByte(val, '.'); i >= 0 {
		off, length, hasLen = val[:i], val[i+1:], true
	}
	o, err := number(off)
	if err != nil {
		return err
	}
	u.HasPartial, u.Offset = true, int64(o)
	if hasLen {
		n, err := nzNumber(length)
		if err != nil {
			return err
		}
		u.Count = int64(n)
	}
	return nil
}

func number(s string) (uint32, error) {
	if s == "" || len(s) > 10 {
		return 0, fail("bad number")
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, fail("bad number")
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fail("number out of range")
	}
	return uint32(n), nil
}

func nzNumber(s string) (uint32, error) {
	n, err := number(s)
	if err != nil {
		return 0, err
	}
	if n == 0 || s[0] == '0' {
		return 0, fail("bad nz-number")
	}
	return n, nil
}

// decode undoes percent-encoding (RFC 3986 pct-encoded). Bytes that a
// URL may not hold raw (controls, space, DQUOTE, and the like) are
// refused, and the result must be UTF-8 without NUL.
func decode(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", fail("bad %-escape")
			}
			v := unhex(s[i+1])<<4 | unhex(s[i+2])
			if v == 0 {
				return "", fail("NUL in URL")
			}
			b.WriteByte(v)
			i += 2
		case c <= ' ' || c >= 0x7f || strings.IndexByte(`"<>\^`+"`{|}#?[]", c) >= 0:
			return "", fail("character not allowed in URL")
		default:
			b.WriteByte(c)
		}
	}
	out := b.String()
	if !utf8.ValidString(out) {
		return "", fail("not UTF-8")
	}
	return out, nil
}

// Encode percent-encodes s for a URL component (mailbox or user): the
// RFC 3986 unreserved characters and the sub-delims RFC 5092 allows in
// achar stay as they are, as does "/" in a mailbox (the hierarchy
// separator); everything else is escaped.
func Encode(s string, slash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) || strings.IndexByte("-._~!$'()*+,&=", c) >= 0 || (slash && c == '/') {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte("0123456789ABCDEF"[c>>4])
		b.WriteByte("0123456789ABCDEF"[c&15])
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isHex(c byte) bool   { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func hasPrefixFold(s, p string) bool { return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) }

func indexFold(s, sub string) int {
	return strings.Index(strings.ToUpper(s), strings.ToUpper(sub))
}
