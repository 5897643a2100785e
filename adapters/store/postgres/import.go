package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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
	if err := imap.CheckMailboxName(op, name); err != nil {
		return err
	}
	if uidValidity == 0 || uidNext == 0 {
		return imap.Errorf(op, imap.ErrCannot, "UIDVALIDITY and UIDNEXT must not be zero")
	}
	return s.write(ctx, user, op, true, func(t *userTx) error {
		m, err := lookup(ctx, t, op, user, name, imap.ErrNonexistent)
		switch {
		case err == nil && m.uidValidity == uidValidity:
			if m.uidNext < uidNext {
				_, err = t.Exec(ctx, `UPDATE mailboxes SET uidnext = $1 WHERE id = $2`, int64(uidNext), m.id)
			}
			return err
		case err == nil && m.uidNext == 1:
			_, err = t.Exec(ctx, `UPDATE mailboxes SET uidvalidity = $1, uidnext = $2, recentuid = $2 WHERE id = $3`,
				int64(uidValidity), int64(uidNext), m.id)
			return err
		case err == nil:
			return imap.Errorf(op, imap.ErrAlreadyExists, "%q has UIDVALIDITY %d", name, m.uidValidity)
		}
		if err := createParents(ctx, t, name); err != nil {
			return err
		}
		_, err = insertMailbox(ctx, t, name, uidValidity, uidNext)
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
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	date := msg.InternalDate
	if date.IsZero() {
		date = time.Now()
	}
	sec, zone := dateIn(date)
	if _, err := s.lookup(ctx, op, user, name, imap.ErrNonexistent); err != nil {
		return wrapErr(op, err)
	}
	var bodyID int64
	return s.writeAfter(ctx, user, op, false, func(tx pgx.Tx) error {
		var err error
		bodyID, err = insertBody(ctx, tx, msg)
		return err
	}, func(t *userTx) error {
		m, err := lookup(ctx, t, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		var present bool
		if err := t.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM messages WHERE mailbox_id = $1 AND uid = $2)`,
			m.id, int64(uid)).Scan(&present); err != nil {
			return err
		}
		if present {
			return imap.Errorf(op, imap.ErrAlreadyExists, "UID %d", uid)
		}
		// Imported mail counts, but is never refused (ports.Quotas).
		if err := chargeAlways(ctx, t, msg.Size, 1); err != nil {
			return err
		}
		var modseq int64
		if err := t.QueryRow(ctx, `UPDATE mailboxes SET uidnext = greatest(uidnext, $2), highestmodseq = highestmodseq + 1,
			keywords = NULL WHERE id = $1 RETURNING highestmodseq`, m.id, int64(uid)+1).Scan(&modseq); err != nil {
			return err
		}
		if _, err := t.Exec(ctx, `INSERT INTO messages (mailbox_id, uid, modseq, flags, internaldate, zone, size, body_id, savedate)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			m.id, int64(uid), modseq, flaglist.Join(flags), sec, zone, msg.Size, bodyID, saveDate(msg)); err != nil {
			return err
		}
		// A tombstone of the same UID (an earlier, interrupted run that
		// was expunged since) no longer holds.
		_, err = t.Exec(ctx, `DELETE FROM expunged WHERE mailbox_id = $1 AND uid = $2`, m.id, int64(uid))
		return err
	})
}
