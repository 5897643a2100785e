package postgres

import (
	"context"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

var _ ports.Metadata = (*Store)(nil)

const sharedPrefix = "/shared/"

// serverMetadataLock is the advisory lock under which the server's
// /shared entries change: they belong to no user, so no user's lock
// covers them.
const serverMetadataLock = 0x696d617065

// mailboxKey is the metadata rows' mailbox_id of user's mailbox (0 for
// the server, "").
func mailboxKey(ctx context.Context, q querier, op, user, mailbox string) (int64, error) {
	if mailbox == "" {
		return 0, nil
	}
	m, err := lookup(ctx, q, op, user, mailbox, imap.ErrNonexistent)
	return m.id, err
}

// GetMetadata returns the entries of the mailbox ("" for the server) that
// user sees, sorted by name.
func (s *Store) GetMetadata(ctx context.Context, user, mailbox string) ([]ports.MetadataEntry, error) {
	const op = "getmetadata"
	var out []ports.MetadataEntry
	err := s.read(ctx, op, func(tx pgx.Tx) error {
		out = nil
		id, err := mailboxKey(ctx, tx, op, user, mailbox)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT name, value FROM metadata WHERE mailbox_id = $1 AND (owner = '' OR owner = $2)`, id, user)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e ports.MetadataEntry
			if err := rows.Scan(&e.Name, &e.Value); err != nil {
				return err
			}
			if e.Value == nil {
				e.Value = []byte{}
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// SetMetadata sets or removes entries as one step: a mailbox's under its
// owner's lock, the server's /shared ones under serverMetadataLock too.
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
	return s.write(ctx, user, op, mailbox == "", func(t *userTx) error {
		id, err := mailboxKey(ctx, t, op, user, mailbox)
		if err != nil {
			return err
		}
		if mailbox == "" && len(shared) > 0 {
			if _, err := t.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(serverMetadataLock)); err != nil {
				return err
			}
		}
		for _, part := range []struct {
			owner   string
			entries []ports.MetadataEntry
		}{{"", shared}, {user, private}} {
			if len(part.entries) == 0 {
				continue
			}
			if err := applyEntries(ctx, t, id, part.owner, part.entries, limit); err != nil {
				return err
			}
		}
		return nil
	})
}

// applyEntries writes entries of (id, owner) and judges the limit.
func applyEntries(ctx context.Context, t *userTx, id int64, owner string, entries []ports.MetadataEntry, limit int) error {
	count := func() (int, error) {
		var n int
		err := t.QueryRow(ctx, `SELECT count(*) FROM metadata WHERE mailbox_id = $1 AND owner = $2`, id, owner).Scan(&n)
		return n, err
	}
	before := 0
	if limit > 0 {
		var err error
		if before, err = count(); err != nil {
			return err
		}
	}
	for _, e := range entries {
		var err error
		if e.Value == nil {
			_, err = t.Exec(ctx, `DELETE FROM metadata WHERE mailbox_id = $1 AND owner = $2 AND name = $3`, id, owner, e.Name)
		} else {
			_, err = t.Exec(ctx, `INSERT INTO metadata (mailbox_id, owner, name, value) VALUES ($1, $2, $3, $4)
				ON CONFLICT (mailbox_id, owner, name) DO UPDATE SET value = excluded.value`, id, owner, e.Name, e.Value)
		}
		if err != nil {
			return err
		}
	}
	if limit <= 0 {
		return nil
	}
	after, err := count()
	if err != nil {
		return err
	}
	if after > limit && after > before {
		return imap.Errorf("setmetadata", imap.ErrLimit, "more than %d entries", limit)
	}
	return nil
}
