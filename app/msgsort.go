package app

import (
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/sortkey"
	"github.com/imapd-go/imapd/ports"
)

// StampSortRecord gives a message being stored its SORT and THREAD
// record (ports.NewMessage.SortRecord), computed from the structure blob
// it carries, its internal date and size: a store that keeps it with the
// message (ports.MessageSortRecords) so spares the first SORT of the
// mailbox computing it. A message whose blob cannot be read is stored
// without (SORT computes it, and fails, as before).
func StampSortRecord(msg *ports.NewMessage) {
	r, err := sortkey.FromBlob(msg.Structure, msg.InternalDate, msg.Size)
	if err != nil {
		msg.SortRecord = nil
		return
	}
	msg.SortRecord = sortkey.AppendRecord(nil, &r)
}

// loadMessageSortRecords returns the records the store kept of the
// mailbox's messages whose UID is at least from, decoded, when it keeps them for the mailbox's
// UIDVALIDITY; a record that cannot be read is left out (SORT computes
// it from the structure blob).
func (c *conn) loadMessageSortRecords(stored ports.MessageSortRecords, key sortBoxKey, from imap.UID) ([]imap.UID, []*sortkey.Record) {
	v, uids, data, err := stored.MessageSortRecords(c.ctx, key.user, key.name, from)
	if err != nil || v != key.uidValidity || len(uids) == 0 {
		return nil, nil
	}
	all := make([]sortkey.Record, len(uids))
	recs := make([]*sortkey.Record, 0, len(uids))
	keep := uids[:0]
	var refs []string
	for i, u := range uids {
		var err error
		if refs, err = sortkey.DecodeRecord(data[i], &all[i], refs); err != nil {
			continue
		}
		keep = append(keep, u)
		recs = append(recs, &all[i])
	}
	return keep, recs
}
