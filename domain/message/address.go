package message

import (
	"strings"
	"sync"
)

// unspecifiedDomain stands in for the host of an address written without
// one, so that a NIL host keeps meaning group syntax (RFC 3501 7.4.2).
const unspecifiedDomain = "unspecified-domain"

// address is one ENVELOPE address. A group start has mailbox = group name
// and no host; a group end has every field absent.
type address struct {
	name, adl, mailbox, host nstr
}

// token kinds of the RFC 5322 address lexer.
const (
	tkWord    = iota // atom, or dot-atom pieces
	tkQuoted         // quoted-string, text unescaped
	tkComment        // comment, text without the parentheses
	tkLiteral        // domain literal, text including brackets
	tkSpecial        // one of < > @ , : ; .
)

type token struct {
	kind     int
	text     string
	raw      string // as written (for quoted strings: with quotes)
	space    bool   // white space or a comment precedes it
	off, end int    // where raw lies in the lexed string
}

// lexAddresses appends the tokens of s to toks.
func lexAddresses(s string, toks []token) []token {
	space := false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			space = true
			i++
		case c == '(':
			depth, j := 0, i
			plain := true // no escape, no nested comment: text is a slice of s
			var b []byte
			for ; j < len(s); j++ {
				if s[j] == '\\' && j+1 < len(s) {
					if plain {
						plain, b = false, append(b, s[i+1:j]...)
					}
					j++
					b = append(b, s[j])
					continue
				}
				if s[j] == '(' {
					depth++
					if depth == 1 {
						continue
					}
					if plain {
						plain, b = false, append(b, s[i+1:j]...)
					}
				}
				if s[j] == ')' {
					depth--
					if depth == 0 {
						break
					}
				}
				if !plain {
					b = append(b, s[j])
				}
			}
			text := ""
			if plain {
				text = s[i+1 : min(j, len(s))]
			} else {
				text = string(b)
			}
			toks = append(toks, token{kind: tkComment, text: text, space: space, off: i, end: min(j+1, len(s))})
			space = true
			i = j + 1
		case c == '"':
			j := i + 1
			plain := true
			var b []byte
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					if plain {
						plain, b = false, append(b, s[i+1:j]...)
					}
					j++
				}
				if !plain {
					b = append(b, s[j])
				}
			}
			text := ""
			if plain {
				text = s[i+1 : j]
			} else {
				text = string(b)
			}
			end := min(j+1, len(s))
			toks = append(toks, token{kind: tkQuoted, text: text, raw: s[i:end], space: space, off: i, end: end})
			space = false
			i = end
		case c == '[':
			j := strings.IndexByte(s[i:], ']')
			end := len(s)
			if j >= 0 {
				end = i + j + 1
			}
			toks = append(toks, token{kind: tkLiteral, text: s[i:end], raw: s[i:end], space: space, off: i, end: end})
			space = false
			i = end
		case isAddrSpecial(c):
			toks = append(toks, token{kind: tkSpecial, text: s[i : i+1], raw: s[i : i+1], space: space, off: i, end: i + 1})
			space = false
			i++
		default:
			j := i
			for j < len(s) && !endsWord(s[j]) {
				j++
			}
			if j == i {
				j++ // a stray ")": keep it as a one-byte word
			}
			toks = append(toks, token{kind: tkWord, text: s[i:j], raw: s[i:j], space: space, off: i, end: j})
			space = false
			i = j
		}
	}
	return toks
}

// isAddrSpecial reports whether c is one of the specials the lexer makes a
// token of: < > @ , : ; .
func isAddrSpecial(c byte) bool {
	switch c {
	case '<', '>', '@', ',', ':', ';', '.':
		return true
	}
	return false
}

// endsWord reports whether c ends an atom-like word.
func endsWord(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '(', ')', '"', '[':
		return true
	}
	return isAddrSpecial(c)
}

// joinRaw returns the raw text of toks (comments left out) run together.
// src is the string they were lexed from: when the tokens lie side by side
// in it, the result is a slice of src rather than a new string.
func joinRaw(src string, toks []token) string {
	var first, last *token
	adjacent := true
	for k := range toks {
		t := &toks[k]
		if t.kind == tkComment {
			continue // one between two tokens breaks their adjacency
		}
		if first == nil {
			first = t
		} else if t.off != last.end {
			adjacent = false
		}
		last = t
	}
	if first == nil {
		return ""
	}
	if adjacent && first.raw == src[first.off:first.end] {
		return src[first.off:last.end]
	}
	var b strings.Builder
	for _, t := range toks {
		if t.kind != tkComment {
			b.WriteString(t.raw)
		}
	}
	return b.String()
}

func isSpecial(t token, c string) bool { return t.kind == tkSpecial && t.text == c }

// parseAddressList parses an address-list header value leniently into
// ENVELOPE addresses, groups included (RFC 5322 3.4, RFC 3501 7.4.2).
func parseAddressList(v string) []address {
	as := parseAddresses(v)
	for i := range as {
		if as[i].mailbox.ok && as[i].host.ok && as[i].host.s == "" {
			as[i].host.s = unspecifiedDomain
		}
	}
	return as
}

// Address is one address of an address-list header field with comments
// and folding removed (RFC 5322 3.2.2, 3.4), for matching by SEARCH.
type Address struct {
	// Name is the display name as written, encoded words (RFC 2047) not
	// decoded, quoted strings unquoted; for a bare addr-spec, its comment.
	Name string
	// Route is the obsolete source route ("@a.example,@b.example"), if any.
	Route string
	// Mailbox is the local part as written: a quoted local part keeps its
	// quotes.
	Mailbox string
	// Host is the domain, empty when the address had none.
	Host string
	// Group is the name of the group the address belongs to, if any.
	Group string
}

// ParseAddressList parses an address-list header value (From, To, Cc...)
// leniently, with the parser ENVELOPE uses. Groups are flattened: each
// member carries its group's name, and an empty group yields one Address
// with only Group set.
func ParseAddressList(v string) []Address {
	var out []Address
	group, members := "", 0
	for _, a := range parseAddresses(v) {
		switch {
		case a.mailbox.ok && !a.host.ok:
			group, members = a.mailbox.s, 0
		case !a.mailbox.ok && !a.name.ok:
			// End of a group (RFC 3501 7.4.2: all fields NIL).
			if group != "" && members == 0 {
				out = append(out, Address{Group: group})
			}
			group = ""
		default:
			members++
			out = append(out, Address{Name: a.name.s, Route: a.adl.s, Mailbox: a.mailbox.s, Host: a.host.s, Group: group})
		}
	}
	return out
}

// tokenPool holds token slices for parseAddresses, which FETCH ENVELOPE
// calls for six fields of every message.
var tokenPool = sync.Pool{New: func() any { return new([]token) }}

// parseAddresses is parseAddressList without the stand-in for a missing
// host.
func parseAddresses(v string) []address {
	pooled := tokenPool.Get().(*[]token)
	toks := lexAddresses(v, (*pooled)[:0])
	defer func() {
		// The tokens' strings point into v: drop them before pooling.
		clear(toks)
		if cap(toks) <= 1024 {
			*pooled = toks[:0]
			tokenPool.Put(pooled)
		}
	}()
	out := make([]address, 0, 1+strings.Count(v, ","))
	inGroup := false
	for i := 0; i < len(toks); {
		// Collect one element up to a delimiter.
		j := i
		for j < len(toks) && !isSpecial(toks[j], "<") && !isSpecial(toks[j], ",") &&
			!isSpecial(toks[j], ";") && !(isSpecial(toks[j], ":") && !inGroup) {
			j++
		}
		elem := toks[i:j]
		switch {
		case j < len(toks) && isSpecial(toks[j], ":"):
			out = append(out, address{mailbox: nstr{phrase(v, elem), true}})
			inGroup = true
			i = j + 1
			continue
		case j < len(toks) && isSpecial(toks[j], "<"):
			k := j + 1
			for k < len(toks) && !isSpecial(toks[k], ">") {
				k++
			}
			a := angleAddr(v, toks[j+1:k])
			name := phrase(v, elem)
			if name != "" {
				a.name = nstr{name, true}
			}
			if a.mailbox.ok || a.name.ok {
				out = append(out, a)
			}
			// Skip whatever junk follows up to the next delimiter.
			for k < len(toks) && !isSpecial(toks[k], ",") && !isSpecial(toks[k], ";") {
				k++
			}
			j = k
		default:
			if a, ok := addrSpec(v, elem); ok {
				out = append(out, a)
			}
		}
		if j < len(toks) && isSpecial(toks[j], ";") && inGroup {
			out = append(out, address{})
			inGroup = false
		}
		i = j + 1
	}
	if inGroup {
		out = append(out, address{})
	}
	return out
}

// phrase renders a display name: words joined by single spaces, quoted
// strings unquoted, comments dropped. Encoded words stay as written.
func phrase(src string, toks []token) string {
	if p, ok := plainPhrase(src, toks); ok {
		return p
	}
	var b strings.Builder
	for _, t := range toks {
		if t.kind == tkComment {
			continue
		}
		if t.space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t.text)
	}
	return b.String()
}

// plainPhrase returns phrase's result as a slice of src when that is what
// the tokens read there already: no quoted strings or comments, and words
// apart by exactly one space or none.
func plainPhrase(src string, toks []token) (string, bool) {
	if len(toks) == 0 {
		return "", true
	}
	for k, t := range toks {
		if t.kind == tkQuoted || t.kind == tkComment || t.raw != src[t.off:t.end] {
			return "", false
		}
		if k == 0 {
			continue
		}
		prev := toks[k-1].end
		if t.space {
			if t.off != prev+1 || src[prev] != ' ' {
				return "", false
			}
		} else if t.off != prev {
			return "", false
		}
	}
	return src[toks[0].off:toks[len(toks)-1].end], true
}

// addrSpec parses local@domain with an optional comment as the name.
func addrSpec(src string, toks []token) (address, bool) {
	at := len(toks)
	var comment string
	for k, t := range toks {
		switch {
		case t.kind == tkComment:
			if comment == "" {
				comment = trimWSP(t.text)
			}
		case isSpecial(t, "@") && at == len(toks):
			at = k
		}
	}
	local, domain := joinRaw(src, toks[:at]), ""
	if at < len(toks) {
		domain = joinRaw(src, toks[at+1:])
	}
	if local == "" && domain == "" {
		return address{}, false
	}
	a := address{mailbox: nstr{local, true}, host: nstr{domain, true}}
	if comment != "" {
		a.name = nstr{comment, true}
	}
	return a, true
}

// angleAddr parses the inside of <[route:]local@domain>.
func angleAddr(src string, toks []token) address {
	var adl string
	if len(toks) > 0 && isSpecial(toks[0], "@") {
		for k, t := range toks {
			if isSpecial(t, ":") {
				adl = joinRaw(src, toks[:k])
				toks = toks[k+1:]
				break
			}
		}
	}
	a, ok := addrSpec(src, toks)
	a.name = nstr{}
	if !ok {
		return address{}
	}
	if adl != "" {
		a.adl = nstr{adl, true}
	}
	return a
}
