package lmtp

import (
	"strings"
)

// Recipient is a forward-path read as Cyrus's lmtpd reads it: the user
// (the local part up to "+"), the detail after "+" (a folder of that
// user, "/"-separated, RFC 5233's subaddress) and the domain, which,
// without virtual domains, is dropped.
type Recipient struct {
	User   string
	Detail string // "" when the address has no "+"
	Domain string
}

// ParseRecipient reads a forward-path (without its brackets). A quoted
// local part is unquoted (RFC 5321 4.1.2). With downcase (Cyrus's
// lmtp_downcase_rcpt), the user and the domain are lower-cased; the
// detail never is, since it names a folder. "postmaster" alone is a
// user like any other here.
func ParseRecipient(path string, downcase bool) (Recipient, error) {
	local, domain := path, ""
	if i := strings.LastIndexByte(path, '@'); i >= 0 {
		local, domain = path[:i], path[i+1:]
	}
	if strings.HasPrefix(local, `"`) {
		u, ok := unquote(local)
		if !ok {
			return Recipient{}, ErrArgs("Bad quoted local part")
		}
		local = u
	}
	user, detail, _ := strings.Cut(local, "+")
	if user == "" {
		return Recipient{}, ErrArgs("Empty user in address")
	}
	if downcase {
		user, domain = strings.ToLower(user), strings.ToLower(domain)
	}
	return Recipient{User: user, Detail: detail, Domain: domain}, nil
}

// unquote reads an RFC 5321 Quoted-string: "..." with \ escaping any
// printable character.
func unquote(s string) (string, bool) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", false
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		c := s[i]
		if c == '\\' {
			i++
			if i >= len(s)-1 {
				return "", false
			}
			c = s[i]
		} else if c == '"' {
			return "", false
		}
		b.WriteByte(c)
	}
	return b.String(), true
}
