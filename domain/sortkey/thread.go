package sortkey

import (
	"cmp"
	"slices"
	"strconv"
)

// Thread is one node of a THREAD answer: a message (Item) or, when Item
// is nil, a dummy standing for a message the mailbox does not hold, with
// the messages below it.
type Thread struct {
	Item     *Item
	Children []*Thread

	parent *Thread
	// key is what REFS orders its roots by: the latest internal date in
	// the thread.
	key int64
}

// Algorithms names the threading algorithms, as THREAD spells them.
var Algorithms = map[string]func([]Item) []*Thread{
	"ORDEREDSUBJECT": OrderedSubject,
	"REFERENCES":     References,
	"REFS":           Refs,
}

// OrderedSubject threads by subject alone (RFC 5256 section 3,
// ORDEREDSUBJECT): messages sorted by base subject, then sent date, are
// split into one thread per base subject, the first message the parent
// of the others; threads are ordered by the sent date of their first
// message.
func OrderedSubject(items []Item) []*Thread {
	sorted := slices.Clone(items)
	Sort(sorted, []Criterion{{Key: Subject}, {Key: Date}})
	var roots []*Thread
	var cur *Thread
	for i := range sorted {
		it := &sorted[i]
		if cur != nil && cur.Item.Rec.Subject == it.Rec.Subject {
			cur.Children = append(cur.Children, &Thread{Item: it, parent: cur})
			continue
		}
		cur = &Thread{Item: it}
		roots = append(roots, cur)
	}
	slices.SortFunc(roots, bySent)
	return roots
}

// References threads by the References and In-Reply-To fields, then by
// base subject (RFC 5256 section 3, REFERENCES, steps 1 to 6).
func References(items []Item) []*Thread {
	roots := linkTree(items)
	// Step 4: the root set by sent date, a dummy by its first child's.
	for _, t := range roots {
		if t.Item == nil {
			slices.SortFunc(t.Children, bySent)
		}
	}
	slices.SortFunc(roots, bySent)
	roots = groupSubjects(roots)
	// Step 6: every set of siblings by sent date, depth first.
	sortTree(roots, bySent)
	return roots
}

// Refs is REFS as Cyrus offers it: REFERENCES without step 5's grouping
// by subject, and with the threads ordered by the latest internal date
// of any of their messages (the thread with the newest message last);
// siblings within a thread are ordered by sent date, then internal date.
func Refs(items []Item) []*Thread {
	roots := linkTree(items)
	for _, t := range roots {
		t.key = latest(t)
	}
	sortTree(roots, bySentArrival)
	slices.SortFunc(roots, func(a, b *Thread) int {
		if r := cmp.Compare(a.key, b.key); r != 0 {
			return r
		}
		return cmp.Compare(seqOf(a), seqOf(b))
	})
	return roots
}

func latest(t *Thread) int64 {
	var m int64
	if t.Item != nil {
		m = t.Item.Rec.Arrival
	}
	for _, c := range t.Children {
		m = max(m, latest(c))
	}
	return m
}

func seqOf(t *Thread) uint32 {
	if t.Item == nil {
		return 0
	}
	return t.Item.Seq
}

// first is the message a thread is compared by: its own, or for a dummy
// its first child's (RFC 5256 step 4).
func first(t *Thread) *Item {
	for t.Item == nil {
		if len(t.Children) == 0 {
			return nil
		}
		t = t.Children[0]
	}
	return t.Item
}

func bySent(a, b *Thread) int {
	x, y := first(a), first(b)
	if x == nil || y == nil {
		return 0
	}
	if r := cmp.Compare(x.Rec.Sent, y.Rec.Sent); r != 0 {
		return r
	}
	return cmp.Compare(x.Seq, y.Seq)
}

func bySentArrival(a, b *Thread) int {
	x, y := first(a), first(b)
	if x == nil || y == nil {
		return 0
	}
	if r := cmp.Compare(x.Rec.Sent, y.Rec.Sent); r != 0 {
		return r
	}
	if r := cmp.Compare(x.Rec.Arrival, y.Rec.Arrival); r != 0 {
		return r
	}
	return cmp.Compare(x.Seq, y.Seq)
}

// sortTree sorts every set of siblings, the deepest first, so that a
// dummy is compared by its earliest child.
func sortTree(ts []*Thread, f func(a, b *Thread) int) {
	for _, t := range ts {
		if len(t.Children) > 0 {
			sortTree(t.Children, f)
		}
	}
	slices.SortFunc(ts, f)
}

// linkTree does REFERENCES steps 1 to 3: it links the messages by their
// references, gathers the root set and prunes the dummies.
func linkTree(items []Item) []*Thread {
	byID := make(map[string]*Thread, 2*len(items))
	// A message's container comes from one slab; order lists containers
	// in creation order, which makes the root set's order stable.
	slab := make([]Thread, len(items))
	order := make([]*Thread, 0, len(items))
	for i := range items {
		it := &items[i]
		// Step 1: a message without a Message-ID, or with one another
		// message already has, gets a container of its own.
		var cur *Thread
		if id := it.Rec.MessageID; id != "" {
			switch t := byID[id]; {
			case t == nil:
				cur = &slab[i]
				byID[id] = cur
				order = append(order, cur)
			case t.Item == nil:
				cur = t // a reference seen before the message
			}
		}
		if cur == nil {
			cur = &slab[i]
			order = append(order, cur)
		}
		cur.Item = it
		// Step 1.A: link the references in order, parent before child,
		// never changing an existing link nor making a loop.
		var parent *Thread
		for _, ref := range it.Rec.Refs {
			r := byID[ref]
			if r == nil {
				r = &Thread{}
				byID[ref] = r
				order = append(order, r)
			}
			if parent != nil && r.parent == nil && !descends(parent, r) {
				adopt(parent, r)
			}
			parent = r
		}
		// Step 1.B: the last reference is the message's parent; a parent
		// it had (from another message's truncated References) goes.
		if cur.parent != nil {
			orphan(cur)
		}
		if parent != nil && !descends(parent, cur) {
			adopt(parent, cur)
		}
	}
	// Step 2: the root set.
	var roots []*Thread
	for _, t := range order {
		if t.parent == nil {
			roots = append(roots, t)
		}
	}
	// Step 3: prune the dummies.
	return prune(roots, true)
}

// descends reports whether t is x or lies below x.
func descends(t, x *Thread) bool {
	for ; t != nil; t = t.parent {
		if t == x {
			return true
		}
	}
	return false
}

func adopt(parent, child *Thread) {
	child.parent = parent
	parent.Children = append(parent.Children, child)
}

func orphan(t *Thread) {
	p := t.parent
	if i := slices.Index(p.Children, t); i >= 0 {
		p.Children = slices.Delete(p.Children, i, i+1)
	}
	t.parent = nil
}

// prune does step 3 on one set of siblings: a dummy without children
// goes; a dummy with children gives way to them, except at the root when
// it has more than one.
func prune(ts []*Thread, root bool) []*Thread {
	out := ts[:0:0]
	for _, t := range ts {
		t.Children = prune(t.Children, false)
		switch {
		case t.Item == nil && len(t.Children) == 0:
		case t.Item == nil && (!root || len(t.Children) == 1):
			for _, c := range t.Children {
				c.parent = t.parent
			}
			out = append(out, t.Children...)
		default:
			out = append(out, t)
		}
	}
	return out
}

// groupSubjects does step 5: root threads with the same base subject are
// gathered into one.
func groupSubjects(roots []*Thread) []*Thread {
	// 5.B.i: a thread's subject is its message's, or a dummy's first
	// child's.
	subjectOf := func(t *Thread) string {
		if it := first(t); it != nil {
			return it.Rec.Subject
		}
		return ""
	}
	// 5.B: one container per subject, preferring a dummy, then a message
	// that is not a reply or forward.
	table := make(map[string]*Thread)
	for _, t := range roots {
		s := subjectOf(t)
		if s == "" {
			continue
		}
		old := table[s]
		if old == nil ||
			t.Item == nil && old.Item != nil ||
			old.Item != nil && old.Item.Rec.Reply && t.Item != nil && !t.Item.Rec.Reply {
			table[s] = t
		}
	}
	// 5.C: merge the others into it.
	out := roots[:0:0]
	for _, t := range roots {
		s := subjectOf(t)
		old := table[s]
		if s == "" || old == nil || old == t {
			out = append(out, t)
			continue
		}
		switch {
		case old.Item == nil && t.Item == nil:
			for _, c := range t.Children {
				c.parent = old
			}
			old.Children = append(old.Children, t.Children...)
		case old.Item == nil || t.Item != nil && t.Item.Rec.Reply && !old.Item.Rec.Reply:
			adopt(old, t)
		default:
			// Neither is the other's parent: both go under a new dummy,
			// which takes old's place (old's contents move to a copy).
			moved := &Thread{Item: old.Item, Children: old.Children}
			for _, c := range moved.Children {
				c.parent = moved
			}
			old.Item, old.Children = nil, nil
			adopt(old, t)
			adopt(old, moved)
		}
	}
	return out
}

// AppendThreads appends the THREAD response data for ts (RFC 5256
// section 4, thread-list), numbering each message with num.
func AppendThreads(b []byte, ts []*Thread, num func(*Item) uint32) []byte {
	for _, t := range ts {
		b = append(b, '(')
		b = appendMembers(b, t, num)
		b = append(b, ')')
	}
	return b
}

// appendMembers writes a thread's messages: a chain of only children
// flat, and a node with several children as one nested list each.
func appendMembers(b []byte, t *Thread, num func(*Item) uint32) []byte {
	sep := false
	for {
		if t.Item != nil {
			if sep {
				b = append(b, ' ')
			}
			b = strconv.AppendUint(b, uint64(num(t.Item)), 10)
			sep = true
		}
		switch len(t.Children) {
		case 0:
			return b
		case 1:
			t = t.Children[0]
		default:
			if sep {
				b = append(b, ' ')
			}
			return AppendThreads(b, t.Children, num)
		}
	}
}
