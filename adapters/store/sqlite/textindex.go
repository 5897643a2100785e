package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/imapd-go/imapd/adapters/store/ftsindex"
	"github.com/imapd-go/imapd/adapters/store/internal/flaglist"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/domain/search"
	"github.com/imapd-go/imapd/ports"
)

// The full-text index (ports.TextIndex) keeps one document per body, so
// that copies share it: the FTS5 table textTable, rowid the body's id, and
// search_indexed, the bodies it holds. search_pending lists the messages
// whose body is not indexed: candidates of every search, which indexes
// the pending messages of its mailbox first, in batches (indexPending),
// as IndexMailbox does when the server indexes after each write.
// APPEND, COPY and MOVE only add to search_pending (a trigger), so they
// write no index: a document costs a segment of the FTS5 table, written
// per transaction, and one transaction for many documents writes one.
// Triggers, which need no FTS5, keep both tables true in every program
// that writes the database, with FTS5 or without: a message stored with a
// body not indexed is pending, a message gone is no longer, and a body
// gone is no longer indexed, so that a body id SQLite gives again is never
// taken as indexed. The index is exact after a crash: a batch lost is
// still pending. The FTS5 table itself exists only where FTS5 does
// (ensureTextTable); a document it keeps of a body deleted without FTS5 is
// replaced when the id is indexed again.

const textTable = "search_text"

// textIndexSchema is schema version 5; textIndexMigration marks every
// message already stored as pending.
const textIndexSchema = `
CREATE TABLE IF NOT EXISTS search_indexed (
	body_id INTEGER PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS search_pending (
	mailbox_id INTEGER NOT NULL,
	uid        INTEGER NOT NULL,
	PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS search_indexed_gone AFTER DELETE ON bodies BEGIN
	DELETE FROM search_indexed WHERE body_id = old.id;
END;
CREATE TRIGGER IF NOT EXISTS search_pending_new AFTER INSERT ON messages
WHEN NOT EXISTS (SELECT 1 FROM search_indexed WHERE body_id = new.body_id) BEGIN
	INSERT OR IGNORE INTO search_pending (mailbox_id, uid) VALUES (new.mailbox_id, new.uid);
END;
CREATE TRIGGER IF NOT EXISTS search_pending_moved AFTER UPDATE OF mailbox_id, uid, body_id ON messages BEGIN
	DELETE FROM search_pending WHERE mailbox_id = old.mailbox_id AND uid = old.uid;
	INSERT OR IGNORE INTO search_pending (mailbox_id, uid)
		SELECT new.mailbox_id, new.uid WHERE NOT EXISTS (SELECT 1 FROM search_indexed WHERE body_id = new.body_id);
END;
CREATE TRIGGER IF NOT EXISTS search_pending_gone AFTER DELETE ON messages BEGIN
	DELETE FROM search_pending WHERE mailbox_id = old.mailbox_id AND uid = old.uid;
END;
`

const textIndexMigration = `INSERT OR IGNORE INTO search_pending (mailbox_id, uid) SELECT mailbox_id, uid FROM messages`

var _ ports.TextIndex = (*Store)(nil)

// ensureTextTable creates the FTS5 table, if it is missing, when this
// program has FTS5; the caller found it missing (initText).
func (d *db) ensureTextTable(ctx context.Context) error {
	if !ftsindex.Available() {
		return nil
	}
	return d.write(ctx, "open", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, ftsindex.CreateTable(textTable))
		return err
	})
}

// indexBody adds the body to the index and reports whether it could: a
// structure that does not decode leaves the body out, its messages
// pending, candidates of every search.
func indexBody(ctx context.Context, tx *sql.Tx, id int64, structure []byte) (bool, error) {
	st, err := message.Unmarshal(structure)
	if err != nil || st == nil {
		return false, nil
	}
	doc, err := search.MakeDoc(st, &chunkReader{ctx: ctx, tx: tx, id: id, seq: -1})
	if err != nil {
		return false, err
	}
	if err := ftsindex.Insert(ctx, tx, textTable, id, &doc); err != nil {
		return false, err
	}
	_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO search_indexed (body_id) VALUES (?)`, id)
	return err == nil, err
}

// unindexable remembers, per user database, the bodies this process
// found it cannot index, so that searches stop trying.
var unindexable sync.Map // bodyKey -> struct{}

type bodyKey struct {
	dir  string // the store's
	user string
	id   int64
}

// indexBodies indexes the bodies ids, a batch per transaction, those
// known unindexable passed over; after each batch, clear (when not nil)
// runs in the same transaction. done, when not
// nil, is told how many bodies each batch covered.
func (s *Store) indexBodies(ctx context.Context, user, op string, ids []int64, clear func(*sql.Tx) error, done func(n int)) error {
	for len(ids) > 0 {
		batch := ids[:min(buildBatch, len(ids))]
		ids = ids[len(batch):]
		err := s.writeLight(ctx, user, op, func(tx *sql.Tx) error {
			for _, id := range batch {
				if _, bad := unindexable.Load(bodyKey{s.dir, user, id}); bad {
					continue
				}
				var structure []byte
				err := tx.QueryRowContext(ctx, `SELECT structure FROM bodies WHERE id = ?`, id).Scan(&structure)
				if errors.Is(err, sql.ErrNoRows) {
					continue // expunged meanwhile
				}
				if err != nil {
					return err
				}
				ok, err := indexBody(ctx, tx, id, structure)
				if err != nil {
					return err
				}
				if !ok {
					unindexable.Store(bodyKey{s.dir, user, id}, struct{}{})
				}
			}
			if clear != nil {
				return clear(tx)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if done != nil {
			done(len(batch))
		}
	}
	return nil
}

// indexPending indexes the bodies of the mailbox's pending messages and
// reports whether it indexed any.
func (s *Store) indexPending(ctx context.Context, user, name string) (bool, error) {
	const op = "search"
	var ids []int64
	var mbox int64
	var any bool
	err := s.read(ctx, user, op, func(tx *sql.Tx) error {
		ids = ids[:0]
		m, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		mbox = m.id
		err = tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM search_pending WHERE mailbox_id = ?)`, m.id).Scan(&any)
		if err != nil || !any {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT m.body_id FROM search_pending p
			JOIN messages m ON m.mailbox_id = p.mailbox_id AND m.uid = p.uid
			WHERE p.mailbox_id = ? AND NOT EXISTS (SELECT 1 FROM search_indexed WHERE body_id = m.body_id)
			ORDER BY 1`, m.id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			if _, bad := unindexable.Load(bodyKey{s.dir, user, id}); !bad {
				ids = append(ids, id)
			}
		}
		return rows.Err()
	})
	if err != nil || !any {
		return false, err
	}
	clear := func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM search_pending WHERE mailbox_id = ?
			AND EXISTS (SELECT 1 FROM messages m JOIN search_indexed i ON i.body_id = m.body_id
				WHERE m.mailbox_id = search_pending.mailbox_id AND m.uid = search_pending.uid)`, mbox)
		return err
	}
	if len(ids) == 0 {
		// Bodies indexed by another process: their messages are pending
		// only until cleared.
		return false, s.writeLight(ctx, user, op, clear)
	}
	if err := s.indexBodies(ctx, user, op, ids, clear, nil); err != nil {
		return true, err
	}
	return true, s.mergeText(ctx, user, op, len(ids))
}

// mergeText merges the index's segments after docs documents were added
// (ftsindex.Merge), in a transaction of its own: the documents are kept
// whether it is done or not.
func (s *Store) mergeText(ctx context.Context, user, op string, docs int) error {
	return s.writeLight(ctx, user, op, func(tx *sql.Tx) error {
		return ftsindex.Merge(ctx, tx, textTable, docs)
	})
}

// unindexBody drops a deleted body's document (search_indexed loses it
// by the trigger).
func unindexBody(ctx context.Context, tx *sql.Tx, id int64) error {
	if !ftsindex.Available() {
		return nil
	}
	return ftsindex.Delete(ctx, tx, textTable, id)
}

// chunkReader reads a body's chunks inside a transaction, one chunk kept.
type chunkReader struct {
	ctx  context.Context
	tx   *sql.Tx
	id   int64
	seq  int64
	data []byte
}

func (c *chunkReader) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		seq := (off + int64(n)) / chunkSize
		if seq != c.seq {
			c.data = c.data[:0]
			err := c.tx.QueryRowContext(c.ctx, `SELECT data FROM chunks WHERE body_id = ? AND seq = ?`, c.id, seq).Scan(&c.data)
			if errors.Is(err, sql.ErrNoRows) {
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

// TextCandidates indexes the mailbox's pending messages when it has any,
// then returns its messages whose body the index finds for q, and those
// still pending. The query is one statement, no transaction: both parts
// read one snapshot.
func (s *Store) TextCandidates(ctx context.Context, user, name string, q search.TextQuery) ([]imap.UID, bool, error) {
	recs, ok, err := s.textCandidates(ctx, user, name, q, false)
	if err != nil || !ok {
		return nil, ok, err
	}
	uids := make([]imap.UID, len(recs))
	for i := range recs {
		uids[i] = recs[i].UID
	}
	return uids, true, nil
}

// TextCandidateRecords is TextCandidates with the candidates' records,
// read by the same statement: the structures come from the cache Fetch
// fills, and only those it lacks are fetched.
func (s *Store) TextCandidateRecords(ctx context.Context, user, name string, q search.TextQuery) ([]ports.MessageRecord, bool, error) {
	return s.textCandidates(ctx, user, name, q, true)
}

// textCandidates returns the candidates' records, whole with full, else
// holding their UIDs only.
func (s *Store) textCandidates(ctx context.Context, user, name string, q search.TextQuery, full bool) ([]ports.MessageRecord, bool, error) {
	if !ftsindex.Available() {
		return nil, false, nil
	}
	match := ftsindex.Match(q)
	for attempt := 0; ; attempt++ {
		recs, pending, err := s.candidates(ctx, user, name, match, full)
		if err != nil {
			return nil, false, err
		}
		if !pending || attempt > 0 {
			return recs, true, nil
		}
		indexed, err := s.indexPending(ctx, user, name)
		if err != nil {
			return nil, false, err
		}
		if !indexed {
			return recs, true, nil
		}
	}
}

// IndexMailbox indexes the bodies of the mailbox's pending messages.
func (s *Store) IndexMailbox(ctx context.Context, user, name string) error {
	if !ftsindex.Available() {
		return nil
	}
	_, err := s.indexPending(ctx, user, name)
	return err
}

// candidates runs the query; pending reports pending messages among the
// candidates. With full, each record is whole (as Fetch returns it).
func (s *Store) candidates(ctx context.Context, user, name, match string, full bool) ([]ports.MessageRecord, bool, error) {
	const op = "search"
	var recs []ports.MessageRecord
	var pending bool
	u, err := s.acquire(user)
	if err != nil {
		return nil, false, wrapErr(op, err)
	}
	defer s.release(u)
	query := `WITH mb AS (SELECT id FROM mailboxes
			WHERE user_id = (SELECT id FROM users WHERE name = ?) AND name = ?)
		SELECT uid, 0 FROM messages WHERE mailbox_id = (SELECT id FROM mb)
			AND body_id IN (SELECT rowid FROM ` + textTable + ` WHERE ` + textTable + ` MATCH ?)
		UNION
		SELECT uid, 1 FROM search_pending WHERE mailbox_id = (SELECT id FROM mb)
		UNION
		SELECT 0, 0 WHERE NOT EXISTS (SELECT 1 FROM mb)
		ORDER BY 1`
	if full {
		// A first row of UID 0 holds the mailbox's id (0 when it is
		// missing) and UIDVALIDITY.
		query = `WITH mb AS (SELECT id, uidvalidity FROM mailboxes
				WHERE user_id = (SELECT id FROM users WHERE name = ?) AND name = ?)
			SELECT uid, 0, modseq, flags, internaldate, zone, size, savedate, body_id FROM messages
				WHERE mailbox_id = (SELECT id FROM mb)
				AND body_id IN (SELECT rowid FROM ` + textTable + ` WHERE ` + textTable + ` MATCH ?)
			UNION ALL
			SELECT m.uid, 1, m.modseq, m.flags, m.internaldate, m.zone, m.size, m.savedate, m.body_id
				FROM search_pending p JOIN messages m ON m.mailbox_id = p.mailbox_id AND m.uid = p.uid
				WHERE p.mailbox_id = (SELECT id FROM mb)
			UNION ALL
			SELECT 0, 0, coalesce((SELECT id FROM mb), 0), NULL, coalesce((SELECT uidvalidity FROM mb), 0), 0, 0, 0, 0
			ORDER BY 1`
	}
	var box structureBox
	var missing []imap.UID // records whose structure the cache lacks
	err = retryBusy(ctx, func() error {
		recs, pending, missing = recs[:0], false, missing[:0]
		rows, err := u.r.QueryContext(ctx, query, user, name, match)
		if err != nil {
			return err
		}
		defer rows.Close()
		var r ports.MessageRecord
		var p bool
		var flags sql.RawBytes
		var uid, modseq, sec, zone, saved, bodyID int64
		dest := []any{&uid, &p}
		if full {
			dest = append(dest, &modseq, &flags, &sec, &zone, &r.Size, &saved, &bodyID)
		}
		fp := flaglist.Parser{}
		for rows.Next() {
			r = ports.MessageRecord{}
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			if full && uid == 0 {
				// The mailbox's row: its id (0 when it is missing) and
				// UIDVALIDITY name the structure cache's box.
				if modseq == 0 {
					recs = append(recs, r)
				}
				box = structureBox{user: user, id: modseq, uidValidity: uint32(sec)}
				continue
			}
			pending = pending || p
			if n := len(recs); n > 0 && recs[n-1].UID == imap.UID(uid) {
				continue // both found and pending
			}
			r.UID = imap.UID(uid)
			if full {
				r.ModSeq = uint64(modseq)
				if b, ok := s.structures.Get(box, structureID{uid: r.UID, body: bodyID, size: r.Size}); ok {
					r.Structure = b
				} else {
					missing = append(missing, r.UID)
				}
				if saved != 0 {
					r.SaveDate = time.Unix(saved, 0)
				}
				r.Flags = fp.Parse(flags)
				r.InternalDate = dateOut(sec, zone)
			}
			recs = append(recs, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, false, wrapErr(op, err)
	}
	if len(recs) > 0 && recs[0].UID == 0 {
		// UID 0 is never a message's: it says the mailbox is missing.
		return nil, false, imap.Errorf(op, imap.ErrNonexistent, "%q", name)
	}
	// The records are read-only to the caller, as Fetch's are: the
	// structures are the cache's own, which no one changes.
	if len(missing) > 0 {
		// Fetch reads them (and keeps them for the next search); a
		// message it no longer finds was expunged meanwhile.
		fetched, err := s.Fetch(ctx, user, name, missing)
		if err != nil {
			return nil, false, err
		}
		out := recs[:0]
		for _, r := range recs {
			if _, miss := slices.BinarySearch(missing, r.UID); miss {
				i, ok := slices.BinarySearchFunc(fetched, r.UID, func(f ports.MessageRecord, u imap.UID) int { return cmp.Compare(f.UID, u) })
				if !ok {
					continue
				}
				r = fetched[i]
			}
			out = append(out, r)
		}
		recs = out
	}
	return recs, pending, nil
}

// buildBatch is how many bodies one transaction of BuildTextIndex indexes.
const buildBatch = 64

// BuildTextIndex indexes the user's bodies the index lacks (all of them
// with rebuild), a batch per transaction. Losing a batch in a crash loses
// its documents and their marks together, so it needs no fsync of its own.
func (s *Store) BuildTextIndex(ctx context.Context, user string, rebuild bool, progress func(done, total int)) error {
	const op = "index"
	if !ftsindex.Available() {
		return imap.Errorf(op, imap.ErrCannot, "this program's SQLite has no FTS5 (build tag sqlite_fts5)")
	}
	var ids []int64
	err := s.read(ctx, user, op, func(tx *sql.Tx) error {
		ids = ids[:0]
		query := `SELECT DISTINCT m.body_id FROM search_pending p
			JOIN messages m ON m.mailbox_id = p.mailbox_id AND m.uid = p.uid
			WHERE p.mailbox_id IN (SELECT id FROM mailboxes WHERE user_id = (SELECT id FROM users WHERE name = ?))
			ORDER BY m.body_id`
		if rebuild {
			query = `SELECT DISTINCT m.body_id FROM messages m
			WHERE m.mailbox_id IN (SELECT id FROM mailboxes WHERE user_id = (SELECT id FROM users WHERE name = ?))
			ORDER BY m.body_id`
		}
		rows, err := tx.QueryContext(ctx, query, user)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	if progress != nil {
		progress(0, len(ids))
	}
	done := 0
	err = s.indexBodies(ctx, user, op, ids, nil, func(n int) {
		done += n
		if progress != nil {
			progress(done, len(ids))
		}
	})
	if err != nil {
		return err
	}
	if len(ids) > 0 {
		if err := s.mergeText(ctx, user, op, len(ids)); err != nil {
			return err
		}
	}
	// The user's messages whose body is now indexed are no longer
	// pending.
	return s.writeLight(ctx, user, op, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM search_pending
			WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE user_id = (SELECT id FROM users WHERE name = ?))
			AND EXISTS (SELECT 1 FROM messages m JOIN search_indexed i ON i.body_id = m.body_id
				WHERE m.mailbox_id = search_pending.mailbox_id AND m.uid = search_pending.uid)`, user)
		return err
	})
}
