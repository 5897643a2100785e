package sqlite

import (
	"context"
	"database/sql"
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

// makeShared writes a store in the shared layout into dir, as versions
// before the split left it: fill writes the users' mail through a store of
// today (in a folder of its own), whose per-user databases are then merged
// into dir/mail.db with every id moved out of the others' way; extra
// statements then run on dir/mail.db (to make an older schema). It returns
// the store that was merged, which shows what the split must give back.
func makeShared(t *testing.T, dir string, fill func(*Store), extra ...string) *Store {
	t.Helper()
	ctx := context.Background()
	src := t.TempDir()
	s, err := Open(src)
	if err != nil {
		t.Fatal(err)
	}
	fill(s)
	s.Close()
	d, err := openDB(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	if err := d.init(); err != nil {
		t.Fatal(err)
	}
	conn, err := d.w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	users, _ := filepath.Glob(filepath.Join(src, UsersDir, "*", FileName))
	for i, path := range users {
		off := (i + 1) * 1000000
		stmts := []string{
			`INSERT INTO main.users SELECT id+?1, name FROM u.users`,
			`INSERT INTO main.mailboxes (id, user_id, name, uidvalidity, uidnext, highestmodseq, recentuid, specialuse, keywords)
				SELECT id+?1, user_id+?1, name, uidvalidity, uidnext, highestmodseq, recentuid, specialuse, keywords FROM u.mailboxes`,
			`INSERT INTO main.messages (mailbox_id, uid, modseq, flags, internaldate, zone, size, body_id, savedate)
				SELECT mailbox_id+?1, uid, modseq, flags, internaldate, zone, size, body_id+?1, savedate FROM u.messages`,
			`INSERT INTO main.expunged SELECT mailbox_id+?1, uid, modseq FROM u.expunged`,
			`INSERT INTO main.bodies SELECT id+?1, size, refs, structure FROM u.bodies`,
			`INSERT INTO main.chunks SELECT body_id+?1, seq, data FROM u.chunks`,
			`INSERT INTO main.subscriptions SELECT user_id+?1, name FROM u.subscriptions`,
			`INSERT INTO main.meta SELECT * FROM u.meta WHERE true
				ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)`,
		}
		if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS u`, path); err != nil {
			t.Fatal(err)
		}
		for _, q := range stmts {
			if _, err := conn.ExecContext(ctx, q, off); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if _, err := conn.ExecContext(ctx, `DETACH DATABASE u`); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range extra {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	ref, err := Open(src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ref.Close() })
	return ref
}

// oldDB opens dir/mail.db as a program of the shared layout does.
func oldDB(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, FileName)+"?_busy_timeout=10000&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// fillMail gives alice and bob a few mailboxes, messages (one over
// several chunks, one copied so that two share a body), flags, an expunge,
// special use and subscriptions.
func fillMail(t *testing.T) func(*Store) {
	return func(s *Store) {
		ctx := context.Background()
		for _, user := range []string{"alice", "bob.smith@example.org"} {
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatalf("%s: %v", user, err)
				}
			}
			must(s.EnsureUser(ctx, user))
			must(s.CreateMailbox(ctx, user, "Work/2026"))
			must(s.SetSpecialUse(ctx, user, "Work", []string{`\Archive`}))
			must(s.SetSubscribed(ctx, user, "Work/2026", true))
			for i, size := range []int{10, 3*chunkSize + 5, 100} {
				line := fmt.Sprintf("%s %d\r\n", user, i)
				body := strings.Repeat(line, size/len(line)+1)[:size]
				_, err := s.Append(ctx, user, "INBOX", ports.NewMessage{Flags: []string{"$k" + user[:1]}, Size: int64(size),
					Body: strings.NewReader(body), Structure: []byte("st")})
				must(err)
			}
			_, err := s.Copy(ctx, user, "INBOX", []imap.UID{2}, "Work/2026")
			must(err)
			_, err = s.UpdateFlags(ctx, user, "INBOX", []imap.UID{3}, ports.FlagsAdd, []string{`\Deleted`})
			must(err)
			_, err = s.Expunge(ctx, user, "INBOX", nil)
			must(err)
		}
	}
}

// mailOf describes everything the store shows of a user's mail.
func mailOf(t *testing.T, s *Store, user string) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	infos, err := s.ListMailboxes(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	subs, err := s.Subscriptions(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "subscriptions %q\n", subs)
	for _, info := range infos {
		st, metas, err := s.Snapshot(ctx, user, info.Name)
		if err != nil {
			t.Fatal(err)
		}
		ch, err := s.ChangesSince(ctx, user, info.Name, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%+v %+v expunged %v\n", info, st, ch.Expunged)
		for _, m := range metas {
			body, err := s.Open(ctx, user, info.Name, m.UID)
			if err != nil {
				t.Fatal(err)
			}
			raw := make([]byte, body.Size())
			n, _ := body.ReadAt(raw, 0)
			body.Close()
			fmt.Fprintf(&b, "  %+v %d %q\n", m, n, raw[:min(n, 40)])
		}
	}
	return b.String()
}

// TestSplitSharedStore: a store in the shared layout opens with every
// user's mail as it was, each in a database of their own, and mail.db is
// left so that a program of the shared layout refuses it.
func TestSplitSharedStore(t *testing.T) {
	dir := t.TempDir()
	ref := makeShared(t, dir, fillMail(t))
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, user := range []string{"alice", "bob.smith@example.org"} {
		if got, want := mailOf(t, s, user), mailOf(t, ref, user); got != want {
			t.Errorf("%s after the split:\n%s\nwant:\n%s", user, got, want)
		}
		if _, err := os.Stat(userPath(dir, user)); err != nil {
			t.Errorf("%s has no database of their own: %v", user, err)
		}
	}
	// The full-text index is not copied: every message of the split
	// store is pending in its user's database, a candidate of every
	// search until indexed there, and new mail is marked as it comes.
	for _, user := range []string{"alice", "bob.smith@example.org"} {
		u, err := s.acquire(user)
		if err != nil {
			t.Fatal(err)
		}
		var msgs, pending, triggers int
		err = u.r.QueryRow(`SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM search_pending),
			(SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'search_%')`).Scan(&msgs, &pending, &triggers)
		s.release(u)
		if err != nil || msgs == 0 || pending != msgs || triggers != 4 {
			t.Errorf("%s after the split: %d messages, %d pending, %d index triggers (%v); want all pending, 4 triggers",
				user, msgs, pending, triggers, err)
		}
	}
	var v, tables int
	db := oldDB(t, dir)
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil || v <= schemaVersion {
		t.Errorf("mail.db user_version = %d, %v; a program of the shared layout would open it", v, err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master`).Scan(&tables); err != nil || tables != 0 {
		t.Errorf("mail.db keeps %d tables, %v", tables, err)
	}
	// New mail goes on.
	ctx := context.Background()
	if _, err := s.Append(ctx, "alice", "INBOX", ports.NewMessage{Size: 3, Body: strings.NewReader("x\r\n"), SortRecord: []byte("r")}); err != nil {
		t.Fatal(err)
	}
}

// TestSplitWaitsForSharedWriter: a process of the shared layout in the
// middle of a write when the split starts keeps its write: the split waits
// for the lock and copies what it committed.
func TestSplitWaitsForSharedWriter(t *testing.T) {
	dir := t.TempDir()
	makeShared(t, dir, fillMail(t))
	ctx := context.Background()
	old := oldDB(t, dir)
	tx, err := old.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO subscriptions (user_id, name) SELECT id, 'Late' FROM users WHERE name = 'alice'`); err != nil {
		t.Fatal(err)
	}
	opened := make(chan *Store, 1)
	go func() {
		s, err := Open(dir)
		if err != nil {
			t.Error(err)
		}
		opened <- s
	}()
	select {
	case <-opened:
		t.Fatal("the split did not wait for the shared database's writer")
	case <-time.After(300 * time.Millisecond):
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("the shared layout's writer could not commit: %v", err)
	}
	s := <-opened
	if s == nil {
		return
	}
	defer s.Close()
	subs, err := s.Subscriptions(ctx, "alice")
	if err != nil || !slices.Contains(subs, "Late") {
		t.Fatalf("alice's subscriptions after the split: %q, %v; the write made before it is lost", subs, err)
	}
}

// TestSplitRefusesSharedWriters: a process of the shared layout that had
// the store open before the split cannot write into mail.db afterwards
// (where no one would read it): its write fails.
func TestSplitRefusesSharedWriters(t *testing.T) {
	dir := t.TempDir()
	makeShared(t, dir, fillMail(t))
	old := oldDB(t, dir)
	var n int
	if err := old.QueryRow(`SELECT count(*) FROM messages`).Scan(&n); err != nil || n == 0 {
		t.Fatalf("the shared database before the split: %d messages, %v", n, err)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := old.Exec(`INSERT INTO subscriptions (user_id, name) VALUES (1000000, 'Lost')`); err == nil {
		t.Error("a write into the shared database succeeded after the split")
	}
}

// TestConcurrentSplit: processes opening a shared store at once split it
// once; every one of them sees the mail.
func TestConcurrentSplit(t *testing.T) {
	dir := t.TempDir()
	want := mailOf(t, makeShared(t, dir, fillMail(t)), "alice")
	stores := make(chan *Store, 4)
	for range 4 {
		go func() {
			s, err := Open(dir)
			if err != nil {
				t.Error(err)
			}
			stores <- s
		}()
	}
	for range 4 {
		s := <-stores
		if s == nil {
			continue
		}
		if got := mailOf(t, s, "alice"); got != want {
			t.Errorf("alice after a concurrent split:\n%s\nwant:\n%s", got, want)
		}
		s.Close()
	}
}

// TestSplitAfterCrash: a split that died before mail.db committed left
// complete or partial user databases; the next open splits again over
// them.
func TestSplitAfterCrash(t *testing.T) {
	dir := t.TempDir()
	ref := makeShared(t, dir, fillMail(t))
	// What a split cut short may leave: a half-written temporary file
	// and a stale database in place.
	path := userPath(dir, "alice")
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path+".split", []byte("partial"), 0o600)
	stale, err := openDB(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := stale.init(); err != nil {
		t.Fatal(err)
	}
	stale.close()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, want := mailOf(t, s, "alice"), mailOf(t, ref, "alice"); got != want {
		t.Errorf("alice after a split over a crashed one:\n%s\nwant:\n%s", got, want)
	}
}

// TestUserFolder: every user name gets a folder of its own, never "." or
// "..", never with a "/" in it, never too long.
func TestUserFolder(t *testing.T) {
	names := []string{"alice", "Alice", "bob.smith@example.org", ".", "..", ".x", "a/b", "a%2Fb", "a b", "é",
		strings.Repeat("x", 300), strings.Repeat("x", 301), strings.Repeat("é", 200)}
	seen := map[string]string{}
	for _, n := range names {
		f := userFolder(n)
		if f == "" || f == "." || f == ".." || strings.ContainsAny(f, "/\x00") || len(f) > 255 {
			t.Errorf("userFolder(%q) = %q", n, f)
		}
		if other, ok := seen[f]; ok {
			t.Errorf("userFolder(%q) = userFolder(%q) = %q", n, other, f)
		}
		seen[f] = n
	}
}

// TestOpenRefusesUnknownMailDB: a mail.db with tables but no version is not
// a store of ours, and opening the folder leaves it alone.
func TestOpenRefusesUnknownMailDB(t *testing.T) {
	dir := t.TempDir()
	db := oldDB(t, dir)
	if _, err := db.Exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)`); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(dir); err == nil {
		s.Close()
		t.Fatal("Open accepted a mail.db with tables and no version")
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'users'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the unknown table is gone: %d, %v", n, err)
	}
}
