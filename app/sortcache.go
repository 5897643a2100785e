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
	recs map[imap.UID]*sortkey.Record
	used uint64 // the cache's clock when last used
}

// lookup returns the cached records of uids (nil where missing), and
// whether the cache knows the mailbox at all.
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
	for i, u := range uids {
		out[i] = b.recs[u]
	}
	return out, true
}

// add keeps records, evicting the least recently used mailboxes while
// the cache would hold more than maxSortCached.
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
		b = &sortBox{recs: make(map[imap.UID]*sortkey.Record, len(uids))}
		sc.boxes[k] = b
	}
	sc.clock++
	b.used = sc.clock
	for i, u := range uids {
		if b.recs[u] == nil {
			b.recs[u] = recs[i]
			sc.total++
		}
	}
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
		sc.total -= len(ob.recs)
		delete(sc.boxes, oldest)
	}
}
