package postgres

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/imapd-go/imapd/adapters/store/ftsindex"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/domain/search"
	"github.com/imapd-go/imapd/ports"
)

// The full-text index (ports.TextIndex) is PostgreSQL's own text search,
// used as the SQLite store uses FTS5's trigram tokenizer: each body has one
// tsvector (search_docs, shared by copies) whose lexemes are the distinct
// trigrams of each search.Doc column, each prefixed by its column's letter
// ("s:abc" is the trigram "abc" in the subject), made by
// array_to_tsvector so that no parser or stemmer touches them; a GIN index
// finds the bodies holding every trigram of a search string (in any of its
// columns). That is a superset of the bodies holding the string, which is
// all a narrowing index needs: IMAP SEARCH is substring matching, which
// words and stems cannot narrow soundly.
//
// search_pending lists the messages whose body is not indexed: candidates
// of every search, which indexes its mailbox's pending bodies first.
// Statement triggers on messages keep it in every program that writes the
// database, so APPEND, COPY and MOVE write no document themselves, and the
// index is exact after a crash.
const schemaV3 = `
CREATE TABLE search_docs (
	body_id bigint PRIMARY KEY,
	doc     tsvector NOT NULL
);
CREATE INDEX search_docs_doc ON search_docs USING gin (doc);
CREATE TABLE search_pending (
	mailbox_id bigint NOT NULL,
	uid        bigint NOT NULL,
	PRIMARY KEY (mailbox_id, uid)
);
CREATE FUNCTION imapd_pending_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO search_pending (mailbox_id, uid)
		SELECT n.mailbox_id, n.uid FROM new_rows n
		WHERE NOT EXISTS (SELECT 1 FROM search_docs d WHERE d.body_id = n.body_id)
		ON CONFLICT DO NOTHING;
	RETURN NULL;
END $$;
CREATE FUNCTION imapd_pending_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM search_pending p USING old_rows o WHERE p.mailbox_id = o.mailbox_id AND p.uid = o.uid;
	RETURN NULL;
END $$;
CREATE TRIGGER messages_pending_new AFTER INSERT ON messages
	REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION imapd_pending_new();
CREATE TRIGGER messages_pending_gone AFTER DELETE ON messages
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION imapd_pending_gone();
INSERT INTO search_pending (mailbox_id, uid) SELECT mailbox_id, uid FROM messages;
`

var (
	_ ports.TextIndex   = (*Store)(nil)
	_ ports.TextRecords = (*Store)(nil)
)

// columnLetter prefixes each column's trigrams, in search.TextField order.
var columnLetter = [search.NumTextFields]string{
	search.FieldSubject: "s:",
	search.FieldFrom:    "f:",
	search.FieldTo:      "t:",
	search.FieldCc:      "c:",
	search.FieldBcc:     "b:",
	search.FieldHeader:  "h:",
	search.FieldBody:    "x:",
}

// maxLexemes bounds a document: a tsvector holds at most 1 MB, and a body
// with more distinct trigrams than this stays unindexed (pending, so a
// candidate of every search) rather than fail.
const maxLexemes = 60000

// docLexemes returns the distinct prefixed trigrams of d, and false when
// there are too many.
func docLexemes(d *search.Doc) ([]string, bool) {
	seen := map[string]struct{}{}
	var out []string
	for f, text := range d {
		r := []rune(text)
		for i := 0; i+3 <= len(r); i++ {
			l := columnLetter[f] + string(r[i:i+3])
			if _, ok := seen[l]; ok {
				continue
			}
			seen[l] = struct{}{}
			out = append(out, l)
			if len(out) > maxLexemes {
				return nil, false
			}
		}
	}
	return out, true
}

// tsquery renders q as a tsquery over the prefixed trigrams: each search
// string is the AND of its trigrams, each in any of its columns.
func tsquery(q search.TextQuery) string {
	var b strings.Builder
	writeQuery(&b, q)
	return b.String()
}

func writeQuery(b *strings.Builder, q search.TextQuery) {
	switch q.Op {
	case search.TextTerm:
		b.WriteByte('(')
		for i, t := range ftsindex.QueryTrigrams(q.Term) {
			if i > 0 {
				b.WriteString(" & ")
			}
			b.WriteByte('(')
			for j, f := range q.Fields {
				if j > 0 {
					b.WriteString(" | ")
				}
				b.WriteString(quoteLexeme(columnLetter[f] + t))
			}
			b.WriteByte(')')
		}
		b.WriteByte(')')
	case search.TextAnd, search.TextOr:
		op := " & "
		if q.Op == search.TextOr {
			op = " | "
		}
		b.WriteByte('(')
		for i, s := range q.Sub {
			if i > 0 {
				b.WriteString(op)
			}
			writeQuery(b, s)
		}
		b.WriteByte(')')
	}
}

// lexemeEscaper escapes a lexeme inside tsquery's quotes.
var lexemeEscaper = strings.NewReplacer(`\`, `\\`, `'`, `''`)

// quoteLexeme quotes one lexeme for tsquery's input syntax.
func quoteLexeme(l string) string {
	return "'" + lexemeEscaper.Replace(l) + "'"
}

// unindexable remembers the bodies this process found it cannot index,
// so that searches stop trying.
var unindexable sync.Map // bodyKey -> struct{}

type bodyKey struct {
	store *Store
	id    int64
}

// indexBody writes body id's document inside tx, holding a share lock on
// the body's row so that an expunge does not delete it meanwhile; false
// when the body cannot be indexed.
func indexBody(ctx context.Context, tx pgx.Tx, id int64) (bool, error) {
	var structure []byte
	err := tx.QueryRow(ctx, `SELECT structure FROM bodies WHERE id = $1 FOR SHARE`, id).Scan(&structure)
	if errors.Is(err, pgx.ErrNoRows) {
		return true, nil // expunged meanwhile
	}
	if err != nil {
		return false, err
	}
	st, err := message.Unmarshal(structure)
	if err != nil || st == nil {
		return false, nil
	}
	doc, err := search.MakeDoc(st, &chunkReader{ctx: ctx, tx: tx, id: id, seq: -1})
	if err != nil {
		if unavailable(err) || ctx.Err() != nil {
			return false, err
		}
		return false, nil
	}
	lexemes, ok := docLexemes(&doc)
	if !ok {
		return false, nil
	}
	_, err = tx.Exec(ctx, `INSERT INTO search_docs (body_id, doc) VALUES ($1, array_to_tsvector($2::text[]))
		ON CONFLICT (body_id) DO UPDATE SET doc = excluded.doc`, id, lexemes)
	return err == nil, err
}

// chunkReader reads a body's chunks inside a transaction, one chunk kept.
type chunkReader struct {
	ctx  context.Context
	tx   pgx.Tx
	id   int64
	seq  int64
	data []byte
}

func (c *chunkReader) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		seq := (off + int64(n)) / chunkSize
		if seq != c.seq {
			err := c.tx.QueryRow(c.ctx, `SELECT data FROM chunks WHERE body_id = $1 AND seq = $2`, c.id, seq).Scan(&c.data)
			if errors.Is(err, pgx.ErrNoRows) {
				return n, io.EOF
			}
			if err != nil {
				return n, err
			}
			c.seq = seq
		}
		in := (off + int64(n)) % chunkSize
		if in >= int64(len(c.data)) {
			return n, io.EOF
		}
		n += copy(p[n:], c.data[in:])
	}
	return n, nil
}

// buildBatch is how many bodies one indexing transaction covers.
const buildBatch = 64

// indexBodies indexes the bodies ids, a batch per transaction (which
// need not wait for the WAL flush: a batch lost in a crash leaves its
// messages pending), then runs clear in the batch's transaction.
func (s *Store) indexBodies(ctx context.Context, op string, ids []int64, clear func(pgx.Tx) error, done func(n int)) error {
	for len(ids) > 0 {
		batch := ids[:min(buildBatch, len(ids))]
		ids = ids[len(batch):]
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
				return err
			}
			for _, id := range batch {
				if _, bad := unindexable.Load(bodyKey{s, id}); bad {
					continue
				}
				ok, err := indexBody(ctx, tx, id)
				if err != nil {
					return err
				}
				if !ok {
					unindexable.Store(bodyKey{s, id}, struct{}{})
				}
			}
			if clear != nil {
				return clear(tx)
			}
			return nil
		})
		if err != nil {
			return wrapErr(op, err)
		}
		if done != nil {
			done(len(batch))
		}
	}
	return nil
}

// clearPendingSQL drops from search_pending the messages of the mailboxes
// $1 (an array) whose body is indexed now.
const clearPendingSQL = `DELETE FROM search_pending p WHERE p.mailbox_id = ANY($1::bigint[])
	AND EXISTS (SELECT 1 FROM messages m JOIN search_docs d ON d.body_id = m.body_id
		WHERE m.mailbox_id = p.mailbox_id AND m.uid = p.uid)`

// indexPending indexes the bodies of the mailbox's pending messages and
// reports whether it indexed any.
func (s *Store) indexPending(ctx context.Context, user, name string) (bool, error) {
	const op = "search"
	var ids []int64
	var mbox int64
	err := s.read(ctx, op, func(tx pgx.Tx) error {
		m, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		mbox = m.id
		ids, err = collect[int64](ctx, tx, `SELECT DISTINCT m.body_id FROM search_pending p
			JOIN messages m ON m.mailbox_id = p.mailbox_id AND m.uid = p.uid
			WHERE p.mailbox_id = $1 AND NOT EXISTS (SELECT 1 FROM search_docs d WHERE d.body_id = m.body_id)
			ORDER BY 1`, m.id)
		return err
	})
	if err != nil {
		return false, err
	}
	todo := ids[:0]
	for _, id := range ids {
		if _, bad := unindexable.Load(bodyKey{s, id}); !bad {
			todo = append(todo, id)
		}
	}
	clear := func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, clearPendingSQL, []int64{mbox})
		return err
	}
	if len(todo) == 0 {
		// Bodies another process indexed: their messages stay pending
		// only until cleared.
		err := pgx.BeginFunc(ctx, s.pool, clear)
		return false, wrapErr(op, err)
	}
	return true, s.indexBodies(ctx, op, todo, clear, nil)
}

// TextCandidates returns the mailbox's messages whose body the index
// finds for q, and those still pending, indexing the pending ones first.
func (s *Store) TextCandidates(ctx context.Context, user, name string, q search.TextQuery) ([]imap.UID, bool, error) {
	query := tsquery(q)
	for attempt := 0; ; attempt++ {
		uids, pending, err := s.candidates(ctx, user, name, query)
		if err != nil {
			return nil, false, err
		}
		if !pending || attempt > 0 {
			return uids, true, nil
		}
		indexed, err := s.indexPending(ctx, user, name)
		if err != nil {
			return nil, false, err
		}
		if !indexed {
			return uids, true, nil
		}
	}
}

// TextCandidateRecords is TextCandidates with the candidates' records.
func (s *Store) TextCandidateRecords(ctx context.Context, user, name string, q search.TextQuery) ([]ports.MessageRecord, bool, error) {
	uids, ok, err := s.TextCandidates(ctx, user, name, q)
	if err != nil || !ok {
		return nil, ok, err
	}
	if len(uids) == 0 {
		return []ports.MessageRecord{}, true, nil
	}
	recs, err := s.Fetch(ctx, user, name, uids)
	return recs, err == nil, err
}

// candidates runs the query on one snapshot; pending reports pending
// messages among the candidates.
func (s *Store) candidates(ctx context.Context, user, name, query string) ([]imap.UID, bool, error) {
	const op = "search"
	var uids []imap.UID
	var pending bool
	err := s.read(ctx, op, func(tx pgx.Tx) error {
		uids, pending = nil, false
		m, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT m.uid, false FROM messages m JOIN search_docs d ON d.body_id = m.body_id
				WHERE m.mailbox_id = $1 AND d.doc @@ $2::tsquery
			UNION
			SELECT uid, true FROM search_pending WHERE mailbox_id = $1
			ORDER BY 1`, m.id, query)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var u int64
			var p bool
			if err := rows.Scan(&u, &p); err != nil {
				return err
			}
			pending = pending || p
			if n := len(uids); n > 0 && uids[n-1] == imap.UID(u) {
				continue // both found and pending
			}
			uids = append(uids, imap.UID(u))
		}
		return rows.Err()
	})
	return uids, pending, err
}

// IndexMailbox indexes the bodies of the mailbox's pending messages.
func (s *Store) IndexMailbox(ctx context.Context, user, name string) error {
	_, err := s.indexPending(ctx, user, name)
	return err
}

// BuildTextIndex indexes the user's bodies the index lacks (all of them
// with rebuild, after forgetting the user's documents).
func (s *Store) BuildTextIndex(ctx context.Context, user string, rebuild bool, progress func(done, total int)) error {
	const op = "index"
	var ids, boxes []int64
	err := s.read(ctx, op, func(tx pgx.Tx) error {
		var err error
		boxes, err = collect[int64](ctx, tx, `SELECT m.id FROM mailboxes m JOIN users u ON u.id = m.user_id WHERE u.name = $1`, user)
		if err != nil {
			return err
		}
		query := `SELECT DISTINCT m.body_id FROM search_pending p
			JOIN messages m ON m.mailbox_id = p.mailbox_id AND m.uid = p.uid
			WHERE p.mailbox_id = ANY($1::bigint[]) ORDER BY 1`
		if rebuild {
			query = `SELECT DISTINCT body_id FROM messages WHERE mailbox_id = ANY($1::bigint[]) ORDER BY 1`
		}
		ids, err = collect[int64](ctx, tx, query, boxes)
		return err
	})
	if err != nil {
		return err
	}
	if rebuild {
		err := s.retry(ctx, func() error {
			_, err := s.pool.Exec(ctx, `DELETE FROM search_docs WHERE body_id = ANY($1::bigint[])`, ids)
			return err
		})
		if err != nil {
			return wrapErr(op, err)
		}
		for _, id := range ids {
			unindexable.Delete(bodyKey{s, id})
		}
	}
	if progress != nil {
		progress(0, len(ids))
	}
	done := 0
	err = s.indexBodies(ctx, op, ids, nil, func(n int) {
		done += n
		if progress != nil {
			progress(done, len(ids))
		}
	})
	if err != nil {
		return err
	}
	err = s.retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, clearPendingSQL, boxes)
		return err
	})
	return wrapErr(op, err)
}
