package postgres

import (
	"context"
	"strings"

	"github.com/imapd-go/imapd/domain/imap"
)

// admitKeywords fails with imap.ErrLimit when adding the keywords want to
// mailbox mbox would take it past imap.MaxKeywords, and otherwise records
// them. It runs under the user's lock, so no other host adds keywords to
// the mailbox meanwhile (ports.Store: the limit is judged under the same
// lock as the change).
//
// The mailbox row keeps a bound: a superset of the keywords its messages
// carry, extended here. Only when the bound would pass the limit (or is
// not known, after an import) are the messages read, and the bound set to
// exactly what they carry.
func admitKeywords(ctx context.Context, t *userTx, op string, mbox int64, want []string) error {
	if len(want) == 0 {
		return nil
	}
	var stored *string
	if err := t.QueryRow(ctx, `SELECT keywords FROM mailboxes WHERE id = $1`, mbox).Scan(&stored); err != nil {
		return err
	}
	if stored != nil {
		bound := imap.NewKeywordSet(strings.Fields(*stored))
		missing := bound.Missing(want)
		if len(missing) == 0 {
			return nil
		}
		if bound.Len()+len(missing) <= imap.MaxKeywords {
			return saveKeywords(ctx, t, mbox, *stored, missing)
		}
	}
	have := imap.NewKeywordSet()
	lists, err := collect[string](ctx, t.Tx, `SELECT DISTINCT flags FROM messages WHERE mailbox_id = $1`, mbox)
	if err != nil {
		return err
	}
	for _, f := range lists {
		for _, k := range strings.Fields(f) {
			have.Add(k)
		}
	}
	if err := have.Admit(op, want); err != nil {
		return err
	}
	return saveKeywords(ctx, t, mbox, strings.Join(have.Names(), " "), have.Missing(want))
}

// saveKeywords records the bound list plus more.
func saveKeywords(ctx context.Context, t *userTx, mbox int64, list string, more []string) error {
	var b strings.Builder
	b.WriteString(list)
	for _, k := range more {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(imap.FoldFlag(k))
	}
	_, err := t.Exec(ctx, `UPDATE mailboxes SET keywords = $1 WHERE id = $2`, b.String(), mbox)
	return err
}
