package search

import (
	"cmp"
	"slices"

	"github.com/imapd-go/imapd/domain/imap"
)

// SortOrder lets a sorted context (CONTEXT=SORT) follow the mailbox by
// finding and placing messages with binary searches in its result,
// instead of sorting the whole result again (Order) on every change: a
// message's sort keys never change (they come from its bytes and
// internal date), so the members that stay keep their relative order,
// and the result is ordered by key, then UID (RFC 5256 section 3:
// messages that compare equal stay in mailbox order).
type SortOrder struct {
	// Keys returns the sort keys of uids (ascending), pairwise; nil for
	// a message it cannot tell (gone meanwhile): the context then falls
	// back to Order.
	Keys func(uids []imap.UID) ([]any, error)
	// Compare orders two keys Keys returned.
	Compare func(a, b any) int
}

// SetSortOrder makes a positional context incremental; keys are its
// members' sort keys, pairwise with Members.
func (c *UpdateContext) SetSortOrder(o *SortOrder, keys []any) {
	c.sort = o
	if len(keys) == len(c.members) {
		c.keys = slices.Clone(keys)
	}
}

// compareAt orders the member at i against a message with key k and UID u.
func (c *UpdateContext) compareAt(i int, k any, u imap.UID) int {
	if r := c.sort.Compare(c.keys[i], k); r != 0 {
		return r
	}
	return cmp.Compare(c.members[i], u)
}

// position is where the message with key k and UID u is in the result,
// or would be inserted.
func (c *UpdateContext) position(k any, u imap.UID) int {
	lo, hi := 0, len(c.members)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if c.compareAt(m, k, u) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// ensureKeys gets the members' keys again after a change made without
// them (Replace); false if some member's key cannot be told.
func (c *UpdateContext) ensureKeys() (bool, error) {
	if c.keys != nil {
		return true, nil
	}
	if len(c.members) == 0 {
		c.keys = []any{}
		return true, nil
	}
	byUID := slices.Clone(c.members)
	slices.Sort(byUID)
	keys, err := c.sort.Keys(byUID)
	if err != nil {
		return false, err
	}
	c.keys = make([]any, len(c.members))
	for i, u := range c.members {
		j, _ := slices.BinarySearch(byUID, u)
		if keys[j] == nil {
			c.keys = nil
			return false, nil
		}
		c.keys[i] = keys[j]
	}
	return true, nil
}

// applySorted is Apply by binary searches; ok is false when it cannot
// tell (a key it cannot have), and then it changed nothing.
func (c *UpdateContext) applySorted(uids []imap.UID, matches []bool) (changes []Change, ok bool, err error) {
	if ok, err := c.ensureKeys(); !ok || err != nil {
		return nil, false, err
	}
	asc := slices.IsSorted(uids)
	look := uids
	if !asc {
		look = slices.Clone(uids)
		slices.Sort(look)
	}
	keys, err := c.sort.Keys(look)
	if err != nil {
		return nil, false, err
	}
	keyOf := func(i int) any {
		if asc {
			return keys[i]
		}
		j, _ := slices.BinarySearch(look, uids[i])
		return keys[j]
	}
	var gone []int
	var adds []sortedAdd
	for i, u := range uids {
		k := keyOf(i)
		if k == nil {
			return nil, false, nil
		}
		p := c.position(k, u)
		member := p < len(c.members) && c.members[p] == u
		switch {
		case matches[i] && !member:
			adds = append(adds, sortedAdd{u, k})
		case !matches[i] && member:
			gone = append(gone, p)
		}
	}
	return c.rebuild(gone, adds), true, nil
}

// sortedAdd is a message entering a sorted result.
type sortedAdd struct {
	uid imap.UID
	key any
}

// removeSorted is Remove keeping the keys: one pass over the result.
func (c *UpdateContext) removeSorted(uids []imap.UID) []Change {
	gone := slices.Clone(uids)
	slices.Sort(gone)
	var pos []int
	for i, u := range c.members {
		if _, ok := slices.BinarySearch(gone, u); ok {
			pos = append(pos, i)
		}
	}
	return c.rebuild(pos, nil)
}

// rebuild takes the members at positions gone out of the result and
// puts adds in at their places, and returns the pairs that tell the
// client so, as Replace would: REMOVEFROM first, each at its position
// once those before it are gone, then ADDTO at the final positions,
// ascending (RFC 5267 section 4.3.2). Each new message's place is found
// by binary search; a few changes move the rest of the result in place,
// more are merged into a new one.
func (c *UpdateContext) rebuild(gone []int, adds []sortedAdd) []Change {
	slices.Sort(gone)
	gone = slices.Compact(gone)
	slices.SortFunc(adds, func(a, b sortedAdd) int {
		if r := c.sort.Compare(a.key, b.key); r != 0 {
			return r
		}
		return cmp.Compare(a.uid, b.uid)
	})
	adds = slices.CompactFunc(adds, func(a, b sortedAdd) bool { return a.uid == b.uid })
	if len(gone) == 0 && len(adds) == 0 {
		return nil
	}
	var changes []Change
	for j, p := range gone {
		changes = c.add(changes, false, uint32(p-j+1), c.members[p])
	}
	// at[a]: where adds[a] goes in the old result; final[a]: in the new.
	at := make([]int, len(adds))
	final := make([]int, len(adds))
	for a, x := range adds {
		at[a] = c.position(x.key, x.uid)
		below, _ := slices.BinarySearch(gone, at[a])
		final[a] = at[a] - below + a
		changes = c.add(changes, true, uint32(final[a]+1), x.uid)
	}
	if len(gone)+len(adds) <= 32 {
		for j := len(gone) - 1; j >= 0; j-- {
			c.members = slices.Delete(c.members, gone[j], gone[j]+1)
			c.keys = slices.Delete(c.keys, gone[j], gone[j]+1)
		}
		for a, x := range adds {
			c.members = slices.Insert(c.members, final[a], x.uid)
			c.keys = slices.Insert(c.keys, final[a], x.key)
		}
		return changes
	}
	n := len(c.members) - len(gone) + len(adds)
	members, keys := make([]imap.UID, 0, n), make([]any, 0, n)
	g, a := 0, 0
	for i := 0; i <= len(c.members); i++ {
		for a < len(adds) && at[a] == i {
			members, keys = append(members, adds[a].uid), append(keys, adds[a].key)
			a++
		}
		if i == len(c.members) {
			break
		}
		if g < len(gone) && gone[g] == i {
			g++
			continue
		}
		members, keys = append(members, c.members[i]), append(keys, c.keys[i])
	}
	c.members, c.keys = members, keys
	return changes
}
