package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// Open returns random access to one message's bytes. The body holds no
// connection: each ReadAt reads the chunks it covers (a message of one
// chunk, most mail, comes with the lookup itself), so a session that
// keeps a body open while its client is slow ties up nothing.
func (s *Store) Open(ctx context.Context, user, name string, uid imap.UID) (ports.MessageBody, error) {
	const op = "open"
	if !storable(user) || !storable(name) {
		return nil, imap.Errorf(op, imap.ErrNonexistent, "%q", name)
	}
	b := &body{s: s, seq: -1}
	var first []byte
	err := s.retry(ctx, func() error {
		return s.pool.QueryRow(ctx, `SELECT m.body_id, m.size,
		CASE WHEN m.size <= $4 THEN (SELECT data FROM chunks WHERE body_id = m.body_id AND seq = 0) END
		FROM messages m WHERE m.mailbox_id = (SELECT mb.id FROM mailboxes mb JOIN users u ON u.id = mb.user_id
			WHERE u.name = $1 AND mb.name = $2) AND m.uid = $3`, user, name, int64(uid), chunkSize).
			Scan(&b.id, &b.size, &first)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, imap.Errorf(op, imap.ErrNonexistent, "UID %d in %q", uid, name)
	}
	if err != nil {
		return nil, wrapErr(op, err)
	}
	if b.size <= chunkSize {
		if int64(len(first)) != b.size {
			return nil, fmt.Errorf("postgres: %s: body %d is %d bytes, want %d", op, b.id, len(first), b.size)
		}
		b.seq, b.data = 0, first
	}
	return b, nil
}

// body is one message's bytes, read a chunk at a time; the last chunk
// read is kept, since FETCH reads a body in consecutive pieces.
type body struct {
	s    *Store
	id   int64
	size int64

	mu   sync.Mutex
	seq  int64 // the chunk in data; -1 for none
	data []byte
}

func (b *body) Size() int64 { return b.size }

func (b *body) Close() error {
	b.mu.Lock()
	b.data, b.seq = nil, -1
	b.mu.Unlock()
	return nil
}

// ReadAt reads len(p) bytes at off, chunk by chunk.
func (b *body) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("postgres: negative offset")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for n < len(p) && off < b.size {
		seq := off / chunkSize
		if seq != b.seq {
			if err := b.load(seq); err != nil {
				return n, err
			}
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

// load reads chunk seq into data.
func (b *body) load(seq int64) error {
	var data []byte
	ctx := context.Background()
	err := b.s.retry(ctx, func() error {
		return b.s.pool.QueryRow(ctx, `SELECT data FROM chunks WHERE body_id = $1 AND seq = $2`, b.id, seq).Scan(&data)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return imap.Errorf("read", imap.ErrNonexistent, "message expunged")
	}
	if err != nil {
		return wrapErr("read", err)
	}
	want := min(chunkSize, b.size-seq*chunkSize)
	if int64(len(data)) != want {
		return fmt.Errorf("postgres: read: chunk %d of body %d is %d bytes, want %d", seq, b.id, len(data), want)
	}
	b.seq, b.data = seq, data
	return nil
}
