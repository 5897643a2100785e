package maildir

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
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

// TestCloneShares: clones share their index's messages without changing
// them: one clone appends into the spare capacity, the others into
// copies, and own gives a clone messages it may change.
func TestCloneShares(t *testing.T) {
	x := freshIndex(1, 1)
	x.msgs = append(make([]entry, 0, 8), entry{uid: 1}, entry{uid: 2}, entry{uid: 3})
	x.spare = new(atomic.Bool)
	a, b := x.clone(), x.clone()
	a.msgs = append(a.msgs, entry{uid: 10})
	b.msgs = append(b.msgs, entry{uid: 20})
	if len(x.msgs) != 3 || a.msgs[3].uid != 10 || b.msgs[3].uid != 20 {
		t.Fatalf("after appends: x %v, a %v, b %v", x.msgs, a.msgs, b.msgs)
	}
	if &a.msgs[0] != &x.msgs[0] {
		t.Error("the first clone did not share the spare capacity")
	}
	c := a.clone()
	c.own()
	c.msgs[0].uid = 99
	c.msgs = slices.Insert(c.msgs, 1, entry{uid: 98})
	if x.msgs[0].uid != 1 || a.msgs[0].uid != 1 || a.msgs[1].uid != 2 {
		t.Errorf("a clone's change reached its index: x %v, a %v", x.msgs, a.msgs)
	}
	// The frame of a clone that only appended lists only the new ones.
	if got := string(diff(x, a)); strings.Count(got, "\nm ") != 1 || strings.Contains(got, "\nd ") {
		t.Errorf("diff of an append:\n%s", got)
	}
}
