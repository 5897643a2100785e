// Package lmtp holds what LMTP (RFC 2033, over SMTP's RFC 5321 grammar) is,
// with no I/O: the command parser, replies with their enhanced status codes
// (RFC 3463), recipient addresses with Cyrus's user+detail form, the DATA
// terminator's dot-unstuffing and the trace headers a delivery adds. It
// imports only the standard library.
package lmtp

import (
	"strconv"
	"strings"
)

// Verbs the parser knows (RFC 5321 4.1.1, RFC 2033 4.1, RFC 3207).
const (
	LHLO     = "LHLO"
	MAIL     = "MAIL"
	RCPT     = "RCPT"
	DATA     = "DATA"
	RSET     = "RSET"
	NOOP     = "NOOP"
	QUIT     = "QUIT"
	VRFY     = "VRFY"
	STARTTLS = "STARTTLS"
	BDAT     = "BDAT"
)

// MaxLine is the longest command line, CRLF included, that is read
// (RFC 5321 4.5.3.1.4 asks for 512; parameters such as ENVID and ORCPT
// make lines longer, so accept more, as Postfix and Cyrus do).
const MaxLine = 4096

// Command is one parsed command line.
type Command struct {
	Verb string
	// Arg is LHLO's domain and VRFY's string.
	Arg string
	// Path is MAIL FROM's reverse-path or RCPT TO's forward-path without
	// its angle brackets ("" for the null reverse-path <>).
	Path string
	// Params are the ESMTP parameters after the path, keyed in upper
	// case; a keyword without "=value" maps to "".
	Params map[string]string
	// Size and Last are BDAT's chunk size and its LAST marker.
	Size int64
	Last bool
}

// Parse reads one command line, without its CRLF. A line it cannot read
// is a *Reply error: 500 for an unknown command, 501 for bad arguments.
func Parse(line string) (*Command, error) {
	if strings.ContainsAny(line, "\x00\r\n") {
		return nil, ErrSyntax("Bad characters in command")
	}
	verb, rest, _ := strings.Cut(line, " ")
	cmd := &Command{Verb: strings.ToUpper(verb)}
	switch cmd.Verb {
	case LHLO:
		// RFC 2033 4.1: "LHLO" SP Domain CRLF (address literals too).
		if rest = strings.TrimSpace(rest); rest == "" || strings.Contains(rest, " ") {
			return nil, ErrArgs("Syntax: LHLO domain")
		}
		cmd.Arg = rest
	case MAIL:
		// RFC 5321 4.1.1.2: "MAIL FROM:" Reverse-path [SP Mail-parameters]
		if !hasPrefixFold(rest, "FROM:") {
			return nil, ErrArgs("Syntax: MAIL FROM:<address>")
		}
		if err := cmd.path(rest[len("FROM:"):], true); err != nil {
			return nil, err
		}
	case RCPT:
		// RFC 5321 4.1.1.3: "RCPT TO:" Forward-path [SP Rcpt-parameters]
		if !hasPrefixFold(rest, "TO:") {
			return nil, ErrArgs("Syntax: RCPT TO:<address>")
		}
		if err := cmd.path(rest[len("TO:"):], false); err != nil {
			return nil, err
		}
	case VRFY:
		if rest = strings.TrimSpace(rest); rest == "" {
			return nil, ErrArgs("Syntax: VRFY address")
		}
		cmd.Arg = rest
	case BDAT:
		// RFC 3030 2: "BDAT" SP chunk-size [ SP end-marker ]
		size, last, _ := strings.Cut(rest, " ")
		n, err := strconv.ParseInt(size, 10, 64)
		if size == "" || size[0] < '0' || size[0] > '9' || err != nil {
			return nil, ErrArgs("Syntax: BDAT size [LAST]")
		}
		switch {
		case last == "":
		case strings.EqualFold(last, "LAST"):
			cmd.Last = true
		default:
			return nil, ErrArgs("Syntax: BDAT size [LAST]")
		}
		cmd.Size = n
	case DATA, RSET, QUIT, STARTTLS:
		if strings.TrimSpace(rest) != "" {
			return nil, ErrArgs("Syntax: " + cmd.Verb)
		}
	case NOOP:
		// RFC 5321 4.1.1.9: NOOP may take a string, which is ignored.
	case "HELO", "EHLO":
		// RFC 2033 4.1: an LMTP server must not accept them (Cyrus
		// answers as for an unknown command).
		return nil, &Reply{Code: 500, Status: "5.5.2", Text: []string{"Syntax error"}}
	default:
		return nil, &Reply{Code: 500, Status: "5.5.2", Text: []string{"Syntax error"}}
	}
	return cmd, nil
}

// path reads `<path> [SP params]`. RFC 5321 allows no space after the
// colon; many clients send one, and everyone accepts it.
func (c *Command) path(s string, reverse bool) error {
	s = strings.TrimLeft(s, " ")
	if !strings.HasPrefix(s, "<") {
		return ErrArgs("Missing <address>")
	}
	end := closingBracket(s)
	if end < 0 {
		return ErrArgs("Missing > after address")
	}
	p := s[1:end]
	// A source route (RFC 5321 4.1.2 A-d-l) is ignored (C.2 of the RFC).
	if strings.HasPrefix(p, "@") {
		if i := strings.IndexByte(p, ':'); i >= 0 {
			p = p[i+1:]
		}
	}
	if p == "" && !reverse {
		return ErrArgs("Empty recipient address")
	}
	if p != "" && !strings.Contains(p, "@") && reverse {
		return ErrArgs("Sender address has no domain")
	}
	c.Path = p
	rest := s[end+1:]
	if rest != "" && rest[0] != ' ' {
		return ErrArgs("Junk after address")
	}
	for _, f := range strings.Fields(rest) {
		k, v, _ := strings.Cut(f, "=")
		if k == "" {
			return ErrArgs("Bad parameter")
		}
		if c.Params == nil {
			c.Params = map[string]string{}
		}
		c.Params[strings.ToUpper(k)] = v
	}
	return nil
}

// closingBracket finds the ">" that ends the path in s (which starts with
// "<"), skipping quoted local parts: "a>b"@x is one address.
func closingBracket(s string) int {
	quoted := false
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if quoted {
				i++
			}
		case '"':
			quoted = !quoted
		case '>':
			if !quoted {
				return i
			}
		}
	}
	return -1
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
