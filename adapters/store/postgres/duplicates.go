package postgres

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/imapd-go/imapd/ports"
)

// schemaV4 keeps lmtpd's delivery records (ports.Duplicates) beside the
// mail, so that every host sharing the database suppresses a duplicate
// whichever host took the first copy. Message-ID and Date are the header
// fields as written, which need not be UTF-8: they are kept as bytes.
// at is the delivery's time in Unix seconds; delivered_at serves the
// pruning of expired records.
const schemaV4 = `
CREATE TABLE delivered (
	msgid    bytea NOT NULL,
	date     bytea NOT NULL,
	username text NOT NULL,
	mailbox  text NOT NULL,
	at       bigint NOT NULL,
	PRIMARY KEY (msgid, date, username, mailbox)
);
CREATE INDEX delivered_at ON delivered (at);
`

// DefaultDuplicateExpiry is how long Duplicates remembers a delivery
// when given no expiry: three days, as lmtp_duplicate_expire's default.
const DefaultDuplicateExpiry = 3 * 24 * time.Hour

// duplicatesPruneEvery is how often one process deletes expired delivery
// records, at most.
const duplicatesPruneEvery = 10 * time.Minute

// Duplicates is ports.Duplicates in the store's database: lmtpd's
// delivery records, shared by every process of every host on it. It
// uses the Store's pool and lives as long as the Store.
type Duplicates struct {
	s      *Store
	expiry time.Duration

	mu        sync.Mutex
	lastPrune time.Time
}

var _ ports.Duplicates = (*Duplicates)(nil)

// Duplicates returns the delivery records of the store's database,
// remembered for expiry (DefaultDuplicateExpiry when expiry <= 0).
func (s *Store) Duplicates(expiry time.Duration) *Duplicates {
	if expiry <= 0 {
		expiry = DefaultDuplicateExpiry
	}
	return &Duplicates{s: s, expiry: expiry}
}

// Delivered implements ports.Duplicates. A record's age is measured
// against this host's clock, as its time was taken from the recording
// host's: the hosts' clocks are assumed to agree to well within the
// expiry.
func (d *Duplicates) Delivered(ctx context.Context, k ports.Delivery) (bool, error) {
	var at int64
	err := d.s.retry(ctx, func() error {
		return d.s.pool.QueryRow(ctx, `SELECT at FROM delivered WHERE msgid = $1 AND date = $2 AND username = $3 AND mailbox = $4`,
			[]byte(k.MessageID), []byte(k.Date), k.User, k.Mailbox).Scan(&at)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, wrapErr("duplicates", err)
	}
	return time.Since(time.Unix(at, 0)) < d.expiry, nil
}

// Record implements ports.Duplicates: one upsert, which moves the time of
// a repeated record, and, at most every duplicatesPruneEvery per process,
// the deletion of the expired records in the same transaction.
func (d *Duplicates) Record(ctx context.Context, k ports.Delivery, at time.Time) error {
	d.mu.Lock()
	prune := time.Since(d.lastPrune) >= duplicatesPruneEvery
	if prune {
		d.lastPrune = time.Now()
	}
	d.mu.Unlock()
	var tx pgx.Tx
	err := d.s.retry(ctx, func() error {
		var err error
		tx, err = d.s.pool.Begin(ctx)
		return err
	})
	if err != nil {
		return wrapErr("duplicates", err)
	}
	err = func() error {
		if _, err := tx.Exec(ctx, `INSERT INTO delivered (msgid, date, username, mailbox, at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (msgid, date, username, mailbox) DO UPDATE SET at = excluded.at`,
			[]byte(k.MessageID), []byte(k.Date), k.User, k.Mailbox, at.Unix()); err != nil {
			return err
		}
		if prune {
			if _, err := tx.Exec(ctx, `DELETE FROM delivered WHERE at < $1`, time.Now().Add(-d.expiry).Unix()); err != nil {
				return err
			}
		}
		return tx.Commit(ctx)
	}()
	if err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
	}
	return wrapErr("duplicates", err)
}

// Prune deletes the records older than the expiry now and says how many.
func (d *Duplicates) Prune(ctx context.Context) (int64, error) {
	var n int64
	err := d.s.retry(ctx, func() error {
		tag, err := d.s.pool.Exec(ctx, `DELETE FROM delivered WHERE at < $1`, time.Now().Add(-d.expiry).Unix())
		n = tag.RowsAffected()
		return err
	})
	return n, wrapErr("duplicates", err)
}
