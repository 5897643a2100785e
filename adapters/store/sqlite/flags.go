package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/imapd-go/imapd/domain/imap"
)

// Flags are stored as one space-separated TEXT value: system flags in their
// canonical spelling, keywords as the client first wrote them.

func joinFlags(flags []string) string { return strings.Join(flags, " ") }

// flagParser splits stored flag lists, sharing one string per distinct flag
// name so that a snapshot of a large mailbox allocates little.
type flagParser map[string]string

func (p flagParser) parse(b []byte) []string {
	if len(b) == 0 {
		return []string{}
	}
	out := make([]string, 0, 1+countByte(b, ' '))
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != ' ' {
			i++
		}
		if i > 0 {
			s, ok := p[string(b[:i])]
			if !ok {
				s = string(b[:i])
				p[s] = s
			}
			out = append(out, s)
		}
		if i < len(b) {
			i++
		}
		b = b[i:]
	}
	return out
}

func countByte(b []byte, c byte) int {
	n := 0
	for _, x := range b {
		if x == c {
			n++
		}
	}
	return n
}

// admitKeywords fails with imap.ErrLimit when adding the keywords want to
// mailbox mbox would take it past imap.MaxKeywords. It reads the flags of
// the mailbox's messages inside tx, whose write lock keeps other processes
// from adding keywords meanwhile, newest first: recent messages are the
// likeliest to carry the same keywords, and the scan stops once all of
// want are found.
func admitKeywords(ctx context.Context, tx *sql.Tx, op string, mbox int64, want []string) error {
	if len(want) == 0 {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT flags FROM messages WHERE mailbox_id = ? ORDER BY uid DESC`, mbox)
	if err != nil {
		return err
	}
	defer rows.Close()
	p := flagParser{}
	var scanErr error
	err = imap.AdmitKeywords(op, want, func(yield func([]string) bool) {
		for rows.Next() {
			var f sql.RawBytes
			if scanErr = rows.Scan(&f); scanErr != nil {
				return
			}
			if !yield(p.parse(f)) {
				return
			}
		}
		scanErr = rows.Err()
	})
	if scanErr != nil {
		return scanErr
	}
	return err
}
