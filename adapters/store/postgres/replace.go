package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/imapd-go/imapd/adapters/store/internal/flaglist"
	"github.com/imapd-go/imapd/adapters/store/internal/newmsg"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

var _ ports.Replacer = (*Store)(nil)

// Replace appends msg to dest and expunges old from name in one
// transaction (RFC 8508): the new body is streamed in before the user's
// lock is taken, as APPEND's is.
func (s *Store) Replace(ctx context.Context, user, name string, old imap.UID, dest string, msg ports.NewMessage) (ports.AppendResult, error) {
	const op = "replace"
	flags, err := newmsg.Flags(msg)
	if err != nil {
		return ports.AppendResult{}, fmt.Errorf("postgres: %s: %w", op, err)
	}
	date := msg.InternalDate
	if date.IsZero() {
		date = time.Now()
	}
	sec, zone := dateIn(date)
	if _, err := s.lookup(ctx, op, user, name, imap.ErrNonexistent); err != nil {
		return ports.AppendResult{}, wrapErr(op, err)
	}
	if _, err := s.lookup(ctx, op, user, dest, imap.ErrTryCreate); err != nil {
		return ports.AppendResult{}, wrapErr(op, err)
	}
	var bodyID int64
	var res ports.AppendResult
	err = s.writeAfter(ctx, user, op, false, func(tx pgx.Tx) error {
		var err error
		bodyID, err = insertBody(ctx, tx, msg)
		return err
	}, func(t *userTx) error {
		src, err := lookup(ctx, t, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		var oldSize int64
		err = t.QueryRow(ctx, `SELECT size FROM messages WHERE mailbox_id = $1 AND uid = $2`, src.id, int64(old)).Scan(&oldSize)
		if errors.Is(err, pgx.ErrNoRows) {
			return imap.Errorf(op, imap.ErrNoMessage, "UID %d of %q", old, name)
		}
		if err != nil {
			return err
		}
		dst, err := lookup(ctx, t, op, user, dest, imap.ErrTryCreate)
		if err != nil {
			return err
		}
		if uint64(dst.uidNext)+1 > maxUID {
			return imap.Errorf(op, imap.ErrCannot, "mailbox %q has used every UID", dest)
		}
		if err := admitKeywords(ctx, t, op, dst.id, imap.NewKeywordSet().Missing(flags)); err != nil {
			return err
		}
		if err := charge(ctx, t, op, msg.Size-oldSize, 0); err != nil {
			return err
		}
		var gone []imap.UID
		if err := expungeUIDs(ctx, t, op, src.id, []int64{int64(old)}, &gone, false); err != nil {
			return err
		}
		uid, modseq, err := allocate(ctx, t, dst.id, 1)
		if err != nil {
			return err
		}
		if _, err := t.Exec(ctx, `INSERT INTO messages (mailbox_id, uid, modseq, flags, internaldate, zone, size, body_id, savedate)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			dst.id, int64(uid), int64(modseq), flaglist.Join(flags), sec, zone, msg.Size, bodyID, saveDate(msg)); err != nil {
			return err
		}
		res = ports.AppendResult{UIDValidity: dst.uidValidity, UID: uid}
		return nil
	})
	if err != nil {
		return ports.AppendResult{}, err
	}
	return res, nil
}
