package sqlite

import (
	"fmt"
	"strings"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// Flags are stored as one space-separated TEXT value: system flags in their
// canonical spelling, keywords as the client first wrote them.

// normFlags canonicalises system flags, drops \Recent (session state, never
// stored) and empty names, and removes duplicates (compared without regard
// to case, the first spelling wins). A flag that cannot be stored (with a
// space or control character) is an error.
func normFlags(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, f := range in {
		if f == "" {
			continue
		}
		for i := 0; i < len(f); i++ {
			if c := f[i]; c <= ' ' || c == 0x7f {
				return nil, fmt.Errorf("invalid flag %q", f)
			}
		}
		f = imap.CanonicalFlag(f)
		if f == imap.FlagRecent || imap.HasFlag(out, f) {
			continue
		}
		out = append(out, f)
	}
	return out, nil
}

// applyFlags returns the flags a message gets from op, and whether they
// differ (as a case-insensitive set) from cur.
func applyFlags(cur []string, op ports.FlagOp, flags []string) ([]string, bool) {
	var next []string
	switch op {
	case ports.FlagsReplace:
		next = flags
	case ports.FlagsAdd:
		next = append([]string(nil), cur...)
		for _, f := range flags {
			if !imap.HasFlag(next, f) {
				next = append(next, f)
			}
		}
	case ports.FlagsRemove:
		next = make([]string, 0, len(cur))
		for _, f := range cur {
			if !imap.HasFlag(flags, f) {
				next = append(next, f)
			}
		}
	default:
		return cur, false
	}
	if sameFlags(cur, next) {
		return cur, false
	}
	return next, true
}

// sameFlags compares two duplicate-free flag lists as sets.
func sameFlags(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, f := range a {
		if !imap.HasFlag(b, f) {
			return false
		}
	}
	return true
}

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
