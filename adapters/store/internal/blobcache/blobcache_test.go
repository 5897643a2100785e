package blobcache

import (
	"bytes"
	"testing"
)

// TestCache: blobs of one box at a time, the others forgotten when
// another box comes; nothing past MaxBytes, and Holds says so.
func TestCache(t *testing.T) {
	var c Cache[string, int]
	if c.Holds("a") {
		t.Fatal("an empty cache holds a box")
	}
	c.Put("a", 1, []byte("one"))
	c.Put("a", 1, []byte("other")) // a key names its bytes for good
	if b, ok := c.Get("a", 1); !ok || !bytes.Equal(b, []byte("one")) || !c.Holds("a") {
		t.Fatalf("Get(a, 1) = %q, %v; Holds(a) = %v", b, ok, c.Holds("a"))
	}
	if _, ok := c.Get("b", 1); ok {
		t.Fatal("box b answered with box a's blob")
	}
	c.Put("b", 2, []byte("two"))
	if _, ok := c.Get("a", 1); ok || c.Holds("a") {
		t.Fatal("box a kept after box b came")
	}
	c.Put("b", 3, make([]byte, MaxBytes))
	if _, ok := c.Get("b", 3); ok || c.Holds("b") {
		t.Fatal("a blob past MaxBytes was kept, or Holds says the box is whole")
	}
	if _, ok := c.Get("b", 2); !ok {
		t.Fatal("a full cache lost what it had")
	}
}
