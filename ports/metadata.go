package ports

import "context"

// MetadataEntry is one RFC 5464 entry: its name, "/private/..." or
// "/shared/...", in lower case (RFC 5464 section 3.2: entry names are
// case-insensitive; callers fold them), and its value, any bytes.
type MetadataEntry struct {
	Name  string
	Value []byte // in SetMetadata, nil removes the entry
}

// Metadata is an optional interface of a Store: the METADATA entries
// (RFC 5464) of mailboxes and of the server. Callers find it with a type
// assertion. The same multi-process and crash promises as Store's apply.
//
// The mailbox "" is the server. A mailbox's /shared entries are one set
// for everyone who may see the mailbox; its /private entries are one set
// per user (today a mailbox is seen by its owner only, so user is both
// the owner and the reader). The server's /shared entries are one set for
// the whole store; its /private entries one set per user.
//
// Entries stay with their mailbox through RenameMailbox (children's with
// the children; renaming INBOX leaves INBOX's entries with INBOX), go with
// it on DeleteMailbox (a mailbox created later under the same name has
// none), and DeleteUser removes the user's mailboxes' entries and the
// user's /private server entries.
type Metadata interface {
	// GetMetadata returns the entries of the mailbox ("" for the server)
	// that user sees: its /shared entries and user's own /private ones,
	// sorted by name. imap.ErrNonexistent if the mailbox does not exist.
	GetMetadata(ctx context.Context, user, mailbox string) ([]MetadataEntry, error)

	// SetMetadata sets each entry to its value, or removes it when Value
	// is nil (removing an entry that does not exist is no error); a
	// /private entry is user's own. All changes to a mailbox are one
	// atomic step, also against other processes; for the server, its
	// /shared and its /private changes are each one. When limit > 0 and
	// the change would leave more than limit /shared entries, or more
	// than limit /private entries of user, on the mailbox (the server),
	// it fails with imap.ErrLimit and changes nothing. imap.ErrNonexistent
	// if the mailbox does not exist.
	SetMetadata(ctx context.Context, user, mailbox string, entries []MetadataEntry, limit int) error
}
