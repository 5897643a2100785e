package message

import (
	"math/rand"
	"strings"
	"testing"
)

// refToken and the ref* functions are the address parser as it was before
// its tokens became slices of the header value; TestAddressParserAgrees
// holds the current one to the same results.
type refToken struct {
	kind  int
	text  string
	raw   string
	space bool
}

func refLexAddresses(s string) []refToken {
	var toks []refToken
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
			toks = append(toks, refToken{kind: tkComment, text: b.String(), space: space})
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
			toks = append(toks, refToken{kind: tkQuoted, text: b.String(), raw: s[i:end], space: space})
			space = false
			i = end
		case c == '[':
			j := strings.IndexByte(s[i:], ']')
			end := len(s)
			if j >= 0 {
				end = i + j + 1
			}
			toks = append(toks, refToken{kind: tkLiteral, text: s[i:end], raw: s[i:end], space: space})
			space = false
			i = end
		case strings.IndexByte("<>@,:;.", c) >= 0:
			toks = append(toks, refToken{kind: tkSpecial, text: s[i : i+1], raw: s[i : i+1], space: space})
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
			toks = append(toks, refToken{kind: tkWord, text: s[i:j], raw: s[i:j], space: space})
			space = false
			i = j
		}
	}
	return toks
}

func refIsSpecial(t refToken, c string) bool { return t.kind == tkSpecial && t.text == c }

// refParseAddresses is parseAddressList without the stand-in for a missing
// host.
func refParseAddresses(v string) []address {
	toks := refLexAddresses(v)
	var out []address
	inGroup := false
	for i := 0; i < len(toks); {
		// Collect one element up to a delimiter.
		j := i
		for j < len(toks) && !refIsSpecial(toks[j], "<") && !refIsSpecial(toks[j], ",") &&
			!refIsSpecial(toks[j], ";") && !(refIsSpecial(toks[j], ":") && !inGroup) {
			j++
		}
		elem := toks[i:j]
		switch {
		case j < len(toks) && refIsSpecial(toks[j], ":"):
			out = append(out, address{mailbox: nstr{refPhrase(elem), true}})
			inGroup = true
			i = j + 1
			continue
		case j < len(toks) && refIsSpecial(toks[j], "<"):
			k := j + 1
			for k < len(toks) && !refIsSpecial(toks[k], ">") {
				k++
			}
			a := refAngleAddr(toks[j+1 : k])
			name := refPhrase(elem)
			if name != "" {
				a.name = nstr{name, true}
			}
			if a.mailbox.ok || a.name.ok {
				out = append(out, a)
			}
			// Skip whatever junk follows up to the next delimiter.
			for k < len(toks) && !refIsSpecial(toks[k], ",") && !refIsSpecial(toks[k], ";") {
				k++
			}
			j = k
		default:
			if a, ok := refAddrSpec(elem); ok {
				out = append(out, a)
			}
		}
		if j < len(toks) && refIsSpecial(toks[j], ";") && inGroup {
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

// refPhrase renders a display name: words joined by single spaces, quoted
// strings unquoted, comments dropped. Encoded words stay as written.
func refPhrase(toks []refToken) string {
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

// refAddrSpec parses local@domain with an optional comment as the name.
func refAddrSpec(toks []refToken) (address, bool) {
	var local, domain strings.Builder
	var comment string
	at := false
	for _, t := range toks {
		switch {
		case t.kind == tkComment:
			if comment == "" {
				comment = trimWSP(t.text)
			}
		case refIsSpecial(t, "@") && !at:
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

// refAngleAddr parses the inside of <[route:]local@domain>.
func refAngleAddr(toks []refToken) address {
	var adl string
	if len(toks) > 0 && refIsSpecial(toks[0], "@") {
		for k, t := range toks {
			if refIsSpecial(t, ":") {
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
	a, ok := refAddrSpec(toks)
	a.name = nstr{}
	if !ok {
		return address{}
	}
	if adl != "" {
		a.adl = nstr{adl, true}
	}
	return a
}

func addressSamples() []string {
	s := []string{
		`John Doe <jdoe@machine.example>`, `"Joe Q. Public" <john.q.public@example.com>`,
		`Joe Q. Public <john.q.public@example.com>`, `Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>`,
		`<boss@nil.test>, "Giant; \"Big\" Box" <sysservices@example.net>`, `"john doe"@example.com`,
		`user@[192.0.2.1]`, `,,`, ``, `Empty:;, x@y`, `Unclosed: a@b`,
		`<user-from (comment)@ (comment) domain.org>`, `Alice (x) Smith <alice@example.com>, bob@example.com (Bob)`,
		`=?UTF-8?Q?J=C3=B6rg?= <j@x>`, `undisclosed: a@b, c (x) @d; e@f`, `<@r1.example,@r2.example:joe@example.org>`,
		`nohost`, `Name Only <>`, `a (nested (comment) here\) x) <b@c>`, `"unterminated <a@b>`, `(open <a@b>`,
		`A  B <a@b>`, "A\tB <a@b>", `a . b @ c . d`, `x@y (  )(Bob)`, `"" <a@b>`, `"q\\" x <a@b>`, `a\`, `"a\`,
	}
	alphabet := []string{"a", "bc", " ", "  ", "\t", "\r\n ", "(", ")", "\\", "\"", "[", "]", "<", ">", "@", ",", ":", ";", ".", "x.y", "=?utf-8?q?z?="}
	r := rand.New(rand.NewSource(1))
	for range 20000 {
		var b strings.Builder
		for range r.Intn(16) {
			b.WriteString(alphabet[r.Intn(len(alphabet))])
		}
		s = append(s, b.String())
	}
	return s
}

func TestAddressParserAgrees(t *testing.T) {
	for _, in := range addressSamples() {
		want := string(appendAddresses(nil, refParseAddresses(in)))
		if got := string(appendAddresses(nil, parseAddresses(in))); got != want {
			t.Errorf("%q\n got %s\nwant %s", in, got, want)
		}
	}
}

func FuzzAddressParserAgrees(f *testing.F) {
	for _, in := range addressSamples()[:40] {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		want := string(appendAddresses(nil, refParseAddresses(in)))
		if got := string(appendAddresses(nil, parseAddresses(in))); got != want {
			t.Errorf("%q\n got %s\nwant %s", in, got, want)
		}
	})
}
