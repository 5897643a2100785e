package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

var _ ports.MessageSortRecords = (*Store)(nil)

// msgSortSchema is schema version 11: each body's sort record
// (ports.NewMessage.SortRecord), written by the transaction that stores
// the body and deleted with it. Copies share their original's body, so
// COPY and MOVE keep the record without writing anything; a body stored
// before version 11 has no row, and SORT computes its record as before.
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
// body's record by the body's id, gathered by SQLite into one row. The
// scan starts at from, on the messages' primary key.
func (s *Store) MessageSortRecords(ctx context.Context, user, name string, from imap.UID) (uint32, []imap.UID, [][]byte, error) {
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
		// One row: the UIDs and the records' lengths as lists of
		// numbers, and the records end to end (group_concat copies a
		// blob's bytes as they are), so that the per-row cost of the
		// driver is paid once, not per message. The scan of messages
		// by its key gives them in UID order; should SQLite ever take
		// another, they are sorted here (an ORDER BY in the aggregates
		// would sort every record, costing more than the scan).
		var uidList, lenList sql.NullString
		var buf []byte
		err = tx.QueryRowContext(ctx, `SELECT group_concat(m.uid, ','),
				group_concat(length(r.record), ','),
				CAST(group_concat(r.record, '') AS BLOB)
			FROM messages m JOIN body_sortrecords r ON r.body_id = m.body_id
			WHERE m.mailbox_id = ? AND m.uid >= ?`, m.id, uint32(from)).Scan(&uidList, &lenList, &buf)
		if err != nil || !uidList.Valid {
			return err
		}
		us, ls := strings.Split(uidList.String, ","), strings.Split(lenList.String, ",")
		if len(us) != len(ls) {
			return fmt.Errorf("%d UIDs, %d records", len(us), len(ls))
		}
		uids = make([]imap.UID, len(us))
		recs = make([][]byte, len(us))
		start := 0
		for i := range us {
			u, err1 := strconv.ParseUint(us[i], 10, 32)
			n, err2 := strconv.Atoi(ls[i])
			if err1 != nil || err2 != nil || n < 0 || start+n > len(buf) {
				return fmt.Errorf("unreadable record list")
			}
			uids[i] = imap.UID(u)
			recs[i] = buf[start : start+n : start+n]
			start += n
		}
		if start != len(buf) {
			return fmt.Errorf("unreadable record list")
		}
		if !slices.IsSorted(uids) {
			order := make([]int, len(uids))
			for i := range order {
				order[i] = i
			}
			slices.SortFunc(order, func(a, b int) int { return cmp.Compare(uids[a], uids[b]) })
			su, sr := make([]imap.UID, len(uids)), make([][]byte, len(uids))
			for i, k := range order {
				su[i], sr[i] = uids[k], recs[k]
			}
			uids, recs = su, sr
		}
		return nil
	})
	if err != nil {
		return 0, nil, nil, err
	}
	return v, uids, recs, nil
}
