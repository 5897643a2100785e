package sortkey

// Compare orders two records as Sort orders their items, criterion after
// criterion, without the final tie-break: records that compare equal are
// ordered by their messages' numbers (or UIDs, which ascend with them).
func Compare(a, b *Record, crit []Criterion) int {
	for _, c := range crit {
		if r := compareKey(c.Key, a, b); r != 0 {
			if c.Reverse {
				return -r
			}
			return r
		}
	}
	return 0
}
