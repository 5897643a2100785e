package maildir

import (
	"fmt"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// normFlags canonicalises system flags, drops \Recent (never stored) and
// duplicates (case-insensitively, the first spelling wins). A flag the
// index cannot hold (with a space or control character) is an error.
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

// applyFlags returns the flags op makes of cur, and whether they differ
// from cur as a case-insensitive set.
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
		for _, f := range cur {
			if !imap.HasFlag(flags, f) {
				next = append(next, f)
			}
		}
	default:
		return cur, false
	}
	if len(next) == len(cur) {
		same := true
		for _, f := range cur {
			same = same && imap.HasFlag(next, f)
		}
		if same {
			return cur, false
		}
	}
	return next, true
}
