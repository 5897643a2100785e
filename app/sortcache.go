package app

import (
	"context"
	"slices"
	"sync"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/sortkey"
	"github.com/imapd-go/imapd/ports"
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
	// unsaved counts the records computed since the store's list of the
	// mailbox was last read or saved.
	unsaved int
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
	if len(uids) < len(b.uids)/64 {
		// A few (a context's new messages): searched for, not walked to.
		for i, u := range uids {
			if j, ok := slices.BinarySearch(b.uids, u); ok {
				out[i] = b.recs[j]
			}
		}
		return out, true
	}
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

// add keeps records of uids (ascending), computed or read from the
// store's list, evicting the least recently used mailboxes while the
// cache would hold more than maxSortCached. It returns how many records
// computed since the list was last read or saved the cache holds.
func (sc *sortCache) add(k sortBoxKey, uids []imap.UID, recs []*sortkey.Record, computed bool) int {
	if len(uids) == 0 || len(uids) > maxSortCached {
		return 0
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
	if computed {
		b.unsaved += len(b.uids) - before
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
		sc.total -= len(ob.uids)
		delete(sc.boxes, oldest)
	}
	return b.unsaved
}

// saved notes that the store's list of the mailbox holds every record
// the cache has of it.
func (sc *sortCache) saved(k sortBoxKey) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if b := sc.boxes[k]; b != nil {
		b.unsaved = 0
	}
}

// fillRecords fills the gaps of recs (pairwise with uids) with the
// records of got; both lists of UIDs ascend.
func fillRecords(recs []*sortkey.Record, uids, got []imap.UID, gotRecs []*sortkey.Record) {
	j := 0
	for i := range recs {
		if recs[i] != nil {
			continue
		}
		for j < len(got) && got[j] < uids[i] {
			j++
		}
		if j < len(got) && got[j] == uids[i] {
			recs[i] = gotRecs[j]
		}
	}
}

// saveSortAfter is how many records computed from structure blobs since
// the mailbox's list was read or saved make SORT save it again: fewer are
// computed again by the next process that sorts the mailbox (some 10 µs
// each), which costs less than writing the whole list after every new
// message.
const saveSortAfter = 256

// missingUIDs returns the uids whose record is nil.
func missingUIDs(uids []imap.UID, recs []*sortkey.Record) []imap.UID {
	var missing []imap.UID
	for i, r := range recs {
		if r == nil {
			missing = append(missing, uids[i])
		}
	}
	return missing
}

// loadStoredSortRecords returns the records the store saved for the
// mailbox, and whether it had a list of the mailbox's UIDVALIDITY. A list
// that cannot be read counts as none: its records are computed again (and
// the list saved anew).
func (c *conn) loadStoredSortRecords(stored ports.SortRecords, key sortBoxKey) ([]imap.UID, []*sortkey.Record, bool) {
	v, data, err := stored.LoadSortRecords(c.ctx, key.user, key.name)
	if err != nil || data == nil || v != key.uidValidity {
		return nil, nil, false
	}
	uids, recs, err := sortkey.DecodeRecords(data)
	if err != nil {
		return nil, nil, false
	}
	ptrs := make([]*sortkey.Record, len(recs))
	for i := range recs {
		ptrs[i] = &recs[i]
	}
	return uids, ptrs, true
}

// saveStoredSortRecords saves, as the mailbox's list, the records of the
// messages the session's view of the mailbox holds (those of expunged
// ones are dropped) that the process's cache or this command (recs of
// uids) has, those the store also keeps per message included: the next
// process reads the list alone, and the per-message records only of
// messages newer than the list. Failing to save costs only time: the
// next process computes or reads the records again.
func (c *conn) saveStoredSortRecords(stored ports.SortRecords, key sortBoxKey, uids []imap.UID, recs []*sortkey.Record) {
	v := c.sel.view
	all := make([]imap.UID, v.Len())
	for i := range all {
		all[i] = v.UID(uint32(i + 1))
	}
	allRecs, _ := c.srv.sorts.lookup(key, all)
	fillRecords(allRecs, all, uids, recs)
	keep := all[:0]
	keepRecs := allRecs[:0]
	for i, r := range allRecs {
		if r != nil {
			keep, keepRecs = append(keep, all[i]), append(keepRecs, r)
		}
	}
	// Encoding and writing a large mailbox's list takes longer than the
	// SORT itself: it is done after the answer, and the session waits
	// for it only once its client is gone (ServeConn). The records are
	// never changed, so sharing them with the save is safe.
	ctx := context.WithoutCancel(c.ctx)
	c.sortSaves.Add(1)
	go func() {
		defer c.sortSaves.Done()
		if err := stored.SaveSortRecords(ctx, key.user, key.name, key.uidValidity, sortkey.AppendRecords(nil, keep, keepRecs)); err != nil {
			c.srv.log.Warn("sort records not saved", "mailbox", key.name, "err", err)
			return
		}
		c.srv.sorts.saved(key)
	}()
}
