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
// chunks they cover, so a partial FETCH of a large message reads little.
func (s *Store) Open(ctx context.Context, user, name string, uid imap.UID) (ports.MessageBody, error) {
	const op = "open"
	b := &body{db: s.r, seq: -1}
	// One statement, no transaction: SEARCH opens every message it reads.
	err := retryBusy(ctx, func() error {
		return s.r.QueryRowContext(ctx, `SELECT m.body_id, m.size FROM messages m
			JOIN mailboxes mb ON mb.id = m.mailbox_id JOIN users u ON u.id = mb.user_id
			WHERE u.name = ? AND mb.name = ? AND m.uid = ?`, user, name, uid).Scan(&b.id, &b.size)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, imap.Errorf(op, imap.ErrNonexistent, "no message with UID %d in %q", uid, name)
	}
	if err != nil {
		return nil, wrapErr(op, err)
	}
	return b, nil
}

// body reads one stored body chunk by chunk. It keeps the last chunk read,
// because callers usually read sequentially in pieces smaller than a chunk.
// A body's bytes never change, so reads need no common transaction; if
// every message using the body is expunged meanwhile, reads fail.
type body struct {
	db   *sql.DB
	id   int64
	size int64

	mu   sync.Mutex // guards seq and data, for concurrent ReadAt calls
	seq  int64
	data []byte
}

var _ ports.MessageBody = (*body)(nil)

func (b *body) Size() int64 { return b.size }

func (b *body) Close() error {
	b.mu.Lock()
	b.data, b.seq = nil, -1
	b.mu.Unlock()
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
	var data []byte
	// The caller's context may have ended with the request that opened
	// the body; a read of one chunk is short, so it runs unbounded.
	err := b.db.QueryRowContext(context.Background(),
		`SELECT data FROM chunks WHERE body_id = ? AND seq = ?`, b.id, seq).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return imap.Errorf("read", imap.ErrNonexistent, "message was expunged")
	}
	if err != nil {
		return fmt.Errorf("sqlite: read: %w", err)
	}
	want := min(chunkSize, b.size-seq*chunkSize)
	if int64(len(data)) != want {
		return fmt.Errorf("sqlite: read: chunk %d of body %d has %d bytes, want %d", seq, b.id, len(data), want)
	}
	b.seq, b.data = seq, data
	return nil
}
