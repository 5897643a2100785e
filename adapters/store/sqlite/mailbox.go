package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

const inbox = "INBOX"

// mailbox is one mailboxes row.
type mailbox struct {
	id          int64
	uidValidity uint32
	uidNext     imap.UID
	highest     uint64
	recentUID   imap.UID
}

// checkName refuses names the store will not hold (imap.CheckMailboxName).
func checkName(op, name string) error { return imap.CheckMailboxName(op, name) }

// userID returns the user's id; with create, a missing user is added.
// Without it, a missing user is reported as sql.ErrNoRows.
func userID(ctx context.Context, tx *sql.Tx, user string, create bool) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE name = ?`, user).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) && create {
		res, err := tx.ExecContext(ctx, `INSERT INTO users (name) VALUES (?)`, user)
		if err != nil {
			return 0, err
		}
		return res.LastInsertId()
	}
	return id, err
}

// lookup finds the user's mailbox; a missing user or mailbox is reported
// with the given kind. The user is a scalar subquery, not a join: SQLite
// re-prepared the join on every run (see Open).
func lookup(ctx context.Context, tx *sql.Tx, op, user, name string, kind error) (mailbox, error) {
	var m mailbox
	err := tx.QueryRowContext(ctx, `
		SELECT id, uidvalidity, uidnext, highestmodseq, recentuid FROM mailboxes
		WHERE user_id = (SELECT id FROM users WHERE name = ?) AND name = ?`, user, name).
		Scan(&m.id, &m.uidValidity, &m.uidNext, &m.highest, &m.recentUID)
	if errors.Is(err, sql.ErrNoRows) {
		return m, imap.Errorf(op, kind, "%q", name)
	}
	return m, err
}

// newUIDValidity returns a UIDVALIDITY no mailbox of this database had
// before: the current time in seconds, or one more than the last value
// handed out if the clock has not moved on (or went back). The counter is
// kept in the database, so a name deleted and created again in the same
// second still gets a new, larger value.
func newUIDValidity(ctx context.Context, tx *sql.Tx) (uint32, error) {
	var last int64
	err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'uidvalidity'`).Scan(&last)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	v := max(last+1, time.Now().Unix())
	if v > 1<<32-1 {
		return 0, errors.New("UIDVALIDITY space exhausted")
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('uidvalidity', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, v)
	return uint32(v), err
}

// createOne inserts one empty mailbox and returns its id and UIDVALIDITY.
func createOne(ctx context.Context, tx *sql.Tx, uid int64, name string) (int64, uint32, error) {
	v, err := newUIDValidity(ctx, tx)
	if err != nil {
		return 0, 0, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO mailboxes
		(user_id, name, uidvalidity, uidnext, highestmodseq, recentuid, mailboxid) VALUES (?, ?, ?, 1, 1, 1, `+newMailboxIDSQL+`)`,
		uid, name, v)
	if err != nil {
		return 0, 0, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, 0, err
	}
	return id, v, inheritACL(ctx, tx, uid, name, id)
}

// exists reports whether the user (by id) has a mailbox of that name.
func exists(ctx context.Context, tx *sql.Tx, uid int64, name string) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM mailboxes WHERE user_id = ? AND name = ?`, uid, name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// createParents creates every missing superior level of name.
func createParents(ctx context.Context, tx *sql.Tx, uid int64, name string) error {
	for _, p := range imap.Parents(name) {
		ok, err := exists(ctx, tx, uid, p)
		if err != nil {
			return err
		}
		if !ok {
			if _, _, err := createOne(ctx, tx, uid, p); err != nil {
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
	// The common case (every login of a known user) needs no write lock.
	var found bool
	err := s.read(ctx, user, op, func(tx *sql.Tx) error {
		_, err := lookup(ctx, tx, op, user, inbox, imap.ErrNonexistent)
		found = err == nil
		if errors.Is(err, imap.ErrNonexistent) {
			return nil
		}
		return err
	})
	if err != nil || found {
		return err
	}
	return s.write(ctx, user, op, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, user, true)
		if err != nil {
			return err
		}
		ok, err := exists(ctx, tx, uid, inbox)
		if err != nil || ok {
			return err
		}
		_, _, err = createOne(ctx, tx, uid, inbox)
		return err
	})
}

// DeleteUser removes everything the user has.
func (s *Store) DeleteUser(ctx context.Context, user string) error {
	const op = "delete user"
	return s.write(ctx, user, op, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, user, false)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id FROM mailboxes WHERE user_id = ?`, uid)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, id := range ids {
			if err := dropMailbox(ctx, tx, id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM subscriptions WHERE user_id = ?`, uid); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM seen WHERE reader = ?`, user); err != nil {
			return err
		}
		// The user's /private server entries (metadata.go).
		if _, err := tx.ExecContext(ctx, `DELETE FROM metadata WHERE mailbox_id = 0`); err != nil {
			return err
		}
		// The user's quota root goes with the user.
		if _, err := tx.ExecContext(ctx, `UPDATE quota SET storage_limit = -1, message_limit = -1, mailbox_limit = -1 WHERE id = 1`); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, uid)
		return err
	})
}

// dropMailbox deletes a mailbox row with its messages, tombstones and the
// bodies no other message shares.
func dropMailbox(ctx context.Context, tx *sql.Tx, id int64) error {
	rows, err := tx.QueryContext(ctx, `SELECT body_id, size FROM messages WHERE mailbox_id = ?`, id)
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
	if err := rows.Close(); err != nil {
		return err
	}
	if err := charge(ctx, tx, "delete", -freed, -int64(len(bodies))); err != nil {
		return err
	}
	if err := release(ctx, tx, bodies); err != nil {
		return err
	}
	for _, q := range []string{
		`DELETE FROM messages WHERE mailbox_id = ?`,
		`DELETE FROM expunged WHERE mailbox_id = ?`,
		`DELETE FROM sortrecords WHERE mailbox_id = ?`,
		`DELETE FROM acls WHERE mailbox_id = ?`,
		`DELETE FROM metadata WHERE mailbox_id = ?`,
		`DELETE FROM mailboxes WHERE id = ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return err
		}
	}
	return nil
}

// ListMailboxes returns the user's mailboxes sorted by name (byte order).
func (s *Store) ListMailboxes(ctx context.Context, user string) ([]ports.MailboxInfo, error) {
	var out []ports.MailboxInfo
	err := s.read(ctx, user, "list", func(tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, `
			SELECT m.name, m.specialuse FROM mailboxes m JOIN users u ON u.id = m.user_id
			WHERE u.name = ? ORDER BY m.name`, user)
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

// SetSpecialUse records the mailbox's special-use attributes in its row.
func (s *Store) SetSpecialUse(ctx context.Context, user, name string, uses []string) error {
	const op = "special-use"
	return s.write(ctx, user, op, func(tx *sql.Tx) error {
		m, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE mailboxes SET specialuse = ? WHERE id = ?`, strings.Join(uses, " "), m.id)
		return err
	})
}

// CreateMailbox creates the mailbox and its missing superior levels.
func (s *Store) CreateMailbox(ctx context.Context, user, name string) error {
	const op = "create"
	if err := checkName(op, name); err != nil {
		return err
	}
	return s.write(ctx, user, op, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, user, true)
		if err != nil {
			return err
		}
		ok, err := exists(ctx, tx, uid, name)
		if err != nil {
			return err
		}
		if ok {
			return imap.Errorf(op, imap.ErrAlreadyExists, "%q", name)
		}
		return admitMailboxes(ctx, tx, op, func() error { // quota.go
			if err := createParents(ctx, tx, uid, name); err != nil {
				return err
			}
			_, _, err := createOne(ctx, tx, uid, name)
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
	return s.write(ctx, user, op, func(tx *sql.Tx) error {
		m, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		return dropMailbox(ctx, tx, m.id)
	})
}

// RenameMailbox renames the mailbox with its children, or moves INBOX's
// messages to a new mailbox.
func (s *Store) RenameMailbox(ctx context.Context, user, from, to string) error {
	const op = "rename"
	if err := checkName(op, to); err != nil {
		return err
	}
	return s.write(ctx, user, op, func(tx *sql.Tx) error {
		src, err := lookup(ctx, tx, op, user, from, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		uid, err := userID(ctx, tx, user, false)
		if err != nil {
			return err
		}
		if from == inbox {
			return admitMailboxes(ctx, tx, op, func() error { // quota.go
				return renameInbox(ctx, tx, op, uid, src, to)
			})
		}
		if to == from {
			return imap.Errorf(op, imap.ErrAlreadyExists, "%q", to)
		}
		if strings.HasPrefix(to, from+string(imap.Separator)) {
			return imap.Errorf(op, imap.ErrCannot, "cannot move %q into itself", from)
		}
		// The mailbox moves with every child; none of the new names may
		// exist outside the set being moved.
		rows, err := tx.QueryContext(ctx, `SELECT id, name FROM mailboxes WHERE user_id = ?`, uid)
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
		if err := rows.Close(); err != nil {
			return err
		}
		for _, n := range moving {
			if others[n] {
				return imap.Errorf(op, imap.ErrAlreadyExists, "%q", n)
			}
			if err := checkName(op, n); err != nil {
				return err
			}
		}
		// Two passes, so that a new name equal to another moving
		// mailbox's old name never trips the unique index half way.
		for id := range moving {
			if _, err := tx.ExecContext(ctx, `UPDATE mailboxes SET name = ? WHERE id = ?`,
				"\x00rename\x00"+strconv.FormatInt(id, 10), id); err != nil {
				return err
			}
		}
		for id, n := range moving {
			if _, err := tx.ExecContext(ctx, `UPDATE mailboxes SET name = ? WHERE id = ?`, n, id); err != nil {
				return err
			}
		}
		return admitMailboxes(ctx, tx, op, func() error { // quota.go
			return createParents(ctx, tx, uid, to)
		})
	})
}

// renameInbox implements RFC 3501 6.3.5's special case: INBOX's messages
// move to a new mailbox (with its own UIDVALIDITY and UIDs 1..n in order),
// and INBOX stays, empty, with its UIDVALIDITY and UIDNEXT.
func renameInbox(ctx context.Context, tx *sql.Tx, op string, uid int64, src mailbox, to string) error {
	ok, err := exists(ctx, tx, uid, to)
	if err != nil {
		return err
	}
	if ok {
		return imap.Errorf(op, imap.ErrAlreadyExists, "%q", to)
	}
	if err := createParents(ctx, tx, uid, to); err != nil {
		return err
	}
	dst, _, err := createOne(ctx, tx, uid, to)
	if err != nil {
		return err
	}
	// RFC 8474 section 4.2: the new mailbox takes INBOX's MAILBOXID and
	// INBOX gets a new one.
	if _, err := tx.ExecContext(ctx, `UPDATE mailboxes SET mailboxid =
		(SELECT mailboxid FROM mailboxes WHERE id = ?) WHERE id = ?`, src.id, dst); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE mailboxes SET mailboxid = `+newMailboxIDSQL+` WHERE id = ?`, src.id); err != nil {
		return err
	}
	// Messages keep their flags, dates and bodies; the new UIDs follow the
	// old UID order (row_number over uid).
	res, err := tx.ExecContext(ctx, `
		INSERT INTO messages (mailbox_id, uid, modseq, flags, internaldate, zone, size, body_id, savedate)
		SELECT ?, row_number() OVER (ORDER BY uid), 1, flags, internaldate, zone, size, body_id, savedate
		FROM messages WHERE mailbox_id = ? ORDER BY uid`, dst, src.id)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE mailboxes SET uidnext = ? WHERE id = ?`, n+1, dst); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	// INBOX's sessions see the messages go as expunges.
	modseq := src.highest + 1
	if _, err := tx.ExecContext(ctx, `
		INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq)
		SELECT mailbox_id, uid, ? FROM messages WHERE mailbox_id = ?`, modseq, src.id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE mailbox_id = ?`, src.id); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE mailboxes SET highestmodseq = ? WHERE id = ?`, modseq, src.id)
	return err
}

// SetSubscribed adds or removes a subscription.
func (s *Store) SetSubscribed(ctx context.Context, user, name string, subscribed bool) error {
	const op = "subscribe"
	if subscribed {
		if err := checkName(op, name); err != nil {
			return err
		}
	}
	return s.write(ctx, user, op, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, user, subscribed)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // nothing to unsubscribe
		}
		if err != nil {
			return err
		}
		if subscribed {
			_, err = tx.ExecContext(ctx, `INSERT OR IGNORE INTO subscriptions (user_id, name) VALUES (?, ?)`, uid, name)
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM subscriptions WHERE user_id = ? AND name = ?`, uid, name)
		}
		return err
	})
}

// Subscriptions returns the subscribed names, sorted.
func (s *Store) Subscriptions(ctx context.Context, user string) ([]string, error) {
	var out []string
	err := s.read(ctx, user, "subscriptions", func(tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, `
			SELECT s.name FROM subscriptions s JOIN users u ON u.id = s.user_id
			WHERE u.name = ? ORDER BY s.name`, user)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return err
			}
			out = append(out, n)
		}
		return rows.Err()
	})
	return out, err
}
