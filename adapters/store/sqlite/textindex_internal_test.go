package sqlite

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/store/ftsindex"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/domain/search"
	"github.com/imapd-go/imapd/ports"
)

func realMessage(t *testing.T, raw string) ports.NewMessage {
	t.Helper()
	st, err := message.Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return ports.NewMessage{InternalDate: time.Now(), Size: int64(len(raw)), Body: strings.NewReader(raw), Structure: b}
}

// TestTextIndexUpgrade: messages stored before the index existed (a
// version 4 database) are candidates of every search until BuildTextIndex
// indexes them; messages stored since are indexed as they come.
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
		if _, err := s.Append(ctx, "u", "INBOX", realMessage(t, m)); err != nil {
			t.Fatal(err)
		}
	}
	// Back to version 4: no index at all.
	for _, q := range []string{`DROP TABLE search_text`, `DROP TABLE search_indexed`, `DROP TABLE search_pending`,
		`DROP TRIGGER search_indexed_gone`, `DROP TRIGGER search_pending_new`, `DROP TRIGGER search_pending_moved`,
		`DROP TRIGGER search_pending_gone`, `PRAGMA user_version = 4`} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.Close()
	if s, err = Open(dir); err != nil {
		t.Fatalf("reopening a version 4 database: %v", err)
	}
	defer s.Close()
	if _, err := s.Append(ctx, "u", "INBOX", realMessage(t, "Subject: three\r\n\r\nzanzibar again\r\n")); err != nil {
		t.Fatal(err)
	}
	cands := func(word string) []imap.UID {
		t.Helper()
		q, _ := search.Narrowing(search.Key{Op: search.OpBody, Value: word})
		uids, ok, err := s.TextCandidates(ctx, "u", "INBOX", q)
		if err != nil || !ok {
			t.Fatalf("TextCandidates(%s) = %v, %v", word, ok, err)
		}
		return uids
	}
	if got := cands("timbuktu"); !slices.Equal(got, []imap.UID{1, 2}) {
		t.Errorf("before BuildTextIndex: candidates of timbuktu %v, want the two old messages", got)
	}
	if got := cands("zanzibar"); !slices.Equal(got, []imap.UID{1, 2, 3}) {
		t.Errorf("before BuildTextIndex: candidates of zanzibar %v, want 1 2 3", got)
	}
	var total int
	if err := s.BuildTextIndex(ctx, "u", false, func(_, n int) { total = n }); err != nil {
		t.Fatal(err)
	}
	if total != 2 {
		t.Errorf("BuildTextIndex indexed %d bodies, want the 2 old ones", total)
	}
	if got := cands("timbuktu"); !slices.Equal(got, []imap.UID{2}) {
		t.Errorf("after BuildTextIndex: candidates of timbuktu %v, want 2", got)
	}
	if got := cands("zanzibar"); !slices.Equal(got, []imap.UID{1, 3}) {
		t.Errorf("after BuildTextIndex: candidates of zanzibar %v, want 1 3", got)
	}
	// A copy shares its original's document; an unreadable structure
	// leaves its message pending.
	if err := s.CreateMailbox(ctx, "u", "Copy"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Copy(ctx, "u", "INBOX", []imap.UID{1, 2}, "Copy"); err != nil {
		t.Fatal(err)
	}
	bad := realMessage(t, "Subject: bad\r\n\r\nnothing\r\n")
	bad.Structure = []byte("not a structure")
	if _, err := s.Append(ctx, "u", "Copy", bad); err != nil {
		t.Fatal(err)
	}
	q, _ := search.Narrowing(search.Key{Op: search.OpBody, Value: "zanzibar"})
	if got, _, err := s.TextCandidates(ctx, "u", "Copy", q); err != nil || !slices.Equal(got, []imap.UID{1, 3}) {
		t.Errorf("in the copies: candidates of zanzibar %v, %v; want 1 (a copy) and 3 (pending)", got, err)
	}
	if _, _, err := s.TextCandidates(ctx, "u", "Nowhere", q); !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("TextCandidates of a missing mailbox: %v", err)
	}
}
