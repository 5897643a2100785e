package storebench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkDurableFileFloor is what the file system alone charges for a
// durable maildir delivery of a 4 KB message, with no store around it:
// create and write a file in tmp/, fsync it, rename it into cur/, fsync
// cur/. Run beside BenchmarkStore/Append, it tells the store's own cost
// from the disk's, which varies much on a shared machine.
func BenchmarkDurableFileFloor(b *testing.B) {
	dir := b.TempDir()
	for _, sub := range []string{"tmp", "cur"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o750); err != nil {
			b.Fatal(err)
		}
	}
	cur, err := os.Open(filepath.Join(dir, "cur"))
	if err != nil {
		b.Fatal(err)
	}
	defer cur.Close()
	data := []byte(strings.Repeat("0123456789abcdef", 256))
	i := 0
	for b.Loop() {
		name := fmt.Sprintf("m%d", i)
		tmp := filepath.Join(dir, "tmp", name)
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Write(data); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		f.Close()
		if err := os.Rename(tmp, filepath.Join(dir, "cur", name)); err != nil {
			b.Fatal(err)
		}
		if err := cur.Sync(); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
