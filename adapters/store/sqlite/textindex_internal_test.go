package sqlite

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/imapd-go/imapd/adapters/store/ftsindex"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/search"
	"github.com/imapd-go/imapd/test/storetest"
)

// TestTextIndexUpgrade: messages stored before the index existed (a
// version 4 database) are pending, as are messages appended since, and
// BuildTextIndex or a search indexes them; a message whose structure does
// not decode stays a candidate of every search.
func TestTextIndexUpgrade(t *testing.T) {
	if !ftsindex.Available() {
		t.Skip("SQLite without FTS5 (build with -tags sqlite_fts5)")
	}
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.EnsureUser(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"Subject: one\r\n\r\nzanzibar\r\n", "Subject: two\r\n\r\ntimbuktu\r\n"} {
		if _, err := s.Append(ctx, "u", "INBOX", storetest.RealMessage(t, m)); err != nil {
			t.Fatal(err)
		}
	}
	// Back to version 4: no index at all.
	s = downgraded(t, s, `DROP TABLE search_text`, `DROP TABLE search_indexed`, `DROP TABLE search_pending`,
		`DROP TRIGGER search_indexed_gone`, `DROP TRIGGER search_pending_new`, `DROP TRIGGER search_pending_moved`,
		`DROP TRIGGER search_pending_gone`, `ALTER TABLE mailboxes DROP COLUMN mailboxid`, `DROP TABLE threads`,
		`DROP TABLE sortrecords`, `PRAGMA user_version = 4`)
	if _, err := s.Append(ctx, "u", "INBOX", storetest.RealMessage(t, "Subject: three\r\n\r\nzanzibar again\r\n")); err != nil {
		t.Fatal(err)
	}
	pending := func(box string) int {
		t.Helper()
		var n int
		u, err := s.acquire("u")
		if err != nil {
			t.Fatal(err)
		}
		defer s.release(u)
		if err := u.r.QueryRowContext(ctx, `SELECT count(*) FROM search_pending WHERE mailbox_id =
			(SELECT id FROM mailboxes WHERE name = ?)`, box).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := pending("INBOX"); n != 3 {
		t.Errorf("%d messages pending, want 3", n)
	}
	var total int
	if err := s.BuildTextIndex(ctx, "u", false, func(_, n int) { total = n }); err != nil {
		t.Fatal(err)
	}
	if total != 3 || pending("INBOX") != 0 {
		t.Errorf("BuildTextIndex indexed %d bodies, left %d pending; want 3, 0", total, pending("INBOX"))
	}
	cands := func(box, word string) []imap.UID {
		t.Helper()
		q, _ := search.Narrowing(search.Key{Op: search.OpBody, Value: word})
		uids, ok, err := s.TextCandidates(ctx, "u", box, q)
		if err != nil || !ok {
			t.Fatalf("TextCandidates(%s, %s) = %v, %v", box, word, ok, err)
		}
		return uids
	}
	if got := cands("INBOX", "timbuktu"); !slices.Equal(got, []imap.UID{2}) {
		t.Errorf("candidates of timbuktu %v, want 2", got)
	}
	if got := cands("INBOX", "zanzibar"); !slices.Equal(got, []imap.UID{1, 3}) {
		t.Errorf("candidates of zanzibar %v, want 1 3", got)
	}
	// A search indexes what arrived since.
	if _, err := s.Append(ctx, "u", "INBOX", storetest.RealMessage(t, "Subject: four\r\n\r\nzanzibar four\r\n")); err != nil {
		t.Fatal(err)
	}
	if got := cands("INBOX", "timbuktu"); !slices.Equal(got, []imap.UID{2}) || pending("INBOX") != 0 {
		t.Errorf("after an APPEND: candidates of timbuktu %v, %d pending; want 2, none", got, pending("INBOX"))
	}
	if got := cands("INBOX", "zanzibar"); !slices.Equal(got, []imap.UID{1, 3, 4}) {
		t.Errorf("after an APPEND: candidates of zanzibar %v, want 1 3 4", got)
	}
	// A copy shares its original's document; an unreadable structure
	// leaves its message pending.
	if err := s.CreateMailbox(ctx, "u", "Copy"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Copy(ctx, "u", "INBOX", []imap.UID{1, 2}, "Copy"); err != nil {
		t.Fatal(err)
	}
	if n := pending("Copy"); n != 0 {
		t.Errorf("%d copies of indexed messages pending", n)
	}
	bad := storetest.RealMessage(t, "Subject: bad\r\n\r\nnothing\r\n")
	bad.Structure = []byte("not a structure")
	if _, err := s.Append(ctx, "u", "Copy", bad); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if got := cands("Copy", "zanzibar"); !slices.Equal(got, []imap.UID{1, 3}) {
			t.Errorf("in the copies: candidates of zanzibar %v; want 1 (a copy) and 3 (unreadable)", got)
		}
	}
	q, _ := search.Narrowing(search.Key{Op: search.OpBody, Value: "zanzibar"})
	if _, _, err := s.TextCandidates(ctx, "u", "Nowhere", q); !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("TextCandidates of a missing mailbox: %v", err)
	}
}
