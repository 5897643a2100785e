package maildir

import (
	"sync"

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
type structures struct {
	mu    sync.Mutex
	box   structureBox
	blobs map[structureID][]byte
	bytes int
}

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

// maxStructureBytes bounds the blob bytes structures keeps: past it, it
// keeps no more (a mailbox of 10,000 messages of 1.5 KB fits).
const maxStructureBytes = 16 << 20

func blobID(e *entry) structureID { return structureID{uid: e.uid, size: e.size, slen: e.slen} }

// get returns the blob kept for id in box; the caller must not change it.
func (c *structures) get(box structureBox, id structureID) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.box != box {
		return nil, false
	}
	b, ok := c.blobs[id]
	return b, ok
}

// put keeps blob for id in box, in place of the blobs of any other
// mailbox, while there is room; the caller must not change blob after.
func (c *structures) put(box structureBox, id structureID, blob []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.box != box || c.blobs == nil {
		c.box, c.blobs, c.bytes = box, make(map[structureID][]byte), 0
	}
	if _, ok := c.blobs[id]; !ok && c.bytes+len(blob) <= maxStructureBytes {
		c.blobs[id] = blob
		c.bytes += len(blob)
	}
}
