package ports

import (
	"context"

	"github.com/imapd-go/imapd/domain/imap"
)

// SharedOwner is the owner key under which a Store keeps shared mailboxes
// (Cyrus's mailboxes outside user/): an ordinary Store user as far as the
// Store is concerned, whose name no login can have (user names never hold
// ':'), and which never gets an INBOX unless EnsureUser is called for it
// (nobody does).
const SharedOwner = ":shared"

// ACLs is an optional interface of a Store: each mailbox's access control
// list (RFC 4314), kept with the mailbox. Callers find it with a type
// assertion. The same multi-process and crash promises as Store's apply.
//
// A mailbox's ACL is "unset" until ModifyACL first stores one; the caller
// then applies its default (the owner's full rights, or imapd.conf's
// defaultacl for a shared mailbox). CreateMailbox gives each mailbox it
// creates (the superior levels it adds included) a copy of the ACL of
// its nearest existing superior mailbox, or, for a top-level name of a
// user with an INBOX, of INBOX's (Cyrus's INBOX is the parent of a user's
// other mailboxes); a copy of an unset ACL is unset. The ACL stays with
// the mailbox through RENAME (children's too; RENAME of INBOX leaves
// INBOX's ACL where it is and creates the new mailbox as CreateMailbox
// does) and goes with
// it on DELETE: a mailbox created again under the name starts as its new
// parent says.
type ACLs interface {
	// MailboxACL returns the mailbox's ACL, in the order ModifyACL
	// stored it, and whether one was ever stored. imap.ErrNonexistent if the mailbox
	// does not exist.
	MailboxACL(ctx context.Context, user, name string) (acl imap.ACL, set bool, err error)

	// ModifyACL replaces the mailbox's ACL with what fn returns given the
	// current one (and whether it is set), as one atomic step, also
	// against other processes: fn runs while the store holds the
	// mailbox's write lock, may run more than once, and must do no I/O.
	// An error from fn is returned and nothing changes. It returns the
	// stored ACL. imap.ErrNonexistent if the mailbox does not exist.
	ModifyACL(ctx context.Context, user, name string, fn func(cur imap.ACL, set bool) (imap.ACL, error)) (imap.ACL, error)

	// Owners calls f with every user the store holds mailboxes or other
	// data of (SharedOwner included once a shared mailbox was created),
	// in no particular order, until f returns an error, which it
	// returns. A user removed by DeleteUser is not listed; one might be
	// listed that has no mailbox.
	Owners(ctx context.Context, f func(user string) error) error

	// Grantors calls f, once each and in no particular order, with at
	// least every owner one of whose mailboxes has a stored ACL that
	// gives rights to one of ids (an identifier as ModifyACL stored it,
	// "anyone" included), and perhaps with others (an entry since taken
	// back), until f returns an error, which it returns. It lets LIST
	// look at the owners who shared something instead of all of them.
	Grantors(ctx context.Context, ids []string, f func(owner string) error) error
}

// SeenStates is an optional interface of a Store: the \Seen state each
// user keeps of mailboxes they do not own (Cyrus's per-user seen
// database), kept in the reader's own storage under a key the caller
// chooses (the app uses the owner and the mailbox's RFC 8474 MAILBOXID,
// so that the state follows a RENAME and is not found for a mailbox
// created again under the same name). A reader's sets go with
// DeleteUser of the reader; the store never drops one otherwise.
type SeenStates interface {
	// LoadSeen returns the UIDs reader has marked \Seen in the mailbox
	// with the given id, ascending, and a counter that rises with every
	// change UpdateSeen makes to them (0 when reader never marked any).
	LoadSeen(ctx context.Context, reader, key string) (uids []imap.UID, version uint64, err error)

	// UpdateSeen adds uids to (seen) or removes them from (!seen) the
	// reader's set for the mailbox, as one atomic step, also against
	// other processes, and returns the set's new version.
	UpdateSeen(ctx context.Context, reader, key string, uids []imap.UID, seen bool) (version uint64, err error)

	// SeenKeys calls f with every key reader has a set for (migration),
	// in no particular order, until f returns an error, which it
	// returns.
	SeenKeys(ctx context.Context, reader string, f func(key string) error) error
}
