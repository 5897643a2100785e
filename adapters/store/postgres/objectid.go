package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

var (
	_ ports.ObjectIDs          = (*Store)(nil)
	_ ports.SortRecords        = (*Store)(nil)
	_ ports.MessageSortRecords = (*Store)(nil)
)

// MailboxID returns the mailbox's RFC 8474 MAILBOXID, given when it was
// created.
func (s *Store) MailboxID(ctx context.Context, user, name string) (string, error) {
	const op = "mailboxid"
	var id string
	err := s.read(ctx, op, func(tx pgx.Tx) error {
		m, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT mailboxid FROM mailboxes WHERE id = $1`, m.id).Scan(&id)
	})
	return id, err
}

// SetMailboxID gives the mailbox the id (migration).
func (s *Store) SetMailboxID(ctx context.Context, user, name, id string) error {
	const op = "set mailboxid"
	if !imap.IsObjectID(id) {
		return imap.Errorf(op, imap.ErrCannot, "invalid object id %q", id)
	}
	return s.write(ctx, user, op, false, func(t *userTx) error {
		m, err := lookup(ctx, t, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		_, err = t.Exec(ctx, `UPDATE mailboxes SET mailboxid = $1 WHERE id = $2`, id, m.id)
		return err
	})
}

// AssignThread looks the Message-IDs up in the user's thread index and
// records the answer for those without one, under the user's lock.
func (s *Store) AssignThread(ctx context.Context, user string, msgIDs []string, fresh string) (string, error) {
	const op = "thread"
	if len(msgIDs) == 0 {
		return fresh, nil
	}
	for _, m := range msgIDs {
		if !storable(m) {
			return fresh, nil
		}
	}
	thread := fresh
	err := s.write(ctx, user, op, true, func(t *userTx) error {
		thread = fresh
		var found []string
		found, err := collect[string](ctx, t.Tx, `SELECT threadid FROM threads
			JOIN unnest($2::text[]) WITH ORDINALITY AS v(msgid, n) USING (msgid)
			WHERE user_id = $1 ORDER BY v.n LIMIT 1`, t.uid, msgIDs)
		if err != nil {
			return err
		}
		if len(found) > 0 {
			thread = found[0]
		}
		_, err = t.Exec(ctx, `INSERT INTO threads (user_id, msgid, threadid) SELECT $1, m, $3 FROM unnest($2::text[]) AS m
			ON CONFLICT DO NOTHING`, t.uid, msgIDs, thread)
		return err
	})
	return thread, err
}

// Threads calls f with every entry of the user's thread index.
func (s *Store) Threads(ctx context.Context, user string, f func(msgID, threadID string) error) error {
	const op = "threads"
	var pairs [][2]string
	err := s.read(ctx, op, func(tx pgx.Tx) error {
		pairs = nil
		rows, err := tx.Query(ctx, `SELECT t.msgid, t.threadid FROM threads t JOIN users u ON u.id = t.user_id WHERE u.name = $1`, user)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p [2]string
			if err := rows.Scan(&p[0], &p[1]); err != nil {
				return err
			}
			pairs = append(pairs, p)
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	for _, p := range pairs {
		if err := f(p[0], p[1]); err != nil {
			return err
		}
	}
	return nil
}

// LoadSortRecords returns the list last saved for the mailbox.
func (s *Store) LoadSortRecords(ctx context.Context, user, name string) (uint32, []byte, error) {
	const op = "load sort records"
	var v int64
	var data []byte
	err := s.read(ctx, op, func(tx pgx.Tx) error {
		m, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		v, data = 0, nil
		err = tx.QueryRow(ctx, `SELECT uidvalidity, data FROM sortrecords WHERE mailbox_id = $1`, m.id).Scan(&v, &data)
		if err == pgx.ErrNoRows {
			v, data = 0, nil
			return nil
		}
		return err
	})
	return uint32(v), data, err
}

// SaveSortRecords replaces the mailbox's list, unless its UIDVALIDITY
// changed. It takes no user lock: the row is the mailbox's alone.
func (s *Store) SaveSortRecords(ctx context.Context, user, name string, uidValidity uint32, data []byte) error {
	const op = "save sort records"
	m, err := s.lookup(ctx, op, user, name, imap.ErrNonexistent)
	if err != nil || m.uidValidity != uidValidity {
		return wrapErr(op, err)
	}
	err = s.retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, `INSERT INTO sortrecords (mailbox_id, uidvalidity, data)
			SELECT id, uidvalidity, $3 FROM mailboxes WHERE id = $1 AND uidvalidity = $2
			ON CONFLICT (mailbox_id) DO UPDATE SET uidvalidity = excluded.uidvalidity, data = excluded.data`,
			m.id, int64(uidValidity), data)
		return err
	})
	return wrapErr(op, err)
}

// MessageSortRecords returns the records kept with the mailbox's messages
// from UID from on.
func (s *Store) MessageSortRecords(ctx context.Context, user, name string, from imap.UID) (uint32, []imap.UID, [][]byte, error) {
	const op = "message sort records"
	var v uint32
	var uids []imap.UID
	var recs [][]byte
	err := s.read(ctx, op, func(tx pgx.Tx) error {
		m, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		v, uids, recs = m.uidValidity, nil, nil
		rows, err := tx.Query(ctx, `SELECT m.uid, b.sortrecord FROM messages m JOIN bodies b ON b.id = m.body_id
			WHERE m.mailbox_id = $1 AND m.uid >= $2 AND b.sortrecord IS NOT NULL ORDER BY m.uid`, m.id, int64(from))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var u int64
			var r []byte
			if err := rows.Scan(&u, &r); err != nil {
				return err
			}
			uids = append(uids, imap.UID(u))
			recs = append(recs, r)
		}
		return rows.Err()
	})
	if err != nil {
		return 0, nil, nil, err
	}
	return v, uids, recs, nil
}
