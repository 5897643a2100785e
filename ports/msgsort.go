package ports

import (
	"context"

	"github.com/imapd-go/imapd/domain/imap"
)

// MessageSortRecords is implemented by a store that keeps each message's
// sort record (NewMessage.SortRecord) with the message, so that the
// first SORT or THREAD of a mailbox reads them all at once instead of
// computing them from the structure blobs. A record depends only on the
// message's bytes, internal date and size, which COPY and MOVE keep: the
// copies keep the original's record. Writing it costs the APPEND no
// write of its own (it goes with the message's, in the same transaction
// or file write), and never one of the mailbox's other records.
type MessageSortRecords interface {
	// MessageSortRecords returns the records kept of the mailbox's
	// messages whose UID is at least from (all of them when from is 0
	// or 1: a process that read the mailbox's saved list, SortRecords,
	// asks only for those of the messages that arrived since), with
	// their UIDs (ascending, pairwise with recs), and the
	// mailbox's UIDVALIDITY, as one consistent view. Messages stored
	// without a record (before records were kept, or by a program that
	// gave none) are left out, and so are expunged ones. A record lost
	// in a crash is left out too, never returned damaged or under
	// another UID. The slices are the caller's. imap.ErrNonexistent if
	// the mailbox does not exist.
	MessageSortRecords(ctx context.Context, user, name string, from imap.UID) (uidValidity uint32, uids []imap.UID, recs [][]byte, err error)
}
