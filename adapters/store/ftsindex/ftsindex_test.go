package ftsindex_test

import (
	"context"
	"database/sql"
	"slices"
	"testing"

	"github.com/imapd-go/imapd/adapters/store/ftsindex"
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
