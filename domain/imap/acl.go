package imap

import (
	"slices"
	"strings"
)

// Access control lists (RFC 4314) with Cyrus's rights letters.
//
// A right is one letter; a Rights value is a set of them, always kept in
// RightsOrder (Cyrus prints them so: "lrswipkxtecdan"). RFC 4314's
// obsolete "c" and "d" are not rights of their own: on input "c" means
// "kx" and "d" means "te" (RFC 4314 2.1.1, and Cyrus's reading of it), and
// on output they are printed whenever their whole group is there, which is
// what Cyrus 3.6 prints for its owner's default "lrswipkxtecdan".

// RightsOrder is every right in the order Rights are printed.
const RightsOrder = "lrswipkxtecdan"

// Individual rights (RFC 4314 2.1; "n", Cyrus's, is the right to write
// shared annotations and METADATA).
const (
	RightLookup      = 'l' // the mailbox is visible to LIST and LSUB, SUBSCRIBE
	RightRead        = 'r' // SELECT, EXAMINE, STATUS, FETCH, SEARCH, COPY from
	RightSeen        = 's' // keep \Seen across sessions
	RightWrite       = 'w' // flags other than \Seen and \Deleted
	RightInsert      = 'i' // APPEND, COPY and MOVE into
	RightPost        = 'p' // send mail to the submission address
	RightCreate      = 'k' // CREATE below, RENAME into
	RightDeleteBox   = 'x' // DELETE, RENAME from
	RightDeleteMsg   = 't' // set or clear \Deleted
	RightExpunge     = 'e' // EXPUNGE, and MOVE out
	RightAdmin       = 'a' // SETACL, DELETEACL, GETACL, LISTRIGHTS
	RightAnnotate    = 'n' // shared METADATA
	rightObsCreate   = 'c'
	rightObsDelete   = 'd'
	AllRights        = Rights("lrswipkxtecdan")
	OwnerImplicit    = Rights("lkxan") // the owner always has these (Cyrus)
	DefaultSharedACL = "anyone lrs"    // Cyrus's defaultacl
)

// Rights is a set of rights letters in RightsOrder, with "c" present when
// both of "k" and "x" are, "d" when both of "t" and "e" are.
type Rights string

// ParseRights reads a rights string as a client sends it (RFC 4314's
// rights: any order, repetition allowed, "c" and "d" meaning their
// groups). ok is false when a letter is not a right this server knows:
// RFC 4314 3.1 asks for a tagged BAD then.
func ParseRights(s string) (Rights, bool) {
	var set [128]bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == rightObsCreate:
			set[RightCreate], set[RightDeleteBox] = true, true
		case c == rightObsDelete:
			set[RightDeleteMsg], set[RightExpunge] = true, true
		case c < 128 && strings.IndexByte(RightsOrder, c) >= 0:
			set[c] = true
		default:
			return "", false
		}
	}
	return fromSet(&set), true
}

// fromSet prints a set in RightsOrder, with "c" and "d" for whole groups.
func fromSet(set *[128]bool) Rights {
	set[rightObsCreate] = set[RightCreate] && set[RightDeleteBox]
	set[rightObsDelete] = set[RightDeleteMsg] && set[RightExpunge]
	var b []byte
	for i := 0; i < len(RightsOrder); i++ {
		if set[RightsOrder[i]] {
			b = append(b, RightsOrder[i])
		}
	}
	return Rights(b)
}

func (r Rights) set() *[128]bool {
	var set [128]bool
	for i := 0; i < len(r); i++ {
		if r[i] < 128 {
			set[r[i]] = true
		}
	}
	return &set
}

// Has reports whether every right in want is in r (want holds real
// rights, never "c" or "d").
func (r Rights) Has(want ...byte) bool {
	for _, w := range want {
		if strings.IndexByte(string(r), w) < 0 {
			return false
		}
	}
	return true
}

// Union returns the rights in r or in o.
func (r Rights) Union(o Rights) Rights {
	set := r.set()
	for i := 0; i < len(o); i++ {
		set[o[i]] = true
	}
	return fromSet(set)
}

// Minus returns the rights in r and not in o.
func (r Rights) Minus(o Rights) Rights {
	set := r.set()
	for i := 0; i < len(o); i++ {
		set[o[i]] = false
	}
	// "c" in o removes its group (ParseRights expanded it already);
	// a "c" left alone in r is recomputed by fromSet.
	return fromSet(set)
}

// ACLEntry is one identifier's rights. An identifier starting with "-"
// holds negative rights (RFC 4314 2): rights taken away from the
// identifier after the positive ones are added up.
type ACLEntry struct {
	Identifier string
	Rights     Rights
}

// ACL is a mailbox's access control list: each identifier at most once,
// never with empty rights, in the order identifiers were first given
// (Cyrus keeps and prints them so: a change keeps an entry's place, a new
// one goes last).
type ACL []ACLEntry

// AnyoneID is RFC 4314's identifier for every user.
const AnyoneID = "anyone"

// ACLOp says how UpdateACL changes one identifier's rights (RFC 4314
// 3.1: "+" adds, "-" removes, none replaces).
type ACLOp int

const (
	ACLReplace ACLOp = iota
	ACLAdd
	ACLRemove
)

// ParseRightsChange reads SETACL's mod-rights (RFC 4314 3.1): a rights
// string, with "+" in front to add the rights or "-" to take them away.
// ok is false when ParseRights refuses the rest.
func ParseRightsChange(s string) (op ACLOp, r Rights, ok bool) {
	switch {
	case strings.HasPrefix(s, "+"):
		op, s = ACLAdd, s[1:]
	case strings.HasPrefix(s, "-"):
		op, s = ACLRemove, s[1:]
	}
	r, ok = ParseRights(s)
	return op, r, ok
}

// Get returns the identifier's rights ("" when it has none).
func (a ACL) Get(id string) Rights {
	for _, e := range a {
		if e.Identifier == id {
			return e.Rights
		}
	}
	return ""
}

// With returns a copy of a in which id's rights are changed by op with r,
// in place, or at the end for a new identifier; an identifier left with
// no rights is removed (RFC 4314 3.1: SETACL with an empty rights string
// is DELETEACL).
func (a ACL) With(id string, op ACLOp, r Rights) ACL {
	cur := a.Get(id)
	var next Rights
	switch op {
	case ACLAdd:
		next = cur.Union(r)
	case ACLRemove:
		next = cur.Minus(r)
	default:
		next = r
	}
	out := make(ACL, 0, len(a)+1)
	found := false
	for _, e := range a {
		if e.Identifier != id {
			out = append(out, e)
			continue
		}
		found = true
		if next != "" {
			out = append(out, ACLEntry{Identifier: id, Rights: next})
		}
	}
	if !found && next != "" {
		out = append(out, ACLEntry{Identifier: id, Rights: next})
	}
	return out
}

// Rights returns what user gets from a on a mailbox owned by owner
// (SharedOwner or "" for a shared one): the union of the user's entry
// and "anyone", less the negative entries of both (RFC 4314 2), plus the
// owner's implicit rights (Cyrus: the owner can always administer and
// see their own mailboxes).
func (a ACL) Rights(user, owner string) Rights {
	pos := a.Get(user).Union(a.Get(AnyoneID))
	neg := a.Get("-" + user).Union(a.Get("-" + AnyoneID))
	r := pos.Minus(neg)
	if user == owner {
		r = r.Union(OwnerImplicit)
	}
	return r
}

// String writes the ACL as Cyrus keeps it: identifier, tab, rights,
// tab, for each entry.
func (a ACL) String() string {
	var b strings.Builder
	for _, e := range a {
		b.WriteString(e.Identifier)
		b.WriteByte('\t')
		b.WriteString(string(e.Rights))
		b.WriteByte('\t')
	}
	return b.String()
}

// ParseACL reads what String wrote; entries with rights it does not know
// lose those letters, empty ones are dropped.
func ParseACL(s string) ACL {
	f := strings.Split(s, "\t")
	var a ACL
	for i := 0; i+1 < len(f); i += 2 {
		var kept []byte
		for j := 0; j < len(f[i+1]); j++ {
			if strings.IndexByte(RightsOrder, f[i+1][j]) >= 0 {
				kept = append(kept, f[i+1][j])
			}
		}
		r, _ := ParseRights(string(kept))
		if f[i] != "" && r != "" {
			a = a.With(f[i], ACLReplace, r)
		}
	}
	return a
}

// ParseDefaultACL reads an imapd.conf defaultacl value ("id rights id
// rights ..."); ok is false when it does not parse.
func ParseDefaultACL(s string) (ACL, bool) {
	f := strings.Fields(s)
	if len(f)%2 != 0 {
		return nil, false
	}
	var a ACL
	for i := 0; i < len(f); i += 2 {
		r, ok := ParseRights(f[i+1])
		if !ok {
			return nil, false
		}
		a = a.With(f[i], ACLReplace, r)
	}
	return a, true
}

// UIDsOfSet reads a set SetOfUIDs wrote (no "*") into ascending UIDs;
// ok is false when s is not such a set.
func UIDsOfSet(s string) (uids []UID, ok bool) {
	if s == "" {
		return nil, true
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, found := strings.Cut(part, ":")
		a, ok1 := atoiUID(lo)
		b := a
		ok2 := true
		if found {
			b, ok2 = atoiUID(hi)
		}
		if !ok1 || !ok2 || b < a {
			return nil, false
		}
		for u := a; ; u++ {
			uids = append(uids, u)
			if u == b {
				break
			}
		}
	}
	slices.Sort(uids)
	return slices.Compact(uids), true
}

func atoiUID(s string) (UID, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + uint64(s[i]-'0')
	}
	if n == 0 || n > 1<<32-1 {
		return 0, false
	}
	return UID(n), true
}

// ChangeUIDs returns the ascending set cur with uids added (add) or
// removed (!add).
func ChangeUIDs(cur, uids []UID, add bool) []UID {
	in := make(map[UID]bool, len(uids))
	for _, u := range uids {
		in[u] = true
	}
	var out []UID
	for _, u := range cur {
		if !in[u] || add {
			out = append(out, u)
		}
	}
	if add {
		out = append(out, uids...)
		slices.Sort(out)
		out = slices.Compact(out)
	}
	return out
}
