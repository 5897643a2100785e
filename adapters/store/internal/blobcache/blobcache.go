// Package blobcache keeps, for a store, the structure blobs of the one
// mailbox a process is working in, so that commands coming back to the
// same messages (a client's FETCH and SEARCH after SELECT) do not read
// them again. Stores key the mailbox (B) and each blob (K) so that a key
// names the same bytes for good: the mailbox's UIDVALIDITY in B, the UID
// and sizes in K.
package blobcache

import "sync"

// MaxBytes bounds the blob bytes a Cache keeps: past it, it keeps no
// more (a mailbox of 10,000 messages of 1.5 KB fits).
const MaxBytes = 16 << 20

// Cache holds blobs of one box at a time, up to MaxBytes. The zero value
// is empty and ready; it is safe for concurrent use.
type Cache[B, K comparable] struct {
	mu    sync.Mutex
	box   B
	blobs map[K][]byte
	bytes int
	full  bool // a blob was left out for want of room
}

// Holds reports whether the cache is for box and holds some of its
// blobs, with room for those it lacks.
func (c *Cache[B, K]) Holds(box B) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.box == box && len(c.blobs) > 0 && !c.full
}

// Get returns the blob kept for id in box; the caller must not change it.
func (c *Cache[B, K]) Get(box B, id K) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.box != box {
		return nil, false
	}
	b, ok := c.blobs[id]
	return b, ok
}

// Put keeps blob for id in box, in place of the blobs of any other box,
// while there is room; the caller must not change blob after.
func (c *Cache[B, K]) Put(box B, id K, blob []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.box != box || c.blobs == nil {
		c.box, c.blobs, c.bytes, c.full = box, make(map[K][]byte), 0, false
	}
	if _, ok := c.blobs[id]; ok {
		return
	}
	if c.bytes+len(blob) > MaxBytes {
		c.full = true
		return
	}
	c.blobs[id] = blob
	c.bytes += len(blob)
}
