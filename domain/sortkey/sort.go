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
func Sort(items []Item, crit []Criterion) {
	slices.SortFunc(items, func(a, b Item) int {
		for _, c := range crit {
			if r := compareKey(c.Key, a.Rec, b.Rec); r != 0 {
				if c.Reverse {
					return -r
				}
				return r
			}
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
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
