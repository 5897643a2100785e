package maildir_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// flagsOf returns the flags of uid as the store reports them.
func flagsOf(t *testing.T, s ports.Store, box string, uid imap.UID) []string {
	t.Helper()
	_, metas, err := s.Snapshot(context.Background(), "u", box)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range metas {
		if m.UID == uid {
			return m.Flags
		}
	}
	t.Fatalf("no UID %d in %s", uid, box)
	return nil
}

// sameFlags compares flag lists as sets, with IMAP's case rule.
func sameFlags(got []string, want ...string) bool {
	return imap.SameFlags(got, want)
}

// fileOf returns the one file in cur/ whose name contains part.
func fileOf(t *testing.T, cur, part string) string {
	t.Helper()
	var found []string
	for _, f := range files(t, cur) {
		if strings.Contains(f, part) {
			found = append(found, f)
		}
	}
	if len(found) != 1 {
		t.Fatalf("files with %q in %s: %q", part, cur, found)
	}
	return found[0]
}

// uidPart is the part of our file names that carries the UID.
func uidPart(uid imap.UID) string { return fmt.Sprintf(",U=%d:", uid) }

func readKeywordsFile(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "dovecot-keywords"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

func rename(t *testing.T, dir, from, to string) {
	t.Helper()
	if err := os.Rename(filepath.Join(dir, from), filepath.Join(dir, to)); err != nil {
		t.Fatal(err)
	}
}

// TestDovecotKeywordsRead: keywords Dovecot sets (dovecot-keywords, and
// lowercase letters in the file names) are the messages' keywords: for a
// file it delivers, and after each rename that adds or drops a letter.
func TestDovecotKeywordsRead(t *testing.T) {
	dir, s := setup(t)
	box := filepath.Join(dir, "u")
	cur := filepath.Join(box, "cur")
	if err := os.WriteFile(filepath.Join(box, "dovecot-keywords"), []byte("0 $Label1\n1 Junk\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ours := put(t, s, "INBOX", "Subject: ours\r\n\r\nx\r\n", `\Seen`, "Kept")
	body := "Subject: theirs\n\nx\n"
	theirs := "1717495300.M2P43.dovecot,S=19,W=22:2,Sab"
	if err := os.WriteFile(filepath.Join(cur, theirs), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := s.Status(context.Background(), "u", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	delivered := st.UIDNext - 1
	if got := flagsOf(t, s, "INBOX", delivered); !sameFlags(got, `\Seen`, "$Label1", "Junk") {
		t.Errorf("delivered with letters ab: flags %q", got)
	}

	// Renames by Dovecot, one command after another.
	steps := []struct {
		info string
		want []string
	}{
		{":2,Sa", []string{`\Seen`, "$Label1"}},
		{":2,FSb", []string{`\Seen`, `\Flagged`, "Junk"}},
		{":2,S", []string{`\Seen`}},
	}
	name := theirs
	for _, st := range steps {
		next := strings.TrimSuffix(name, name[strings.Index(name, ":2,"):]) + st.info
		rename(t, cur, name, next)
		name = next
		if got := flagsOf(t, s, "INBOX", delivered); !sameFlags(got, st.want...) {
			t.Errorf("renamed to %s: flags %q, want %q", st.info, got, st.want)
		}
	}

	// Our message: a letter added by Dovecot joins the keywords the
	// index holds, which stay.
	f := fileOf(t, cur, uidPart(ours.UID))
	if !strings.HasSuffix(f, ":2,Sc") {
		t.Fatalf("our file %s: want the letter c, the next free, for Kept", f)
	}
	rename(t, cur, f, strings.TrimSuffix(f, ":2,Sc")+":2,Sbc")
	if got := flagsOf(t, s, "INBOX", ours.UID); !sameFlags(got, `\Seen`, "Kept", "Junk") {
		t.Errorf("our message given b: flags %q", got)
	}
	if got, want := readKeywordsFile(t, box), "0 $Label1\n1 Junk\n2 Kept\n"; got != want {
		t.Errorf("dovecot-keywords %q, want %q", got, want)
	}
}

// TestDovecotKeywordsWrite: a keyword we set gets a line in
// dovecot-keywords (the next free index) and its letter in the file name,
// sorted after the standard flags' letters; the same keyword in another
// case uses the same letter; removing it drops the letter.
func TestDovecotKeywordsWrite(t *testing.T) {
	dir, s := setup(t)
	ctx := context.Background()
	box := filepath.Join(dir, "u")
	cur := filepath.Join(box, "cur")
	if err := os.WriteFile(filepath.Join(box, "dovecot-keywords"), []byte("0 Junk\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := put(t, s, "INBOX", "Subject: a\r\n\r\nx\r\n", `\Seen`)
	b := put(t, s, "INBOX", "Subject: b\r\n\r\nx\r\n")
	steps := []struct {
		uid   imap.UID
		op    ports.FlagOp
		flags []string
		file  string // the suffix of uid's file
		kw    string // dovecot-keywords after
	}{
		{a.UID, ports.FlagsAdd, []string{"$Label1"}, ":2,Sb", "0 Junk\n1 $Label1\n"},
		{a.UID, ports.FlagsAdd, []string{"Junk", `\Flagged`}, ":2,FSab", "0 Junk\n1 $Label1\n"},
		{b.UID, ports.FlagsAdd, []string{"$LABEL1"}, ":2,b", "0 Junk\n1 $Label1\n"},
		{a.UID, ports.FlagsRemove, []string{"$label1"}, ":2,FSa", "0 Junk\n1 $Label1\n"},
		{b.UID, ports.FlagsReplace, []string{`\Answered`, "Zeta", "Alpha"}, ":2,Rcd", "0 Junk\n1 $Label1\n2 Zeta\n3 Alpha\n"},
	}
	for _, st := range steps {
		if _, err := s.UpdateFlags(ctx, "u", "INBOX", []imap.UID{st.uid}, st.op, st.flags); err != nil {
			t.Fatal(err)
		}
		if f := fileOf(t, cur, uidPart(st.uid)); !strings.HasSuffix(f, st.file) {
			t.Errorf("%v %q on %d: file %s, want suffix %s", st.op, st.flags, st.uid, f, st.file)
		}
		if got := readKeywordsFile(t, box); got != st.kw {
			t.Errorf("%v %q on %d: dovecot-keywords %q, want %q", st.op, st.flags, st.uid, got, st.kw)
		}
	}
	// The lock is gone with the rename.
	if _, err := os.Stat(filepath.Join(box, "dovecot-keywords.lock")); !os.IsNotExist(err) {
		t.Errorf("dovecot-keywords.lock left behind: %v", err)
	}
	// Another process reads the same flags back.
	other := open(t, dir)
	if got := flagsOf(t, other, "INBOX", b.UID); !sameFlags(got, `\Answered`, "Zeta", "Alpha") {
		t.Errorf("flags of %d in another process: %q", b.UID, got)
	}
	// An APPEND with keywords names the file with their letters.
	c := put(t, s, "INBOX", "Subject: c\r\n\r\nx\r\n", "Alpha", `\Draft`, "New")
	if f := fileOf(t, cur, uidPart(c.UID)); !strings.HasSuffix(f, ":2,Dde") {
		t.Errorf("appended with Alpha New: file %s, want suffix :2,Dde", f)
	}
	// A copy takes the destination's letters.
	if err := s.CreateMailbox(ctx, "u", "Other"); err != nil {
		t.Fatal(err)
	}
	other2 := filepath.Join(box, ".Other")
	if err := os.WriteFile(filepath.Join(other2, "dovecot-keywords"), []byte("0 New\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := s.Copy(ctx, "u", "INBOX", []imap.UID{c.UID}, "Other")
	if err != nil {
		t.Fatal(err)
	}
	if f := files(t, filepath.Join(other2, "cur")); len(f) != 1 || !strings.HasSuffix(f[0], ":2,Dab") {
		t.Errorf("copied: files %q, want suffix :2,Dab", f)
	}
	if got := readKeywordsFile(t, other2); got != "0 New\n1 Alpha\n" {
		t.Errorf("destination's dovecot-keywords %q", got)
	}
	if got := flagsOf(t, s, "Other", res.Dest[0]); !sameFlags(got, `\Draft`, "Alpha", "New") {
		t.Errorf("copied: flags %q", got)
	}
	// RENAME INBOX moves the messages to a new folder, with its letters.
	if err := s.RenameMailbox(ctx, "u", "INBOX", "Old"); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(box, ".Old")
	if got := readKeywordsFile(t, old); got != "0 Junk\n1 Zeta\n2 Alpha\n3 New\n" {
		t.Errorf("renamed INBOX's dovecot-keywords %q", got)
	}
	for _, f := range files(t, filepath.Join(old, "cur")) {
		if !strings.HasSuffix(f, ":2,FSa") && !strings.HasSuffix(f, ":2,Rbc") && !strings.HasSuffix(f, ":2,Dcd") {
			t.Errorf("renamed INBOX: file %s", f)
		}
	}
}

// TestDovecotKeywordsLimit: keywords past the 26 letters live in the index
// only; the file name carries the 26 that have letters.
func TestDovecotKeywordsLimit(t *testing.T) {
	dir, s := setup(t)
	ctx := context.Background()
	box := filepath.Join(dir, "u")
	r := put(t, s, "INBOX", "Subject: a\r\n\r\nx\r\n")
	var kws []string
	for i := range 30 {
		kws = append(kws, fmt.Sprintf("K%02d", i))
	}
	if _, err := s.UpdateFlags(ctx, "u", "INBOX", []imap.UID{r.UID}, ports.FlagsAdd, kws); err != nil {
		t.Fatal(err)
	}
	f := fileOf(t, filepath.Join(box, "cur"), uidPart(r.UID))
	if !strings.HasSuffix(f, ":2,abcdefghijklmnopqrstuvwxyz") {
		t.Errorf("file %s: want the 26 letters", f)
	}
	if n := strings.Count(readKeywordsFile(t, box), "\n"); n != 26 {
		t.Errorf("dovecot-keywords has %d lines, want 26", n)
	}
	if got := flagsOf(t, open(t, dir), "INBOX", r.UID); !sameFlags(got, kws...) {
		t.Errorf("flags %q, want all 30", got)
	}
	// Removing one with a letter and one without.
	if _, err := s.UpdateFlags(ctx, "u", "INBOX", []imap.UID{r.UID}, ports.FlagsRemove, []string{"K00", "K29"}); err != nil {
		t.Fatal(err)
	}
	f = fileOf(t, filepath.Join(box, "cur"), uidPart(r.UID))
	if !strings.HasSuffix(f, ":2,bcdefghijklmnopqrstuvwxyz") {
		t.Errorf("file %s: want the letters but a", f)
	}
	if got := flagsOf(t, open(t, dir), "INBOX", r.UID); !sameFlags(got, kws[1:29]...) {
		t.Errorf("flags %q, want K01..K28", got)
	}
}

// TestDovecotKeywordsCarriers: a keyword the index holds without a letter
// (recorded before dovecot-keywords named it) gets its letter on every
// message that carries it once it is given one; a rename by another
// program that leaves such a keyword's letter alone keeps it.
func TestDovecotKeywordsCarriers(t *testing.T) {
	dir, s := setup(t)
	ctx := context.Background()
	box := filepath.Join(dir, "u")
	cur := filepath.Join(box, "cur")
	a := put(t, s, "INBOX", "Subject: a\r\n\r\nx\r\n", "Old")
	b := put(t, s, "INBOX", "Subject: b\r\n\r\nx\r\n")
	// The letter and its line go, as if written before either existed.
	f := fileOf(t, cur, uidPart(a.UID))
	if !strings.HasSuffix(f, ":2,a") {
		t.Fatalf("file %s", f)
	}
	if err := os.Remove(filepath.Join(box, "dovecot-keywords")); err != nil {
		t.Fatal(err)
	}
	rename(t, cur, f, strings.TrimSuffix(f, "a"))
	if got := flagsOf(t, s, "INBOX", a.UID); !sameFlags(got, "Old") {
		t.Fatalf("a letter without a line dropped: flags %q", got)
	}
	// Another program sets \Seen: the keyword stays.
	f = fileOf(t, cur, uidPart(a.UID))
	rename(t, cur, f, f+"S")
	if got := flagsOf(t, s, "INBOX", a.UID); !sameFlags(got, "Old", `\Seen`) {
		t.Fatalf("after S: flags %q", got)
	}
	// Given a letter through b: a's file takes it too, flags unchanged.
	_, before, err := s.Snapshot(ctx, "u", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateFlags(ctx, "u", "INBOX", []imap.UID{b.UID}, ports.FlagsAdd, []string{"new", "old"}); err != nil {
		t.Fatal(err)
	}
	// Given in the case the mailbox has it in, the first set.
	if got := readKeywordsFile(t, box); got != "0 new\n1 Old\n" {
		t.Errorf("dovecot-keywords %q", got)
	}
	if f := fileOf(t, cur, uidPart(a.UID)); !strings.HasSuffix(f, ":2,Sb") {
		t.Errorf("carrier's file %s, want suffix :2,Sb", f)
	}
	_, after, err := s.Snapshot(ctx, "u", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if before[0].ModSeq != after[0].ModSeq || !sameFlags(after[0].Flags, "Old", `\Seen`) {
		t.Errorf("carrier %+v became %+v", before[0], after[0])
	}
}

// TestDovecotKeywordsCase: a letter another program adds for a keyword
// the mailbox has in another case keeps the mailbox's case.
func TestDovecotKeywordsCase(t *testing.T) {
	dir, s := setup(t)
	box := filepath.Join(dir, "u")
	cur := filepath.Join(box, "cur")
	put(t, s, "INBOX", "Subject: a\r\n\r\nx\r\n", "$Label1", "Other")
	b := put(t, s, "INBOX", "Subject: b\r\n\r\nx\r\n")
	// Rewritten by another program with its own case.
	if err := os.WriteFile(filepath.Join(box, "dovecot-keywords"), []byte("0 $LABEL1\n1 Other\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := fileOf(t, cur, uidPart(b.UID))
	rename(t, cur, f, f+"a")
	if got := flagsOf(t, s, "INBOX", b.UID); !slices.Equal(got, []string{"$Label1"}) {
		t.Errorf("flags %q, want [$Label1]", got)
	}
}

// TestDovecotKeywordsLockWait: a dot-lock another program holds is waited
// for; one left behind long ago is taken over.
func TestDovecotKeywordsLockWait(t *testing.T) {
	dir, s := setup(t)
	ctx := context.Background()
	box := filepath.Join(dir, "u")
	r := put(t, s, "INBOX", "Subject: a\r\n\r\nx\r\n")
	lock := filepath.Join(box, "dovecot-keywords.lock")
	if err := os.WriteFile(lock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(100 * time.Millisecond)
		// The holder wrote its keyword, and renames.
		os.WriteFile(lock, []byte("0 Theirs\n"), 0o600)
		os.Rename(lock, filepath.Join(box, "dovecot-keywords"))
		close(released)
	}()
	if _, err := s.UpdateFlags(ctx, "u", "INBOX", []imap.UID{r.UID}, ports.FlagsAdd, []string{"Ours"}); err != nil {
		t.Fatal(err)
	}
	<-released
	if got := readKeywordsFile(t, box); got != "0 Theirs\n1 Ours\n" {
		t.Errorf("dovecot-keywords %q", got)
	}
	// A stale lock.
	if err := os.WriteFile(lock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(lock, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateFlags(ctx, "u", "INBOX", []imap.UID{r.UID}, ports.FlagsAdd, []string{"More"}); err != nil {
		t.Fatal(err)
	}
	if got := readKeywordsFile(t, box); got != "0 Theirs\n1 Ours\n2 More\n" {
		t.Errorf("dovecot-keywords %q", got)
	}
	if f := fileOf(t, filepath.Join(box, "cur"), uidPart(r.UID)); !strings.HasSuffix(f, ":2,bc") {
		t.Errorf("file %s", f)
	}
}
