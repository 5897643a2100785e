package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// BulkAppend fills a mailbox with n messages sharing one body of the given
// bytes, in a single transaction: a fast path for benchmarks only.
func BulkAppend(s *Store, user, name string, n int, body []byte, flags string) error {
	ctx := context.Background()
	sec, zone := dateIn(time.Now())
	return s.write(ctx, user, "bulk", func(tx *sql.Tx) error {
		m, err := lookup(ctx, tx, "bulk", user, name, imap.ErrTryCreate)
		if err != nil {
			return err
		}
		id, err := insertBody(ctx, tx, ports.NewMessage{Size: int64(len(body)), Body: bytes.NewReader(body)})
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE bodies SET refs = ? WHERE id = ?`, n, id); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO messages
			(mailbox_id, uid, modseq, flags, internaldate, zone, size, body_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		modseq := m.highest + 1
		for i := range n {
			if _, err := stmt.ExecContext(ctx, m.id, m.uidNext+imap.UID(i), modseq, flags, sec, zone, len(body), id); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE mailboxes SET uidnext = ?, highestmodseq = ? WHERE id = ?`,
			m.uidNext+imap.UID(n), modseq, m.id)
		return err
	})
}

// Held reports the operations using the user's open database and the
// connections it has in use (0, 0 when it is not open).
func Held(s *Store, user string) (refs, inUse int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.dbs[user]
	if u == nil {
		return 0, 0
	}
	return u.refs, u.w.Stats().InUse + u.r.Stats().InUse + u.b.Stats().InUse
}
