package imap

import (
	"strings"
	"unicode/utf8"
)

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

// Descendants is what LIST needs to know of the names below one mailbox
// name that satisfy the selection criteria (RFC 5258 3.3, 3.5).
type Descendants struct {
	// Any: some descendant satisfies the selection criteria.
	Any bool
	// Unlisted: some descendant satisfies them and matches none of the
	// patterns, so that it gets no LIST response of its own.
	Unlisted bool
}

// DescendantsOf maps every superior level of the names in meeting (the
// names that satisfy the selection criteria) to what it has below it;
// matched reports whether a name matches one of the LIST patterns.
func DescendantsOf(meeting []string, matched func(string) bool) map[string]Descendants {
	out := map[string]Descendants{}
	for _, n := range meeting {
		unlisted := !matched(n)
		for _, p := range Parents(n) {
			d := out[p]
			d.Any = true
			d.Unlisted = d.Unlisted || unlisted
			out[p] = d
		}
	}
	return out
}

// Recursive decides one name that the LIST patterns match under RFC 5258's
// RECURSIVEMATCH, given whether it satisfies the selection criteria itself
// (meets): whether it gets a LIST response, and whether that response
// carries CHILDINFO. A name that meets them is listed, with CHILDINFO when
// a descendant meets them too, listed or not (3.1 note 2, example 9). A
// name that does not is listed, with CHILDINFO, only for a descendant that
// meets them and that no pattern matches (3.3 rule 2B; 3.5 suppresses the
// redundant CHILDINFO of a name whose descendants are all listed).
func (d Descendants) Recursive(meets bool) (listed, childInfo bool) {
	if meets {
		return true, d.Any
	}
	return d.Unlisted, d.Unlisted
}

// MaxMailboxName is the longest mailbox name a store accepts, in bytes.
const MaxMailboxName = 1024

// CheckMailboxName refuses names no store should hold: empty, an empty
// level (leading, trailing or doubled separator), a level "." or ".." (a
// store that keeps levels as folders could not hold it, and every store
// must hold the same names, so that mailboxes move between them), control
// characters, invalid UTF-8, or longer than MaxMailboxName. Errors wrap
// ErrInvalidName and name op.
func CheckMailboxName(op, name string) error {
	switch {
	case name == "":
		return Errorf(op, ErrInvalidName, "empty name")
	case len(name) > MaxMailboxName:
		return Errorf(op, ErrInvalidName, "name longer than %d bytes", MaxMailboxName)
	case !utf8.ValidString(name):
		return Errorf(op, ErrInvalidName, "name is not UTF-8")
	}
	for _, level := range strings.Split(name, string(Separator)) {
		switch level {
		case "":
			return Errorf(op, ErrInvalidName, "empty level in %q", name)
		case ".", "..":
			return Errorf(op, ErrInvalidName, "level %q in %q", level, name)
		}
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return Errorf(op, ErrInvalidName, "control character in name")
		}
	}
	return nil
}
