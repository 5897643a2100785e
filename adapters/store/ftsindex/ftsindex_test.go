package ftsindex_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/adapters/store/ftsindex"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/domain/search"
)

// TestMatch checks that the rendered queries find, in an FTS5 table,
// exactly the documents search.TextQuery.Contains accepts, for documents
// and terms where the trigrams decide (no term whose trigrams are all in
// a document that does not hold it).
func TestMatch(t *testing.T) {
	if !ftsindex.Available() {
		t.Skip("SQLite without FTS5 (build with -tags sqlite_fts5)")
	}
	ctx := context.Background()
	db, err := sql.Open("sqlite3", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(ftsindex.CreateTable("t")); err != nil {
		t.Fatal(err)
	}
	docs := []search.Doc{
		{search.FieldSubject: "quarterly report", search.FieldFrom: "carol jones <carol@example.net>", search.FieldHeader: "subject: quarterly report\nx-foo: frobnicate 1", search.FieldBody: "the zanzibar \"quoted\" text"},
		{search.FieldSubject: "lunch", search.FieldFrom: "bob <bob@example.org>", search.FieldHeader: "subject: lunch", search.FieldBody: "grüße aus köln"},
		{search.FieldSubject: "re: quarterly", search.FieldTo: "carol@example.net", search.FieldHeader: "subject: re: quarterly", search.FieldBody: "nothing"},
	}
	for i := range docs {
		if err := ftsindex.Insert(ctx, db, "t", int64(i+1), &docs[i]); err != nil {
			t.Fatal(err)
		}
	}
	// Replacing a document drops its old text.
	if err := ftsindex.Insert(ctx, db, "t", 3, &docs[2]); err != nil {
		t.Fatal(err)
	}
	k := func(op search.Op, field, value string) search.Key {
		return search.Key{Op: op, Field: field, Value: value}
	}
	tests := []search.Key{
		k(search.OpHeader, "Subject", "quarterly"),
		k(search.OpHeader, "subject", "QUARTERLY REP"),
		k(search.OpHeader, "From", "carol"),
		k(search.OpHeader, "To", "carol"),
		k(search.OpHeader, "X-Foo", "frobnicate"),
		k(search.OpBody, "", "zanzibar"),
		k(search.OpBody, "", `"quoted"`),
		k(search.OpBody, "", "GRÜSSE"),
		k(search.OpBody, "", "GRÜßE"),
		k(search.OpText, "", "lunch"),
		k(search.OpText, "", "nothing"),
		{Op: search.OpOr, Sub: []search.Key{k(search.OpBody, "", "zanzibar"), k(search.OpHeader, "Subject", "lunch")}},
		{Op: search.OpAnd, Sub: []search.Key{k(search.OpHeader, "Subject", "quarterly"), k(search.OpHeader, "To", "carol")}},
	}
	for _, key := range tests {
		q, ok := search.Narrowing(key)
		if !ok {
			t.Fatalf("%+v does not narrow", key)
		}
		var want, got []int64
		for i := range docs {
			if q.Contains(&docs[i]) {
				want = append(want, int64(i+1))
			}
		}
		rows, err := db.Query(`SELECT rowid FROM t WHERE t MATCH ? ORDER BY rowid`, ftsindex.Match(q))
		if err != nil {
			t.Fatalf("%s: %v", ftsindex.Match(q), err)
		}
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			got = append(got, id)
		}
		rows.Close()
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", ftsindex.Match(q), got, want)
		}
	}
}

// BenchmarkIndex measures what the index adds to an APPEND: the Doc of a
// message with 16 KB of text, and its insertion into an FTS5 table.
func BenchmarkIndex(b *testing.B) {
	if !ftsindex.Available() {
		b.Skip("SQLite without FTS5 (build with -tags sqlite_fts5)")
	}
	var sb strings.Builder
	sb.WriteString("From: Carol Jones <carol@example.net>\r\nTo: bob@example.org\r\nSubject: quarterly numbers\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
	// Words of a few hundred distinct ones, common ones often, as text
	// has them.
	words := strings.Fields("the of and to in is that for it as was with be by on not this are or from at which but have an they")
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; sb.Len() < 16<<10; i++ {
		if w := r.IntN(60); w < len(words) {
			sb.WriteString(words[w] + " ")
		} else {
			fmt.Fprintf(&sb, "w%dx%d ", r.IntN(300), r.IntN(3))
		}
		if i%12 == 11 {
			sb.WriteString("\r\n")
		}
	}
	raw := sb.String()
	st, err := message.Parse(strings.NewReader(raw))
	if err != nil {
		b.Fatal(err)
	}
	// No journal: the cost of the index, not of a commit.
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(b.TempDir(), "i.db")+"?_journal_mode=OFF&_synchronous=OFF")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(ftsindex.CreateTable("t")); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.SetBytes(int64(len(raw)))
	b.Run("doc", func(b *testing.B) {
		for b.Loop() {
			if _, err := search.MakeDoc(st, strings.NewReader(raw)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("insert", func(b *testing.B) {
		d, _ := search.MakeDoc(st, strings.NewReader(raw))
		id := int64(0)
		for b.Loop() {
			id++
			if err := ftsindex.Insert(ctx, db, "t", id, &d); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestCompact: every trigram of the text is in its compact form.
func TestCompact(t *testing.T) {
	texts := []string{
		strings.Repeat("the quick brown fox jumps over the lazy dog \r\n", 40),
		strings.Repeat("grüße aus köln, 山田太郎  und  tschüß\t", 30),
		"  leading spaces " + strings.Repeat("a ", 200) + "trailing   ",
		strings.Repeat("x", 600),
	}
	for _, s := range texts {
		c := ftsindex.Compact(s)
		r := []rune(s)
		for i := 0; i+3 <= len(r); i++ {
			if !strings.Contains(c, string(r[i:i+3])) {
				t.Errorf("Compact(%.30q...) lacks %q", s, string(r[i:i+3]))
				break
			}
		}
		if len(c) >= len(s) && strings.Contains(s, " ") {
			t.Errorf("Compact(%.30q...) has %d bytes of %d", s, len(c), len(s))
		}
	}
}

func TestQueryTrigrams(t *testing.T) {
	for _, tc := range []struct{ term, want string }{
		// "fro" and "ate" are in every header ("From:", "Date:"): asking
		// for them narrows nothing.
		{"frobnicate", `{header} : ("bni" AND "cat")`},
		{"quarterly", `{header} : ("qua" AND "rte" AND "rly")`},
		{"carol", `{header} : ("car" AND "rol")`},
		{"from", `{header} : ("fro" AND "rom")`}, // all common: all asked
		{"date", `{header} : ("dat" AND "ate")`},
		{"abc", `{header} : ("abc")`},
		{"grüße", `{header} : ("grü" AND "üße")`},
		{`a"b"c`, `{header} : ("a""b" AND "b""c")`},
	} {
		got := ftsindex.Match(search.TextQuery{Op: search.TextTerm, Fields: []search.TextField{search.FieldHeader}, Term: tc.term})
		if got != tc.want {
			t.Errorf("Match(%q) = %s, want %s", tc.term, got, tc.want)
		}
	}
	// A body need not have them: every trigram narrows there.
	got := ftsindex.Match(search.TextQuery{Op: search.TextTerm, Fields: []search.TextField{search.FieldBody}, Term: "frobnicate"})
	if want := `{body} : ("fro" AND "bni" AND "cat" AND "ate")`; got != want {
		t.Errorf("Match(body frobnicate) = %s, want %s", got, want)
	}
}

// TestMerge checks that merging the segments of many transactions keeps
// every document and the answers, deletions included.
func TestMerge(t *testing.T) {
	if !ftsindex.Available() {
		t.Skip("no FTS5")
	}
	db, err := sql.Open("sqlite3", filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(ftsindex.CreateTable("t")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := int64(1); i <= 40; i++ { // a transaction, and a segment, each
		var d search.Doc
		d[search.FieldHeader] = fmt.Sprintf("subject: note %d\n", i)
		if i%4 == 0 {
			d[search.FieldHeader] += "x-foo: frobnicate\n"
		}
		if err := ftsindex.Insert(ctx, db, "t", i, &d); err != nil {
			t.Fatal(err)
		}
	}
	if err := ftsindex.Delete(ctx, db, "t", 8); err != nil {
		t.Fatal(err)
	}
	q := ftsindex.Match(search.TextQuery{Op: search.TextTerm, Fields: []search.TextField{search.FieldHeader}, Term: "frobnicate"})
	ask := func() []int64 {
		rows, err := db.Query(`SELECT rowid FROM t WHERE t MATCH ? ORDER BY rowid`, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			got = append(got, id)
		}
		return got
	}
	before := ask()
	if len(before) != 9 {
		t.Fatalf("before merging: %v", before)
	}
	for range 2 {
		if err := ftsindex.Merge(ctx, db, "t", 40); err != nil {
			t.Fatal(err)
		}
		if got := ask(); !slices.Equal(got, before) {
			t.Fatalf("after merging: %v, before %v", got, before)
		}
	}
}
