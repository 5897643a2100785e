package app

import (
	"sync"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/sortkey"
)

// maxSortCached bounds the sort records a process keeps, over all
// mailboxes (a record takes some 200 bytes).
const maxSortCached = 300000

// sortCache keeps the sort records SORT and THREAD computed, per mailbox
// and UIDVALIDITY, so that sorting a mailbox again (the next page of a
// webmail's listing, another key) computes only the records of messages
// that arrived since. A record never changes: it depends only on the
// message's bytes and internal date, which a UID keeps for as long as the
// mailbox keeps its UIDVALIDITY. The zero value is ready; the sessions of
// a multi-session process share it.
type sortCache struct {
	mu    sync.Mutex
	boxes map[sortBoxKey]*sortBox
	total int
	clock uint64
}

type sortBoxKey struct {
	user, name  string
	uidValidity uint32
}

type sortBox struct {
	// uids ascend, pairwise with recs. Both are replaced, never changed
	// in place, except by appending past what lookups have seen.
	uids []imap.UID
	recs []*sortkey.Record
	used uint64 // the cache's clock when last used
}

// lookup returns the cached records of uids, which ascend (nil where
// missing), and whether the cache knows the mailbox at all: one walk
// along both lists.
func (sc *sortCache) lookup(k sortBoxKey, uids []imap.UID) ([]*sortkey.Record, bool) {
	out := make([]*sortkey.Record, len(uids))
	sc.mu.Lock()
	defer sc.mu.Unlock()
	b := sc.boxes[k]
	if b == nil {
		return out, false
	}
	sc.clock++
	b.used = sc.clock
	j := 0
	for i, u := range uids {
		for j < len(b.uids) && b.uids[j] < u {
			j++
		}
		if j < len(b.uids) && b.uids[j] == u {
			out[i] = b.recs[j]
		}
	}
	return out, true
}

// add keeps records of uids (ascending), evicting the least recently used
// mailboxes while the cache would hold more than maxSortCached.
func (sc *sortCache) add(k sortBoxKey, uids []imap.UID, recs []*sortkey.Record) {
	if len(uids) == 0 || len(uids) > maxSortCached {
		return
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.boxes == nil {
		sc.boxes = map[sortBoxKey]*sortBox{}
	}
	b := sc.boxes[k]
	if b == nil {
		b = &sortBox{}
		sc.boxes[k] = b
	}
	sc.clock++
	b.used = sc.clock
	before := len(b.uids)
	if before == 0 || uids[0] > b.uids[before-1] {
		// New messages: past the end.
		b.uids = append(b.uids, uids...)
		b.recs = append(b.recs, recs...)
	} else {
		// Merge, keeping the record already cached of a UID in both.
		mu := make([]imap.UID, 0, before+len(uids))
		mr := make([]*sortkey.Record, 0, before+len(uids))
		i, j := 0, 0
		for i < before || j < len(uids) {
			switch {
			case j == len(uids) || i < before && b.uids[i] < uids[j]:
				mu, mr = append(mu, b.uids[i]), append(mr, b.recs[i])
				i++
			case i == before || uids[j] < b.uids[i]:
				mu, mr = append(mu, uids[j]), append(mr, recs[j])
				j++
			default:
				mu, mr = append(mu, b.uids[i]), append(mr, b.recs[i])
				i++
				j++
			}
		}
		b.uids, b.recs = mu, mr
	}
	sc.total += len(b.uids) - before
	for sc.total > maxSortCached {
		var oldest sortBoxKey
		var ob *sortBox
		for k2, b2 := range sc.boxes {
			if b2 != b && (ob == nil || b2.used < ob.used) {
				oldest, ob = k2, b2
			}
		}
		if ob == nil {
			break
		}
		sc.total -= len(ob.uids)
		delete(sc.boxes, oldest)
	}
}
