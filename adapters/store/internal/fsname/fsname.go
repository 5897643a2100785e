// Package fsname spells names (users, owners, identifiers) as single
// file names, and reads them back, for the stores' folders and indexes.
package fsname

import (
	"fmt"
	"strconv"
	"strings"
)

// Escape spells s as one file name: ASCII letters, digits and "-_@+="
// as they are, every other byte (and a leading ".") as %XX, so that two
// names never share a file name and none is "." or "..".
func Escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-_@+=", c) >= 0, c == '.' && i > 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// Unescape undoes %XX escapes (Escape's, and any other spelling that
// writes bytes as %XX); ok is false for a malformed escape.
func Unescape(s string) (string, bool) {
	if !strings.Contains(s, "%") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), true
}
