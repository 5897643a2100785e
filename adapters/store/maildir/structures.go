package maildir

import (
	"github.com/imapd-go/imapd/adapters/store/internal/blobcache"
	"github.com/imapd-go/imapd/domain/imap"
)

// structures keeps the structure blobs this process read lately, of one
// mailbox at a time (the one a session has selected), so that a search
// or fetch that comes back to the same messages reads no cache file. A
// message's blob never changes: a message file is never rewritten, a UID
// names one message for as long as the mailbox keeps its UIDVALIDITY
// (RFC 3501 2.3.1.1), and a mailbox made again gets another. Only
// entries of the index the caller read are answered from it, so an
// expunged message is never returned.
type structures = blobcache.Cache[structureBox, structureID]

// structureBox names one mailbox for structures.
type structureBox struct {
	path        string
	uidValidity uint32
}

// structureID names one message's blob within a structureBox; its sizes
// are checked too.
type structureID struct {
	uid        imap.UID
	size, slen int64
}

func blobID(e *entry) structureID { return structureID{uid: e.uid, size: e.size, slen: e.slen} }
