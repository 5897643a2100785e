package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

var _ ports.SortRecords = (*Store)(nil)

// LoadSortRecords returns the mailbox's saved sort records (one row of
// sortrecords, keyed by the mailbox's row id, so that it follows a RENAME
// and goes with the row on DELETE).
func (s *Store) LoadSortRecords(ctx context.Context, user, name string) (uint32, []byte, error) {
	const op = "load sort records"
	var v uint32
	var data []byte
	err := s.read(ctx, user, op, func(tx *sql.Tx) error {
		m, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `SELECT uidvalidity, data FROM sortrecords WHERE mailbox_id = ?`, m.id).Scan(&v, &data)
		if errors.Is(err, sql.ErrNoRows) {
			v, data = 0, nil
			return nil
		}
		return err
	})
	return v, data, err
}

// SaveSortRecords replaces the mailbox's sort records. It needs no
// fsync of its own: a list lost in a power cut is computed again.
func (s *Store) SaveSortRecords(ctx context.Context, user, name string, uidValidity uint32, data []byte) error {
	const op = "save sort records"
	return s.writeLight(ctx, user, op, func(tx *sql.Tx) error {
		m, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil || m.uidValidity != uidValidity {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO sortrecords (mailbox_id, uidvalidity, data) VALUES (?, ?, ?)`,
			m.id, uidValidity, data)
		return err
	})
}
