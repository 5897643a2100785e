package app

import (
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/sortkey"
)

func TestSortCacheEviction(t *testing.T) {
	var sc sortCache
	recs := func(n int) ([]imap.UID, []*sortkey.Record) {
		uids := make([]imap.UID, n)
		rs := make([]*sortkey.Record, n)
		for i := range uids {
			uids[i], rs[i] = imap.UID(i+1), &sortkey.Record{Size: int64(i)}
		}
		return uids, rs
	}
	a, b, c := sortBoxKey{"u", "a", 1}, sortBoxKey{"u", "b", 1}, sortBoxKey{"u", "a", 2}
	uids, rs := recs(maxSortCached / 2)
	sc.add(a, uids, rs)
	sc.add(b, uids, rs)
	if got, _ := sc.lookup(a, uids[:2]); got[0] != rs[0] || got[1] != rs[1] {
		t.Fatal("records of a not kept")
	}
	if got, _ := sc.lookup(c, uids[:1]); got[0] != nil {
		t.Fatal("another UIDVALIDITY sees a's records")
	}
	// a was used last: adding c evicts b, the least recently used.
	sc.add(c, uids[:10], rs[:10])
	if got, _ := sc.lookup(b, uids[:1]); got[0] != nil {
		t.Error("b not evicted")
	}
	if got, _ := sc.lookup(a, uids[:1]); got[0] == nil {
		t.Error("a evicted")
	}
	if sc.total > maxSortCached {
		t.Errorf("%d records kept, more than %d", sc.total, maxSortCached)
	}
}
