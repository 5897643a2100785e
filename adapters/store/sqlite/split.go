package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// splitVersion is the user_version of the store's directory database,
// mail.db, once every user has a database of their own. Before, mail.db
// held every user's rows at versions 1 to schemaVersion; splitVersion is
// far above any of them, so that a program of the shared layout (which
// refuses a schema newer than its own) never opens a split store and
// writes where no one reads.
const splitVersion = 1000

// sharedTables are the tables of the shared layout, dropped from mail.db
// by the split (their indexes go with them).
var sharedTables = []string{"users", "mailboxes", "bodies", "chunks", "messages", "expunged", "subscriptions", "meta",
	"search_indexed", "search_pending", "threads", "sortrecords", "metadata", "acls", "seen", "quota", "body_sortrecords", "mailbox_counts"}

// openLayout makes sure the store at s.dir is in the per-user layout: a
// new store gets the directory database marked at splitVersion; a store in
// the shared layout is upgraded to schemaVersion (as before) and split.
func (s *Store) openLayout() error {
	d, err := openDB(filepath.Join(s.dir, FileName))
	if err != nil {
		return err
	}
	defer d.close()
	ctx := context.Background()
	var v int
	err = retryBusy(ctx, func() error {
		return d.r.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	})
	switch {
	case err != nil:
		return fmt.Errorf("sqlite: open: %w", err)
	case v == splitVersion:
		return nil
	case v > schemaVersion:
		return fmt.Errorf("sqlite: open: database schema %d is newer than this program (%d)", v, schemaVersion)
	case v > 0:
		// The shared layout: bring it to this program's schema first,
		// so that the split copies tables of one known shape.
		if err := d.init(); err != nil {
			return err
		}
	}
	split := false
	err = d.write(ctx, "split", func(tx *sql.Tx) error {
		// Under the write lock, which every version of this package takes
		// before writing: no write to mail.db can come between the copy
		// and the drop, and a process that split it meanwhile is seen.
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			return err
		}
		if v == splitVersion {
			return nil
		}
		if v != 0 && v != schemaVersion {
			return fmt.Errorf("split: mail.db is at schema %d, want %d", v, schemaVersion)
		}
		if v == 0 {
			// A new store. Tables without a version are no store this
			// package wrote: leave them alone rather than drop them.
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master`).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("split: mail.db has %d tables but no schema version", n)
			}
		}
		if v == schemaVersion {
			if err := s.split(ctx, tx); err != nil {
				return err
			}
			split = true
		}
		for _, t := range sharedTables {
			if _, err := tx.ExecContext(ctx, "DROP TABLE IF EXISTS "+t); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", splitVersion))
		return err
	})
	if err == nil && split {
		// Give the shared tables' space back; a failure (another process
		// reading the file) only leaves it for later.
		d.w.ExecContext(ctx, "VACUUM")
	}
	return err
}

// split copies every user of the shared mail.db into a database of their
// own; tx holds mail.db's write lock. Each user's database is written
// whole under a temporary name, fsynced and renamed into place, so a
// crash leaves either no database for the user or a complete one, and
// mail.db still whole (its transaction did not commit): the next open
// splits again and replaces what it finds.
func (s *Store) split(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, name FROM users ORDER BY id`)
	if err != nil {
		return err
	}
	type user struct {
		id   int64
		name string
	}
	var users []user
	for rows.Next() {
		var u user
		if err := rows.Scan(&u.id, &u.name); err != nil {
			rows.Close()
			return err
		}
		users = append(users, u)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	shared := filepath.Join(s.dir, FileName)
	for _, u := range users {
		if err := splitUser(ctx, shared, userPath(s.dir, u.name), u.id); err != nil {
			return fmt.Errorf("split: user %q: %w", u.name, err)
		}
	}
	return nil
}

// splitUser writes the rows of user id in the shared database into a new
// database at path. The shared database is read through ATTACH, on a
// snapshot that no write can change while the caller holds its write lock.
func splitUser(ctx context.Context, shared, path string, id int64) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	tmp := path + ".split"
	for _, f := range []string{tmp, tmp + "-journal", path + "-wal", path + "-shm"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	// A rollback journal, not WAL, so that the file is whole by itself
	// once committed; the first open in the store switches it to WAL. A
	// deferred transaction: BEGIN IMMEDIATE would ask for the write lock
	// of the attached shared database too, which the caller holds.
	pool, err := sql.Open("sqlite3", "file:"+escapePath(tmp)+"?_journal_mode=DELETE&_synchronous=FULL&_txlock=deferred")
	if err != nil {
		return err
	}
	defer pool.Close()
	conn, err := pool.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS old`, shared); err != nil {
		return err
	}
	if err := copyUser(ctx, conn, id); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `DETACH DATABASE old`); err != nil {
		return err
	}
	// The store's connections do not ask for WAL: the file says it.
	var mode string
	if err := conn.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode); err != nil || mode != "wal" {
		return fmt.Errorf("journal_mode %q: %v", mode, err)
	}
	if err := conn.Close(); err != nil {
		return err
	}
	if err := pool.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// copyUser copies one user's rows from old into main in one transaction.
// Body reference counts are counted again over the user's own messages.
func copyUser(ctx context.Context, conn *sql.Conn, id int64) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// The counters' triggers, made before the messages are copied,
	// count them as they come.
	if _, err := tx.ExecContext(ctx, schema+metadataSchema+aclSchema+msgSortSchema+countersSchema); err != nil {
		return err
	}
	// The full-text index is not copied: its triggers, made before the
	// messages are copied, mark every message pending, and the user's
	// first search (or imapctl index) indexes them in their database.
	if _, err := tx.ExecContext(ctx, textIndexSchema); err != nil {
		return err
	}
	for _, q := range []string{
		`INSERT INTO main.meta SELECT * FROM old.meta`,
		`INSERT INTO main.users SELECT * FROM old.users WHERE id = ?1`,
		`INSERT INTO main.mailboxes (id, user_id, name, uidvalidity, uidnext, highestmodseq, recentuid, specialuse, keywords, mailboxid)
			SELECT id, user_id, name, uidvalidity, uidnext, highestmodseq, recentuid, specialuse, keywords, mailboxid
			FROM old.mailboxes WHERE user_id = ?1`,
		`INSERT INTO main.messages (mailbox_id, uid, modseq, flags, internaldate, zone, size, body_id, savedate)
			SELECT mailbox_id, uid, modseq, flags, internaldate, zone, size, body_id, savedate
			FROM old.messages WHERE mailbox_id IN (SELECT id FROM main.mailboxes)`,
		`INSERT INTO main.expunged SELECT * FROM old.expunged WHERE mailbox_id IN (SELECT id FROM main.mailboxes)`,
		`INSERT INTO main.bodies (id, size, refs, structure)
			SELECT b.id, b.size, (SELECT count(*) FROM main.messages m WHERE m.body_id = b.id), b.structure
			FROM old.bodies b WHERE b.id IN (SELECT body_id FROM main.messages)`,
		`INSERT INTO main.chunks SELECT * FROM old.chunks WHERE body_id IN (SELECT id FROM main.bodies)`,
		`INSERT INTO main.subscriptions SELECT * FROM old.subscriptions WHERE user_id = ?1`,
		fmt.Sprintf(`PRAGMA main.user_version = %d`, schemaVersion),
	} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fillQuotaSQL); err != nil {
		return err
	}
	return tx.Commit()
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
