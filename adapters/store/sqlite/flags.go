package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/imapd-go/imapd/domain/imap"
)

// Flags are stored as flaglist keeps them.

// admitKeywords fails with imap.ErrLimit when adding the keywords want to
// mailbox mbox would take it past imap.MaxKeywords, and otherwise records
// them. It runs inside tx, whose write lock keeps other processes from
// adding keywords meanwhile.
//
// Counting the keywords of every message would cost a read of the whole
// mailbox, so the mailbox row keeps a bound: a superset of the keywords its
// messages carry, which every change that adds keywords extends here. A
// keyword in the bound needs nothing more; a new one that fits in the bound
// is added to it; only when the bound would pass the limit (or is not
// known, after an upgrade or an import) are the messages read, and the
// bound set to exactly what they carry, so keywords no message has any
// more leave it then.
func admitKeywords(ctx context.Context, tx *sql.Tx, op string, mbox int64, want []string) error {
	if len(want) == 0 {
		return nil
	}
	var stored sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT keywords FROM mailboxes WHERE id = ?`, mbox).Scan(&stored); err != nil {
		return err
	}
	if stored.Valid {
		bound := imap.NewKeywordSet(strings.Fields(stored.String))
		missing := bound.Missing(want)
		if len(missing) == 0 {
			return nil
		}
		if bound.Len()+len(missing) <= imap.MaxKeywords {
			return saveKeywords(ctx, tx, mbox, stored.String, missing)
		}
	}
	have, err := mailboxKeywords(ctx, tx, mbox)
	if err != nil {
		return err
	}
	if err := have.Admit(op, want); err != nil {
		return err
	}
	return saveKeywords(ctx, tx, mbox, strings.Join(have.Names(), " "), have.Missing(want))
}

// saveKeywords records the bound list plus more.
func saveKeywords(ctx context.Context, tx *sql.Tx, mbox int64, list string, more []string) error {
	var b strings.Builder
	b.WriteString(list)
	for _, k := range more {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(imap.FoldFlag(k))
	}
	_, err := tx.ExecContext(ctx, `UPDATE mailboxes SET keywords = ? WHERE id = ?`, b.String(), mbox)
	return err
}

// mailboxKeywords returns the keywords the mailbox's messages carry.
func mailboxKeywords(ctx context.Context, tx *sql.Tx, mbox int64) (imap.KeywordSet, error) {
	have := imap.NewKeywordSet()
	// Messages often share one flag list: DISTINCT lets SQLite drop the
	// repeats before they reach us.
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT flags FROM messages WHERE mailbox_id = ?`, mbox)
	if err != nil {
		return have, err
	}
	defer rows.Close()
	for rows.Next() {
		var f sql.RawBytes
		if err := rows.Scan(&f); err != nil {
			return have, err
		}
		for _, k := range strings.Fields(string(f)) {
			have.Add(k)
		}
	}
	return have, rows.Err()
}
