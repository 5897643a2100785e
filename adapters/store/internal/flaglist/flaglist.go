// Package flaglist is how the SQL stores keep a message's flags: one
// space-separated text value, system flags in their canonical spelling and
// keywords as the client first wrote them.
package flaglist

import (
	"bytes"
	"strings"
)

// Join is the stored form of flags.
func Join(flags []string) string { return strings.Join(flags, " ") }

// Parser splits stored flag lists, sharing one string per distinct flag
// name, so that a snapshot of a large mailbox allocates little. The zero
// value is not ready: make one with Parser{}.
type Parser map[string]string

// Parse splits b; empty names (doubled spaces) are skipped.
func (p Parser) Parse(b []byte) []string {
	if len(b) == 0 {
		return []string{}
	}
	out := make([]string, 0, 1+bytes.Count(b, []byte{' '}))
	for len(b) > 0 {
		i := bytes.IndexByte(b, ' ')
		if i < 0 {
			i = len(b)
		}
		if i > 0 {
			s, ok := p[string(b[:i])]
			if !ok {
				s = string(b[:i])
				p[s] = s
			}
			out = append(out, s)
		}
		if i < len(b) {
			i++
		}
		b = b[i:]
	}
	return out
}
