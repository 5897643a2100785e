package postgres

import (
	"context"
	"fmt"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

var _ ports.BodyBatches = (*Store)(nil)

// readAhead bounds the bytes one OpenBodies reads with its lookup: the
// one-chunk bodies (most mail) come whole until they add up to this, and
// the rest read their chunks on use, as Open's do.
const readAhead = 4 << 20

// OpenBodies opens many messages' bodies in one statement, which also
// brings the data of the small ones: FETCH 1:* BODY[] then costs a round
// trip per batch rather than one per message.
func (s *Store) OpenBodies(ctx context.Context, user, name string, uids []imap.UID) ([]ports.MessageBody, error) {
	const op = "open"
	if !storable(user) || !storable(name) {
		return nil, imap.Errorf(op, imap.ErrNonexistent, "%q", name)
	}
	want := sortedUIDs(uids)
	byUID := make(map[imap.UID]*body, len(want))
	var mbox *int64
	err := s.retry(ctx, func() error {
		clear(byUID)
		mbox = nil
		// The mailbox's row comes first (uid NULL), so that a
		// mailbox without any of the messages is told from a missing
		// one in the same round trip; the data of a small body comes
		// while the running total stays within readAhead.
		rows, err := s.pool.Query(ctx, `WITH mb AS (SELECT mb.id FROM mailboxes mb JOIN users u ON u.id = mb.user_id
				WHERE u.name = $1 AND mb.name = $2),
			m AS (SELECT m.uid, m.body_id, m.size,
					sum(CASE WHEN m.size <= $4 THEN m.size ELSE 0 END) OVER (ORDER BY m.uid) AS total
				FROM messages m WHERE m.mailbox_id = (SELECT id FROM mb) AND m.uid = ANY($3::bigint[]))
			SELECT id, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bytea FROM mb
			UNION ALL
			(SELECT NULL, m.uid, m.body_id, m.size,
				CASE WHEN m.size <= $4 AND m.total <= $5 THEN (SELECT data FROM chunks WHERE body_id = m.body_id AND seq = 0) END
			FROM m ORDER BY m.uid)`, user, name, uidArray(want), chunkSize, readAhead)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, uid, bodyID, size *int64
			var data []byte
			if err := rows.Scan(&id, &uid, &bodyID, &size, &data); err != nil {
				return err
			}
			if id != nil {
				mbox = id
				continue
			}
			b := &body{s: s, id: *bodyID, size: *size, seq: -1}
			if data != nil || b.size == 0 {
				if int64(len(data)) != b.size {
					return fmt.Errorf("postgres: %s: body %d is %d bytes, want %d", op, b.id, len(data), b.size)
				}
				b.seq, b.data = 0, data
			}
			byUID[imap.UID(*uid)] = b
		}
		return rows.Err()
	})
	if err != nil {
		return nil, wrapErr(op, err)
	}
	if mbox == nil {
		return nil, imap.Errorf(op, imap.ErrNonexistent, "%q", name)
	}
	out := make([]ports.MessageBody, len(uids))
	for i, u := range uids {
		if b, ok := byUID[u]; ok {
			// Each handle is its own (a UID asked twice gets two);
			// they share the read-only bytes.
			out[i] = &body{s: s, id: b.id, size: b.size, seq: b.seq, data: b.data}
		}
	}
	return out, nil
}
