package search

import (
	"cmp"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
)

// TestSortOrderIncremental: a sorted context that places and finds
// messages by binary search (SortOrder) tells the client exactly what
// one that sorts its whole result again (Order) tells, and holds the
// same result, over random arrivals, flag changes and expunges, with
// many equal keys (ties go by UID) and in reverse order, a few changes at
// a time and many.
func TestSortOrderIncremental(t *testing.T) {
	for _, reverse := range []bool{false, true} {
		r := rand.New(rand.NewPCG(1, 2))
		keyOf := map[imap.UID]int{}
		compare := func(a, b any) int {
			if reverse {
				return cmp.Compare(b.(int), a.(int))
			}
			return cmp.Compare(a.(int), b.(int))
		}
		order := func(uids []imap.UID) ([]imap.UID, error) {
			out := slices.Clone(uids)
			slices.SortStableFunc(out, func(a, b imap.UID) int { return compare(keyOf[a], keyOf[b]) })
			return out, nil
		}
		calls, misses := 0, 0
		keys := func(uids []imap.UID) ([]any, error) {
			calls++
			out := make([]any, len(uids))
			for i, u := range uids {
				out[i] = keyOf[u]
			}
			if len(out) > 0 && r.IntN(30) == 0 {
				out[r.IntN(len(out))] = nil // the context must fall back to Order
				misses++
			}
			return out, nil
		}
		var all []imap.UID
		next := imap.UID(1)
		grow := func(n int) []imap.UID {
			var fresh []imap.UID
			for range n {
				keyOf[next] = r.IntN(20)
				fresh = append(fresh, next)
				all = append(all, next)
				next++
			}
			return fresh
		}
		start, _ := order(grow(200))
		start = slices.DeleteFunc(start, func(imap.UID) bool { return r.IntN(3) == 0 })
		full := NewUpdateContext("A", false, Key{}, nil, start)
		full.Positional, full.Order = true, order
		inc := NewUpdateContext("B", false, Key{}, nil, start)
		inc.Positional, inc.Order = true, order
		startKeys := make([]any, len(start))
		for i, u := range start {
			startKeys[i] = keyOf[u]
		}
		inc.SetSortOrder(&SortOrder{Keys: keys, Compare: compare}, startKeys)
		for step := range 500 {
			var want, got []Change
			if r.IntN(4) == 0 && len(all) > 0 {
				// Expunges.
				var gone []imap.UID
				for range 1 + r.IntN(3) + 80*r.IntN(2)*r.IntN(2) {
					gone = append(gone, all[r.IntN(len(all))])
				}
				slices.Sort(gone)
				gone = slices.Compact(gone)
				all = slices.DeleteFunc(all, func(u imap.UID) bool { _, ok := slices.BinarySearch(gone, u); return ok })
				want, got = full.Remove(gone), inc.Remove(gone)
			} else {
				// New messages and flag changes: some UIDs looked at
				// again, each matching or not.
				look := grow(r.IntN(3) + 80*r.IntN(2)*r.IntN(2)) // now and then more than a few
				for range r.IntN(4) {
					look = append(look, all[r.IntN(len(all))])
				}
				slices.Sort(look)
				look = slices.Compact(look)
				matches := make([]bool, len(look))
				for i := range matches {
					matches[i] = r.IntN(3) != 0
				}
				var err error
				if want, err = full.Apply(look, matches); err != nil {
					t.Fatal(err)
				}
				if got, err = inc.Apply(look, matches); err != nil {
					t.Fatal(err)
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("reverse %v, step %d: incremental %+v, sorting again %+v", reverse, step, got, want)
			}
			if !slices.Equal(inc.Members(), full.Members()) {
				t.Fatalf("reverse %v, step %d: members %v, want %v", reverse, step, inc.Members(), full.Members())
			}
		}
		if misses == 0 || calls < 10*misses {
			t.Errorf("%d calls of Keys, %d of them falling back to Order", calls, misses)
		}
	}
}
