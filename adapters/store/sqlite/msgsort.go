package sqlite

import (
	"context"
	"database/sql"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

var _ ports.MessageSortRecords = (*Store)(nil)

// msgSortSchema is schema version 8: each body's sort record
// (ports.NewMessage.SortRecord), written by the transaction that stores
// the body and deleted with it. Copies share their original's body, so
// COPY and MOVE keep the record without writing anything; a body stored
// before version 8 has no row, and SORT computes its record as before.
const msgSortSchema = `
CREATE TABLE IF NOT EXISTS body_sortrecords (
	body_id INTEGER PRIMARY KEY,
	record  BLOB NOT NULL
);
CREATE TRIGGER IF NOT EXISTS body_sortrecords_gone AFTER DELETE ON bodies BEGIN
	DELETE FROM body_sortrecords WHERE body_id = old.id;
END;
`

// insertSortRecord keeps the record of a body being inserted, if the
// message came with one.
func insertSortRecord(ctx context.Context, tx *sql.Tx, bodyID int64, rec []byte) error {
	if rec == nil {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO body_sortrecords (body_id, record) VALUES (?, ?)`, bodyID, rec)
	return err
}

// MessageSortRecords returns the records of the mailbox's messages that
// have one: one range scan of the mailbox's messages, each joined to its
// body's record by the body's id. The records are read into one buffer.
func (s *Store) MessageSortRecords(ctx context.Context, user, name string) (uint32, []imap.UID, [][]byte, error) {
	const op = "message sort records"
	var (
		v    uint32
		uids []imap.UID
		recs [][]byte
	)
	err := s.read(ctx, user, op, func(tx *sql.Tx) error {
		m, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		v = m.uidValidity
		rows, err := tx.QueryContext(ctx, `SELECT m.uid, r.record FROM messages m
			JOIN body_sortrecords r ON r.body_id = m.body_id
			WHERE m.mailbox_id = ? ORDER BY m.uid`, m.id)
		if err != nil {
			return err
		}
		defer rows.Close()
		uids, recs = uids[:0], recs[:0]
		var buf []byte
		var ends []int
		for rows.Next() {
			var uid imap.UID
			var rec sql.RawBytes
			if err := rows.Scan(&uid, &rec); err != nil {
				return err
			}
			uids = append(uids, uid)
			buf = append(buf, rec...)
			ends = append(ends, len(buf))
		}
		if err := rows.Err(); err != nil {
			return err
		}
		recs = make([][]byte, len(ends))
		start := 0
		for i, end := range ends {
			recs[i] = buf[start:end:end]
			start = end
		}
		return nil
	})
	if err != nil {
		return 0, nil, nil, err
	}
	return v, uids, recs, nil
}
