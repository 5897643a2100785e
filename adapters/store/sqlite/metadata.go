package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// METADATA entries (RFC 5464). A mailbox's entries live in its user's
// database, keyed by the mailbox's row id, so that RENAME keeps them
// (the row is renamed, not copied) and dropMailbox removes them; owner
// is "" for a /shared entry and the reading user for a /private one.
// Mailbox id 0 holds the user's /private server entries. The server's
// /shared entries belong to no user: they live in the store's directory
// database (mail.db), in a table of its own created at first use.

// metadataSchema is schema version 8.
const metadataSchema = `
CREATE TABLE IF NOT EXISTS metadata (
	mailbox_id INTEGER NOT NULL,
	owner      TEXT NOT NULL,
	name       TEXT NOT NULL,
	value      BLOB NOT NULL,
	PRIMARY KEY (mailbox_id, owner, name)
) WITHOUT ROWID;
`

// serverMetadataSchema is the directory database's table of the
// server's /shared entries.
const serverMetadataSchema = `
CREATE TABLE IF NOT EXISTS server_metadata (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
) WITHOUT ROWID;
`

// upgradeMetadata is schema version 8's step: the metadata table, for a
// new database too (v 0).
func upgradeMetadata(ctx context.Context, tx *sql.Tx, v int) error {
	if v < 8 {
		_, err := tx.ExecContext(ctx, metadataSchema)
		return err
	}
	return nil
}

var _ ports.Metadata = (*Store)(nil)

const sharedPrefix = "/shared/"

// GetMetadata returns the mailbox's (or the server's) entries user sees.
func (s *Store) GetMetadata(ctx context.Context, user, mailbox string) ([]ports.MetadataEntry, error) {
	const op = "getmetadata"
	var out []ports.MetadataEntry
	err := s.read(ctx, user, op, func(tx *sql.Tx) error {
		out = out[:0]
		var id int64
		if mailbox != "" {
			m, err := lookup(ctx, tx, op, user, mailbox, imap.ErrNonexistent)
			if err != nil {
				return err
			}
			id = m.id
		}
		rows, err := tx.QueryContext(ctx, `SELECT name, value FROM metadata
			WHERE mailbox_id = ? AND (owner = '' OR owner = ?)`, id, user)
		if err != nil {
			return err
		}
		return scanEntries(rows, &out)
	})
	if err != nil {
		return nil, wrapErr(op, err)
	}
	if mailbox == "" {
		d, err := s.directory()
		if err != nil {
			return nil, wrapErr(op, err)
		}
		defer d.close()
		err = d.read(ctx, op, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, `SELECT name, value FROM server_metadata`)
			if err != nil {
				return err
			}
			return scanEntries(rows, &out)
		})
		if err != nil && !noServerTable(err) {
			return nil, wrapErr(op, err)
		}
	}
	sortEntries(out)
	return out, nil
}

func scanEntries(rows *sql.Rows, out *[]ports.MetadataEntry) error {
	defer rows.Close()
	for rows.Next() {
		var e ports.MetadataEntry
		if err := rows.Scan(&e.Name, &e.Value); err != nil {
			return err
		}
		if e.Value == nil {
			e.Value = []byte{}
		}
		*out = append(*out, e)
	}
	return rows.Err()
}

func sortEntries(es []ports.MetadataEntry) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].Name < es[j-1].Name; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

// SetMetadata changes the mailbox's (or the server's) entries.
func (s *Store) SetMetadata(ctx context.Context, user, mailbox string, entries []ports.MetadataEntry, limit int) error {
	const op = "setmetadata"
	var shared, private []ports.MetadataEntry
	for _, e := range entries {
		if strings.HasPrefix(e.Name, sharedPrefix) {
			shared = append(shared, e)
		} else {
			private = append(private, e)
		}
	}
	return s.write(ctx, user, op, func(tx *sql.Tx) error {
		var id int64
		if mailbox != "" {
			m, err := lookup(ctx, tx, op, user, mailbox, imap.ErrNonexistent)
			if err != nil {
				return err
			}
			id = m.id
		} else if _, err := userID(ctx, tx, user, true); err != nil {
			return err
		}
		for _, part := range []struct {
			owner   string
			entries []ports.MetadataEntry
		}{{"", shared}, {user, private}} {
			if len(part.entries) == 0 || (mailbox == "" && part.owner == "") {
				continue // the server's /shared entries: below
			}
			prefix := []any{id, part.owner}
			err := applyEntries(ctx, tx, part.entries, limit,
				`DELETE FROM metadata WHERE mailbox_id = ? AND owner = ? AND name = ?`,
				`INSERT OR REPLACE INTO metadata (mailbox_id, owner, name, value) VALUES (?, ?, ?, ?)`,
				`SELECT count(*) FROM metadata WHERE mailbox_id = ? AND owner = ?`, prefix...)
			if err != nil {
				return err
			}
		}
		if mailbox == "" && len(shared) > 0 {
			// Inside the user's transaction, so that a refusal of the
			// /shared half rolls the /private half back.
			return s.setServerShared(ctx, shared, limit)
		}
		return nil
	})
}

// setServerShared changes the server's /shared entries, in the
// directory database.
func (s *Store) setServerShared(ctx context.Context, entries []ports.MetadataEntry, limit int) error {
	d, err := s.directory()
	if err != nil {
		return err
	}
	defer d.close()
	return d.write(ctx, "setmetadata", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, serverMetadataSchema); err != nil {
			return err
		}
		return applyEntries(ctx, tx, entries, limit,
			`DELETE FROM server_metadata WHERE name = ?`,
			`INSERT OR REPLACE INTO server_metadata (name, value) VALUES (?, ?)`,
			`SELECT count(*) FROM server_metadata`)
	})
}

// applyEntries runs del or set for each entry (after the arguments in
// prefix) and refuses the whole transaction with imap.ErrLimit when
// count says the entries grew beyond limit (a set that only replaces or
// removes entries always passes).
func applyEntries(ctx context.Context, tx *sql.Tx, entries []ports.MetadataEntry, limit int, del, set, count string, prefix ...any) error {
	before := 0
	if limit > 0 {
		if err := tx.QueryRowContext(ctx, count, prefix...).Scan(&before); err != nil {
			return err
		}
	}
	args := func(more ...any) []any { return append(append([]any{}, prefix...), more...) }
	for _, e := range entries {
		var err error
		if e.Value == nil {
			_, err = tx.ExecContext(ctx, del, args(e.Name)...)
		} else {
			_, err = tx.ExecContext(ctx, set, args(e.Name, e.Value)...)
		}
		if err != nil {
			return err
		}
	}
	if limit <= 0 {
		return nil
	}
	var after int
	if err := tx.QueryRowContext(ctx, count, prefix...).Scan(&after); err != nil {
		return err
	}
	if after > limit && after > before {
		return imap.Errorf("setmetadata", imap.ErrLimit, "more than %d entries", limit)
	}
	return nil
}

// directory opens the store's directory database (for the server's
// /shared entries); the caller closes it.
func (s *Store) directory() (*db, error) {
	return openDB(filepath.Join(s.dir, FileName))
}

// noServerTable reports whether err says the server_metadata table does
// not exist yet: no server entry was ever set, and reading must not need
// the write lock to create it.
func noServerTable(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no such table: server_metadata")
}
