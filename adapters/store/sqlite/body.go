package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// Open returns random access to one message's bytes. Reads fetch only the
// chunks they cover, so a partial FETCH of a large message reads little;
// a message that fits in one chunk (most mail) comes with the lookup
// itself, so reading it whole costs one query, not two.
func (s *Store) Open(ctx context.Context, user, name string, uid imap.UID) (ports.MessageBody, error) {
	const op = "open"
	u, err := s.acquire(user)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	// The body keeps the user's database open until it is closed.
	// Bodies are read on their own pool (see db.b).
	b := &body{db: u.b, uid: uid, seq: -1, done: func() { s.release(u) }}
	// One statement, no transaction: every FETCH of a body opens it.
	// The statement reads one row: it runs to its end rather than under
	// the session's context, which would have the driver and database/sql
	// arm (and disarm) a cancellation for every message of a FETCH.
	qctx := context.WithoutCancel(ctx)
	err = retryBusy(ctx, func() error {
		// Scalar subqueries rather than a three-way join: SQLite plans
		// the join on every run, which cost twice the lookup itself.
		// A body of one chunk comes with its chunk's rowid and the
		// connection's handle: the chunk is read through the blob API
		// (blob.go) while this statement, still open, holds the snapshot.
		rows, err := u.b.QueryContext(qctx, `SELECT m.body_id, m.size,
			CASE WHEN m.size <= ? THEN (SELECT rowid FROM chunks WHERE body_id = m.body_id AND seq = 0) END,
			imapd_connection(), m.mailbox_id, (SELECT uidvalidity FROM mailboxes WHERE id = m.mailbox_id)
			FROM messages m
			WHERE m.mailbox_id = (SELECT id FROM mailboxes
				WHERE user_id = (SELECT id FROM users WHERE name = ?) AND name = ?)
			AND m.uid = ?`, chunkSize, user, name, uid)
		if err != nil {
			return err
		}
		defer rows.Close()
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return err
			}
			return sql.ErrNoRows
		}
		var row sql.NullInt64
		var conn int64
		if err := rows.Scan(&b.id, &b.size, &row, &conn, &b.mailbox, &b.uidValidity); err != nil {
			return err
		}
		if row.Valid {
			if err := b.read(conn, row.Int64, 0, b.size); err != nil {
				return err
			}
		}
		return rows.Close()
	})
	if errors.Is(err, sql.ErrNoRows) {
		b.Close()
		return nil, imap.Errorf(op, imap.ErrNonexistent, "no message with UID %d in %q", uid, name)
	}
	if err != nil {
		b.Close()
		return nil, wrapErr(op, err)
	}
	return b, nil
}

// chunkBufs recycles the chunk buffers of closed bodies: a FETCH 1:*
// BODY[] opens every message in turn.
var chunkBufs = sync.Pool{New: func() any { return new([]byte) }}

// body reads one stored body chunk by chunk. It keeps the last chunk read,
// because callers usually read sequentially in pieces smaller than a chunk.
// A body's bytes never change, so reads need no common transaction; but
// once every message using the body is expunged, its id (and its chunks'
// rowids) may be given to a new body, so each read checks that the
// message it opened still exists, and fails if not. A message is known by
// its mailbox's id, UIDVALIDITY and its UID, which no later message has.
type body struct {
	db          *sql.DB
	id          int64
	size        int64
	mailbox     int64
	uidValidity int64
	uid         imap.UID
	done        func() // called once, by the first Close

	mu   sync.Mutex // guards seq, data and buf, for concurrent ReadAt calls
	seq  int64
	data []byte  // chunk seq, in *buf
	buf  *[]byte // from chunkBufs, nil once closed
}

var _ ports.MessageBody = (*body)(nil)

func (b *body) Size() int64 { return b.size }

func (b *body) Close() error {
	b.mu.Lock()
	if b.done != nil {
		b.done()
		b.done = nil
	}
	if b.buf != nil {
		*b.buf = b.data[:0]
		chunkBufs.Put(b.buf)
	}
	b.data, b.seq, b.buf = nil, -1, nil
	b.mu.Unlock()
	return nil
}

// read reads chunk seq, of n bytes, from row of chunks on conn (see
// readChunk) into the body's buffer.
func (b *body) read(conn, row, seq, n int64) error {
	if b.buf == nil {
		b.buf = chunkBufs.Get().(*[]byte)
	}
	if int64(cap(*b.buf)) < n {
		*b.buf = make([]byte, n, max(n, chunkSize))
	}
	// The buffer no longer holds the chunk kept until now.
	b.data, b.seq = nil, -1
	data := (*b.buf)[:n]
	if err := readChunk(conn, row, data); err != nil {
		return err
	}
	b.data, b.seq = data, seq
	return nil
}

// ReadAt implements io.ReaderAt.
func (b *body) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("sqlite: negative offset")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for n < len(p) && off < b.size {
		seq := off / chunkSize
		if err := b.load(seq); err != nil {
			return n, err
		}
		c := copy(p[n:], b.data[off-seq*chunkSize:])
		n += c
		off += int64(c)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// load makes chunk seq the cached one.
func (b *body) load(seq int64) error {
	if b.seq == seq {
		return nil
	}
	// The caller's context may have ended with the request that opened
	// the body; a read of one chunk is short, so it runs unbounded. The
	// chunk is read as in Open, while the statement is open.
	// The message's body id and its mailbox's UIDVALIDITY come back as
	// columns and are compared here: compared in SQL with parameters,
	// they had SQLite prepare the statement again on every run.
	rows, err := b.db.QueryContext(context.Background(),
		`SELECT rowid, imapd_connection(),
			(SELECT body_id FROM messages WHERE mailbox_id = ? AND uid = ?),
			(SELECT uidvalidity FROM mailboxes WHERE id = ?)
			FROM chunks WHERE body_id = ? AND seq = ?`,
		b.mailbox, b.uid, b.mailbox, b.id, seq)
	if err != nil {
		return fmt.Errorf("sqlite: read: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: read: %w", err)
		}
		return imap.Errorf("read", imap.ErrNonexistent, "message was expunged")
	}
	var row, conn int64
	var id, uidValidity sql.NullInt64
	if err := rows.Scan(&row, &conn, &id, &uidValidity); err != nil {
		return fmt.Errorf("sqlite: read: %w", err)
	}
	if id.Int64 != b.id || uidValidity.Int64 != b.uidValidity || !id.Valid || !uidValidity.Valid {
		return imap.Errorf("read", imap.ErrNonexistent, "message was expunged")
	}
	if err := b.read(conn, row, seq, min(chunkSize, b.size-seq*chunkSize)); err != nil {
		return fmt.Errorf("sqlite: read: chunk %d of body %d: %w", seq, b.id, err)
	}
	return rows.Close()
}
