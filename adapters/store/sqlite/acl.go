package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"

	"github.com/imapd-go/imapd/adapters/store/internal/fsname"
	"github.com/imapd-go/imapd/adapters/store/internal/grants"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

var (
	_ ports.ACLs       = (*Store)(nil)
	_ ports.SeenStates = (*Store)(nil)
)

// aclSchema holds the mailboxes' ACLs (one row per mailbox whose ACL was
// ever set, keyed by the mailbox's row id, so that it follows a RENAME
// and goes with the row on DELETE) and the seen state this database's
// user keeps of other users' mailboxes (ports.SeenStates). Version 9.
const aclSchema = `
CREATE TABLE IF NOT EXISTS acls (
	mailbox_id INTEGER PRIMARY KEY,
	acl        TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS seen (
	reader  TEXT NOT NULL,
	key     TEXT NOT NULL,
	uids    TEXT NOT NULL,
	version INTEGER NOT NULL,
	PRIMARY KEY (reader, key)
) WITHOUT ROWID;
`

// upgradeACL is schema version 9's step (and a new database's tables).
func upgradeACL(ctx context.Context, tx *sql.Tx, v int) error {
	if v < 9 {
		_, err := tx.ExecContext(ctx, aclSchema)
		return err
	}
	return nil
}

// readACL returns the mailbox's stored ACL and whether there is one.
func readACL(ctx context.Context, tx *sql.Tx, id int64) (imap.ACL, bool, error) {
	var s string
	err := tx.QueryRowContext(ctx, `SELECT acl FROM acls WHERE mailbox_id = ?`, id).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return imap.ParseACL(s), true, nil
}

// inheritACL gives the new mailbox (row id) a copy of the ACL of its
// nearest existing superior, or of INBOX for a top-level name
// (ports.ACLs); nothing when that one has none.
func inheritACL(ctx context.Context, tx *sql.Tx, uid int64, name string, id int64) error {
	parents := imap.Parents(name)
	if name != inbox && len(parents) == 0 {
		parents = []string{inbox}
	}
	for _, p := range slices.Backward(parents) {
		var pid int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM mailboxes WHERE user_id = ? AND name = ?`, uid, p).Scan(&pid)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO acls (mailbox_id, acl)
			SELECT ?, acl FROM acls WHERE mailbox_id = ?`, id, pid)
		return err
	}
	return nil
}

// MailboxACL returns the mailbox's ACL.
func (s *Store) MailboxACL(ctx context.Context, user, name string) (imap.ACL, bool, error) {
	const op = "get acl"
	if !s.hasUser(user) {
		return nil, false, imap.Errorf(op, imap.ErrNonexistent, "%q", name)
	}
	var acl imap.ACL
	var set bool
	err := s.read(ctx, user, op, func(tx *sql.Tx) error {
		m, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		acl, set, err = readACL(ctx, tx, m.id)
		return err
	})
	return acl, set, err
}

// ModifyACL changes the mailbox's ACL in one write transaction.
func (s *Store) ModifyACL(ctx context.Context, user, name string, fn func(imap.ACL, bool) (imap.ACL, error)) (imap.ACL, error) {
	const op = "set acl"
	if !s.hasUser(user) {
		return nil, imap.Errorf(op, imap.ErrNonexistent, "%q", name)
	}
	var out imap.ACL
	err := s.write(ctx, user, op, func(tx *sql.Tx) error {
		m, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		cur, set, err := readACL(ctx, tx, m.id)
		if err != nil {
			return err
		}
		next, err := fn(cur, set)
		if err != nil {
			return err
		}
		next = imap.ParseACL(next.String()) // one entry per identifier
		if err := grants.Record(s.dir, user, next); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO acls (mailbox_id, acl) VALUES (?, ?)`, m.id, next.String())
		out = next
		return err
	})
	return out, err
}

// LoadSeen returns the reader's seen set for key.
func (s *Store) LoadSeen(ctx context.Context, reader, key string) ([]imap.UID, uint64, error) {
	const op = "load seen"
	var uids []imap.UID
	var version uint64
	err := s.read(ctx, reader, op, func(tx *sql.Tx) error {
		var set string
		err := tx.QueryRowContext(ctx, `SELECT uids, version FROM seen WHERE reader = ? AND key = ?`, reader, key).Scan(&set, &version)
		if errors.Is(err, sql.ErrNoRows) {
			uids, version = nil, 0
			return nil
		}
		if err != nil {
			return err
		}
		uids, _ = imap.UIDsOfSet(set)
		return nil
	})
	return uids, version, err
}

// UpdateSeen changes the reader's seen set for key in one write
// transaction.
func (s *Store) UpdateSeen(ctx context.Context, reader, key string, uids []imap.UID, seen bool) (uint64, error) {
	const op = "update seen"
	var version uint64
	err := s.write(ctx, reader, op, func(tx *sql.Tx) error {
		var set string
		err := tx.QueryRowContext(ctx, `SELECT uids, version FROM seen WHERE reader = ? AND key = ?`, reader, key).Scan(&set, &version)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		cur, _ := imap.UIDsOfSet(set)
		next := imap.ChangeUIDs(cur, uids, seen)
		version++
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO seen (reader, key, uids, version) VALUES (?, ?, ?, ?)`,
			reader, key, imap.SetOfUIDs(next), version)
		return err
	})
	return version, err
}

// SeenKeys lists the keys of the reader's seen sets.
func (s *Store) SeenKeys(ctx context.Context, reader string, f func(string) error) error {
	const op = "seen keys"
	var keys []string
	err := s.read(ctx, reader, op, func(tx *sql.Tx) error {
		keys = keys[:0]
		rows, err := tx.QueryContext(ctx, `SELECT key FROM seen WHERE reader = ?`, reader)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				return err
			}
			keys = append(keys, k)
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := f(k); err != nil {
			return err
		}
	}
	return nil
}

// hasUser reports whether the user has a database: a question about
// another user's mailbox (LIST, an ACL check) must not create one.
func (s *Store) hasUser(user string) bool {
	_, err := os.Stat(userPath(s.dir, user))
	return err == nil
}

// Owners lists the users that have a database (their folder names spell
// them; a hashed long name is read from its database).
func (s *Store) Owners(ctx context.Context, f func(string) error) error {
	entries, err := os.ReadDir(filepath.Join(s.dir, UsersDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return wrapErr("owners", err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		path := filepath.Join(s.dir, UsersDir, e.Name(), FileName)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		name, ok := fsname.Unescape(e.Name())
		if !ok || userFolder(name) != e.Name() {
			if name, err = s.ownerOf(ctx, path); err != nil || name == "" {
				continue
			}
		}
		if err := f(name); err != nil {
			return err
		}
	}
	return nil
}

// ownerOf reads the user name recorded in a user's database.
func (s *Store) ownerOf(ctx context.Context, path string) (string, error) {
	d, err := openDB(path)
	if err != nil {
		return "", err
	}
	defer d.close()
	var name string
	err = d.r.QueryRowContext(ctx, `SELECT name FROM users LIMIT 1`).Scan(&name)
	return name, err
}

// Grantors reads the grants index.
func (s *Store) Grantors(ctx context.Context, ids []string, f func(string) error) error {
	return grants.Grantors(ctx, s.dir, ids, f)
}
