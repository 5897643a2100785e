package sortkey

import (
	"cmp"
	"slices"
)

// Key is one RFC 5256 sort key (with RFC 5957's DISPLAYFROM and
// DISPLAYTO).
type Key uint8

const (
	Arrival Key = iota + 1
	Cc
	Date
	From
	Size
	Subject
	To
	DisplayFrom
	DisplayTo
)

// Keys maps the keys' names, as SORT spells them, to Keys.
var Keys = map[string]Key{
	"ARRIVAL": Arrival, "CC": Cc, "DATE": Date, "FROM": From, "SIZE": Size,
	"SUBJECT": Subject, "TO": To, "DISPLAYFROM": DisplayFrom, "DISPLAYTO": DisplayTo,
}

// Criterion is one sort-criterion: a key, ascending or (Reverse)
// descending.
type Criterion struct {
	Key     Key
	Reverse bool
}

// Item is one message to sort or thread: its sequence number, which
// breaks every tie (RFC 5256 section 3: messages that compare equal stay
// in mailbox order), and its record.
type Item struct {
	Seq uint32
	Rec *Record
}

// Sort orders items by the criteria, the first deciding first; equal
// items keep the order of their sequence numbers, whatever REVERSE says.
//
// The first criterion's key is copied beside each item first (a number,
// or a string with its first 8 bytes as a number), so that most
// comparisons read one array in order instead of two records and their
// strings scattered over the heap.
func Sort(items []Item, crit []Criterion) {
	if len(crit) == 0 {
		return
	}
	first, rest := crit[0], crit[1:]
	ks := make([]keyed, len(items))
	for i, it := range items {
		ks[i] = keyed{item: it}
		k := &ks[i]
		switch first.Key {
		case Arrival:
			k.n = it.Rec.Arrival
		case Date:
			k.n = it.Rec.Sent
		case Size:
			k.n = it.Rec.Size
		default:
			k.s = stringKey(first.Key, it.Rec)
			k.n = prefix(k.s)
			if len(k.s) > 8 {
				k.n2 = prefix(k.s[8:])
			}
		}
	}
	numeric := first.Key == Arrival || first.Key == Date || first.Key == Size
	slices.SortFunc(ks, func(a, b keyed) int {
		r := cmp.Compare(a.n, b.n)
		if !numeric {
			// Prefixes are unsigned: their order is the strings'.
			r = cmp.Compare(uint64(a.n), uint64(b.n))
			if r == 0 {
				r = cmp.Compare(uint64(a.n2), uint64(b.n2))
			}
			if r == 0 {
				if len(a.s) > 16 || len(b.s) > 16 {
					r = cmp.Compare(a.s, b.s)
				} else {
					// Equal up to the shorter one's end (the
					// prefixes pad with zeros): the shorter first.
					r = cmp.Compare(len(a.s), len(b.s))
				}
			}
		}
		if r != 0 {
			if first.Reverse {
				return -r
			}
			return r
		}
		for _, c := range rest {
			if r := compareKey(c.Key, a.item.Rec, b.item.Rec); r != 0 {
				if c.Reverse {
					return -r
				}
				return r
			}
		}
		return cmp.Compare(a.item.Seq, b.item.Seq)
	})
	for i := range ks {
		items[i] = ks[i].item
	}
}

// keyed is an item with its first sort key: n the number, or for a
// string key s and its first 16 bytes in n and n2.
type keyed struct {
	n, n2 int64
	s     string
	item  Item
}

// prefix returns the first 8 bytes of s as a big-endian number (zeros
// past its end), so that prefixes compare, as unsigned numbers, as the
// strings' first 8 bytes do.
func prefix(s string) int64 {
	var p uint64
	for i := 0; i < 8; i++ {
		p <<= 8
		if i < len(s) {
			p |= uint64(s[i])
		}
	}
	return int64(p)
}

// stringKey returns the record's value of a string key.
func stringKey(k Key, r *Record) string {
	switch k {
	case Cc:
		return r.Cc
	case From:
		return r.From
	case Subject:
		return r.Subject
	case To:
		return r.To
	case DisplayFrom:
		return r.DisplayFrom
	case DisplayTo:
		return r.DisplayTo
	}
	return ""
}

func compareKey(k Key, a, b *Record) int {
	switch k {
	case Arrival:
		return cmp.Compare(a.Arrival, b.Arrival)
	case Cc:
		return cmp.Compare(a.Cc, b.Cc)
	case Date:
		return cmp.Compare(a.Sent, b.Sent)
	case From:
		return cmp.Compare(a.From, b.From)
	case Size:
		return cmp.Compare(a.Size, b.Size)
	case Subject:
		return cmp.Compare(a.Subject, b.Subject)
	case To:
		return cmp.Compare(a.To, b.To)
	case DisplayFrom:
		return cmp.Compare(a.DisplayFrom, b.DisplayFrom)
	case DisplayTo:
		return cmp.Compare(a.DisplayTo, b.DisplayTo)
	}
	return 0
}
