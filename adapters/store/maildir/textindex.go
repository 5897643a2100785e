package maildir

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/imapd-go/imapd/adapters/store/ftsindex"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/domain/search"
	"github.com/imapd-go/imapd/ports"
)

// The full-text index (ports.TextIndex) of a user is an SQLite database
// of its own in the user's root, textIndexFile, beside the mailboxes and
// gone with them: one search.Doc per message in an FTS5 table, and docs,
// which message each document is, by mailbox name, UIDVALIDITY and UID.
// A UID is never given twice under one UIDVALIDITY and a message file
// never changes, so a document stays true for as long as its message
// exists. The index follows the mailboxes lazily: a search first indexes
// the messages of its mailbox that have no document (new mail, mail
// delivered by other programs, a mailbox renamed) and drops the documents
// of messages gone, so nothing on the APPEND path waits for it, and a
// crash costs at most the documents of the last batch, which the next
// search writes again. Commits are not fsynced: a document lost with its
// docs row is only work to redo.

const textIndexFile = "imapd-search.db"

var _ ports.TextRecords = (*Store)(nil)

// textBatch is how many messages one transaction indexes.
const textBatch = 64

// textDBs holds the open index databases, by user root.
type textDBs struct {
	mu  sync.Mutex
	dbs map[string]*textDB
}

type textDB struct {
	db *sql.DB
	fi os.FileInfo // the file opened, to notice a user deleted and made again

	mu    sync.Mutex
	known map[string]knownDocs // by mailbox name and UIDVALIDITY (knownKey)
	stmts map[string]*sql.Stmt // prepared once: a search's statements cost more to prepare than to run
}

// stmt returns query prepared on d's database, once.
func (d *textDB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if st, ok := d.stmts[query]; ok {
		return st, nil
	}
	st, err := d.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if d.stmts == nil {
		d.stmts = map[string]*sql.Stmt{}
	}
	d.stmts[query] = st
	return st, nil
}

// knownDocs are UIDs, ascending, whose documents were in the database
// when meta's gen was gen.
type knownDocs struct {
	gen  int64
	uids []imap.UID
}

func knownKey(name string, uidValidity uint32) string {
	return name + "\x00" + strconv.FormatUint(uint64(uidValidity), 10)
}

// gen reads meta's gen.
func (d *textDB) gen(ctx context.Context) (int64, error) {
	st, err := d.stmt(ctx, `SELECT v FROM meta WHERE k = 'gen'`)
	if err != nil {
		return 0, err
	}
	var g int64
	err = st.QueryRowContext(ctx).Scan(&g)
	return g, err
}

// forget sets aside what the process knew of the mailbox's documents,
// under every UIDVALIDITY.
func (d *textDB) forget(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k := range d.known {
		if strings.HasPrefix(k, name+"\x00") {
			delete(d.known, k)
		}
	}
}

// holds reports whether every message of metas was known to have its
// document under gen.
func (d *textDB) holds(key string, gen int64, metas []ports.MessageMeta) bool {
	d.mu.Lock()
	k, ok := d.known[key]
	d.mu.Unlock()
	if !ok || k.gen != gen {
		return false
	}
	j := 0
	for _, m := range metas {
		for j < len(k.uids) && k.uids[j] < m.UID {
			j++
		}
		if j == len(k.uids) || k.uids[j] != m.UID {
			return false
		}
	}
	return true
}

// remember records that the messages of metas, but those of failed, have
// their documents under gen.
func (d *textDB) remember(key string, gen int64, metas []ports.MessageMeta, failed []imap.UID) {
	uids := make([]imap.UID, 0, len(metas))
	for _, m := range metas {
		if _, bad := slices.BinarySearch(failed, m.UID); !bad {
			uids = append(uids, m.UID)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.known == nil {
		d.known = map[string]knownDocs{}
	}
	d.known[key] = knownDocs{gen: gen, uids: uids}
}

// bumpGen marks, in a transaction that deletes documents, that what
// processes remember no longer holds.
func bumpGen(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE meta SET v = v + 1 WHERE k = 'gen'`)
	return err
}

// meta's gen counts the transactions that deleted documents: a process
// may remember which messages have one (textDB.known) for as long as gen
// stays the same, since documents are only ever added otherwise.
const textSchema = `
CREATE TABLE IF NOT EXISTS meta (
	k TEXT PRIMARY KEY,
	v INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (k, v) VALUES ('gen', 0);
CREATE TABLE IF NOT EXISTS docs (
	id          INTEGER PRIMARY KEY,
	mailbox     TEXT NOT NULL,
	uidvalidity INTEGER NOT NULL,
	uid         INTEGER NOT NULL,
	UNIQUE (mailbox, uidvalidity, uid)
);
`

// textDB returns the user's index database, opened (and created) once.
func (s *Store) textDB(root string) (*textDB, error) {
	t := &s.text
	t.mu.Lock()
	defer t.mu.Unlock()
	path := filepath.Join(root, textIndexFile)
	if d, ok := t.dbs[root]; ok {
		if fi, err := os.Stat(path); err == nil && os.SameFile(fi, d.fi) {
			return d, nil
		}
		d.db.Close()
		delete(t.dbs, root)
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(2)
	if _, err := db.Exec(textSchema); err != nil {
		db.Close()
		return nil, err
	}
	if _, err := db.Exec(ftsindex.CreateTable("search_text")); err != nil {
		db.Close()
		return nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		db.Close()
		return nil, err
	}
	if t.dbs == nil {
		t.dbs = map[string]*textDB{}
	}
	d := &textDB{db: db, fi: fi}
	t.dbs[root] = d
	return d, nil
}

// closeText closes the open index databases.
func (s *Store) closeText() error {
	t := &s.text
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	for root, d := range t.dbs {
		errs = append(errs, d.db.Close())
		delete(t.dbs, root)
	}
	return errors.Join(errs...)
}

// TextCandidates brings the mailbox's documents up to date, then asks
// them. A message that could not be indexed is a candidate.
func (s *Store) TextCandidates(ctx context.Context, user, name string, q search.TextQuery) ([]imap.UID, bool, error) {
	uids, _, _, ok, err := s.textCandidates(ctx, user, name, q)
	return uids, ok, err
}

// TextCandidateRecords is TextCandidates with the candidates' records,
// read from the index the candidates were checked against: one look at
// the mailbox instead of two.
func (s *Store) TextCandidateRecords(ctx context.Context, user, name string, q search.TextQuery) ([]ports.MessageRecord, bool, error) {
	uids, m, x, ok, err := s.textCandidates(ctx, user, name, q)
	if err != nil || !ok || len(uids) == 0 {
		return nil, ok, err
	}
	recs, err := s.fetch(ctx, user, name, uids, m, x)
	return recs, err == nil, err
}

// textCandidates is TextCandidates, which also returns the mailbox and
// the index the candidates are of.
func (s *Store) textCandidates(ctx context.Context, user, name string, q search.TextQuery) ([]imap.UID, *mailbox, *index, bool, error) {
	const op = "search"
	if !ftsindex.Available() {
		return nil, nil, nil, false, nil
	}
	m, err := s.resolve(ctx, op, user, name, imap.ErrNonexistent)
	if err != nil {
		return nil, nil, nil, false, err
	}
	d, err := s.textDB(m.root)
	if err != nil {
		return nil, nil, nil, false, wrapErr(op, err)
	}
	st, metas, missing, gen, m, x, err := s.textMissingView(ctx, d, user, name)
	if err != nil {
		return nil, nil, nil, false, err
	}
	var unindexed []imap.UID
	if missing != nil {
		if unindexed, err = s.indexMessages(ctx, d.db, user, name, st.UIDValidity, missing, nil); err != nil {
			return nil, nil, nil, false, err
		}
		d.remember(knownKey(name, st.UIDValidity), gen, metas, unindexed)
	}
	query, err := d.stmt(ctx, `SELECT uid FROM docs
		WHERE mailbox = ? AND uidvalidity = ? AND id IN (SELECT rowid FROM search_text WHERE search_text MATCH ?)
		ORDER BY uid`)
	if err != nil {
		return nil, nil, nil, false, wrapErr(op, err)
	}
	rows, err := query.QueryContext(ctx, name, st.UIDValidity, ftsindex.Match(q))
	if err != nil {
		return nil, nil, nil, false, wrapErr(op, err)
	}
	defer rows.Close()
	var uids []imap.UID
	for rows.Next() {
		var u imap.UID
		if err := rows.Scan(&u); err != nil {
			return nil, nil, nil, false, wrapErr(op, err)
		}
		uids = append(uids, u)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, nil, false, wrapErr(op, err)
	}
	if len(unindexed) > 0 {
		uids = append(uids, unindexed...)
		slices.Sort(uids)
		uids = slices.Compact(uids)
	}
	// Documents of messages expunged since the last clean-up stay until
	// new mail makes textMissing look: only the snapshot's messages count.
	out := uids[:0]
	j := 0
	for _, u := range uids {
		for j < len(metas) && metas[j].UID < u {
			j++
		}
		if j < len(metas) && metas[j].UID == u {
			out = append(out, u)
		}
	}
	return out, m, x, true, nil
}

// IndexMailbox indexes the mailbox's messages without a document, and
// drops the documents of messages it no longer holds: what this process
// knew of the mailbox's documents is set aside first, since knowing that
// every message has one (textDB.holds) says nothing of documents whose
// message an EXPUNGE or MOVE took away since.
func (s *Store) IndexMailbox(ctx context.Context, user, name string) error {
	const op = "index"
	if !ftsindex.Available() {
		return nil
	}
	m, err := s.resolve(ctx, op, user, name, imap.ErrNonexistent)
	if err != nil {
		return err
	}
	d, err := s.textDB(m.root)
	if err != nil {
		return wrapErr(op, err)
	}
	d.forget(name)
	st, metas, missing, gen, err := s.textMissing(ctx, d, user, name)
	if err != nil || missing == nil {
		return err
	}
	unindexed, err := s.indexMessages(ctx, d.db, user, name, st.UIDValidity, missing, nil)
	if err != nil {
		return err
	}
	d.remember(knownKey(name, st.UIDValidity), gen, metas, unindexed)
	return nil
}

// textMissing returns the mailbox's status and messages, and the UIDs
// without a document, ascending, and drops the documents of messages it
// no longer holds. missing is nil when the process knows that every
// message has its document (textDB.known) under meta's gen, which it
// returns as read before it looked.
func (s *Store) textMissing(ctx context.Context, d *textDB, user, name string) (st ports.MailboxStatus, metas []ports.MessageMeta, missing []imap.UID, gen int64, err error) {
	st, metas, missing, gen, _, _, err = s.textMissingView(ctx, d, user, name)
	return st, metas, missing, gen, err
}

// textMissingView is textMissing that also returns the mailbox and the
// index it looked at.
func (s *Store) textMissingView(ctx context.Context, d *textDB, user, name string) (st ports.MailboxStatus, metas []ports.MessageMeta, missing []imap.UID, gen int64, m *mailbox, x *index, err error) {
	const op = "search"
	if gen, err = d.gen(ctx); err != nil {
		return st, nil, nil, 0, nil, nil, wrapErr(op, err)
	}
	if m, x, err = s.view(ctx, op, user, name, imap.ErrNonexistent); err != nil {
		return st, nil, nil, 0, nil, nil, err
	}
	st, metas = status(x), make([]ports.MessageMeta, x.msgs.len())
	for i := range x.msgs.len() {
		metas[i] = x.msgs.at(i).meta()
	}
	if d.holds(knownKey(name, st.UIDValidity), gen, metas) {
		return st, metas, nil, gen, m, x, nil
	}
	missing = []imap.UID{}
	db := d.db
	// Usually every message has its document and no other: the list of
	// the documents' UIDs, in one row, says so.
	want := make([]byte, 0, 8*len(metas))
	for i, m := range metas {
		if i > 0 {
			want = append(want, ',')
		}
		want = strconv.AppendUint(want, uint64(m.UID), 10)
	}
	var have sql.NullString
	err = db.QueryRowContext(ctx, `SELECT group_concat(uid, ',' ORDER BY uid) FROM docs WHERE mailbox = ? AND uidvalidity = ?`,
		name, st.UIDValidity).Scan(&have)
	if err != nil {
		return st, nil, nil, 0, nil, nil, wrapErr(op, err)
	}
	if have.String == string(want) {
		return st, metas, missing, gen, m, x, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT id, uid FROM docs WHERE mailbox = ? AND uidvalidity = ? ORDER BY uid`, name, st.UIDValidity)
	if err != nil {
		return st, nil, nil, 0, nil, nil, wrapErr(op, err)
	}
	var gone []int64
	i := 0
	for rows.Next() {
		var id int64
		var u imap.UID
		if err := rows.Scan(&id, &u); err != nil {
			rows.Close()
			return st, nil, nil, 0, nil, nil, wrapErr(op, err)
		}
		for i < len(metas) && metas[i].UID < u {
			missing = append(missing, metas[i].UID)
			i++
		}
		if i < len(metas) && metas[i].UID == u {
			i++
		} else {
			gone = append(gone, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, nil, nil, 0, nil, nil, wrapErr(op, err)
	}
	for ; i < len(metas); i++ {
		missing = append(missing, metas[i].UID)
	}
	if len(gone) > 0 {
		err := textWrite(ctx, db, func(tx *sql.Tx) error { return dropDocs(ctx, tx, gone) })
		if err != nil {
			return st, nil, nil, 0, nil, nil, wrapErr(op, err)
		}
	}
	return st, metas, missing, gen, m, x, nil
}

// dropDocs removes the documents ids from the index, and tells other
// processes (bumpGen) that what they knew of it may no longer hold.
func dropDocs(ctx context.Context, tx *sql.Tx, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if err := bumpGen(ctx, tx); err != nil {
		return err
	}
	for _, id := range ids {
		if err := ftsindex.Delete(ctx, tx, "search_text", id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM docs WHERE id = ?`, id); err != nil {
			return err
		}
	}
	return nil
}

func textWrite(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// indexMessages writes the documents of the given messages, a batch per
// transaction, and returns those it could not index (gone meanwhile, or
// without a structure that decodes).
func (s *Store) indexMessages(ctx context.Context, db *sql.DB, user, name string, uidValidity uint32, uids []imap.UID, progress func(n int)) ([]imap.UID, error) {
	const op = "index"
	var failed []imap.UID
	indexed := 0
	for len(uids) > 0 {
		batch := uids[:min(textBatch, len(uids))]
		uids = uids[len(batch):]
		recs, err := s.Fetch(ctx, user, name, batch)
		if err != nil {
			return nil, err
		}
		type doc struct {
			uid imap.UID
			doc search.Doc
		}
		docs := make([]doc, 0, len(recs))
		for _, r := range recs {
			d, ok, err := s.makeDoc(ctx, user, name, r)
			if err != nil {
				return nil, err
			}
			if !ok {
				failed = append(failed, r.UID)
				continue
			}
			docs = append(docs, doc{r.UID, d})
		}
		err = textWrite(ctx, db, func(tx *sql.Tx) error {
			for i := range docs {
				res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO docs (mailbox, uidvalidity, uid) VALUES (?, ?, ?)`,
					name, uidValidity, docs[i].uid)
				if err != nil {
					return err
				}
				if n, err := res.RowsAffected(); err != nil || n == 0 {
					continue // another process indexed it meanwhile
				}
				id, err := res.LastInsertId()
				if err != nil {
					return err
				}
				if err := ftsindex.Insert(ctx, tx, "search_text", id, &docs[i].doc); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, wrapErr(op, err)
		}
		if progress != nil {
			progress(len(batch))
		}
		indexed += len(docs)
	}
	if indexed > 0 {
		if err := textWrite(ctx, db, func(tx *sql.Tx) error { return ftsindex.Merge(ctx, tx, "search_text", indexed) }); err != nil {
			return nil, wrapErr(op, err)
		}
	}
	return failed, nil
}

// makeDoc reads one message's document; ok is false when the message is
// gone or its structure does not decode.
func (s *Store) makeDoc(ctx context.Context, user, name string, r ports.MessageRecord) (search.Doc, bool, error) {
	st, err := message.Unmarshal(r.Structure)
	if err != nil || st == nil {
		return search.Doc{}, false, nil
	}
	b, err := s.Open(ctx, user, name, r.UID)
	if errors.Is(err, imap.ErrNonexistent) {
		return search.Doc{}, false, nil
	}
	if err != nil {
		return search.Doc{}, false, err
	}
	defer b.Close()
	d, err := search.MakeDoc(st, b)
	if err != nil {
		return search.Doc{}, false, wrapErr("index", fmt.Errorf("UID %d: %w", r.UID, err))
	}
	return d, true, nil
}

// BuildTextIndex indexes every mailbox of the user; with rebuild, the
// user's index starts empty. Documents of mailboxes that no longer exist
// (renamed, deleted) are dropped.
func (s *Store) BuildTextIndex(ctx context.Context, user string, rebuild bool, progress func(done, total int)) error {
	const op = "index"
	if !ftsindex.Available() {
		return imap.Errorf(op, imap.ErrCannot, "this program's SQLite has no FTS5 (build tag sqlite_fts5)")
	}
	root, err := s.userRoot(op, user)
	if err != nil {
		return err
	}
	boxes, err := s.ListMailboxes(ctx, user)
	if err != nil {
		return err
	}
	d, err := s.textDB(root)
	if err != nil {
		return wrapErr(op, err)
	}
	db := d.db
	if rebuild {
		err := textWrite(ctx, db, func(tx *sql.Tx) error {
			if err := bumpGen(ctx, tx); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM docs`); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO search_text (search_text) VALUES ('delete-all')`)
			return err
		})
		if err != nil {
			return wrapErr(op, err)
		}
	}
	type work struct {
		name        string
		uidValidity uint32
		missing     []imap.UID
	}
	var todo []work
	total := 0
	for _, b := range boxes {
		st, _, missing, _, err := s.textMissing(ctx, d, user, b.Name)
		if errors.Is(err, imap.ErrNonexistent) {
			continue
		}
		if err != nil {
			return err
		}
		todo = append(todo, work{b.Name, st.UIDValidity, missing})
		total += len(missing)
	}
	// Documents of mailboxes that are no more: not (name, UIDVALIDITY)
	// of any mailbox listed.
	err = textWrite(ctx, db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE IF NOT EXISTS live (mailbox TEXT, uidvalidity INTEGER)`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM temp.live`); err != nil {
			return err
		}
		for _, w := range todo {
			if _, err := tx.ExecContext(ctx, `INSERT INTO temp.live VALUES (?, ?)`, w.name, w.uidValidity); err != nil {
				return err
			}
		}
		rows, err := tx.QueryContext(ctx, `SELECT id FROM docs WHERE NOT EXISTS
			(SELECT 1 FROM temp.live l WHERE l.mailbox = docs.mailbox AND l.uidvalidity = docs.uidvalidity)`)
		if err != nil {
			return err
		}
		var gone []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			gone = append(gone, id)
		}
		rows.Close()
		return dropDocs(ctx, tx, gone)
	})
	if err != nil {
		return wrapErr(op, err)
	}
	done := 0
	if progress != nil {
		progress(0, total)
	}
	for _, w := range todo {
		_, err := s.indexMessages(ctx, db, user, w.name, w.uidValidity, w.missing, func(n int) {
			done += n
			if progress != nil {
				progress(done, total)
			}
		})
		if errors.Is(err, imap.ErrNonexistent) {
			continue // deleted meanwhile
		}
		if err != nil {
			return err
		}
	}
	return nil
}
