// Package duplicates implements ports.Duplicates in an SQLite database in
// the configdirectory (Cyrus keeps the same records in its deliver.db),
// so that every lmtpd process of a site shares it, whichever store holds
// the mail on its disk (a PostgreSQL store that many hosts share keeps
// the records in its database instead). Records expire after a configured period (Cyrus prunes its
// deliver.db with cyr_expire -E; here lmtp_duplicate_expire does it).
//
// It depends on ports and the SQLite driver only.
package duplicates

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	_ "github.com/mattn/go-sqlite3" // the database/sql driver

	"github.com/imapd-go/imapd/ports"
)

// File is the database's name in the configdirectory (not Cyrus's
// deliver.db, whose format differs, so the two can sit side by side).
const File = "duplicates.sqlite3"

// DefaultExpiry is how long a delivery is remembered when
// lmtp_duplicate_expire is not set: three days, as Debian's cyrus.conf
// runs cyr_expire -E 3.
const DefaultExpiry = 3 * 24 * time.Hour

// pruneEvery is how often a process deletes expired records, at most.
const pruneEvery = 10 * time.Minute

// DB is the shared record of deliveries.
type DB struct {
	db     *sql.DB
	expiry time.Duration

	mu        sync.Mutex
	lastPrune time.Time
}

var _ ports.Duplicates = (*DB)(nil)

// Open opens (creating when missing) the database in dir. expiry <= 0
// means DefaultExpiry.
func Open(dir string, expiry time.Duration) (*DB, error) {
	if expiry <= 0 {
		expiry = DefaultExpiry
	}
	// WAL lets readers in other processes go on while one writes; the
	// busy timeout makes writers of several processes wait their turn.
	dsn := "file:" + filepath.Join(dir, File) + "?_journal_mode=WAL&_busy_timeout=10000&_synchronous=NORMAL&_txlock=immediate"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS delivered (
		msgid TEXT NOT NULL, date TEXT NOT NULL, user TEXT NOT NULL, mailbox TEXT NOT NULL,
		at INTEGER NOT NULL,
		PRIMARY KEY (msgid, date, user, mailbox)) WITHOUT ROWID`); err != nil {
		db.Close()
		return nil, fmt.Errorf("duplicates database: %w", err)
	}
	if _, err := db.Exec(`CREATE INDEX IF NOT EXISTS delivered_at ON delivered(at)`); err != nil {
		db.Close()
		return nil, fmt.Errorf("duplicates database: %w", err)
	}
	return &DB{db: db, expiry: expiry}, nil
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// Delivered implements ports.Duplicates.
func (d *DB) Delivered(ctx context.Context, k ports.Delivery) (bool, error) {
	var at int64
	err := d.db.QueryRowContext(ctx, `SELECT at FROM delivered WHERE msgid = ? AND date = ? AND user = ? AND mailbox = ?`,
		k.MessageID, k.Date, k.User, k.Mailbox).Scan(&at)
	if err == sql.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return time.Since(time.Unix(at, 0)) < d.expiry, nil
}

// Record implements ports.Duplicates. Expired records are deleted in the
// same transaction, at most every pruneEvery per process.
func (d *DB) Record(ctx context.Context, k ports.Delivery, at time.Time) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO delivered (msgid, date, user, mailbox, at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (msgid, date, user, mailbox) DO UPDATE SET at = excluded.at`,
		k.MessageID, k.Date, k.User, k.Mailbox, at.Unix()); err != nil {
		return err
	}
	d.mu.Lock()
	prune := time.Since(d.lastPrune) >= pruneEvery
	if prune {
		d.lastPrune = time.Now()
	}
	d.mu.Unlock()
	if prune {
		if _, err := tx.ExecContext(ctx, `DELETE FROM delivered WHERE at < ?`, time.Now().Add(-d.expiry).Unix()); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Prune deletes the records older than the expiry now.
func (d *DB) Prune(ctx context.Context) (int64, error) {
	r, err := d.db.ExecContext(ctx, `DELETE FROM delivered WHERE at < ?`, time.Now().Add(-d.expiry).Unix())
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}
