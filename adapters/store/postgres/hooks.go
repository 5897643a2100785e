package postgres

import (
	"context"

	"github.com/imapd-go/imapd/ports"
)

// charge is how quota accounting sees mail arrive (positive) and leave
// (negative) in the user's transaction.
func charge(ctx context.Context, t *userTx, op string, storage, messages int64) error { return nil }

// admitMailboxes runs fn, which creates mailboxes, judging the user's
// mailbox limit.
func admitMailboxes(ctx context.Context, t *userTx, op string, fn func() error) error { return fn() }

// created runs for the mailbox a CREATE made.
func created(ctx context.Context, t *userTx, name string, id int64) error { return nil }

// renamedInbox runs when RENAME of INBOX moved its messages to mailbox to.
func renamedInbox(ctx context.Context, t *userTx, from, to int64) error { return nil }

// sortRecordsAppended runs after APPEND stored bodies with msgs.
func sortRecordsAppended(ctx context.Context, t *userTx, bodies []int64, msgs []ports.NewMessage) error {
	return nil
}

// chargeAlways counts imported mail in the user's usage without judging
// the limits.
func chargeAlways(ctx context.Context, t *userTx, storage, messages int64) error { return nil }
