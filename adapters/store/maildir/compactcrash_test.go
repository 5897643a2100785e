package maildir_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/imapd-go/imapd/adapters/store/maildir"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
	"github.com/imapd-go/imapd/test/storetest"
)

// crashAtEnv names the moment a child of TestCompactCrash kills itself
// at, "<point>#<n>": the n-th time its compactions reach point.
const crashAtEnv = "MAILDIR_TEST_CRASH_AT"

// setCrashAt makes this process kill itself with SIGKILL at the moment
// at names.
func setCrashAt(at string) {
	point, nth, _ := strings.Cut(at, "#")
	n, err := strconv.Atoi(nth)
	if err != nil {
		n = 1
	}
	maildir.SetCrashHook(func(p string) {
		if p == point {
			if n--; n == 0 {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
		}
	})
}

// TestCompactCrash: children appending with a small log limit kill
// themselves at each step of a compaction: the new cache file written
// (before the snapshot's rename), the new snapshot written but not yet
// renamed into place, renamed but its folder not fsynced, and the
// compaction done; each time the store must hold every acknowledged
// message with its structure, and go on.
func TestCompactCrash(t *testing.T) {
	helper := smallLog(t)
	var points [][]string
	for _, nth := range []string{"1", "3"} {
		for _, p := range []string{"compact: cache written", "rename imapd-index", "renamed imapd-index", "compact: done"} {
			points = append(points, []string{crashAtEnv + "=" + p + "#" + nth})
		}
	}
	storetest.RunCrashAt(t, open, helper, points...)
}

// TestOldViewCompacted: a store that read the index (an IMAP session's
// view) before another process compacted twice, which removed the cache
// file that view names, still fetches every structure and catches up on
// the changes since.
func TestOldViewCompacted(t *testing.T) {
	old := maildir.SetLogLimit(1 << 40)
	defer maildir.SetLogLimit(old)
	dir, writer := setup(t)
	ctx := context.Background()
	for i := range 20 {
		if _, err := writer.Append(ctx, "u", "INBOX", structMsg(i)); err != nil {
			t.Fatal(err)
		}
	}
	reader := open(t, dir)
	checkAll(t, reader, 20) // reader now holds the view of cache file 0
	caches := func() []string {
		names, _ := filepath.Glob(filepath.Join(dir, "u", "imapd-cache.*"))
		for i := range names {
			names[i] = filepath.Base(names[i])
		}
		return names
	}
	// Two compactions in the writer (another process, as far as the
	// reader can tell), with changes between and after them.
	maildir.SetLogLimit(0)
	for i := 20; i < 24; i++ {
		if _, err := writer.Append(ctx, "u", "INBOX", structMsg(i)); err != nil {
			t.Fatal(err)
		}
	}
	maildir.SetLogLimit(1 << 40)
	if got := caches(); slices.Contains(got, "imapd-cache.0") {
		t.Fatalf("cache files %q: the reader's file was not removed", got)
	}
	_, metas, err := writer.Snapshot(ctx, "u", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writer.UpdateFlags(ctx, "u", "INBOX", []imap.UID{metas[0].UID}, ports.FlagsAdd, []string{imap.FlagDeleted}); err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Expunge(ctx, "u", "INBOX", nil); err != nil {
		t.Fatal(err)
	}
	checkAll(t, reader, 23)
	ch, err := reader.ChangesSince(ctx, "u", "INBOX", metas[len(metas)-5].ModSeq)
	if err != nil || len(ch.Expunged) != 1 || ch.Expunged[0] != metas[0].UID || len(ch.Updated) != 4 {
		t.Errorf("changes seen by the old view: %+v, %v", ch, err)
	}
}
