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
	sc.add(a, uids, rs, true)
	sc.add(b, uids, rs, true)
	if got, _ := sc.lookup(a, uids[:2]); got[0] != rs[0] || got[1] != rs[1] {
		t.Fatal("records of a not kept")
	}
	if got, _ := sc.lookup(c, uids[:1]); got[0] != nil {
		t.Fatal("another UIDVALIDITY sees a's records")
	}
	// a was used last: adding c evicts b, the least recently used.
	sc.add(c, uids[:10], rs[:10], true)
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

// TestSortCacheMerge: records added in any order of UIDs are found, the
// first record cached of a UID stays, and lookups see UIDs in between.
func TestSortCacheMerge(t *testing.T) {
	var sc sortCache
	k := sortBoxKey{"u", "a", 1}
	rec := map[imap.UID]*sortkey.Record{}
	add := func(uids ...imap.UID) {
		rs := make([]*sortkey.Record, len(uids))
		for i, u := range uids {
			rs[i] = &sortkey.Record{Size: int64(u)}
			if rec[u] == nil {
				rec[u] = rs[i]
			}
		}
		sc.add(k, uids, rs, true)
	}
	add(5, 9)
	add(10, 12)   // past the end
	add(1, 7, 9)  // merged, 9 already there
	add(2, 3, 20) // merged
	want := []imap.UID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 20, 21}
	got, known := sc.lookup(k, want)
	if !known {
		t.Fatal("mailbox unknown")
	}
	for i, u := range want {
		if got[i] != rec[u] {
			t.Errorf("UID %d: %v, want %v", u, got[i], rec[u])
		}
	}
	if sc.total != 9 {
		t.Errorf("total %d, want 9", sc.total)
	}
}

// TestSortCacheUnsaved: the records computed since the store's list was
// read or saved are counted, so that a long-lived process saves the list
// again once enough messages came one by one.
func TestSortCacheUnsaved(t *testing.T) {
	var sc sortCache
	k := sortBoxKey{"u", "a", 1}
	r := &sortkey.Record{}
	if n := sc.add(k, []imap.UID{1, 2, 3}, []*sortkey.Record{r, r, r}, false); n != 0 {
		t.Errorf("after the stored list: %d unsaved", n)
	}
	sc.add(k, []imap.UID{4}, []*sortkey.Record{r}, true)
	if n := sc.add(k, []imap.UID{4, 5}, []*sortkey.Record{r, r}, true); n != 2 {
		t.Errorf("%d unsaved, want 2", n)
	}
	sc.saved(k)
	if n := sc.add(k, []imap.UID{6}, []*sortkey.Record{r}, true); n != 1 {
		t.Errorf("after a save: %d unsaved, want 1", n)
	}
}
