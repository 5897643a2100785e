package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

var _ ports.ObjectIDs = (*Store)(nil)

// newMailboxIDSQL is the SQL expression of a fresh MAILBOXID, as
// imap.NewObjectID makes them: the prefix and 96 random bits in hex.
const newMailboxIDSQL = `'` + imap.MailboxIDPrefix + `' || lower(hex(randomblob(12)))`

// MailboxID returns the mailbox's RFC 8474 MAILBOXID.
func (s *Store) MailboxID(ctx context.Context, user, name string) (string, error) {
	const op = "mailboxid"
	var id sql.NullString
	err := s.read(ctx, user, op, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT mailboxid FROM mailboxes
			WHERE user_id = (SELECT id FROM users WHERE name = ?) AND name = ?`, user, name).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return imap.Errorf(op, imap.ErrNonexistent, "%q", name)
		}
		return err
	})
	if err != nil || id.Valid {
		return id.String, err
	}
	// Every mailbox gets one when it is created or the schema upgraded;
	// give one all the same rather than fail.
	err = s.write(ctx, user, op, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE mailboxes SET mailboxid = `+newMailboxIDSQL+`
			WHERE user_id = (SELECT id FROM users WHERE name = ?) AND name = ? AND mailboxid IS NULL`, user, name); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT mailboxid FROM mailboxes
			WHERE user_id = (SELECT id FROM users WHERE name = ?) AND name = ?`, user, name).Scan(&id)
	})
	if errors.Is(err, sql.ErrNoRows) {
		err = imap.Errorf(op, imap.ErrNonexistent, "%q", name)
	}
	return id.String, err
}

// SetMailboxID gives the mailbox the id (migration).
func (s *Store) SetMailboxID(ctx context.Context, user, name, id string) error {
	const op = "set mailboxid"
	if !imap.IsObjectID(id) {
		return imap.Errorf(op, imap.ErrCannot, "invalid object id %q", id)
	}
	return s.write(ctx, user, op, func(tx *sql.Tx) error {
		m, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE mailboxes SET mailboxid = ? WHERE id = ?`, id, m.id)
		return err
	})
}

// AssignThread looks msgIDs up in the thread index and records the id it
// returns for those it lacks, in one transaction. It commits without an
// fsync of its own (writeLight): the APPEND that follows makes it durable,
// and an entry lost in a power cut only leaves a later reply unthreaded.
func (s *Store) AssignThread(ctx context.Context, user string, msgIDs []string, fresh string) (string, error) {
	const op = "thread"
	if len(msgIDs) == 0 {
		return fresh, nil
	}
	thread := fresh
	err := s.writeLight(ctx, user, op, func(tx *sql.Tx) error {
		thread = fresh
		for _, m := range msgIDs {
			var t string
			err := tx.QueryRowContext(ctx, `SELECT threadid FROM threads WHERE msgid = ?`, m).Scan(&t)
			if err == nil {
				thread = t
				break
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		for _, m := range msgIDs {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO threads (msgid, threadid) VALUES (?, ?)`, m, thread); err != nil {
				return err
			}
		}
		return nil
	})
	return thread, err
}

// Threads calls f with every entry of the user's thread index.
func (s *Store) Threads(ctx context.Context, user string, f func(msgID, threadID string) error) error {
	const op = "threads"
	return s.read(ctx, user, op, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT msgid, threadid FROM threads`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m, t string
			if err := rows.Scan(&m, &t); err != nil {
				return err
			}
			if err := f(m, t); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}
