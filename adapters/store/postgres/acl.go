package postgres

import (
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

var (
	_ ports.ACLs       = (*Store)(nil)
	_ ports.SeenStates = (*Store)(nil)
)

// readACL returns mailbox id's stored ACL and whether it has one.
func readACL(ctx context.Context, q querier, id int64) (imap.ACL, bool, error) {
	var s string
	err := q.QueryRow(ctx, `SELECT acl FROM acls WHERE mailbox_id = $1`, id).Scan(&s)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return imap.ParseACL(s), true, nil
}

// inheritACL gives the new mailbox id a copy of the ACL of its nearest
// existing superior, or of INBOX for a top-level name (ports.ACLs).
func inheritACL(ctx context.Context, t *userTx, name string, id int64) error {
	parents := imap.Parents(name)
	if name != inbox && len(parents) == 0 {
		parents = []string{inbox}
	}
	for _, p := range slices.Backward(parents) {
		var pid int64
		err := t.QueryRow(ctx, `SELECT id FROM mailboxes WHERE user_id = $1 AND name = $2`, t.uid, p).Scan(&pid)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		_, err = t.Exec(ctx, `INSERT INTO acls (mailbox_id, acl) SELECT $1, acl FROM acls WHERE mailbox_id = $2
			ON CONFLICT (mailbox_id) DO UPDATE SET acl = excluded.acl`, id, pid)
		return err
	}
	return nil
}

// MailboxACL returns the mailbox's stored ACL.
func (s *Store) MailboxACL(ctx context.Context, user, name string) (imap.ACL, bool, error) {
	const op = "get acl"
	var acl imap.ACL
	var set bool
	err := s.read(ctx, op, func(tx pgx.Tx) error {
		m, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		acl, set, err = readACL(ctx, tx, m.id)
		return err
	})
	return acl, set, err
}

// ModifyACL replaces the mailbox's ACL with fn's answer under the owner's
// lock.
func (s *Store) ModifyACL(ctx context.Context, user, name string, fn func(imap.ACL, bool) (imap.ACL, error)) (imap.ACL, error) {
	const op = "set acl"
	var out imap.ACL
	err := s.write(ctx, user, op, false, func(t *userTx) error {
		m, err := lookup(ctx, t, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		cur, set, err := readACL(ctx, t, m.id)
		if err != nil {
			return err
		}
		next, err := fn(cur, set)
		if err != nil {
			return err
		}
		next = imap.ParseACL(next.String()) // one entry per identifier
		_, err = t.Exec(ctx, `INSERT INTO acls (mailbox_id, acl) VALUES ($1, $2)
			ON CONFLICT (mailbox_id) DO UPDATE SET acl = excluded.acl`, m.id, next.String())
		out = next
		return err
	})
	return out, err
}

// Owners calls f with every user the database holds.
func (s *Store) Owners(ctx context.Context, f func(string) error) error {
	var names []string
	err := s.read(ctx, "owners", func(tx pgx.Tx) error {
		var err error
		names, err = collect[string](ctx, tx, `SELECT name FROM users ORDER BY name`)
		return err
	})
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := f(n); err != nil {
			return err
		}
	}
	return nil
}

// Grantors calls f with every owner a stored ACL of whose mailboxes gives
// rights to one of ids.
func (s *Store) Grantors(ctx context.Context, ids []string, f func(string) error) error {
	const op = "grantors"
	found := map[string]bool{}
	err := s.read(ctx, op, func(tx pgx.Tx) error {
		clear(found)
		rows, err := tx.Query(ctx, `SELECT u.name, a.acl FROM acls a JOIN mailboxes m ON m.id = a.mailbox_id
			JOIN users u ON u.id = m.user_id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var owner, acl string
			if err := rows.Scan(&owner, &acl); err != nil {
				return err
			}
			if found[owner] {
				continue
			}
			for _, e := range imap.ParseACL(acl) {
				if e.Rights != "" && slices.Contains(ids, e.Identifier) {
					found[owner] = true
					break
				}
			}
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	for owner := range found {
		if err := f(owner); err != nil {
			return err
		}
	}
	return nil
}

// LoadSeen returns the UIDs reader marked \Seen under key.
func (s *Store) LoadSeen(ctx context.Context, reader, key string) ([]imap.UID, uint64, error) {
	const op = "load seen"
	var uids []imap.UID
	var version int64
	err := s.read(ctx, op, func(tx pgx.Tx) error {
		var set string
		err := tx.QueryRow(ctx, `SELECT uids, version FROM seen WHERE reader = $1 AND key = $2`, reader, key).Scan(&set, &version)
		if errors.Is(err, pgx.ErrNoRows) {
			uids, version = nil, 0
			return nil
		}
		if err != nil {
			return err
		}
		uids, _ = imap.UIDsOfSet(set)
		return nil
	})
	return uids, uint64(version), err
}

// UpdateSeen changes reader's set under reader's lock.
func (s *Store) UpdateSeen(ctx context.Context, reader, key string, uids []imap.UID, seen bool) (uint64, error) {
	const op = "update seen"
	var version int64
	err := s.write(ctx, reader, op, true, func(t *userTx) error {
		var set string
		version = 0
		err := t.QueryRow(ctx, `SELECT uids, version FROM seen WHERE reader = $1 AND key = $2`, reader, key).Scan(&set, &version)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		cur, _ := imap.UIDsOfSet(set)
		next := imap.ChangeUIDs(cur, uids, seen)
		version++
		_, err = t.Exec(ctx, `INSERT INTO seen (reader, key, uids, version) VALUES ($1, $2, $3, $4)
			ON CONFLICT (reader, key) DO UPDATE SET uids = excluded.uids, version = excluded.version`,
			reader, key, imap.SetOfUIDs(next), version)
		return err
	})
	return uint64(version), err
}

// SeenKeys calls f with every key reader has a set for.
func (s *Store) SeenKeys(ctx context.Context, reader string, f func(string) error) error {
	var keys []string
	err := s.read(ctx, "seen keys", func(tx pgx.Tx) error {
		var err error
		keys, err = collect[string](ctx, tx, `SELECT key FROM seen WHERE reader = $1`, reader)
		return err
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
