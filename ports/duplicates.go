package ports

import (
	"context"
	"time"
)

// Delivery identifies one message delivered to one mailbox, for duplicate
// suppression as Cyrus's duplicatesuppression does it: the message's
// Message-ID and Date fields (as written, unfolded) and the mailbox.
type Delivery struct {
	MessageID string
	Date      string
	User      string
	Mailbox   string
}

// Duplicates remembers deliveries so that a message delivered again to
// the same mailbox (an MTA that retries after a lost reply, a list that
// sends the same message twice) is stored once. It is shared by every
// process that delivers into the same mail (the processes of a
// configdirectory; every host of a shared database), and is safe for
// concurrent use by goroutines and processes. test/duplicatestest holds
// its contract suite.
type Duplicates interface {
	// Delivered reports whether d was recorded less than the expiry ago.
	Delivered(ctx context.Context, d Delivery) (bool, error)

	// Record records d as delivered at the given time (a repeated record
	// moves its time). Records older than the expiry are forgotten.
	Record(ctx context.Context, d Delivery, at time.Time) error
}
