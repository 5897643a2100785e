package maildir

import (
	"slices"
	"sync/atomic"
)

// msgList holds an index's messages in UID order, in chunks of chunkLen
// entries that indexes share until one of them changes: a clone copies
// only the list of chunks, and a change copies only the chunk it touches.
// A flag change on a few messages of a 100,000-message mailbox thus copies
// a few chunks instead of every entry, and the frame that records it is
// found by comparing chunks (see diff) instead of every entry.
//
// Every chunk but the last holds chunkLen entries, so that entry i is at
// chunks[i/chunkLen][i%chunkLen]. Entries of a list another index may
// share are never changed in place: a writer changes its clone's list
// through mut and push, which copy a shared chunk first.
type msgList struct {
	chunks [][]entry
	n      int
	// mine marks the chunks this list made or copied since it was
	// cloned (nil: none, unless all is set), which it may change.
	mine []bool
	all  bool
	// tail is set when this list may append to its last chunk in
	// place, past the entries it shares: the first clone of a list is
	// given the spare room of its last chunk, which the list itself
	// never looks at (spare records that it was given away).
	tail  bool
	spare *atomic.Bool
}

const (
	chunkShift = 8
	chunkLen   = 1 << chunkShift
)

// listOf returns a list of the entries, which it takes over: the chunks
// are slices of flat.
func listOf(flat []entry) msgList {
	l := msgList{n: len(flat), all: true, spare: new(atomic.Bool)}
	l.chunks = make([][]entry, 0, (len(flat)+chunkLen-1)/chunkLen)
	for k := 0; k < len(flat); k += chunkLen {
		end := min(k+chunkLen, len(flat))
		// The last chunk may grow into flat's spare capacity, which no
		// other list shares.
		if end == len(flat) {
			l.chunks = append(l.chunks, flat[k:end:max(end, min(cap(flat), k+chunkLen))])
		} else {
			l.chunks = append(l.chunks, flat[k:end:end])
		}
	}
	return l
}

func (l *msgList) len() int { return l.n }

// at returns entry i, which the caller must not change.
func (l *msgList) at(i int) *entry { return &l.chunks[i>>chunkShift][i&(chunkLen-1)] }

// clone returns a list sharing every chunk with l, which must not change
// after this (an index is cloned once it is read or written, and only
// the clone changes).
func (l *msgList) clone() msgList {
	c := msgList{chunks: slices.Clone(l.chunks), n: l.n, spare: new(atomic.Bool)}
	if k := len(l.chunks); k > 0 && claimRoom(cap(l.chunks[k-1]) > len(l.chunks[k-1]), l.spare) {
		c.tail = true
	}
	return c
}

// claimRoom reports whether a clone may append in place into the room
// past the length of a list it shares (room: there is some): only the
// first clone to ask may (claimed records it), the others copy. The list
// itself never looks past its length. Message lists (the last chunk) and
// tombstone lists (index.clone) share their room so.
func claimRoom(room bool, claimed *atomic.Bool) bool {
	return room && claimed != nil && claimed.CompareAndSwap(false, true)
}

// owns reports whether chunk c is l's own.
func (l *msgList) owns(c int) bool { return l.all || (c < len(l.mine) && l.mine[c]) }

// own makes chunk c l's own, copying it when it is shared, with room for
// a few more (grow).
func (l *msgList) own(c int) {
	if l.owns(c) {
		return
	}
	n := len(l.chunks[c])
	cp := make([]entry, n, grow(n))
	copy(cp, l.chunks[c])
	l.chunks[c] = cp
	if c >= len(l.mine) {
		l.mine = append(l.mine, make([]bool, c+1-len(l.mine))...)
	}
	l.mine[c] = true
}

// grow is the capacity a chunk of n entries is copied or made with: a
// quarter more, at least 8, at most chunkLen. A full chunk never grows,
// and the last one grows by append (an entry is about 100 bytes, so a
// chunk of chunkLen is 26 KB: a flag change in a mailbox of ten messages
// copied that much when every chunk was made full size).
func grow(n int) int { return min(chunkLen, max(n+n/4, 8)) }

// mut returns entry i for the caller to change.
func (l *msgList) mut(i int) *entry {
	l.own(i >> chunkShift)
	return l.at(i)
}

// push appends entries, whose UIDs follow the last one's.
func (l *msgList) push(es ...entry) {
	for _, e := range es {
		if l.n&(chunkLen-1) == 0 {
			l.chunks = append(l.chunks, make([]entry, 0, grow(0)))
			if !l.all {
				c := len(l.chunks) - 1
				l.mine = append(l.mine, make([]bool, c+1-len(l.mine))...)
				l.mine[c] = true
			}
		} else if !l.tail {
			l.own(len(l.chunks) - 1)
		}
		c := len(l.chunks) - 1
		l.chunks[c] = append(l.chunks[c], e)
		l.n++
	}
}

// flat returns a copy of the entries in one slice.
func (l *msgList) flat(extra int) []entry {
	out := make([]entry, 0, l.n+extra)
	for _, c := range l.chunks {
		out = append(out, c...)
	}
	return out
}

// insert puts e at position i, moving the entries after it: the list is
// rebuilt, unless i is its end.
func (l *msgList) insert(i int, e entry) {
	if i == l.n {
		l.push(e)
		return
	}
	*l = listOf(slices.Insert(l.flat(1), i, e))
}

// remove drops the entries at the positions drop reports.
func (l *msgList) remove(drop func(i int) bool) {
	kept := make([]entry, 0, l.n)
	for i := range l.n {
		if !drop(i) {
			kept = append(kept, *l.at(i))
		}
	}
	*l = listOf(kept)
}

// sameChunk reports whether chunk c of a and of b are the very same
// entries (shared since a clone, and changed by neither).
func sameChunk(a, b *msgList, c int) bool {
	if c >= len(a.chunks) || c >= len(b.chunks) {
		return false
	}
	x, y := a.chunks[c], b.chunks[c]
	return len(x) == len(y) && len(x) > 0 && &x[0] == &y[0]
}
