package imap

import (
	"fmt"
	"iter"
	"strings"
)

// MaxKeywords is how many distinct keywords one mailbox may hold. Cyrus
// keeps 128 user flags per mailbox but lets an IMAP client create only the
// first 100 (the other slots are for replication and the flags an
// administrator configures), so a client meets the same limit here.
const MaxKeywords = 100

// MaxFlagLength is the longest flag name a client may set, in bytes: Cyrus
// answers BAD "Invalid flag name" from 1024 on.
const MaxFlagLength = 1023

// foldKey is what flags are compared by: flag names are case-insensitive
// (RFC 3501 2.3.2). Flags are atoms, so ASCII; ToLower returns a name
// without capitals as it is, without allocating.
func foldKey(f string) string { return strings.ToLower(f) }

// smallFlags is the list length up to which a linear search beats building
// a set: most messages carry a handful of flags.
const smallFlags = 8

// flagSet answers "is f among these flags?" case-insensitively, in constant
// time for long lists, so that no flag operation is quadratic in the number
// of flags a message or a command carries.
type flagSet struct {
	list []string
	m    map[string]struct{}
}

func newFlagSet(flags []string) *flagSet {
	s := &flagSet{}
	for _, f := range flags {
		s.add(f)
	}
	return s
}

func (s *flagSet) has(f string) bool {
	if s.m != nil {
		_, ok := s.m[foldKey(f)]
		return ok
	}
	return HasFlag(s.list, f)
}

func (s *flagSet) add(f string) {
	if s.m == nil && len(s.list) < smallFlags {
		s.list = append(s.list, f)
		return
	}
	if s.m == nil {
		s.m = make(map[string]struct{}, 2*smallFlags)
		for _, x := range s.list {
			s.m[foldKey(x)] = struct{}{}
		}
		s.list = nil
	}
	s.m[foldKey(f)] = struct{}{}
}

// NormalizeFlags canonicalises system flags, drops \Recent (session state,
// never stored) and empty names, and removes duplicates (compared without
// regard to case, the first spelling wins). A flag no store can keep (with
// a space or a control character) is an error.
func NormalizeFlags(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	seen := &flagSet{}
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
		if f == FlagRecent || seen.has(f) {
			continue
		}
		seen.add(f)
		out = append(out, f)
	}
	return out, nil
}

// SameFlags compares two duplicate-free flag lists as case-insensitive sets.
func SameFlags(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	set := newFlagSet(b)
	for _, f := range a {
		if !set.has(f) {
			return false
		}
	}
	return true
}

// AddFlags returns cur with the flags it lacks appended.
func AddFlags(cur, flags []string) []string {
	next := append(make([]string, 0, len(cur)+len(flags)), cur...)
	set := newFlagSet(cur)
	for _, f := range flags {
		if !set.has(f) {
			set.add(f)
			next = append(next, f)
		}
	}
	return next
}

// RemoveFlags returns cur without flags.
func RemoveFlags(cur, flags []string) []string {
	next := make([]string, 0, len(cur))
	set := newFlagSet(flags)
	for _, f := range cur {
		if !set.has(f) {
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
	k := foldKey(f)
	if _, ok := s.m[k]; ok {
		return false
	}
	s.m[k] = struct{}{}
	return true
}

// Has reports whether keyword f is in the set.
func (s KeywordSet) Has(f string) bool {
	_, ok := s.m[foldKey(f)]
	return ok
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
	if have.Len()+pending > MaxKeywords {
		return Errorf(op, ErrLimit, "a mailbox holds at most %d keywords; it has %d and this adds %d",
			MaxKeywords, have.Len(), pending)
	}
	return nil
}
