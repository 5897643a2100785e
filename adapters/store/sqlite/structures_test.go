package sqlite

import (
	"testing"

	"github.com/imapd-go/imapd/adapters/store/internal/blobcache"
)

// The structure cache answers for one mailbox at a time, and once a blob
// had no room it stops answering, so that Fetch reads the mailbox with
// the join rather than with a query per blob left out.
func TestStructuresBounded(t *testing.T) {
	var c structures
	a := structureBox{user: "u", id: 1, uidValidity: 7}
	b := structureBox{user: "u", id: 1, uidValidity: 8}
	if c.Holds(a) {
		t.Fatal("an empty cache holds a mailbox")
	}
	got := keepStructure(&c, a, structureID{uid: 1, body: 10, size: 5}, []byte("blob"))
	if string(got) != "blob" || !c.Holds(a) || c.Holds(b) {
		t.Fatalf("put = %q; holds(a) %v, holds(b) %v", got, c.Holds(a), c.Holds(b))
	}
	if blob, ok := c.Get(a, structureID{uid: 1, body: 10, size: 5}); !ok || string(blob) != "blob" {
		t.Errorf("get = %q, %v", blob, ok)
	}
	for _, id := range []structureID{{uid: 1, body: 11, size: 5}, {uid: 1, body: 10, size: 6}, {uid: 2, body: 10, size: 5}} {
		if _, ok := c.Get(a, id); ok {
			t.Errorf("get(%+v) found a blob kept for another message", id)
		}
	}
	if _, ok := c.Get(b, structureID{uid: 1, body: 10, size: 5}); ok {
		t.Error("get found a blob of another UIDVALIDITY")
	}
	big := make([]byte, blobcache.MaxBytes/2+1)
	keepStructure(&c, a, structureID{uid: 2}, big)
	if !c.Holds(a) {
		t.Fatal("holds(a) false with room left")
	}
	if got := keepStructure(&c, a, structureID{uid: 3}, big); len(got) != len(big) {
		t.Fatalf("put without room returned %d bytes", len(got))
	}
	if c.Holds(a) {
		t.Error("holds(a) true after a blob was left out")
	}
	if _, ok := c.Get(a, structureID{uid: 3}); ok {
		t.Error("a blob without room was kept")
	}
	keepStructure(&c, b, structureID{uid: 1}, []byte("x"))
	if !c.Holds(b) || c.Holds(a) {
		t.Error("another mailbox did not replace the full one")
	}
}
