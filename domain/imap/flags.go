package imap

import "fmt"

// NormalizeFlags canonicalises system flags, drops \Recent (session state,
// never stored) and empty names, and removes duplicates (compared without
// regard to case, the first spelling wins). A flag no store can keep (with
// a space or a control character) is an error.
func NormalizeFlags(in []string) ([]string, error) {
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
		f = CanonicalFlag(f)
		if f == FlagRecent || HasFlag(out, f) {
			continue
		}
		out = append(out, f)
	}
	return out, nil
}

// SameFlags compares two duplicate-free flag lists as case-insensitive sets.
func SameFlags(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, f := range a {
		if !HasFlag(b, f) {
			return false
		}
	}
	return true
}

// AddFlags returns cur with the flags it lacks appended.
func AddFlags(cur, flags []string) []string {
	next := append([]string(nil), cur...)
	for _, f := range flags {
		if !HasFlag(next, f) {
			next = append(next, f)
		}
	}
	return next
}

// RemoveFlags returns cur without flags.
func RemoveFlags(cur, flags []string) []string {
	next := make([]string, 0, len(cur))
	for _, f := range cur {
		if !HasFlag(flags, f) {
			next = append(next, f)
		}
	}
	return next
}
