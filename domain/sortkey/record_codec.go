package sortkey

import (
	"encoding/binary"
	"unsafe"
)

// recordVersion is the first byte of one message's encoded record
// (AppendRecord), which the app gives the store at APPEND: a change of
// Record or of what its fields mean is a new version, and records of an
// older one are computed again from the structure blobs.
const recordVersion = 1

// AppendRecord appends the encoding of one message's record to b: a
// version byte, then the fields as AppendRecords writes them (without a
// UID, which the store gives the message later).
func AppendRecord(b []byte, r *Record) []byte {
	b = append(b, recordVersion)
	return appendFields(b, r)
}

// appendFields appends r's numbers and strings, all as varints and
// length-prefixed strings.
func appendFields(b []byte, r *Record) []byte {
	b = binary.AppendVarint(b, r.Sent)
	b = binary.AppendVarint(b, r.Arrival-r.Sent)
	b = binary.AppendVarint(b, r.Size)
	if r.Reply {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	for _, s := range [...]string{r.Subject, r.From, r.To, r.Cc, r.DisplayFrom, r.DisplayTo, r.MessageID} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Refs)))
	for _, s := range r.Refs {
		b = appendString(b, s)
	}
	return b
}

// DecodeRecord reads what AppendRecord wrote into r. As with
// DecodeRecords, r's strings point into data, which so becomes theirs;
// refs, when it has room, holds r.Refs (the caller decoding many records
// passes one buffer for all, and gets back what is left of it).
func DecodeRecord(data []byte, r *Record, refs []string) ([]string, error) {
	if len(data) == 0 || data[0] != recordVersion {
		return refs, ErrRecords
	}
	d := decoder{s: unsafe.String(&data[0], len(data)), i: 1}
	refs = d.fields(r, refs)
	if d.bad || d.i != len(d.s) {
		return refs, ErrRecords
	}
	return refs, nil
}

// fields reads what appendFields wrote.
func (d *decoder) fields(r *Record, refs []string) []string {
	r.Sent = d.varint()
	r.Arrival = r.Sent + d.varint()
	r.Size = d.varint()
	r.Reply = d.byte() == 1
	r.Subject = d.string()
	r.From = d.string()
	r.To = d.string()
	r.Cc = d.string()
	r.DisplayFrom = d.string()
	r.DisplayTo = d.string()
	r.MessageID = d.string()
	nr := d.uvarint()
	if nr > uint64(len(d.s)-d.i) {
		d.bad = true
	}
	if d.bad {
		return refs
	}
	r.Refs = nil
	if nr > 0 {
		if len(refs)+int(nr) > cap(refs) {
			refs = make([]string, 0, max(int(nr), 4096))
		}
		start := len(refs)
		for range nr {
			refs = append(refs, d.string())
		}
		r.Refs = refs[start:len(refs):len(refs)]
	}
	return refs
}
