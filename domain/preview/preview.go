// Package preview computes the RFC 8970 preview of a message: a short
// plain-text excerpt of its first text part, for a client's message list.
// It reads the message through its domain/message structure and does no
// I/O of its own.
package preview

import (
	"html"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"

	"github.com/imapd-go/imapd/domain/message"
)

// MaxChars is the longest preview, in characters (RFC 8970 section 3.1:
// "no more than 256 characters").
const MaxChars = 256

// maxRead caps the decoded bytes read of the part: enough for 256
// characters of text behind a long HTML head or much white space.
const maxRead = 64 << 10

// Compute returns the preview of the message whose structure is st and
// whose bytes raw holds: the first text/plain part (or, when there is
// none, the first text/html part reduced to its text), decoded from its
// transfer encoding and charset, white space collapsed, cut to MaxChars
// characters. A message without such a part has the empty preview (RFC
// 8970 section 3.1).
func Compute(st *message.Structure, raw io.ReaderAt) string {
	var plain, htm *message.TextPart
	st.TextParts(func(tp message.TextPart) bool {
		switch tp.Subtype {
		case "PLAIN":
			plain = &tp
			return false
		case "HTML":
			if htm == nil {
				htm = &tp
			}
		}
		return true
	})
	tp := plain
	if tp == nil {
		tp = htm
	}
	if tp == nil {
		return ""
	}
	r, _, err := st.Decoded(raw, tp.Path)
	if err != nil {
		return "" // an encoding the server cannot decode: nothing to show
	}
	if cs := strings.ToLower(tp.Charset); cs != "" && cs != "utf-8" && cs != "us-ascii" {
		if cr, err := charset.Reader(cs, r); err == nil {
			r = cr
		}
	}
	b, _ := io.ReadAll(io.LimitReader(r, maxRead))
	text := strings.ToValidUTF8(string(b), "\uFFFD")
	if tp.Subtype == "HTML" {
		text = FromHTML(text)
	}
	return Cut(Collapse(text), MaxChars)
}

// Collapse turns every run of white space and control characters into one
// space and trims both ends.
func Collapse(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Cut returns the first n characters of s (runes, never splitting one).
func Cut(s string, n int) string {
	i := 0
	for k := 0; k < n; k++ {
		if i >= len(s) {
			return s
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i]
}

// inline are the elements that do not break a word: "<b>pre</b>view" is
// one word. Every other tag is a word break.
var inline = map[string]bool{
	"a": true, "abbr": true, "b": true, "big": true, "code": true, "em": true, "font": true, "i": true,
	"mark": true, "q": true, "s": true, "small": true, "span": true, "strike": true, "strong": true,
	"sub": true, "sup": true, "tt": true, "u": true,
}

// hidden are the elements whose content is not text a reader sees.
var hidden = []string{"script", "style", "head", "title"}

// FromHTML reduces HTML to its text: tags, comments and the content of
// script, style and head elements dropped, each tag but inline ones a
// word break,
// character references decoded.
func FromHTML(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(html.UnescapeString(s))
			break
		}
		b.WriteString(html.UnescapeString(s[:i]))
		s = s[i:]
		if strings.HasPrefix(s, "<!--") {
			end := strings.Index(s[4:], "-->")
			if end < 0 {
				break
			}
			s = s[4+end+3:]
			continue
		}
		end := strings.IndexByte(s, '>')
		if end < 0 {
			break
		}
		tag := s[1:end]
		s = s[end+1:]
		name := strings.ToLower(tagName(strings.TrimPrefix(tag, "/")))
		if !inline[name] {
			b.WriteByte(' ')
		}
		for _, h := range hidden {
			if name == h && !strings.HasSuffix(tag, "/") {
				s = skipTo(s, "</"+h)
				break
			}
		}
	}
	return b.String()
}

// tagName returns the element name a tag's text starts with.
func tagName(tag string) string {
	for i, r := range tag {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return tag[:i]
		}
	}
	return tag
}

// skipTo returns s after the closing tag that starts with closing
// (compared without regard to case), or "" when there is none.
func skipTo(s, closing string) string {
	i := strings.Index(asciiLower(s), closing)
	if i < 0 {
		return ""
	}
	s = s[i:]
	if j := strings.IndexByte(s, '>'); j >= 0 {
		return s[j+1:]
	}
	return ""
}

// asciiLower lowers ASCII letters only, so that indexes into the result
// are indexes into s.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
