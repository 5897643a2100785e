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

var _ ports.Importer = (*Store)(nil)

// ImportMailbox creates the mailbox with the given identity, or raises an
// existing one's UIDNEXT, as ports.Importer describes.
func (s *Store) ImportMailbox(ctx context.Context, user, name string, uidValidity uint32, uidNext imap.UID) error {
	const op = "import mailbox"
	if err := checkName(op, name); err != nil {
		return err
	}
	if uidValidity == 0 || uidNext == 0 {
		return imap.Errorf(op, imap.ErrCannot, "UIDVALIDITY and UIDNEXT must not be zero")
	}
	return s.write(ctx, user, op, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, user, true)
		if err != nil {
			return err
		}
		m, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		switch {
		case err == nil && m.uidValidity == uidValidity:
			if m.uidNext < uidNext {
				_, err = tx.ExecContext(ctx, `UPDATE mailboxes SET uidnext = ? WHERE id = ?`, uidNext, m.id)
			}
			return err
		case err == nil && m.uidNext == 1:
			_, err = tx.ExecContext(ctx, `UPDATE mailboxes SET uidvalidity = ?, uidnext = ?, recentuid = ? WHERE id = ?`,
				uidValidity, uidNext, uidNext, m.id)
			return err
		case err == nil:
			return imap.Errorf(op, imap.ErrAlreadyExists, "%q has UIDVALIDITY %d", name, m.uidValidity)
		}
		if err := createParents(ctx, tx, uid, name); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO mailboxes
			(user_id, name, uidvalidity, uidnext, highestmodseq, recentuid, mailboxid) VALUES (?, ?, ?, ?, 1, ?, `+newMailboxIDSQL+`)`,
			uid, name, uidValidity, uidNext, uidNext)
		return err
	})
}

// ImportMessage stores msg under the given UID.
func (s *Store) ImportMessage(ctx context.Context, user, name string, uid imap.UID, msg ports.NewMessage) error {
	const op = "import message"
	if uid == 0 {
		return imap.Errorf(op, imap.ErrCannot, "UID 0")
	}
	flags, err := newmsg.Flags(msg)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	date := msg.InternalDate
	if date.IsZero() {
		date = time.Now()
	}
	sec, zone := dateIn(date)
	return s.write(ctx, user, op, func(tx *sql.Tx) error {
		m, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM messages WHERE mailbox_id = ? AND uid = ?`, m.id, uid).Scan(&one)
		if err == nil {
			return imap.Errorf(op, imap.ErrAlreadyExists, "UID %d", uid)
		}
		if err != sql.ErrNoRows {
			return err
		}
		// Imported mail counts, but is never refused (ports.Quotas).
		if _, err := readQuota(ctx, tx, true); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE quota SET storage_used = storage_used + ?, message_used = message_used + 1 WHERE id = 1`, msg.Size); err != nil {
			return err
		}
		bodyID, err := insertBody(ctx, tx, msg)
		if err != nil {
			return err
		}
		modseq := m.highest + 1
		if _, err := tx.ExecContext(ctx, `INSERT INTO messages
			(mailbox_id, uid, modseq, flags, internaldate, zone, size, body_id, savedate)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.id, uid, modseq, flaglist.Join(flags), sec, zone, msg.Size, bodyID, saveDate(msg)); err != nil {
			return err
		}
		// A tombstone of the same UID (an earlier, interrupted run that
		// was expunged since) no longer holds.
		if _, err := tx.ExecContext(ctx, `DELETE FROM expunged WHERE mailbox_id = ? AND uid = ?`, m.id, uid); err != nil {
			return err
		}
		next := max(m.uidNext, uid+1)
		// The keyword bound no longer holds: admitKeywords counts again.
		_, err = tx.ExecContext(ctx, `UPDATE mailboxes SET uidnext = ?, highestmodseq = ?, keywords = NULL WHERE id = ?`, next, modseq, m.id)
		return err
	})
}
