package sortkey

import (
	"encoding/binary"
	"errors"
	"math"
	"unsafe"

	"github.com/imapd-go/imapd/domain/imap"
)

// recordsVersion is the first byte of an encoded list of records. A
// change of Record or of what its fields mean (the collation, base
// subject extraction) is a new version: lists of an older one are not
// read, and their records are computed again from the structure blobs.
const recordsVersion = 1

// ErrRecords is returned by DecodeRecords for data it cannot read: of
// another version, or damaged.
var ErrRecords = errors.New("sortkey: unreadable sort records")

// AppendRecords appends the encoding of the records of uids (ascending,
// pairwise with recs) to b: a version byte, the count, then per record
// the UID's increase over the previous one, the numbers and the strings
// with their lengths, all as varints.
func AppendRecords(b []byte, uids []imap.UID, recs []*Record) []byte {
	b = append(b, recordsVersion)
	b = binary.AppendUvarint(b, uint64(len(uids)))
	var prev imap.UID
	for i, u := range uids {
		b = binary.AppendUvarint(b, uint64(u-prev))
		prev = u
		b = appendFields(b, recs[i])
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// DecodeRecords reads what AppendRecords wrote: the UIDs, ascending, and
// their records. The records' strings point into data, which so becomes
// theirs: the caller must not change it afterwards. Reading a mailbox's
// records so costs a few allocations, not several per record, and no
// copy.
func DecodeRecords(data []byte) ([]imap.UID, []Record, error) {
	if len(data) == 0 || data[0] != recordsVersion {
		return nil, nil, ErrRecords
	}
	d := decoder{s: unsafe.String(&data[0], len(data)), i: 1}
	n := d.uvarint()
	// Every record takes at least 12 bytes: a bound on n before making
	// room for it.
	if d.bad || n > uint64(len(d.s))/12 {
		return nil, nil, ErrRecords
	}
	uids := make([]imap.UID, n)
	recs := make([]Record, n)
	var refs []string
	var prev uint64
	for k := range recs {
		du := d.uvarint()
		prev += du
		if du == 0 && k > 0 || prev > math.MaxUint32 {
			d.bad = true
		}
		uids[k] = imap.UID(prev)
		refs = d.fields(&recs[k], refs)
		if d.bad {
			return nil, nil, ErrRecords
		}
	}
	if d.bad || d.i != len(d.s) {
		return nil, nil, ErrRecords
	}
	return uids, recs, nil
}

// decoder reads varints and strings from s; bad is set, for good, at the
// first thing it cannot read.
type decoder struct {
	s   string
	i   int
	bad bool
}

func (d *decoder) uvarint() uint64 {
	var x uint64
	for shift := 0; shift < 64; shift += 7 {
		if d.i >= len(d.s) {
			d.bad = true
			return 0
		}
		c := d.s[d.i]
		d.i++
		if c < 0x80 {
			return x | uint64(c)<<shift
		}
		x |= uint64(c&0x7f) << shift
	}
	d.bad = true
	return 0
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

func (d *decoder) byte() byte {
	if d.i >= len(d.s) {
		d.bad = true
		return 0
	}
	c := d.s[d.i]
	d.i++
	return c
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.s)-d.i) {
		d.bad = true
		return ""
	}
	s := d.s[d.i : d.i+int(n)]
	d.i += int(n)
	return s
}
