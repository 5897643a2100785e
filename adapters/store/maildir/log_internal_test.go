package maildir

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFrameChain: a frame is read only after the frame it followed when
// it was written; the bytes of one whose predecessor a crash lost are the
// log's end, even when a later frame ends exactly where they start.
func TestFrameChain(t *testing.T) {
	const seed = 12345
	f1, c1 := frame(seed, nil, []byte("h 1 2 3 4 5 6\n"))
	f2, c2 := frame(c1, []byte("blob"), []byte("h 1 3 4 4 5 6\n"))
	other, _ := frame(seed, nil, []byte("h 1 2 9 4 5 6\n")) // as long as f1
	if len(other) != len(f1) {
		t.Fatal("test frames differ in length")
	}
	tests := []struct {
		name  string
		data  []byte
		texts int
		chain uint32
	}{
		{"whole log", append(append([]byte{}, f1...), f2...), 2, c2},
		{"first lost, second survived", append(make([]byte, len(f1)), f2...), 0, seed},
		{"a later frame in the first's place", append(append([]byte{}, other...), f2...), 1, 0},
		{"cut short", append(append([]byte{}, f1...), f2[:len(f2)-1]...), 1, c1},
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), "log")
		if err := os.WriteFile(path, append(tt.data, make([]byte, 64)...), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		texts, _, chain, err := readFrames(f, 0, seed)
		f.Close()
		if err != nil || len(texts) != tt.texts || (tt.chain != 0 && chain != tt.chain) {
			t.Errorf("%s: %d frames read (chain %d, %v), want %d", tt.name, len(texts), chain, err, tt.texts)
		}
	}
}
