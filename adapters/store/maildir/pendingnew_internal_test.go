package maildir

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/imapd-go/imapd/domain/imap"
)

// TestPendingNewRemembersEmpty: a look at a mailbox whose new/ is empty
// and settled remembers new/'s ctime, and a message delivered into new/
// afterwards (another program's rename) is found at the next look all the
// same. A new/ changed within settledAge is not remembered.
func TestPendingNewRemembersEmpty(t *testing.T) {
	defer func(old time.Duration) { settledAge = old }(settledAge)
	settledAge = 50 * time.Millisecond
	s, dir := userStore(t)
	ctx := context.Background()
	look := func() int {
		t.Helper()
		_, x, err := s.view(ctx, "select", "u", "INBOX", imap.ErrNonexistent)
		if err != nil {
			t.Fatal(err)
		}
		return x.msgs.len()
	}
	box := filepath.Join(dir, "u")
	remembered := func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		_, ok := s.emptyNew[box]
		return ok
	}
	// Delivered as another program delivers: written in tmp/, renamed
	// into new/.
	deliver := func(name string) {
		t.Helper()
		tmp := filepath.Join(box, "tmp", name)
		if err := os.WriteFile(tmp, []byte("Subject: x\r\n\r\nbody\r\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(box, "new", name)); err != nil {
			t.Fatal(err)
		}
	}

	if n := look(); n != 0 || remembered() {
		t.Fatalf("fresh mailbox: %d messages, new/ remembered %v; want 0, false (its ctime is not settled)", n, remembered())
	}
	time.Sleep(2 * settledAge)
	if n := look(); n != 0 || !remembered() {
		t.Fatalf("settled: %d messages, new/ remembered %v; want 0, true", n, remembered())
	}
	deliver("1.delivered")
	if n := look(); n != 1 {
		t.Fatalf("after a delivery into new/: %d messages, want 1", n)
	}
	// The look moved the message to cur/, which changed new/ again.
	if remembered() && s.emptyNew[box] == ctimeOf(t, filepath.Join(box, "new")) {
		t.Fatal("new/ remembered with the ctime of the move, which is not settled")
	}
	time.Sleep(2 * settledAge)
	look()
	deliver("2.delivered")
	if n := look(); n != 2 {
		t.Fatalf("after a second delivery: %d messages, want 2", n)
	}
}

func ctimeOf(t *testing.T, path string) int64 {
	t.Helper()
	var st unix.Stat_t
	if err := statPath(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ctim.Nano()
}
