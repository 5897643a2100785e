// Package sortkey owns what SORT and THREAD (RFC 5256, RFC 5957) compare:
// the i;unicode-casemap collation (RFC 5051), the base subject (RFC 5256
// section 2.1) and the per-message sort record computed from the stored
// structure blob. It does no I/O and knows nothing of stores or sessions.
package sortkey

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Collate returns the i;unicode-casemap key of s (RFC 5051 section 2):
// each character is mapped to its titlecase (Unicode's simple titlecase
// mapping) and the result fully decomposed (canonical decomposition).
// Two strings are equal under the collation when their keys are equal
// octet for octet, and ordered as their keys are. Bytes that are not
// valid UTF-8 are kept as they are (RFC 5051 leaves such input to the
// implementation; comparing octets keeps the order total).
func Collate(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		// Titlecase of ASCII is its uppercase; nothing decomposes.
		for i := 0; i < len(s); i++ {
			if c := s[i]; c >= 'a' && c <= 'z' {
				return asciiUpper(s, i)
			}
		}
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteByte(s[i])
		} else {
			b.WriteRune(unicode.ToTitle(r))
		}
		i += n
	}
	return norm.NFD.String(b.String())
}

func asciiUpper(s string, from int) string {
	b := []byte(s)
	for i := from; i < len(b); i++ {
		if c := b[i]; c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
