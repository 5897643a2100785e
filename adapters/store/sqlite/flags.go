package sqlite

import "strings"

// Flags are stored as one space-separated TEXT value: system flags in their
// canonical spelling, keywords as the client first wrote them.

func joinFlags(flags []string) string { return strings.Join(flags, " ") }

// flagParser splits stored flag lists, sharing one string per distinct flag
// name so that a snapshot of a large mailbox allocates little.
type flagParser map[string]string

func (p flagParser) parse(b []byte) []string {
	if len(b) == 0 {
		return []string{}
	}
	out := make([]string, 0, 1+countByte(b, ' '))
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != ' ' {
			i++
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

func countByte(b []byte, c byte) int {
	n := 0
	for _, x := range b {
		if x == c {
			n++
		}
	}
	return n
}
