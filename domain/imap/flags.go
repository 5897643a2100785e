package imap

import (
	"fmt"
	"iter"
)

// MaxKeywords is how many distinct keywords one mailbox may hold. Cyrus
// keeps 128 user flags per mailbox but lets an IMAP client create only the
// first 100 (the other slots are for replication and the flags an
// administrator configures), so a client meets the same limit here.
const MaxKeywords = 100

// MaxFlagLength is the longest flag name a client may set, in bytes: Cyrus
// answers BAD "Invalid flag name" from 1024 on.
const MaxFlagLength = 1023

// FoldFlag returns the name flag f is compared by: two flags are the same
// when their folded names are equal. Flag names are case-insensitive (RFC
// 3501 2.3.2), and they are atoms, so ASCII. A name without capitals is
// returned as it is, without allocating.
func FoldFlag(f string) string {
	for i := 0; i < len(f); i++ {
		if 'A' <= f[i] && f[i] <= 'Z' {
			return string(appendFold(make([]byte, 0, len(f)), f))
		}
	}
	return f
}

func appendFold(b []byte, f string) []byte {
	for i := 0; i < len(f); i++ {
		c := f[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// hasFold reports whether m holds the folded name of f, without allocating
// for names of usual length.
func hasFold(m map[string]struct{}, f string) bool {
	var buf [64]byte
	_, ok := m[string(appendFold(buf[:0], f))]
	return ok
}

// smallFlags is the list length up to which a linear search beats building
// a set: most messages and commands carry a handful of flags. Past it,
// lists are compared through a set of folded names, so that no flag
// operation is quadratic in the number of flags a message or a command
// carries.
const smallFlags = 16

// foldSet returns the folded names of flags, with room for extra more.
func foldSet(flags []string, extra int) map[string]struct{} {
	m := make(map[string]struct{}, len(flags)+extra)
	for _, f := range flags {
		m[FoldFlag(f)] = struct{}{}
	}
	return m
}

// NormalizeFlags canonicalises system flags, drops \Recent (session state,
// never stored) and empty names, and removes duplicates (compared without
// regard to case, the first spelling wins). A flag no store can keep (with
// a space or a control character) is an error.
func NormalizeFlags(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	var seen map[string]struct{}
	if len(in) > smallFlags {
		seen = foldSet(nil, len(in))
	}
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
		if f == FlagRecent {
			continue
		}
		if seen == nil {
			if HasFlag(out, f) {
				continue
			}
		} else {
			if hasFold(seen, f) {
				continue
			}
			seen[FoldFlag(f)] = struct{}{}
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
	if len(b) <= smallFlags {
		for _, f := range a {
			if !HasFlag(b, f) {
				return false
			}
		}
		return true
	}
	set := foldSet(b, 0)
	for _, f := range a {
		if !hasFold(set, f) {
			return false
		}
	}
	return true
}

// AddFlags returns cur with the flags it lacks appended.
func AddFlags(cur, flags []string) []string {
	next := append(make([]string, 0, len(cur)+len(flags)), cur...)
	if len(cur)+len(flags) <= smallFlags {
		for _, f := range flags {
			if !HasFlag(next, f) {
				next = append(next, f)
			}
		}
		return next
	}
	set := foldSet(cur, len(flags))
	for _, f := range flags {
		if !hasFold(set, f) {
			set[FoldFlag(f)] = struct{}{}
			next = append(next, f)
		}
	}
	return next
}

// RemoveFlags returns cur without flags.
func RemoveFlags(cur, flags []string) []string {
	next := make([]string, 0, len(cur))
	if len(flags) <= smallFlags {
		for _, f := range cur {
			if !HasFlag(flags, f) {
				next = append(next, f)
			}
		}
		return next
	}
	set := foldSet(flags, 0)
	for _, f := range cur {
		if !hasFold(set, f) {
			next = append(next, f)
		}
	}
	return next
}

// IsKeyword reports whether f is a keyword rather than a system flag.
func IsKeyword(f string) bool { return f != "" && f[0] != '\\' }

// KeywordSet holds distinct keywords, compared without regard to case; the
// zero value is not usable, make one with NewKeywordSet.
type KeywordSet struct{ m map[string]struct{} }

// NewKeywordSet returns the set of the keywords among flags.
func NewKeywordSet(flags ...[]string) KeywordSet {
	s := KeywordSet{m: map[string]struct{}{}}
	for _, fl := range flags {
		for _, f := range fl {
			s.Add(f)
		}
	}
	return s
}

// Add adds f when it is a keyword and reports whether it was not there.
func (s KeywordSet) Add(f string) bool {
	if !IsKeyword(f) {
		return false
	}
	if hasFold(s.m, f) {
		return false
	}
	s.m[FoldFlag(f)] = struct{}{}
	return true
}

// Has reports whether keyword f is in the set.
func (s KeywordSet) Has(f string) bool {
	return hasFold(s.m, f)
}

// Names returns the keywords of the set, folded (FoldFlag), in no order.
func (s KeywordSet) Names() []string {
	out := make([]string, 0, len(s.m))
	for k := range s.m {
		out = append(out, k)
	}
	return out
}

// Admit fails with ErrLimit when a mailbox holding the keywords of s
// would pass MaxKeywords with the keywords of want added.
func (s KeywordSet) Admit(op string, want []string) error {
	if n := len(s.Missing(want)); s.Len()+n > MaxKeywords {
		return Errorf(op, ErrLimit, "a mailbox holds at most %d keywords; it has %d and this adds %d",
			MaxKeywords, s.Len(), n)
	}
	return nil
}

// Len is the number of keywords in the set.
func (s KeywordSet) Len() int { return len(s.m) }

// Missing returns the keywords among flags that are not in s, each once.
func (s KeywordSet) Missing(flags ...[]string) []string {
	var out []string
	var seen KeywordSet
	for _, fl := range flags {
		for _, f := range fl {
			if !IsKeyword(f) || s.Has(f) {
				continue
			}
			if seen.m == nil {
				seen = NewKeywordSet()
			}
			if seen.Add(f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// AdmitKeywords checks, for a store holding the mailbox's lock, that
// adding the keywords want (each once, none known to be in the mailbox
// yet) keeps the mailbox within MaxKeywords; it fails with ErrLimit
// otherwise. mailbox yields the flags of every message of the mailbox, and
// is stopped early once every keyword of want has been seen there. A
// keyword counts as defined in a mailbox while a message there has it, so
// keywords already in use can always be set.
func AdmitKeywords(op string, want []string, mailbox iter.Seq[[]string]) error {
	if len(want) == 0 {
		return nil
	}
	wanted := NewKeywordSet(want)
	pending := wanted.Len()
	have := NewKeywordSet()
	for flags := range mailbox {
		for _, f := range flags {
			if have.Add(f) && wanted.Has(f) {
				if pending--; pending == 0 {
					return nil
				}
			}
		}
	}
	return have.Admit(op, want)
}
