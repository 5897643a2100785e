package ports

import (
	"context"

	"github.com/imapd-go/imapd/domain/imap"
)

// Importer is an optional interface of a Store: it writes mailboxes and
// messages with identifiers chosen by the caller, so that a migration from
// one backend to another keeps UIDVALIDITY, UIDNEXT and every UID, and
// clients keep their caches. Callers find it with a type assertion. The
// same multi-process and crash promises as Store's apply.
type Importer interface {
	// ImportMailbox creates the mailbox (and missing superior levels) with
	// the given UIDVALIDITY and UIDNEXT. If it exists with the same
	// UIDVALIDITY, its UIDNEXT is raised to uidNext if lower and nothing
	// else changes (a restarted migration). If it exists with another
	// UIDVALIDITY and has never held a message (a fresh INBOX), it takes
	// the given values; otherwise imap.ErrAlreadyExists.
	ImportMailbox(ctx context.Context, user, name string, uidValidity uint32, uidNext imap.UID) error

	// ImportMessage stores msg under the given UID, durably, as Append
	// does, and raises UIDNEXT above uid if needed. imap.ErrAlreadyExists
	// if the mailbox holds that UID; imap.ErrNonexistent if the mailbox
	// is missing; imap.ErrCannot for UID 0.
	ImportMessage(ctx context.Context, user, name string, uid imap.UID, msg NewMessage) error
}
