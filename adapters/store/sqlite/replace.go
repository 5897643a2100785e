package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/imapd-go/imapd/adapters/store/internal/flaglist"
	"github.com/imapd-go/imapd/adapters/store/internal/newmsg"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

var _ ports.Replacer = (*Store)(nil)

// Replace expunges old from name and appends msg to dest in one write
// transaction (RFC 8508 REPLACE): the commit makes both durable at once,
// and a failure or a crash before it leaves neither.
func (s *Store) Replace(ctx context.Context, user, name string, old imap.UID, dest string, msg ports.NewMessage) (ports.AppendResult, error) {
	const op = "replace"
	flags, err := newmsg.Flags(msg)
	if err != nil {
		return ports.AppendResult{}, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	var res ports.AppendResult
	err = s.write(ctx, user, op, func(tx *sql.Tx) error {
		src, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		var bodyID, oldSize int64
		err = tx.QueryRowContext(ctx, `SELECT body_id, size FROM messages WHERE mailbox_id = ? AND uid = ?`, src.id, old).Scan(&bodyID, &oldSize)
		if err == sql.ErrNoRows {
			return imap.Errorf(op, imap.ErrNoMessage, "UID %d of %q", old, name)
		}
		if err != nil {
			return err
		}
		dst, err := lookup(ctx, tx, op, user, dest, imap.ErrTryCreate)
		if err != nil {
			return err
		}
		if uint64(dst.uidNext)+1 > maxUID {
			return imap.Errorf(op, imap.ErrCannot, "mailbox %q has used every UID", dest)
		}
		if err := admitKeywords(ctx, tx, op, dst.id, imap.NewKeywordSet().Missing(flags)); err != nil {
			return err
		}
		// Both mailboxes are in the user's one quota root: it changes
		// by the difference of the two sizes.
		if err := charge(ctx, tx, op, msg.Size-oldSize, 0); err != nil {
			return err
		}
		// The old message goes first, with its own mod-sequence; the new
		// one comes after it, so a client of the destination sees the
		// two changes in that order (the mailbox's counters are read
		// again: it may be the source).
		modseq := src.highest + 1
		if _, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE mailbox_id = ? AND uid = ?`, src.id, old); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)`, src.id, old, modseq); err != nil {
			return err
		}
		if err := release(ctx, tx, []int64{bodyID}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE mailboxes SET highestmodseq = ? WHERE id = ?`, modseq, src.id); err != nil {
			return err
		}
		if dst, err = lookup(ctx, tx, op, user, dest, imap.ErrTryCreate); err != nil {
			return err
		}
		date := msg.InternalDate
		if date.IsZero() {
			date = time.Now()
		}
		sec, zone := dateIn(date)
		newBody, err := insertBody(ctx, tx, msg)
		if err != nil {
			return err
		}
		modseq, uid := dst.highest+1, dst.uidNext
		if _, err := tx.ExecContext(ctx, `INSERT INTO messages
			(mailbox_id, uid, modseq, flags, internaldate, zone, size, body_id, savedate)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			dst.id, uid, modseq, flaglist.Join(flags), sec, zone, msg.Size, newBody, saveDate(msg)); err != nil {
			return err
		}
		res = ports.AppendResult{UIDValidity: dst.uidValidity, UID: uid}
		_, err = tx.ExecContext(ctx, `UPDATE mailboxes SET uidnext = ?, highestmodseq = ? WHERE id = ?`, uid+1, modseq, dst.id)
		return err
	})
	if err != nil {
		return ports.AppendResult{}, err
	}
	return res, nil
}
