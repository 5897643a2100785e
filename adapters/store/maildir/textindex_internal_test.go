package maildir

import (
	"context"
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

// TestTextIndexOtherProcess: a process that remembers which messages have
// their documents stops trusting that once another process deleted
// documents (a rebuild cut short), and indexes them again.
func TestTextIndexOtherProcess(t *testing.T) {
	if !ftsindex.Available() {
		t.Skip("SQLite without FTS5 (build with -tags sqlite_fts5)")
	}
	dir := t.TempDir()
	a, _ := Open(dir)
	b, _ := Open(dir)
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	if err := a.EnsureUser(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"Subject: one\r\n\r\nzanzibar\r\n", "Subject: two\r\n\r\ntimbuktu\r\n"} {
		st, _ := message.Parse(strings.NewReader(raw))
		blob, _ := st.MarshalBinary()
		if _, err := a.Append(ctx, "u", "INBOX", ports.NewMessage{InternalDate: time.Now(), Size: int64(len(raw)),
			Body: strings.NewReader(raw), Structure: blob}); err != nil {
			t.Fatal(err)
		}
	}
	q, _ := search.Narrowing(search.Key{Op: search.OpBody, Value: "zanzibar"})
	for range 2 { // the second time from what a remembers
		if got, _, err := a.TextCandidates(ctx, "u", "INBOX", q); err != nil || !slices.Equal(got, []imap.UID{1}) {
			t.Fatalf("candidates = %v, %v; want [1]", got, err)
		}
	}
	// b starts a rebuild and stops after dropping every document.
	root, _ := b.userRoot("test", "u")
	d, err := b.textDB(root)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DELETE FROM docs`, `INSERT INTO search_text (search_text) VALUES ('delete-all')`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := bumpGen(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, _, err := a.TextCandidates(ctx, "u", "INBOX", q); err != nil || !slices.Equal(got, []imap.UID{1}) {
		t.Errorf("after another process dropped the documents: candidates = %v, %v; want [1]", got, err)
	}
}
