package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

var _ ports.Quotas = (*Store)(nil)

// Each user is one quota root: its limits and usage live on the user's
// row, which every write locks first, so a charge is judged under the
// same lock as the write that makes it (ports.Quotas).

// readQuota reads the locked user's limits and usage.
func readQuota(ctx context.Context, t *userTx) (ports.Quota, error) {
	var q ports.Quota
	err := t.QueryRow(ctx, `SELECT storage_limit, message_limit, mailbox_limit, storage_used, message_used
		FROM users WHERE id = $1`, t.uid).
		Scan(&q.Limits.Storage, &q.Limits.Messages, &q.Limits.Mailboxes, &q.Usage.Storage, &q.Usage.Messages)
	return q, err
}

// charge adds bytes and msgs (negative: removes them) to the user's
// usage, failing with imap.ErrOverQuota when growth passes a limit (the
// caller's transaction then rolls the change back): one statement.
func charge(ctx context.Context, t *userTx, op string, bytes, msgs int64) error {
	if bytes == 0 && msgs == 0 {
		return nil
	}
	var q ports.Quota
	err := t.QueryRow(ctx, `UPDATE users SET storage_used = storage_used + $2, message_used = message_used + $3
		WHERE id = $1 RETURNING storage_limit, message_limit, mailbox_limit, storage_used - $2, message_used - $3`,
		t.uid, bytes, msgs).
		Scan(&q.Limits.Storage, &q.Limits.Messages, &q.Limits.Mailboxes, &q.Usage.Storage, &q.Usage.Messages)
	if err != nil {
		return err
	}
	if !q.Limits.Admits(q.Usage, bytes, msgs) {
		return imap.Errorf(op, imap.ErrOverQuota, "%d bytes in %d messages would exceed the quota", bytes, msgs)
	}
	return nil
}

// chargeAlways changes the usage without judging the limits (imports).
func chargeAlways(ctx context.Context, t *userTx, bytes, msgs int64) error {
	_, err := t.Exec(ctx, `UPDATE users SET storage_used = storage_used + $2, message_used = message_used + $3 WHERE id = $1`,
		t.uid, bytes, msgs)
	return err
}

func countMailboxes(ctx context.Context, q querier, uid int64) (int64, error) {
	var n int64
	err := q.QueryRow(ctx, `SELECT count(*) FROM mailboxes WHERE user_id = $1`, uid).Scan(&n)
	return n, err
}

// admitMailboxes runs fn, which creates mailboxes, and fails with
// imap.ErrOverQuota (the caller's transaction then rolls back) when they
// take the user past its MAILBOX limit.
func admitMailboxes(ctx context.Context, t *userTx, op string, fn func() error) error {
	q, err := readQuota(ctx, t)
	if err != nil {
		return err
	}
	if q.Limits.Mailboxes < 0 {
		return fn()
	}
	before, err := countMailboxes(ctx, t, t.uid)
	if err != nil {
		return err
	}
	if err := fn(); err != nil {
		return err
	}
	after, err := countMailboxes(ctx, t, t.uid)
	if err != nil {
		return err
	}
	q.Usage.Mailboxes = before
	if !q.Limits.AdmitsMailboxes(q.Usage, after-before) {
		return imap.Errorf(op, imap.ErrOverQuota, "%d mailboxes would exceed the quota of %d", after, q.Limits.Mailboxes)
	}
	return nil
}

// Quota returns the user's limits and usage from one snapshot.
func (s *Store) Quota(ctx context.Context, user string) (ports.Quota, error) {
	const op = "quota"
	var q ports.Quota
	err := s.read(ctx, op, func(tx pgx.Tx) error {
		m, err := lookup(ctx, tx, op, user, inbox, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		var uid int64
		if err := tx.QueryRow(ctx, `SELECT user_id FROM mailboxes WHERE id = $1`, m.id).Scan(&uid); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT storage_limit, message_limit, mailbox_limit, storage_used, message_used
			FROM users WHERE id = $1`, uid).
			Scan(&q.Limits.Storage, &q.Limits.Messages, &q.Limits.Mailboxes, &q.Usage.Storage, &q.Usage.Messages); err != nil {
			return err
		}
		q.Usage.Mailboxes, err = countMailboxes(ctx, tx, uid)
		return err
	})
	return q, err
}

// SetQuota replaces the user's limits.
func (s *Store) SetQuota(ctx context.Context, user string, l ports.QuotaLimits) error {
	const op = "set quota"
	return s.write(ctx, user, op, false, func(t *userTx) error {
		if _, err := lookup(ctx, t, op, user, inbox, imap.ErrNonexistent); err != nil {
			return err
		}
		_, err := t.Exec(ctx, `UPDATE users SET storage_limit = $2, message_limit = $3, mailbox_limit = $4 WHERE id = $1`,
			t.uid, max(l.Storage, ports.NoLimit), max(l.Messages, ports.NoLimit), max(l.Mailboxes, ports.NoLimit))
		return err
	})
}
