package ports

import (
	"context"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/sortkey"
)

// SortRecorder is implemented by a Store that keeps each message's sort
// record (what SORT and THREAD compare, RFC 5256) apart from its
// structure blob, so that sorting a large mailbox reads one compact
// record per message instead of decoding every blob. Without it, SORT and
// THREAD compute the records from Fetch's structures.
type SortRecorder interface {
	// SortRecords returns, in UID order, the sort record of each of the
	// given UIDs (ascending) that the mailbox still holds; missing UIDs
	// are skipped silently. Each record equals sortkey.FromBlob of the
	// message's Structure, InternalDate and Size, whether the store kept
	// it since APPEND or computes it now (a message stored before the
	// store kept records). The records are read-only and may be shared.
	// imap.ErrNonexistent if the mailbox is gone.
	SortRecords(ctx context.Context, user, name string, uids []imap.UID) ([]SortRecord, error)
}

// SortRecord is one message's sort record.
type SortRecord struct {
	UID imap.UID
	sortkey.Record
}
