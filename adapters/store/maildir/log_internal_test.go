package maildir

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
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

// TestCompactBeforeChange: when the frame of what a scan found compacts
// the log, the change that follows in the same operation goes into the
// new log, not the old one.
func TestCompactBeforeChange(t *testing.T) {
	defer func(old int64) { logLimit = old }(logLimit)
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.EnsureUser(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	body := "Subject: x\r\n\r\nx\r\n"
	if _, err := s.Append(ctx, "u", "INBOX", ports.NewMessage{Size: int64(len(body)), Body: strings.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	// Another program delivers: the next operation's scan writes a
	// frame, which compacts; the operation's own frame does not.
	if err := os.WriteFile(filepath.Join(dir, "u", "new", "1700000000.P1.host"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	logLimit = 0
	m, err := s.box("t", "u", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.update(ctx, "t", []*mailbox{m}, []error{imap.ErrNonexistent}, func(xs []*index) (bool, error) {
		logLimit = 1 << 40
		xs[0].recentUID = xs[0].uidNext
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	other, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := other.Status(ctx, "u", "INBOX")
	if err != nil || st.Messages != 2 || st.RecentUID != st.UIDNext {
		t.Errorf("another store sees %+v, %v; want 2 messages, none recent", st, err)
	}
}
