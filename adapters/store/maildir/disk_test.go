package maildir_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/store/maildir"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

func setup(t *testing.T) (string, *maildir.Store) {
	t.Helper()
	dir := t.TempDir()
	s, err := maildir.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureUser(context.Background(), "u"); err != nil {
		t.Fatal(err)
	}
	return dir, s
}

func put(t *testing.T, s ports.Store, box, body string, flags ...string) ports.AppendResult {
	t.Helper()
	r, err := s.Append(context.Background(), "u", box, ports.NewMessage{
		Flags: flags, InternalDate: time.Now(), Size: int64(len(body)), Body: strings.NewReader(body),
	})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return r
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// TestFlagLetters: the standard flags are the letters after ":2," in the
// file names, then the keywords' lowercase letters (see dovecotkw.go), all
// sorted, and follow every change.
func TestFlagLetters(t *testing.T) {
	dir, s := setup(t)
	ctx := context.Background()
	cur := filepath.Join(dir, "u", "cur")
	r := put(t, s, "INBOX", "Subject: x\r\n\r\nx\r\n", `\Seen`, `\Draft`, "$Label")
	tests := []struct {
		op    ports.FlagOp
		flags []string
		want  string
	}{
		{ports.FlagsAdd, nil, ":2,DSa"},
		{ports.FlagsAdd, []string{`\Flagged`, `\Answered`, `\Deleted`}, ":2,DFRSTa"},
		{ports.FlagsRemove, []string{`\Draft`, `\Seen`}, ":2,FRTa"},
		{ports.FlagsReplace, []string{"$Only"}, ":2,b"},
		{ports.FlagsRemove, []string{"$only"}, ":2,"},
	}
	for _, tt := range tests {
		if _, err := s.UpdateFlags(ctx, "u", "INBOX", []imap.UID{r.UID}, tt.op, tt.flags); err != nil {
			t.Fatal(err)
		}
		got := files(t, cur)
		if len(got) != 1 || !strings.HasSuffix(got[0], tt.want) {
			t.Errorf("after %v %q: files %q, want suffix %q", tt.op, tt.flags, got, tt.want)
		}
	}
	// Nothing of ours inside cur/ new/ tmp/.
	for _, d := range []string{"cur", "new", "tmp"} {
		for _, f := range files(t, filepath.Join(dir, "u", d)) {
			if strings.HasPrefix(f, "imapd-") || strings.HasPrefix(f, ".") {
				t.Errorf("%s/%s is not a message", d, f)
			}
		}
	}
}

// TestForeignDelivery: a message another program writes into new/ (as
// procmail does) gets a fresh UID at the next operation, with its
// structure; one it writes into cur/ with flag letters keeps them; a file
// removed from cur/ is reported as expunged; a flag change made by
// renaming a file shows as a flag update.
func TestForeignDelivery(t *testing.T) {
	dir, s := setup(t)
	ctx := context.Background()
	root := filepath.Join(dir, "u")
	r1 := put(t, s, "INBOX", "Subject: ours\r\n\r\nours\r\n")
	st0, _, err := s.Snapshot(ctx, "u", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	other, err := maildir.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	body := "From: a@example.org\r\nSubject: procmail\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
	if err := os.WriteFile(filepath.Join(root, "tmp", "1700000000.P1.host"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, "tmp", "1700000000.P1.host"), filepath.Join(root, "new", "1700000000.P1.host")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "cur", "1700000001.P2.host:2,FS"), []byte("Subject: mutt\r\n\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, metas, err := other.Snapshot(ctx, "u", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	// UIDs the index had reserved for APPENDs are skipped (see
	// TestLostFrameDeleted).
	if len(metas) != 3 || metas[1].UID <= r1.UID || st.UIDNext != metas[2].UID+1 || st.HighestModSeq <= st0.HighestModSeq {
		t.Fatalf("after foreign delivery: %+v %+v", st, metas)
	}
	if got := files(t, filepath.Join(root, "new")); len(got) != 0 {
		t.Errorf("new/ still holds %q", got)
	}
	recs, err := s.Fetch(ctx, "u", "INBOX", []imap.UID{metas[1].UID, metas[2].UID})
	if err != nil || len(recs) != 2 {
		t.Fatalf("Fetch = %+v, %v", recs, err)
	}
	var procmail, mutt ports.MessageRecord
	for _, r := range recs {
		if r.Size == int64(len(body)) {
			procmail = r
		} else {
			mutt = r
		}
	}
	if len(procmail.Structure) == 0 || len(procmail.Flags) != 0 {
		t.Errorf("procmail's message: %+v", procmail)
	}
	if !slices.Contains(mutt.Flags, `\Seen`) || !slices.Contains(mutt.Flags, `\Flagged`) {
		t.Errorf("mutt's message flags %q", mutt.Flags)
	}
	b, err := s.Open(ctx, "u", "INBOX", procmail.UID)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, b.Size())
	b.ReadAt(got, 0)
	b.Close()
	if string(got) != body {
		t.Errorf("procmail's bytes = %q", got)
	}
	mark := st.HighestModSeq
	// Another program renames a file (flags) and deletes one.
	var ours, theirs string
	for _, f := range files(t, filepath.Join(root, "cur")) {
		if strings.Contains(f, "P2.host") {
			theirs = f
		} else if !strings.Contains(f, "P1.host") {
			ours = f
		}
	}
	if err := os.Remove(filepath.Join(root, "cur", theirs)); err != nil {
		t.Fatal(err)
	}
	u, _, _ := strings.Cut(ours, ":2,")
	if err := os.Rename(filepath.Join(root, "cur", ours), filepath.Join(root, "cur", u+":2,R")); err != nil {
		t.Fatal(err)
	}
	ch, err := other.ChangesSince(ctx, "u", "INBOX", mark)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ch.Expunged, []imap.UID{mutt.UID}) || len(ch.Updated) != 1 || ch.Updated[0].UID != r1.UID ||
		!slices.Equal(ch.Updated[0].Flags, []string{`\Answered`}) || ch.Status.Messages != 2 {
		t.Errorf("changes after outside edits = %+v", ch)
	}
	// UIDs keep rising after all that.
	if r := put(t, s, "INBOX", "later"); r.UID != st.UIDNext {
		t.Errorf("next UID %d, want %d", r.UID, st.UIDNext)
	}
}

// TestFolderNames: names with "." and non-ASCII map to Maildir++ folders
// reversibly; names that could leave the tree are refused.
func TestFolderNames(t *testing.T) {
	dir, s := setup(t)
	ctx := context.Background()
	root := filepath.Join(dir, "u")
	tests := []struct{ name, folder string }{
		{"Sent", ".Sent"},
		{"a.b", ".a%2Eb"},
		{"Archiv/2024.01", ".Archiv.2024%2E01"},
		{"Entwürfe", ".Entwürfe"},
		{"per%cent~x", ".per%25cent%7Ex"},
		{"INBOX/child", ".INBOX.child"},
		{".hidden", ".%2Ehidden"},
	}
	for _, tt := range tests {
		if err := s.CreateMailbox(ctx, "u", tt.name); err != nil {
			t.Fatalf("create %q: %v", tt.name, err)
		}
		fi, err := os.Stat(filepath.Join(root, tt.folder, "cur"))
		if err != nil || !fi.IsDir() {
			t.Errorf("%q: folder %s missing: %v", tt.name, tt.folder, err)
		}
		if _, err := os.Stat(filepath.Join(root, tt.folder, "maildirfolder")); err != nil {
			t.Errorf("%q: no maildirfolder mark", tt.name)
		}
	}
	infos, err := s.ListMailboxes(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range infos {
		names = append(names, i.Name)
	}
	for _, tt := range tests {
		if !slices.Contains(names, tt.name) {
			t.Errorf("list %q lacks %q", names, tt.name)
		}
	}
	for _, bad := range []string{"..", "a/../b", ".", "a/./b", "/etc", "a\x00", "x\x1b"} {
		if err := s.CreateMailbox(ctx, "u", bad); !errors.Is(err, imap.ErrInvalidName) {
			t.Errorf("create %q: %v, want ErrInvalidName", bad, err)
		}
		if _, err := s.Status(ctx, "u", bad); err == nil {
			t.Errorf("status %q succeeded", bad)
		}
	}
	// Nothing escaped the partition.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() != "u" && e.Name() != ".imapd" {
			t.Errorf("unexpected entry %q in the partition", e.Name())
		}
	}
	if err := s.EnsureUser(ctx, "../evil"); !errors.Is(err, imap.ErrNoUser) {
		t.Errorf("EnsureUser(../evil) = %v", err)
	}
}

// TestOpenAfterOutsideChanges: Open finds a message again after another
// program renamed its file, and reports a message that another process
// expunged, or whose file another program deleted, as nonexistent, even
// right after opening it (and remembering where it was) once.
func TestOpenAfterOutsideChanges(t *testing.T) {
	dir, s := setup(t)
	ctx := context.Background()
	cur := filepath.Join(dir, "u", "cur")
	a := put(t, s, "INBOX", "Subject: a\r\n\r\nfirst\r\n")
	b := put(t, s, "INBOX", "Subject: b\r\n\r\nsecond\r\n")
	read := func(uid imap.UID) (string, error) {
		t.Helper()
		body, err := s.Open(ctx, "u", "INBOX", uid)
		if err != nil {
			return "", err
		}
		defer body.Close()
		got := make([]byte, body.Size())
		if _, err := body.ReadAt(got, 0); err != nil {
			t.Fatalf("ReadAt UID %d: %v", uid, err)
		}
		return string(got), nil
	}
	for _, uid := range []imap.UID{a.UID, b.UID} {
		if _, err := read(uid); err != nil {
			t.Fatalf("Open UID %d: %v", uid, err)
		}
	}
	// Another program sets a flag on a: its file gets a new name.
	var fileA string
	for _, f := range files(t, cur) {
		if data, _ := os.ReadFile(filepath.Join(cur, f)); strings.Contains(string(data), "first") {
			fileA = f
		}
	}
	u, _, _ := strings.Cut(fileA, ":2,")
	if err := os.Rename(filepath.Join(cur, fileA), filepath.Join(cur, u+":2,F")); err != nil {
		t.Fatal(err)
	}
	if got, err := read(a.UID); err != nil || got != "Subject: a\r\n\r\nfirst\r\n" {
		t.Errorf("after an outside rename: %q, %v", got, err)
	}
	// Another process expunges b.
	other, err := maildir.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.UpdateFlags(ctx, "u", "INBOX", []imap.UID{b.UID}, ports.FlagsAdd, []string{imap.FlagDeleted}); err != nil {
		t.Fatal(err)
	}
	if gone, err := other.Expunge(ctx, "u", "INBOX", []imap.UID{b.UID}); err != nil || len(gone) != 1 {
		t.Fatalf("Expunge = %v, %v", gone, err)
	}
	if _, err := read(b.UID); !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("after another process's expunge: %v, want ErrNonexistent", err)
	}
	// Another program deletes a's file.
	if err := os.Remove(filepath.Join(cur, u+":2,F")); err != nil {
		t.Fatal(err)
	}
	if _, err := read(a.UID); !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("after an outside delete: %v, want ErrNonexistent", err)
	}
}

// Many sessions of one process claiming \Recent at once, after a message
// came in through another process's store: exactly one gets it, and all
// of them return (they wait for the claim under way, not for the lock in
// turn; TestManyIdleSessions in test/e2e is the load that needs that).
func TestClaimRecentAtOnce(t *testing.T) {
	dir, s := setup(t)
	ctx := context.Background()
	if _, _, err := s.ClaimRecent(ctx, "u", "INBOX"); err != nil {
		t.Fatal(err)
	}
	other, err := maildir.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	r := put(t, other, "INBOX", "Subject: new\r\n\r\nx\r\n")
	var wg sync.WaitGroup
	var mu sync.Mutex
	var got [][2]imap.UID
	for range 50 {
		wg.Go(func() {
			from, to, err := s.ClaimRecent(ctx, "u", "INBOX")
			if err != nil {
				t.Error(err)
				return
			}
			if from < to {
				mu.Lock()
				got = append(got, [2]imap.UID{from, to})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(got) != 1 || got[0][0] > r.UID || got[0][1] <= r.UID {
		t.Errorf("claims %v, want one that holds UID %d", got, r.UID)
	}
}
