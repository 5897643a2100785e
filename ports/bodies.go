package ports

import (
	"context"

	"github.com/imapd-go/imapd/domain/imap"
)

// BodyBatches is an optional interface of a Store whose Open costs a
// round trip to a server: the bodies of many messages opened together, for
// a FETCH that reads them one after another.
type BodyBatches interface {
	// OpenBodies is Open of each of uids in one go: it returns, in the
	// order of uids, each message's body, or nil for a UID the mailbox
	// does not hold. A mailbox that does not exist is an
	// imap.ErrNonexistent error. The store bounds what it reads ahead
	// (a body it does not read now reads itself as Open's would); the
	// caller closes every body it is given.
	OpenBodies(ctx context.Context, user, mailbox string, uids []imap.UID) ([]MessageBody, error)
}
