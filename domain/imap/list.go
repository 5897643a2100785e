package imap

import "strings"

// Separator is the hierarchy separator of every mailbox name.
const Separator = '/'

// ListPattern joins a LIST reference and pattern into one canonical pattern
// (RFC 3501 6.3.8): the reference is prefixed to the pattern as it is. A first
// level spelled as any case of INBOX is normalised.
func ListPattern(reference, pattern string) string {
	p := reference + pattern
	if len(p) >= 5 && strings.EqualFold(p[:5], "INBOX") && (len(p) == 5 || p[5] == Separator) {
		p = "INBOX" + p[5:]
	}
	return p
}

// MatchList reports whether name matches a canonical LIST pattern: "*"
// matches any run of characters, "%" any run without the separator. It runs
// in O(len(name)*len(pattern)) whatever the pattern, so a hostile pattern
// cannot stall the server.
func MatchList(name, pattern string) bool {
	// cur[i] reports whether name[:i] matches the pattern prefix read so far.
	cur := make([]bool, len(name)+1)
	next := make([]bool, len(name)+1)
	cur[0] = true
	for j := 0; j < len(pattern); j++ {
		c := pattern[j]
		for i := range next {
			next[i] = false
		}
		switch c {
		case '*', '%':
			for i := 0; i <= len(name); i++ {
				if cur[i] {
					next[i] = true
				} else if i > 0 && next[i-1] && (c == '*' || name[i-1] != Separator) {
					next[i] = true
				}
			}
		default:
			for i := 1; i <= len(name); i++ {
				next[i] = cur[i-1] && name[i-1] == c
			}
		}
		cur, next = next, cur
	}
	return cur[len(name)]
}

// Parents returns the superior levels of name ("a/b/c" -> "a", "a/b").
func Parents(name string) []string {
	var out []string
	for i := 0; i < len(name); i++ {
		if name[i] == Separator {
			out = append(out, name[:i])
		}
	}
	return out
}
