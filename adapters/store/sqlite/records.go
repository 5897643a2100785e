package sqlite

import (
	"sort"
	"sync"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// records keeps, for the mailboxes this process fetched lately, the
// records of every message in a span of UIDs, as of one state of the
// mailbox's row. As for counts, the messages cannot have changed while the
// row has not: every change to a mailbox's messages (new ones, flags,
// expunges) raises its highestmodseq or uidnext in the same transaction,
// and a mailbox made again under a reused id has another uidvalidity.
// Fetch looks the row up in its own transaction, so a record is answered
// from here only for the state that transaction sees: no expunged message,
// no stale flag. A FETCH of a mailbox nobody changed then steps no message
// row at all; the first change sends the next Fetch to the database, which
// keeps what it read in place of the old set.
//
// The records are shared with every caller, which ports.Store.Fetch
// allows (read-only, never changed).
type records struct {
	mu    sync.Mutex
	m     map[countsKey]*recordSet
	bytes int // held in all sets, as recordBytes counts
}

// recordSet is what records keeps of one mailbox: recs holds every message
// whose UID is within lo..hi, in UID order, as of row.
type recordSet struct {
	row    mailbox
	lo, hi imap.UID
	recs   []ports.MessageRecord
	bytes  int
}

// maxRecordBytes bounds what records holds, all mailboxes together: past
// it, it starts over. The structures are mostly those s.structures keeps
// as well, so it is counted twice.
const maxRecordBytes = 32 << 20

// recordBytes is roughly what keeping r takes.
func recordBytes(r *ports.MessageRecord) int {
	const fixed = 160 // the record, its flags slice, map and slice overhead
	return fixed + len(r.Structure)
}

// get returns the records of the wanted UIDs (sorted, not empty) that
// exist when the set kept for m's row spans them all (shared, read-only:
// see wantedRecords).
func (c *records) get(user string, m mailbox, want []imap.UID) ([]ports.MessageRecord, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[countsKey{user, m.id}]
	if e == nil || e.row != m || want[0] < e.lo || want[len(want)-1] > e.hi {
		return nil, false
	}
	return wantedRecords(e.recs, want), true
}

// older returns the set kept for m's mailbox as of an earlier state of its
// row (same UIDVALIDITY, highestmodseq and uidnext no higher) when it
// spans the wanted UIDs (sorted, not empty): what changed since can be
// read on top of it (refreshRecords). Its records are shared, read-only.
func (c *records) older(user string, m mailbox, want []imap.UID) (recordSet, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[countsKey{user, m.id}]
	if e == nil || e.row.uidValidity != m.uidValidity || e.row.highest > m.highest || e.row.uidNext > m.uidNext ||
		want[0] < e.lo || want[len(want)-1] > e.hi {
		return recordSet{}, false
	}
	return *e, true
}

// mergeRecords returns, in a new slice, the records of old (in UID order)
// with those of changed (in UID order) in place of or besides them, and
// without the UIDs of gone (sorted).
func mergeRecords(old, changed []ports.MessageRecord, gone []imap.UID) []ports.MessageRecord {
	out := make([]ports.MessageRecord, 0, len(old)+len(changed))
	i, j, k := 0, 0, 0
	for i < len(old) || j < len(changed) {
		if j < len(changed) && (i == len(old) || changed[j].UID <= old[i].UID) {
			if i < len(old) && old[i].UID == changed[j].UID {
				i++
			}
			out = append(out, changed[j])
			j++
			continue
		}
		u := old[i].UID
		for k < len(gone) && gone[k] < u {
			k++
		}
		if k == len(gone) || gone[k] != u {
			out = append(out, old[i])
		}
		i++
	}
	return out
}

// wantedRecords returns the records of recs (in UID order) whose UID is in
// want (sorted, not empty): a part of recs, capped at its end, when they
// are consecutive there (a FETCH of a whole mailbox or of a range), a
// copy otherwise. Either way the caller must not change the records.
func wantedRecords(recs []ports.MessageRecord, want []imap.UID) []ports.MessageRecord {
	i := sort.Search(len(recs), func(i int) bool { return recs[i].UID >= want[0] })
	if j := i + len(want); j <= len(recs) && recs[j-1].UID == want[len(want)-1] {
		run := recs[i:j:j]
		same := true
		for k := range run {
			if run[k].UID != want[k] {
				same = false
				break
			}
		}
		if same {
			return run
		}
	}
	return pickRecords(recs, want)
}

// pickRecords returns, in a new slice, the records of recs (in UID order)
// whose UID is in want (sorted). Runs of consecutive records wanted, the
// usual case, are copied at once.
func pickRecords(recs []ports.MessageRecord, want []imap.UID) []ports.MessageRecord {
	out := make([]ports.MessageRecord, 0, min(len(want), len(recs)))
	i := sort.Search(len(recs), func(i int) bool { return recs[i].UID >= want[0] })
	for k := 0; i < len(recs) && k < len(want); {
		switch u := recs[i].UID; {
		case u < want[k]:
			i++
		case u > want[k]:
			k++
		default:
			j := i
			for j < len(recs) && k < len(want) && recs[j].UID == want[k] {
				j++
				k++
			}
			out = append(out, recs[i:j]...)
			i = j
		}
	}
	return out
}

// from returns where a read of the span lo..hi for m's row should start
// so that what it reads continues the set kept (a FETCH of a big mailbox
// comes in batches of consecutive UIDs): the UID after the set's end, when
// the set ends a little below lo; lo otherwise. The few UIDs in between
// belong to no message the caller knows of, but must be read for the
// span to be whole.
func (c *records) from(user string, m mailbox, lo, hi imap.UID) imap.UID {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[countsKey{user, m.id}]
	if e == nil || e.row != m || e.hi >= lo || int64(lo-e.hi) > int64(hi-lo)+1 {
		return lo
	}
	return e.hi + 1
}

// put keeps recs, every record of the messages within lo..hi in UID order
// as of m's row, which the caller must not change afterwards. A set kept
// for the same row that ends just below lo grows by them; any other set of
// the mailbox makes way for them.
func (c *records) put(user string, m mailbox, lo, hi imap.UID, recs []ports.MessageRecord) {
	n := 0
	for i := range recs {
		n += recordBytes(&recs[i])
	}
	if n > maxRecordBytes/2 {
		return // a mailbox this big is read from the database
	}
	k := countsKey{user, m.id}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[k]; e != nil {
		c.bytes -= e.bytes
		delete(c.m, k)
		switch {
		case e.row == m && lo == e.hi+1 && e.bytes+n <= maxRecordBytes/2:
			// Records handed out are capped at their end
			// (wantedRecords): the set's own slice may grow in place.
			lo, recs, n = e.lo, append(e.recs, recs...), e.bytes+n
		case e.row == m && lo >= e.lo && hi <= e.hi:
			lo, hi, recs, n = e.lo, e.hi, e.recs, e.bytes
		}
	}
	if c.m == nil || c.bytes+n > maxRecordBytes {
		c.m, c.bytes = make(map[countsKey]*recordSet), 0
	}
	c.m[k] = &recordSet{row: m, lo: lo, hi: hi, recs: recs, bytes: n}
	c.bytes += n
}
