package sqlite

import (
	"context"
	"database/sql"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// quotaSchema holds the user's quota root (ports.Quotas): one row, its
// limits and its usage, which every write that adds or removes messages
// changes in its own transaction, so that the usage is always the sum of
// the messages' sizes without ever summing them, and two processes
// (whose writes the database lock serialises) never both take the last
// bytes. The number of mailboxes is counted when asked (the mailboxes
// table is small, and only CREATE and RENAME ask). Added in schema
// version 10.
const quotaSchema = `
CREATE TABLE IF NOT EXISTS quota (
	id            INTEGER PRIMARY KEY CHECK (id = 1),
	storage_limit INTEGER NOT NULL DEFAULT -1,
	message_limit INTEGER NOT NULL DEFAULT -1,
	mailbox_limit INTEGER NOT NULL DEFAULT -1,
	storage_used  INTEGER NOT NULL DEFAULT 0,
	message_used  INTEGER NOT NULL DEFAULT 0
);
`

// fillQuotaSQL gives a database its quota row, with the usage counted
// from the messages it holds (an upgrade, a split, a new database).
const fillQuotaSQL = `INSERT OR IGNORE INTO quota (id, storage_used, message_used)
	SELECT 1, coalesce(sum(size), 0), count(*) FROM messages`

// upgradeQuota is schema version 10's step: the quota table (made by
// schema) gets its row, counted from the messages already stored.
func upgradeQuota(ctx context.Context, tx *sql.Tx, v int) error {
	if v >= 10 {
		return nil
	}
	_, err := tx.ExecContext(ctx, fillQuotaSQL)
	return err
}

var _ ports.Quotas = (*Store)(nil)

// readQuota reads the quota row inside tx. Every database has it (the
// upgrade, a split and a new database make it); should one lack it, the
// usage is counted, and a write transaction (write) keeps the count.
func readQuota(ctx context.Context, tx *sql.Tx, write bool) (ports.Quota, error) {
	q := ports.Quota{Limits: ports.Unlimited}
	err := tx.QueryRowContext(ctx, `SELECT storage_limit, message_limit, mailbox_limit, storage_used, message_used FROM quota WHERE id = 1`).
		Scan(&q.Limits.Storage, &q.Limits.Messages, &q.Limits.Mailboxes, &q.Usage.Storage, &q.Usage.Messages)
	if err != sql.ErrNoRows {
		return q, err
	}
	if write {
		if _, err := tx.ExecContext(ctx, fillQuotaSQL); err != nil {
			return q, err
		}
	}
	err = tx.QueryRowContext(ctx, `SELECT coalesce(sum(size), 0), count(*) FROM messages`).Scan(&q.Usage.Storage, &q.Usage.Messages)
	return q, err
}

// charge changes the usage by bytes and msgs inside tx, before the
// messages are written; growth past a limit is imap.ErrOverQuota and the
// caller's transaction rolls back, so nothing is stored.
func charge(ctx context.Context, tx *sql.Tx, op string, bytes, msgs int64) error {
	if bytes == 0 && msgs == 0 {
		return nil
	}
	q, err := readQuota(ctx, tx, true)
	if err != nil {
		return err
	}
	if !q.Limits.Admits(q.Usage, bytes, msgs) {
		return imap.Errorf(op, imap.ErrOverQuota, "%d bytes in %d messages would exceed the quota", bytes, msgs)
	}
	_, err = tx.ExecContext(ctx, `UPDATE quota SET storage_used = storage_used + ?, message_used = message_used + ? WHERE id = 1`, bytes, msgs)
	return err
}

// countMailboxes is the number of mailboxes in the database (one user's).
func countMailboxes(ctx context.Context, tx *sql.Tx) (int64, error) {
	var n int64
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM mailboxes`).Scan(&n)
	return n, err
}

// admitMailboxes runs a change that may create mailboxes (fn, inside tx)
// and fails it with imap.ErrOverQuota, for the caller's transaction to
// roll back, when it took the root past its MAILBOX limit.
func admitMailboxes(ctx context.Context, tx *sql.Tx, op string, fn func() error) error {
	q, err := readQuota(ctx, tx, true)
	if err != nil {
		return err
	}
	if q.Limits.Mailboxes < 0 {
		return fn()
	}
	before, err := countMailboxes(ctx, tx)
	if err != nil {
		return err
	}
	if err := fn(); err != nil {
		return err
	}
	after, err := countMailboxes(ctx, tx)
	if err != nil {
		return err
	}
	q.Usage.Mailboxes = before
	if !q.Limits.AdmitsMailboxes(q.Usage, after-before) {
		return imap.Errorf(op, imap.ErrOverQuota, "%d mailboxes would exceed the quota of %d", after, q.Limits.Mailboxes)
	}
	return nil
}

// Quota returns the user's limits and usage from one read transaction.
func (s *Store) Quota(ctx context.Context, user string) (ports.Quota, error) {
	var q ports.Quota
	err := s.read(ctx, user, "quota", func(tx *sql.Tx) error {
		if err := userExists(ctx, tx, "quota", user); err != nil {
			return err
		}
		var err error
		if q, err = readQuota(ctx, tx, false); err != nil {
			return err
		}
		q.Usage.Mailboxes, err = countMailboxes(ctx, tx)
		return err
	})
	return q, err
}

// SetQuota replaces the user's limits.
func (s *Store) SetQuota(ctx context.Context, user string, l ports.QuotaLimits) error {
	return s.write(ctx, user, "set quota", func(tx *sql.Tx) error {
		if err := userExists(ctx, tx, "set quota", user); err != nil {
			return err
		}
		if _, err := readQuota(ctx, tx, true); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE quota SET storage_limit = ?, message_limit = ?, mailbox_limit = ? WHERE id = 1`,
			max(l.Storage, ports.NoLimit), max(l.Messages, ports.NoLimit), max(l.Mailboxes, ports.NoLimit))
		return err
	})
}

// userExists is imap.ErrNonexistent unless the user has an INBOX.
func userExists(ctx context.Context, tx *sql.Tx, op, user string) error {
	_, err := lookup(ctx, tx, op, user, inbox, imap.ErrNonexistent)
	return err
}
