package search

import (
	"slices"

	"github.com/imapd-go/imapd/domain/imap"
)

// UpdateContext is a result the server keeps up to date after the command that
// asked for it with RETURN (UPDATE) (RFC 5267 section 4.3): the client is
// told of messages that enter or leave it with ADDTO and REMOVEFROM. It
// holds UIDs, whatever the client is shown, so that it survives expunges;
// the session renders them as message numbers for a non-UID command.
//
// A SEARCH context keeps its members in mailbox (UID) order and reports
// every change at position 0 (RFC 5267 sections 4.3.3, 4.3.4). A SORT
// context (CONTEXT=SORT) keeps them in sort order and reports positions:
// make it with Positional set and Order putting UIDs in sort order (Apply
// then uses it), or hand Replace the new result in sort order.
type UpdateContext struct {
	Tag        string
	UID        bool              // results are UIDs (UID SEARCH / UID SORT)
	Criteria   Key               // what the searching command asked
	Saved      map[imap.UID]bool // "$" as it was when the context was made
	Positional bool              // report positions (sorted results)
	// Order, when set, returns the UIDs given (ascending) in result
	// order: a SORT context's sort program. Nil keeps UID order.
	Order   func(uids []imap.UID) ([]imap.UID, error)
	members []imap.UID // in result order
	sort    *SortOrder // see SetSortOrder
	keys    []any      // with sort: the members' keys, pairwise; nil until known
}

// NewUpdateContext makes a context holding the result members, in result order.
func NewUpdateContext(tag string, uid bool, criteria Key, saved map[imap.UID]bool, members []imap.UID) *UpdateContext {
	return &UpdateContext{Tag: tag, UID: uid, Criteria: criteria, Saved: saved, members: slices.Clone(members)}
}

// Members returns the result, in result order. The caller must not change
// it, and it is valid until the context's next change.
func (c *UpdateContext) Members() []imap.UID { return c.members }

// Has reports whether uid is in the result.
func (c *UpdateContext) Has(uid imap.UID) bool {
	if !c.Positional {
		_, ok := slices.BinarySearch(c.members, uid)
		return ok
	}
	return slices.Contains(c.members, uid)
}

// Change is one ADDTO or REMOVEFROM pair (RFC 5267 section 5): Position is
// 0 for a SEARCH context, or the 1-based position at which UIDs (in result
// order) are inserted or from which they are removed. Pairs are applied
// in the order given, each after the one before it.
type Change struct {
	Add      bool
	Position uint32
	UIDs     []imap.UID
}

// Remove takes uids (expunged messages) out of the result and returns the
// REMOVEFROM pairs to send, nil when none was a member.
func (c *UpdateContext) Remove(uids []imap.UID) []Change {
	if c.sort != nil && c.keys != nil {
		return c.removeSorted(uids)
	}
	gone := map[imap.UID]bool{}
	for _, u := range uids {
		gone[u] = true
	}
	next := make([]imap.UID, 0, len(c.members))
	for _, u := range c.members {
		if !gone[u] {
			next = append(next, u)
		}
	}
	return c.Replace(next)
}

// Apply updates the context with whether each of uids matches now
// (matches[i] for uids[i]) and returns the REMOVEFROM and ADDTO pairs.
// Only Order's error is returned.
func (c *UpdateContext) Apply(uids []imap.UID, matches []bool) ([]Change, error) {
	if c.sort != nil {
		if changes, ok, err := c.applySorted(uids, matches); ok || err != nil {
			return changes, err
		}
	}
	set := map[imap.UID]bool{}
	for _, u := range c.members {
		set[u] = true
	}
	for i, u := range uids {
		if matches[i] {
			set[u] = true
		} else {
			delete(set, u)
		}
	}
	next := make([]imap.UID, 0, len(set))
	for u := range set {
		next = append(next, u)
	}
	slices.Sort(next)
	if c.Order != nil {
		var err error
		if next, err = c.Order(next); err != nil {
			return nil, err
		}
	}
	return c.Replace(next), nil
}

// Replace makes next (in result order) the result and returns what the
// client must be told to turn the old result into it: REMOVEFROM first,
// then ADDTO. Members that stay normally keep their relative order (the
// sort keys of a message do not change); any that do not are removed and
// inserted again, so that removals followed by insertions at the new
// positions rebuild next exactly.
func (c *UpdateContext) Replace(next []imap.UID) []Change {
	in := make(map[imap.UID]bool, len(next))
	for _, u := range next {
		in[u] = true
	}
	was := make(map[imap.UID]bool, len(c.members))
	for _, u := range c.members {
		was[u] = true
	}
	// Survivors in old and in new order: from the first place they
	// differ, they move.
	i, j := 0, 0
	for i < len(c.members) && j < len(next) {
		switch {
		case !in[c.members[i]]:
			i++
		case !was[next[j]]:
			j++
		case c.members[i] == next[j]:
			i, j = i+1, j+1
		default:
			for _, u := range c.members[i:] {
				delete(in, u)
				delete(was, u)
			}
			i = len(c.members)
		}
	}
	var changes []Change
	// Removals, each at its position once those before it are gone.
	pos := uint32(0) // members kept so far
	for _, u := range c.members {
		if in[u] {
			pos++
			continue
		}
		changes = c.add(changes, false, pos+1, u)
	}
	for i, u := range next {
		if !was[u] {
			changes = c.add(changes, true, uint32(i+1), u)
		}
	}
	c.members = slices.Clone(next)
	c.keys = nil // a sorted context gets them again when it needs them
	return changes
}

// add appends uid to the last pair when it continues it, or a new pair.
func (c *UpdateContext) add(changes []Change, add bool, pos uint32, uid imap.UID) []Change {
	if !c.Positional {
		pos = 0
	}
	if n := len(changes); n > 0 && changes[n-1].Add == add {
		last := &changes[n-1]
		switch {
		case pos == 0:
			last.UIDs = append(last.UIDs, uid)
			return changes
		case !add && pos == last.Position:
			// Removed at the same place as the one before.
			last.UIDs = append(last.UIDs, uid)
			return changes
		case add && pos == last.Position+uint32(len(last.UIDs)):
			last.UIDs = append(last.UIDs, uid)
			return changes
		}
	}
	return append(changes, Change{Add: add, Position: pos, UIDs: []imap.UID{uid}})
}
