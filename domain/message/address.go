package message

import "strings"

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
	kind  int
	text  string
	raw   string // as written (for quoted strings: with quotes)
	space bool   // white space or a comment precedes it
}

func lexAddresses(s string) []token {
	var toks []token
	space := false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			space = true
			i++
		case c == '(':
			depth, j := 0, i
			var b strings.Builder
			for ; j < len(s); j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
					b.WriteByte(s[j])
					continue
				}
				if s[j] == '(' {
					depth++
					if depth == 1 {
						continue
					}
				}
				if s[j] == ')' {
					depth--
					if depth == 0 {
						break
					}
				}
				b.WriteByte(s[j])
			}
			toks = append(toks, token{kind: tkComment, text: b.String(), space: space})
			space = true
			i = j + 1
		case c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			end := min(j+1, len(s))
			toks = append(toks, token{kind: tkQuoted, text: b.String(), raw: s[i:end], space: space})
			space = false
			i = end
		case c == '[':
			j := strings.IndexByte(s[i:], ']')
			end := len(s)
			if j >= 0 {
				end = i + j + 1
			}
			toks = append(toks, token{kind: tkLiteral, text: s[i:end], raw: s[i:end], space: space})
			space = false
			i = end
		case strings.IndexByte("<>@,:;.", c) >= 0:
			toks = append(toks, token{kind: tkSpecial, text: s[i : i+1], raw: s[i : i+1], space: space})
			space = false
			i++
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t\r\n()\"[<>@,:;.", s[j]) < 0 {
				j++
			}
			if j == i {
				j++ // a stray ")": keep it as a one-byte word
			}
			toks = append(toks, token{kind: tkWord, text: s[i:j], raw: s[i:j], space: space})
			space = false
			i = j
		}
	}
	return toks
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

// parseAddresses is parseAddressList without the stand-in for a missing
// host.
func parseAddresses(v string) []address {
	toks := lexAddresses(v)
	var out []address
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
			out = append(out, address{mailbox: nstr{phrase(elem), true}})
			inGroup = true
			i = j + 1
			continue
		case j < len(toks) && isSpecial(toks[j], "<"):
			k := j + 1
			for k < len(toks) && !isSpecial(toks[k], ">") {
				k++
			}
			a := angleAddr(toks[j+1 : k])
			name := phrase(elem)
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
			if a, ok := addrSpec(elem); ok {
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
func phrase(toks []token) string {
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

// addrSpec parses local@domain with an optional comment as the name.
func addrSpec(toks []token) (address, bool) {
	var local, domain strings.Builder
	var comment string
	at := false
	for _, t := range toks {
		switch {
		case t.kind == tkComment:
			if comment == "" {
				comment = trimWSP(t.text)
			}
		case isSpecial(t, "@") && !at:
			at = true
		case at:
			domain.WriteString(t.raw)
		default:
			local.WriteString(t.raw)
		}
	}
	if local.Len() == 0 && domain.Len() == 0 {
		return address{}, false
	}
	a := address{mailbox: nstr{local.String(), true}, host: nstr{domain.String(), true}}
	if comment != "" {
		a.name = nstr{comment, true}
	}
	return a, true
}

// angleAddr parses the inside of <[route:]local@domain>.
func angleAddr(toks []token) address {
	var adl string
	if len(toks) > 0 && isSpecial(toks[0], "@") {
		for k, t := range toks {
			if isSpecial(t, ":") {
				var b strings.Builder
				for _, r := range toks[:k] {
					if r.kind != tkComment {
						b.WriteString(r.raw)
					}
				}
				adl = b.String()
				toks = toks[k+1:]
				break
			}
		}
	}
	a, ok := addrSpec(toks)
	a.name = nstr{}
	if !ok {
		return address{}
	}
	if adl != "" {
		a.adl = nstr{adl, true}
	}
	return a
}
