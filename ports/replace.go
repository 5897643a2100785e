package ports

import (
	"context"

	"github.com/imapd-go/imapd/domain/imap"
)

// Replacer is implemented by a store that can put a new message in the
// place of an old one as one step (RFC 8508 REPLACE): the app uses it
// when the store has it, and both stores of this project do.
type Replacer interface {
	// Replace appends msg to dest and expunges the message old from name
	// (whether or not it has \Deleted) as one atomic, durable step, also
	// against other processes and across a crash at any moment: when it
	// returns nil, both happened (the new message as Append stores it,
	// the old one reported by ChangesSince as expunged); when it returns
	// an error, neither did, and no process ever sees one without the
	// other. name and dest may be the same mailbox. Errors:
	// imap.ErrNonexistent if name does not exist; imap.ErrTryCreate if
	// dest does not exist; imap.ErrLimit if msg's flags would give dest
	// too many keywords; imap.ErrNoMessage if old is not (any more) in
	// name (RFC 8508 section 3.2: NO, "can't remove specified message").
	Replace(ctx context.Context, user, name string, old imap.UID, dest string, msg NewMessage) (AppendResult, error)
}
