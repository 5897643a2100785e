package maildir_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/store/maildir"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
	"github.com/imapd-go/imapd/test/storetest"
)

// logLimitEnv sets the compaction limit of a child process.
const logLimitEnv = "MAILDIR_TEST_LOG_LIMIT"

// smallLog makes the processes of a test compact every few writes.
func smallLog(t *testing.T) storetest.Helper {
	t.Helper()
	old := maildir.SetLogLimit(512)
	t.Cleanup(func() { maildir.SetLogLimit(old) })
	return func(env ...string) *exec.Cmd {
		return storetest.ReExec(append(env, logLimitEnv+"=512")...)
	}
}

// TestCrashCompact: kill -9 at random moments of appends that compact
// the log every few messages, so that kills land inside compactions too.
func TestCrashCompact(t *testing.T) { storetest.RunCrash(t, open, smallLog(t)) }

// TestProcessesCompact: processes appending and flagging at once while
// each of them compacts the log now and then.
func TestProcessesCompact(t *testing.T) { storetest.RunProcesses(t, open, smallLog(t)) }

func structMsg(i int) ports.NewMessage {
	body := fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i)
	return ports.NewMessage{InternalDate: time.Now(), Size: int64(len(body)), Body: strings.NewReader(body),
		Structure: []byte(fmt.Sprintf("structure of %d", i)), Flags: []string{fmt.Sprintf("$k%d", i%3)}}
}

// checkAll reads the mailbox through a store of its own (as another
// process would) and checks every message's structure and keyword.
func checkAll(t *testing.T, s ports.Store, want int) {
	t.Helper()
	ctx := context.Background()
	_, metas, err := s.Snapshot(ctx, "u", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if len(metas) != want {
		t.Fatalf("%d messages, want %d", len(metas), want)
	}
	uids := make([]imap.UID, len(metas))
	for i, m := range metas {
		uids[i] = m.UID
	}
	recs, err := s.Fetch(ctx, "u", "INBOX", uids)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		var n int
		if _, err := fmt.Sscanf(string(r.Structure), "structure of %d", &n); err != nil ||
			!slices.Contains(r.Flags, fmt.Sprintf("$k%d", n%3)) {
			t.Errorf("UID %d: structure %q, flags %q", r.UID, r.Structure, r.Flags)
		}
	}
}

// TestCompaction: past the limit the log is folded into a new snapshot
// and cache file; expunged messages' structures are dropped from it, the
// file of two generations back is removed, and another store reading
// all along sees every structure.
func TestCompaction(t *testing.T) {
	old := maildir.SetLogLimit(256)
	defer maildir.SetLogLimit(old)
	dir, s := setup(t)
	ctx := context.Background()
	reader := open(t, dir)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, metas, err := reader.Snapshot(ctx, "u", "INBOX")
			if err != nil {
				t.Error(err)
				return
			}
			var uids []imap.UID
			for _, m := range metas {
				uids = append(uids, m.UID)
			}
			recs, err := reader.Fetch(ctx, "u", "INBOX", uids)
			if err != nil {
				t.Error(err)
				return
			}
			for _, r := range recs {
				if !bytes.HasPrefix(r.Structure, []byte("structure of ")) {
					t.Errorf("reader: UID %d structure %q", r.UID, r.Structure)
					return
				}
			}
		}
	}()
	const n = 120
	for i := range n {
		if _, err := s.Append(ctx, "u", "INBOX", structMsg(i)); err != nil {
			t.Fatal(err)
		}
		if i%10 == 9 {
			// Expunge one in ten as we go.
			_, metas, _ := s.Snapshot(ctx, "u", "INBOX")
			u := []imap.UID{metas[0].UID}
			if _, err := s.UpdateFlags(ctx, "u", "INBOX", u, ports.FlagsAdd, []string{imap.FlagDeleted}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Expunge(ctx, "u", "INBOX", u); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(stop)
	wg.Wait()
	caches, _ := filepath.Glob(filepath.Join(dir, "u", "imapd-cache.*"))
	if len(caches) == 0 || len(caches) > 2 {
		t.Errorf("cache files %q, want one or two", caches)
	}
	idx, err := os.ReadFile(filepath.Join(dir, "u", "imapd-index"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(idx), " G 0 ") {
		t.Errorf("no compaction happened:\n%s", idx)
	}
	checkAll(t, open(t, dir), n-n/10)
	checkAll(t, s, n-n/10)
}

// TestTornFrame: bytes of a frame a crash cut short, after the log's
// last whole frame, are not read as a change, and the next write takes
// their place.
func TestTornFrame(t *testing.T) {
	dir, s := setup(t)
	ctx := context.Background()
	for i := range 3 {
		if _, err := s.Append(ctx, "u", "INBOX", structMsg(i)); err != nil {
			t.Fatal(err)
		}
	}
	cache := filepath.Join(dir, "u", "imapd-cache.0")
	data, err := os.ReadFile(cache)
	if err != nil {
		t.Fatal(err)
	}
	// The last frame, found by its magic, copied past the end of the
	// log with its last bytes missing.
	last := bytes.LastIndex(data, []byte("IMXL"))
	end := last + bytes.IndexByte(data[last:], 0)
	for end < len(data) && data[end] != 0 {
		end++
	}
	frame := slices.Clone(data[last:end])
	for cut := range []int{1, 2} {
		f, err := os.OpenFile(cache, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		// Find the end of the log: the first zero header after the
		// last frame.
		cur, _ := os.ReadFile(cache)
		at := bytes.LastIndex(cur, []byte("IMXL"))
		for at < len(cur) && !bytes.Equal(cur[at:min(at+16, len(cur))], make([]byte, min(16, len(cur)-at))) {
			at++
		}
		if _, err := f.WriteAt(frame[:len(frame)-1-cut], int64(at)); err != nil {
			t.Fatal(err)
		}
		f.Close()
		other := open(t, dir)
		checkAll(t, other, 3+cut)
		if _, err := other.Append(ctx, "u", "INBOX", structMsg(10+cut)); err != nil {
			t.Fatal(err)
		}
		checkAll(t, open(t, dir), 4+cut)
	}
}

// TestUpgrade: a mailbox whose index a version without the log wrote
// (format 1) is read as it is, and upgraded in place by the first write;
// the index then starts with a version line format 1 programs refuse.
func TestUpgrade(t *testing.T) {
	dir, _ := setup(t)
	ctx := context.Background()
	root := filepath.Join(dir, "u")
	// Format 1: the whole index in imapd-index, blobs in imapd-cache.0.
	files := []string{"1700000000.M1P1.host,S=20:2,S", "1700000001.M2P1.host,S=20:2,"}
	for i, f := range files {
		body := fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i)
		if err := os.WriteFile(filepath.Join(root, "cur", f), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	blobs := "structure of 0structure of 1"
	if err := os.WriteFile(filepath.Join(root, "imapd-cache.0"), []byte(blobs), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(root, "cur"))
	if err != nil {
		t.Fatal(err)
	}
	v1 := fmt.Sprintf("imapd-maildir-index 1\nV 77 N 5 H 9 R 5 G 0 C %d\n"+
		"m 2 7 1700000000 0 20 0 14 1700000000 %s $k0\n"+
		"m 4 8 1700000001 3600 20 14 14 1700000001 %s $k1\n"+
		"x 3 9\nend 2 1\n", fi.ModTime().UnixNano(), files[0], files[1])
	if err := os.WriteFile(filepath.Join(root, "imapd-index"), []byte(v1), 0o600); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, dir)
	st, metas, err := s2.Snapshot(ctx, "u", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if st.UIDValidity != 77 || st.UIDNext != 5 || st.HighestModSeq != 9 || len(metas) != 2 ||
		metas[0].UID != 2 || metas[1].UID != 4 || !slices.Equal(metas[0].Flags, []string{`\Seen`, "$k0"}) {
		t.Fatalf("format 1 read as %+v %+v", st, metas)
	}
	r, err := s2.Append(ctx, "u", "INBOX", structMsg(5))
	if err != nil {
		t.Fatal(err)
	}
	if r.UID != 5 || r.UIDValidity != 77 {
		t.Errorf("append after the upgrade: %+v", r)
	}
	idx, _ := os.ReadFile(filepath.Join(root, "imapd-index"))
	if !strings.HasPrefix(string(idx), "imapd-maildir-index 2\n") {
		t.Errorf("index not upgraded:\n%s", idx)
	}
	other := open(t, dir)
	checkAll(t, other, 3)
	ch, err := other.ChangesSince(ctx, "u", "INBOX", 8)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ch.Expunged, []imap.UID{3}) || len(ch.Updated) != 1 || ch.Updated[0].UID != 5 {
		t.Errorf("changes since 8 after the upgrade: %+v", ch)
	}
}

// TestLostFrames: the frames of APPENDs whose messages the folder can
// tell again are not fsynced; when a crash loses them, the next look
// records the messages again with the same UIDs, mod-sequences, flags,
// dates and sizes.
func TestLostFrames(t *testing.T) {
	dir, s := setup(t)
	ctx := context.Background()
	date := time.Unix(1700000000, 0)
	msg := func(i int, flags ...string) ports.NewMessage {
		body := fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i)
		return ports.NewMessage{InternalDate: date.Add(time.Duration(i) * time.Hour), Size: int64(len(body)),
			Body: strings.NewReader(body), Flags: flags}
	}
	for i, f := range [][]string{{`\Seen`}, nil, {"$Kept"}} {
		if _, err := s.Append(ctx, "u", "INBOX", msg(i, f...)); err != nil {
			t.Fatal(err)
		}
	}
	// What is durable now: the keyword forced an fdatasync.
	cache := filepath.Join(dir, "u", "imapd-cache.0")
	durable, err := os.ReadFile(cache)
	if err != nil {
		t.Fatal(err)
	}
	st0, _, _ := s.Snapshot(ctx, "u", "INBOX")
	for i, f := range [][]string{{`\Flagged`, `\Seen`}, nil} {
		if _, err := s.Append(ctx, "u", "INBOX", msg(3+i, f...)); err != nil {
			t.Fatal(err)
		}
	}
	st, metas, err := s.Snapshot(ctx, "u", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	uids := []imap.UID{}
	for _, m := range metas {
		uids = append(uids, m.UID)
	}
	recs, err := s.Fetch(ctx, "u", "INBOX", uids)
	if err != nil {
		t.Fatal(err)
	}
	// The crash: the log as it was at the last fdatasync.
	if err := os.WriteFile(cache, durable, 0o600); err != nil {
		t.Fatal(err)
	}
	other := open(t, dir)
	st2, metas2, err := other.Snapshot(ctx, "u", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	// UIDNEXT moves past the UIDs reserved for unsynced frames.
	if want := st; st2.UIDNext < st.UIDNext || func() bool { want.UIDNext = st2.UIDNext; return st2 != want }() {
		t.Errorf("status after the lost frames %+v, want %+v", st2, st)
	}
	recs2, err := other.Fetch(ctx, "u", "INBOX", uids)
	if err != nil || len(recs2) != len(recs) || len(metas2) != len(metas) {
		t.Fatalf("Fetch after the lost frames: %d records, %v", len(recs2), err)
	}
	for i := range recs {
		a, b := recs[i], recs2[i]
		if a.UID != b.UID || a.ModSeq != b.ModSeq || !slices.Equal(a.Flags, b.Flags) || !a.InternalDate.Equal(b.InternalDate) ||
			a.Size != b.Size || (a.UID >= 4 && len(b.Structure) == 0) {
			t.Errorf("UID %d: %+v before, %+v after", a.UID, a.MessageMeta, b.MessageMeta)
		}
	}
	ch, err := other.ChangesSince(ctx, "u", "INBOX", st0.HighestModSeq)
	if err != nil || len(ch.Updated) != 2 || ch.Updated[0].UID != 4 || len(ch.Expunged) != 0 {
		t.Errorf("changes since the last durable frame: %+v, %v", ch, err)
	}
	if r, err := other.Append(ctx, "u", "INBOX", msg(9)); err != nil || r.UID != st2.UIDNext {
		t.Errorf("next append: %+v, %v; want UID %d", r, err, st2.UIDNext)
	}
}

// TestLostFrameDeleted: a message whose APPEND frame a crash lost, and
// whose file another program deleted before the crash, leaves no trace;
// its UID is still never handed out again.
func TestLostFrameDeleted(t *testing.T) {
	dir, s := setup(t)
	put(t, s, "INBOX", "Subject: 1\r\n\r\none\r\n")
	cache := filepath.Join(dir, "u", "imapd-cache.0")
	durable, err := os.ReadFile(cache)
	if err != nil {
		t.Fatal(err)
	}
	lost := put(t, s, "INBOX", "Subject: 2\r\n\r\ntwo\r\n")
	for _, f := range files(t, filepath.Join(dir, "u", "cur")) {
		if strings.Contains(f, fmt.Sprintf(",U=%d:", lost.UID)) {
			if err := os.Remove(filepath.Join(dir, "u", "cur", f)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(cache, durable, 0o600); err != nil {
		t.Fatal(err)
	}
	other := open(t, dir)
	if r := put(t, other, "INBOX", "Subject: 3\r\n\r\nthree\r\n"); r.UID <= lost.UID {
		t.Errorf("UID %d handed out again (after %d)", r.UID, lost.UID)
	}
}

// TestAppendSyncs: an APPEND costs two fsyncs (the message file, cur/),
// plus one in reserveAhead for the frame that reserves UIDs and, now and
// then, the log's growth; one with a keyword, three, and two more the
// first time the mailbox sees the keyword, which gets a letter in
// dovecot-keywords (the file and its folder).
func TestAppendSyncs(t *testing.T) {
	_, s := setup(t)
	put(t, s, "INBOX", "Subject: first\r\n\r\nx\r\n")
	count, stop := maildir.CountSyncs()
	defer stop()
	const n = 100
	for i := range n {
		put(t, s, "INBOX", fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i), `\Seen`)
	}
	if got := count(); got > 2*n+n/16 {
		t.Errorf("%d APPENDs cost %d fsyncs, want at most %d", n, got, 2*n+n/16)
	}
	for _, want := range []int64{5, 3} {
		before := count()
		put(t, s, "INBOX", "Subject: kw\r\n\r\nx\r\n", "$Label")
		if got := count() - before; got != want {
			t.Errorf("an APPEND with a keyword cost %d fsyncs, want %d", got, want)
		}
	}
}

// TestClaimRecentNotSynced: a claim of \Recent costs no fsync; when a
// crash loses its frame, the mailbox is as before the claim and the next
// session claims the same messages again.
func TestClaimRecentNotSynced(t *testing.T) {
	ctx := context.Background()
	dir, s := setup(t)
	put(t, s, "INBOX", "Subject: 1\r\n\r\none\r\n")
	if _, _, err := s.ClaimRecent(ctx, "u", "INBOX"); err != nil {
		t.Fatal(err)
	}
	r := put(t, s, "INBOX", "Subject: 2\r\n\r\ntwo\r\n")
	// Whatever the APPEND left unsynced is made durable, as a later
	// durable frame would.
	if _, err := s.UpdateFlags(ctx, "u", "INBOX", []imap.UID{r.UID}, ports.FlagsAdd, []string{`\Flagged`}); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "u", "imapd-cache.0")
	durable, err := os.ReadFile(cache)
	if err != nil {
		t.Fatal(err)
	}
	st, metas, err := s.Snapshot(ctx, "u", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	count, stop := maildir.CountSyncs()
	from, to, err := s.ClaimRecent(ctx, "u", "INBOX")
	stop()
	if err != nil || from != r.UID || to != r.UID+1 {
		t.Fatalf("claim: [%d, %d), %v; want [%d, %d)", from, to, err, r.UID, r.UID+1)
	}
	if n := count(); n != 0 {
		t.Errorf("a claim of \\Recent cost %d fsyncs, want 0", n)
	}
	// The crash: the log as it was at the last fdatasync.
	if err := os.WriteFile(cache, durable, 0o600); err != nil {
		t.Fatal(err)
	}
	other := open(t, dir)
	st2, metas2, err := other.Snapshot(ctx, "u", "INBOX")
	if err != nil || st2 != st || !slices.EqualFunc(metas, metas2, func(a, b ports.MessageMeta) bool {
		return a.UID == b.UID && a.ModSeq == b.ModSeq && slices.Equal(a.Flags, b.Flags)
	}) {
		t.Errorf("after the lost claim: %+v %+v, %v; want %+v %+v", st2, metas2, err, st, metas)
	}
	if from, to, err := other.ClaimRecent(ctx, "u", "INBOX"); err != nil || from != r.UID || to != r.UID+1 {
		t.Errorf("claim after the lost one: [%d, %d), %v; want [%d, %d)", from, to, err, r.UID, r.UID+1)
	}
}
