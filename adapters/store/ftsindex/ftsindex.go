// Package ftsindex keeps search.Docs in an SQLite FTS5 table with the
// trigram tokenizer, for the stores' full-text indexes (ports.TextIndex):
// a trigram index finds any substring of three characters or more, in any
// language. The Docs are lower case already (search.MakeDoc), so the
// tokenizer keeps case as it is; the table is contentless, with deletes
// (SQLite 3.43), and keeps which columns hold each trigram, not where
// (detail=column): a query asks for every trigram of a search string in
// the columns, a superset of the documents holding the string itself,
// which is all a narrowing index needs and a fraction of the size.
//
// FTS5 is in go-sqlite3 only when built with the sqlite_fts5 (or fts5)
// tag; Available tells at run time, and a store without it keeps no index
// and searches every message, as exactly.
package ftsindex

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	_ "github.com/mattn/go-sqlite3"

	"github.com/imapd-go/imapd/domain/search"
)

// columns names the table's columns, in search.TextField order.
var columns = [search.NumTextFields]string{
	search.FieldSubject: "subject",
	search.FieldFrom:    "sender",
	search.FieldTo:      "recipient",
	search.FieldCc:      "cc",
	search.FieldBcc:     "bcc",
	search.FieldHeader:  "header",
	search.FieldBody:    "body",
}

// CreateTable is the statement that creates the table named table.
func CreateTable(table string) string {
	return fmt.Sprintf(`CREATE VIRTUAL TABLE IF NOT EXISTS %s USING fts5(%s,
	content='', contentless_delete=1, detail=column, tokenize='trigram case_sensitive 1')`,
		table, strings.Join(columns[:], ", "))
}

// Execer is a *sql.Tx or a *sql.DB.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Insert adds d to table as the document rowid, replacing what the table
// held under that rowid.
func Insert(ctx context.Context, x Execer, table string, rowid int64, d *search.Doc) error {
	if err := Delete(ctx, x, table, rowid); err != nil {
		return err
	}
	args := make([]any, 0, 1+len(d))
	args = append(args, rowid)
	for _, c := range d {
		args = append(args, Compact(c))
	}
	_, err := x.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %s (rowid, %s) VALUES (?%s)`,
		table, strings.Join(columns[:], ", "), strings.Repeat(", ?", len(d))), args...)
	return err
}

// Compact returns a text that holds every trigram of s, shorter when s
// repeats itself, as text does: the table keeps which trigrams a column
// has, not where nor how often, and the tokenizer's time grows with the
// text. s is cut into pieces, each a word and the white space after it;
// every trigram of s starts in one piece and ends at most two runes past
// it, so it lies in that piece with the next two runes appended. Compact
// keeps the first of each such extended piece and drops the repeats; the
// trigrams that straddle two kept pieces are extra, which a narrowing
// index may have.
func Compact(s string) string {
	if len(s) < compactMin {
		return s
	}
	seen := make(map[string]struct{}, len(s)/32)
	var b strings.Builder
	b.Grow(len(s) / 2)
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		for j < len(s) && isSpace(s[j]) {
			j++
		}
		k := j
		for n := 0; n < 2 && k < len(s); n++ {
			_, w := utf8.DecodeRuneInString(s[k:])
			k += w
		}
		if _, ok := seen[s[i:k]]; !ok {
			seen[s[i:k]] = struct{}{}
			b.WriteString(s[i:k])
		}
		i = j
	}
	return b.String()
}

// compactMin is the length under which Compact leaves text as it is.
const compactMin = 256

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// Delete removes the document rowid from table, if it is there.
func Delete(ctx context.Context, x Execer, table string, rowid int64) error {
	_, err := x.ExecContext(ctx, fmt.Sprintf(`DELETE FROM %s WHERE rowid = ?`, table), rowid)
	return err
}

// Merge merges table's segments towards one, up to some pages of work in
// proportion to the docs documents just added: each transaction that adds
// documents writes a segment of its own, and a query looks a trigram up
// in every segment (on 500 messages indexed in batches of 64, a header
// term's query took twice as long as on one segment). A merge left
// unfinished goes on at the next.
func Merge(ctx context.Context, x Execer, table string, docs int) error {
	_, err := x.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %s (%s, rank) VALUES ('merge', ?)`, table, table), -max(64, 8*docs))
	return err
}

// Match renders q as an FTS5 query on the table's columns: each search
// string becomes the AND of trigrams that cover it, in its columns.
func Match(q search.TextQuery) string {
	var b strings.Builder
	writeMatch(&b, q)
	return b.String()
}

func writeMatch(b *strings.Builder, q search.TextQuery) {
	switch q.Op {
	case search.TextTerm:
		b.WriteByte('{')
		for i, f := range q.Fields {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(columns[f])
		}
		b.WriteString("} : (")
		trigrams := QueryTrigrams(q.Term)
		if slices.Contains(q.Fields, search.FieldHeader) {
			trigrams = rareInHeaders(trigrams)
		}
		for i, t := range trigrams {
			if i > 0 {
				b.WriteString(" AND ")
			}
			b.WriteByte('"')
			b.WriteString(strings.ReplaceAll(t, `"`, `""`))
			b.WriteByte('"')
		}
		b.WriteByte(')')
	case search.TextAnd, search.TextOr:
		op := " AND "
		if q.Op == search.TextOr {
			op = " OR "
		}
		b.WriteByte('(')
		for i, s := range q.Sub {
			if i > 0 {
				b.WriteString(op)
			}
			writeMatch(b, s)
		}
		b.WriteByte(')')
	}
}

// QueryTrigrams returns the trigrams a term is asked by: those that tile
// it, the last flush with its end, distinct. Each doclist read costs, and
// the matcher confirms every candidate anyway.
func QueryTrigrams(term string) []string {
	r := []rune(term)
	var out []string
	seen := map[string]bool{}
	for i := 0; i+3 <= len(r); i = min(i+3, len(r)-3) {
		if t := string(r[i : i+3]); !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
		if i+3 == len(r) {
			break
		}
	}
	return out
}

// headerCommon holds the text of the lines nearly every header has, as the
// header column keeps them ("name: value", lower case): a trigram of it
// is in almost every document's header column, so asking for it costs a
// doclist of every document and narrows nothing.
const headerCommon = "\nreturn-path: \nreceived: from by with for \ndate: \nfrom: \nto: \ncc: \nsubject: \nmessage-id: \nmime-version: \ncontent-type: \ncontent-transfer-encoding: \n"

// rareInHeaders returns the trigrams that are not headerCommon's, or all
// of them when every one is: any subset of a term's trigrams still names
// every document that holds the term.
func rareInHeaders(trigrams []string) []string {
	var rare []string
	for _, t := range trigrams {
		if !strings.Contains(headerCommon, t) {
			rare = append(rare, t)
		}
	}
	if len(rare) == 0 {
		return trigrams
	}
	return rare
}

var (
	availOnce sync.Once
	avail     bool
)

// Available reports whether the SQLite linked in has FTS5, asked once of
// an in-memory database: the answer holds for the whole process.
func Available() bool {
	availOnce.Do(func() {
		db, err := sql.Open("sqlite3", ":memory:")
		if err != nil {
			return
		}
		defer db.Close()
		_, err = db.Exec(CreateTable("probe"))
		avail = err == nil
	})
	return avail
}
