package imap

import "strings"

// UID is a message's unique identifier within one UIDVALIDITY of a mailbox.
type UID uint32

// Standard system flags (RFC 3501 section 2.3.2).
const (
	FlagSeen     = `\Seen`
	FlagAnswered = `\Answered`
	FlagFlagged  = `\Flagged`
	FlagDeleted  = `\Deleted`
	FlagDraft    = `\Draft`
	FlagRecent   = `\Recent` // session state only, never stored
)

// SystemFlags are the flags a client may set that are not keywords.
var SystemFlags = []string{FlagAnswered, FlagFlagged, FlagDeleted, FlagSeen, FlagDraft}

// CanonicalFlag returns the canonical spelling of a system flag (flags are
// case-insensitive) or the keyword unchanged.
func CanonicalFlag(f string) string {
	if strings.HasPrefix(f, `\`) {
		for _, s := range SystemFlags {
			if strings.EqualFold(s, f) {
				return s
			}
		}
		if strings.EqualFold(f, FlagRecent) {
			return FlagRecent
		}
	}
	return f
}

// HasFlag reports whether flags contains f, case-insensitively.
func HasFlag(flags []string, f string) bool {
	for _, x := range flags {
		if strings.EqualFold(x, f) {
			return true
		}
	}
	return false
}

// Range is an inclusive range of sequence numbers or UIDs. Zero stands for
// "*", the largest number in use.
type Range struct{ Start, Stop uint32 }

// NumSet is a sequence set (RFC 3501 sequence-set) as parsed: ranges in the
// order the client wrote them, "*" kept as 0 until resolved.
type NumSet []Range

// Contains reports whether n is in the set, with star the value of "*".
func (s NumSet) Contains(n, star uint32) bool {
	for _, r := range s {
		a, b := r.Start, r.Stop
		if a == 0 {
			a = star
		}
		if b == 0 {
			b = star
		}
		if a > b {
			a, b = b, a
		}
		if n >= a && n <= b {
			return true
		}
	}
	return false
}

// Bounds returns the ranges with "*" replaced by star and each range ordered
// low to high.
func (s NumSet) Bounds(star uint32) []Range {
	out := make([]Range, 0, len(s))
	for _, r := range s {
		a, b := r.Start, r.Stop
		if a == 0 {
			a = star
		}
		if b == 0 {
			b = star
		}
		if a > b {
			a, b = b, a
		}
		out = append(out, Range{a, b})
	}
	return out
}

// Dynamic reports whether the set uses "*".
func (s NumSet) Dynamic() bool {
	for _, r := range s {
		if r.Start == 0 || r.Stop == 0 {
			return true
		}
	}
	return false
}

// String renders the set in IMAP syntax.
func (s NumSet) String() string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		writeNum(&b, r.Start)
		if r.Stop != r.Start {
			b.WriteByte(':')
			writeNum(&b, r.Stop)
		}
	}
	return b.String()
}

func writeNum(b *strings.Builder, n uint32) {
	if n == 0 {
		b.WriteByte('*')
		return
	}
	var buf [10]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	b.Write(buf[i:])
}

// SetOfUIDs renders a list of UIDs compactly as a sequence set string (used
// for COPYUID and similar); uids need not be sorted.
func SetOfUIDs(uids []UID) string {
	if len(uids) == 0 {
		return ""
	}
	var s NumSet
	start, prev := uint32(uids[0]), uint32(uids[0])
	for _, u := range uids[1:] {
		if uint32(u) == prev+1 {
			prev = uint32(u)
			continue
		}
		s = append(s, Range{start, prev})
		start, prev = uint32(u), uint32(u)
	}
	s = append(s, Range{start, prev})
	return s.String()
}
