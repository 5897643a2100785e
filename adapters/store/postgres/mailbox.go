package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

const inbox = "INBOX"

// querier is what a transaction and a pool have in common.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// mailbox is one mailboxes row.
type mailbox struct {
	id          int64
	uidValidity uint32
	uidNext     imap.UID
	highest     uint64
	recentUID   imap.UID
}

// lookup finds the user's mailbox; a missing user or mailbox is reported
// with the given kind.
func lookup(ctx context.Context, q querier, op, user, name string, kind error) (mailbox, error) {
	var m mailbox
	if !storable(user) || !storable(name) {
		// No such name can be stored (imap.CheckMailboxName refuses
		// it); PostgreSQL's text refuses NUL and bad UTF-8 outright.
		return m, imap.Errorf(op, kind, "%q", name)
	}
	var v, next, high, recent int64
	err := q.QueryRow(ctx, `SELECT m.id, m.uidvalidity, m.uidnext, m.highestmodseq, m.recentuid
		FROM mailboxes m JOIN users u ON u.id = m.user_id WHERE u.name = $1 AND m.name = $2`, user, name).
		Scan(&m.id, &v, &next, &high, &recent)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, imap.Errorf(op, kind, "%q", name)
	}
	m.uidValidity, m.uidNext, m.highest, m.recentUID = uint32(v), imap.UID(next), uint64(high), imap.UID(recent)
	return m, err
}

// storable reports whether s can be a text value.
func storable(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

// newMailboxID returns a fresh RFC 8474 MAILBOXID.
func newMailboxID() string {
	var b [12]byte
	rand.Read(b[:])
	return imap.MailboxIDPrefix + hex.EncodeToString(b[:])
}

// lookup is lookup outside a transaction, tried again on a connection
// that a restart of the database broke.
func (s *Store) lookup(ctx context.Context, op, user, name string, kind error) (mailbox, error) {
	var m mailbox
	err := s.retry(ctx, func() error {
		var err error
		m, err = lookup(ctx, s.pool, op, user, name, kind)
		return err
	})
	return m, err
}

// newUIDValidity returns a UIDVALIDITY no mailbox of this database had
// before: the time in seconds, or one more than the last handed out when
// the clock has not moved on, from one counter row updated atomically.
func newUIDValidity(ctx context.Context, tx pgx.Tx) (uint32, error) {
	var v int64
	err := tx.QueryRow(ctx, `INSERT INTO meta (key, value) VALUES ('uidvalidity', extract(epoch FROM now())::bigint)
		ON CONFLICT (key) DO UPDATE SET value = greatest(meta.value + 1, extract(epoch FROM clock_timestamp())::bigint)
		RETURNING value`).Scan(&v)
	if err != nil {
		return 0, err
	}
	if v > 1<<32-1 {
		return 0, errors.New("UIDVALIDITY space exhausted")
	}
	return uint32(v), nil
}

// createOne inserts one empty mailbox of the locked user.
func createOne(ctx context.Context, t *userTx, name string) (int64, error) {
	v, err := newUIDValidity(ctx, t)
	if err != nil {
		return 0, err
	}
	id, err := insertMailbox(ctx, t, name, v, 1)
	if err != nil {
		return 0, err
	}
	return id, inheritACL(ctx, t, name, id)
}

func insertMailbox(ctx context.Context, t *userTx, name string, v uint32, next imap.UID) (int64, error) {
	var id int64
	err := t.QueryRow(ctx, `INSERT INTO mailboxes (user_id, name, uidvalidity, uidnext, highestmodseq, recentuid, mailboxid)
		VALUES ($1, $2, $3, $4, 1, $4, $5) RETURNING id`, t.uid, name, int64(v), int64(next), newMailboxID()).Scan(&id)
	return id, err
}

// exists reports whether the locked user has a mailbox of that name.
func exists(ctx context.Context, t *userTx, name string) (bool, error) {
	var ok bool
	err := t.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM mailboxes WHERE user_id = $1 AND name = $2)`, t.uid, name).Scan(&ok)
	return ok, err
}

// createParents creates every missing superior level of name.
func createParents(ctx context.Context, t *userTx, name string) error {
	for _, p := range imap.Parents(name) {
		ok, err := exists(ctx, t, p)
		if err != nil {
			return err
		}
		if !ok {
			if _, err := createOne(ctx, t, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// EnsureUser makes sure the user and its INBOX exist.
func (s *Store) EnsureUser(ctx context.Context, user string) error {
	const op = "ensure user"
	if user == "" {
		return imap.Errorf(op, imap.ErrNoUser, "empty user name")
	}
	// The common case (every login of a known user) takes no lock.
	if _, err := s.lookup(ctx, op, user, inbox, imap.ErrNonexistent); err == nil {
		return nil
	} else if !errors.Is(err, imap.ErrNonexistent) {
		return wrapErr(op, err)
	}
	return s.write(ctx, user, op, true, func(t *userTx) error {
		ok, err := exists(ctx, t, inbox)
		if err != nil || ok {
			return err
		}
		_, err = createOne(ctx, t, inbox)
		return err
	})
}

// DeleteUser removes everything the user has.
func (s *Store) DeleteUser(ctx context.Context, user string) error {
	const op = "delete user"
	return s.write(ctx, user, op, false, func(t *userTx) error {
		if t.uid == 0 {
			return nil
		}
		ids, err := collect[int64](ctx, t, `SELECT id FROM mailboxes WHERE user_id = $1`, t.uid)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := dropMailbox(ctx, t, id); err != nil {
				return err
			}
		}
		for _, q := range userTables {
			if _, err := t.Exec(ctx, q, t.uid); err != nil {
				return err
			}
		}
		_, err = t.Exec(ctx, `DELETE FROM users WHERE id = $1`, t.uid)
		return err
	})
}

// userTables delete what a user has besides mailboxes, by user id.
var userTables = []string{
	`DELETE FROM subscriptions WHERE user_id = $1`,
	`DELETE FROM threads WHERE user_id = $1`,
	`DELETE FROM seen WHERE reader = (SELECT name FROM users WHERE id = $1)`,
	`DELETE FROM metadata WHERE mailbox_id = 0 AND owner = (SELECT name FROM users WHERE id = $1)`,
}

// mailboxTables delete what a mailbox has besides messages, by mailbox id.
var mailboxTables = []string{
	`DELETE FROM expunged WHERE mailbox_id = $1`,
	`DELETE FROM mailbox_counts WHERE mailbox_id = $1`,
	`DELETE FROM sortrecords WHERE mailbox_id = $1`,
	`DELETE FROM metadata WHERE mailbox_id = $1`,
	`DELETE FROM acls WHERE mailbox_id = $1`,
}

// collect runs a query of one column and returns its values.
func collect[T any](ctx context.Context, tx pgx.Tx, sql string, args ...any) ([]T, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[T])
}

// dropMailbox deletes a mailbox row with its messages, tombstones and the
// bodies no other message shares.
func dropMailbox(ctx context.Context, t *userTx, id int64) error {
	rows, err := t.Query(ctx, `DELETE FROM messages WHERE mailbox_id = $1 RETURNING body_id, size`, id)
	if err != nil {
		return err
	}
	var bodies []int64
	var freed int64
	for rows.Next() {
		var b, size int64
		if err := rows.Scan(&b, &size); err != nil {
			rows.Close()
			return err
		}
		bodies = append(bodies, b)
		freed += size
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if err := charge(ctx, t, "delete", -freed, -int64(len(bodies))); err != nil {
		return err
	}
	if err := release(ctx, t, bodies); err != nil {
		return err
	}
	for _, q := range mailboxTables {
		if _, err := t.Exec(ctx, q, id); err != nil {
			return err
		}
	}
	_, err = t.Exec(ctx, `DELETE FROM mailboxes WHERE id = $1`, id)
	return err
}

// ListMailboxes returns the user's mailboxes sorted by name (byte order).
func (s *Store) ListMailboxes(ctx context.Context, user string) ([]ports.MailboxInfo, error) {
	var out []ports.MailboxInfo
	err := s.read(ctx, "list", func(tx pgx.Tx) error {
		out = nil
		rows, err := tx.Query(ctx, `SELECT m.name, m.specialuse FROM mailboxes m JOIN users u ON u.id = m.user_id
			WHERE u.name = $1 ORDER BY m.name COLLATE "C"`, user)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n, use string
			if err := rows.Scan(&n, &use); err != nil {
				return err
			}
			out = append(out, ports.MailboxInfo{Name: n, SpecialUse: strings.Fields(use)})
		}
		return rows.Err()
	})
	return out, err
}

// SetSpecialUse records the mailbox's special-use attributes.
func (s *Store) SetSpecialUse(ctx context.Context, user, name string, uses []string) error {
	const op = "special-use"
	return s.write(ctx, user, op, false, func(t *userTx) error {
		m, err := lookup(ctx, t, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		_, err = t.Exec(ctx, `UPDATE mailboxes SET specialuse = $1 WHERE id = $2`, strings.Join(uses, " "), m.id)
		return err
	})
}

// CreateMailbox creates the mailbox and its missing superior levels.
func (s *Store) CreateMailbox(ctx context.Context, user, name string) error {
	const op = "create"
	if err := imap.CheckMailboxName(op, name); err != nil {
		return err
	}
	return s.write(ctx, user, op, true, func(t *userTx) error {
		ok, err := exists(ctx, t, name)
		if err != nil {
			return err
		}
		if ok {
			return imap.Errorf(op, imap.ErrAlreadyExists, "%q", name)
		}
		return admitMailboxes(ctx, t, op, func() error {
			if err := createParents(ctx, t, name); err != nil {
				return err
			}
			_, err := createOne(ctx, t, name)
			return err
		})
	})
}

// DeleteMailbox deletes the mailbox and its messages; children remain.
func (s *Store) DeleteMailbox(ctx context.Context, user, name string) error {
	const op = "delete"
	if name == inbox {
		return imap.Errorf(op, imap.ErrCannot, "INBOX cannot be deleted")
	}
	return s.write(ctx, user, op, false, func(t *userTx) error {
		m, err := lookup(ctx, t, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		return dropMailbox(ctx, t, m.id)
	})
}

// RenameMailbox renames the mailbox with its children, or moves INBOX's
// messages to a new mailbox.
func (s *Store) RenameMailbox(ctx context.Context, user, from, to string) error {
	const op = "rename"
	if err := imap.CheckMailboxName(op, to); err != nil {
		return err
	}
	return s.write(ctx, user, op, false, func(t *userTx) error {
		src, err := lookup(ctx, t, op, user, from, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		if from == inbox {
			return admitMailboxes(ctx, t, op, func() error {
				return renameInbox(ctx, t, op, src, to)
			})
		}
		if to == from {
			return imap.Errorf(op, imap.ErrAlreadyExists, "%q", to)
		}
		if strings.HasPrefix(to, from+string(imap.Separator)) {
			return imap.Errorf(op, imap.ErrCannot, "cannot move %q into itself", from)
		}
		rows, err := t.Query(ctx, `SELECT id, name FROM mailboxes WHERE user_id = $1`, t.uid)
		if err != nil {
			return err
		}
		moving := map[int64]string{}
		others := map[string]bool{}
		for rows.Next() {
			var id int64
			var n string
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return err
			}
			if n == from || strings.HasPrefix(n, from+string(imap.Separator)) {
				moving[id] = to + n[len(from):]
			} else {
				others[n] = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, n := range moving {
			if others[n] {
				return imap.Errorf(op, imap.ErrAlreadyExists, "%q", n)
			}
			if err := imap.CheckMailboxName(op, n); err != nil {
				return err
			}
		}
		// Two passes, so that a new name equal to another moving
		// mailbox's old name never trips the unique index half way.
		for id := range moving {
			if _, err := t.Exec(ctx, `UPDATE mailboxes SET name = $1 WHERE id = $2`,
				"\x01rename\x01"+strconv.FormatInt(id, 10), id); err != nil {
				return err
			}
		}
		for id, n := range moving {
			if _, err := t.Exec(ctx, `UPDATE mailboxes SET name = $1 WHERE id = $2`, n, id); err != nil {
				return err
			}
		}
		return admitMailboxes(ctx, t, op, func() error { return createParents(ctx, t, to) })
	})
}

// renameInbox implements RFC 3501 6.3.5's special case: INBOX's messages
// move to a new mailbox (with its own UIDVALIDITY and UIDs 1..n in order),
// and INBOX stays, empty, with its UIDVALIDITY and UIDNEXT.
func renameInbox(ctx context.Context, t *userTx, op string, src mailbox, to string) error {
	ok, err := exists(ctx, t, to)
	if err != nil {
		return err
	}
	if ok {
		return imap.Errorf(op, imap.ErrAlreadyExists, "%q", to)
	}
	if err := createParents(ctx, t, to); err != nil {
		return err
	}
	dst, err := createOne(ctx, t, to)
	if err != nil {
		return err
	}
	// RFC 8474 section 4.2: the new mailbox takes INBOX's MAILBOXID and
	// INBOX gets a new one.
	if _, err := t.Exec(ctx, `UPDATE mailboxes SET mailboxid = (SELECT mailboxid FROM mailboxes WHERE id = $1) WHERE id = $2`,
		src.id, dst); err != nil {
		return err
	}
	if _, err := t.Exec(ctx, `UPDATE mailboxes SET mailboxid = $1 WHERE id = $2`, newMailboxID(), src.id); err != nil {
		return err
	}
	tag, err := t.Exec(ctx, `INSERT INTO messages (mailbox_id, uid, modseq, flags, internaldate, zone, size, body_id, savedate)
		SELECT $1, row_number() OVER (ORDER BY uid), 1, flags, internaldate, zone, size, body_id, savedate
		FROM messages WHERE mailbox_id = $2`, dst, src.id)
	if err != nil {
		return err
	}
	n := tag.RowsAffected()
	if _, err := t.Exec(ctx, `UPDATE mailboxes SET uidnext = $1, recentuid = 1 WHERE id = $2`, n+1, dst); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	modseq := int64(src.highest + 1)
	if _, err := t.Exec(ctx, `INSERT INTO expunged (mailbox_id, uid, modseq)
		SELECT mailbox_id, uid, $1 FROM messages WHERE mailbox_id = $2
		ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq`, modseq, src.id); err != nil {
		return err
	}
	if _, err := t.Exec(ctx, `DELETE FROM messages WHERE mailbox_id = $1`, src.id); err != nil {
		return err
	}
	_, err = t.Exec(ctx, `UPDATE mailboxes SET highestmodseq = $1 WHERE id = $2`, modseq, src.id)
	return err
}

// SetSubscribed adds or removes a subscription.
func (s *Store) SetSubscribed(ctx context.Context, user, name string, subscribed bool) error {
	const op = "subscribe"
	if subscribed {
		if err := imap.CheckMailboxName(op, name); err != nil {
			return err
		}
	} else if !storable(name) {
		return nil // never subscribed: no such name can be stored
	}
	return s.write(ctx, user, op, subscribed, func(t *userTx) error {
		if t.uid == 0 {
			return nil
		}
		var err error
		if subscribed {
			_, err = t.Exec(ctx, `INSERT INTO subscriptions (user_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING`, t.uid, name)
		} else {
			_, err = t.Exec(ctx, `DELETE FROM subscriptions WHERE user_id = $1 AND name = $2`, t.uid, name)
		}
		return err
	})
}

// Subscriptions returns the subscribed names, sorted.
func (s *Store) Subscriptions(ctx context.Context, user string) ([]string, error) {
	var out []string
	err := s.read(ctx, "subscriptions", func(tx pgx.Tx) error {
		var err error
		out, err = collect[string](ctx, tx, `SELECT s.name FROM subscriptions s JOIN users u ON u.id = s.user_id
			WHERE u.name = $1 ORDER BY s.name COLLATE "C"`, user)
		return err
	})
	return out, err
}
