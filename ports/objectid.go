package ports

import "context"

// ObjectIDs is an optional interface of a Store: the RFC 8474 object ids
// it keeps beside what Store holds. (EMAILID and THREADID themselves
// travel in each message's structure blob, which every Store keeps
// verbatim through COPY, MOVE and RENAME; what a store adds is the
// mailbox ids and the index that threads new messages.) Callers find it
// with a type assertion. The same multi-process and crash promises as
// Store's apply.
//
// Ids are 1 to 255 of ALPHA, DIGIT, "_" and "-" (RFC 8474 section 4).
type ObjectIDs interface {
	// MailboxID returns the mailbox's MAILBOXID: one no other mailbox
	// of the user had or will have, kept by RENAME. Renaming INBOX
	// gives the new mailbox INBOX's id and INBOX a new one (RFC 8474
	// section 4.2). imap.ErrNonexistent if the mailbox does not exist.
	MailboxID(ctx context.Context, user, name string) (string, error)

	// SetMailboxID gives the mailbox the id (migration: the id it had in
	// another store). imap.ErrNonexistent if the mailbox does not exist.
	SetMailboxID(ctx context.Context, user, name, id string) error

	// AssignThread returns the thread id recorded in the user's index
	// for the first of msgIDs that has one, or fresh when none has, and
	// records the id it returns for each of msgIDs that had none, as one
	// atomic step. msgIDs are Message-IDs as written between "<" and
	// ">"; compared exactly.
	AssignThread(ctx context.Context, user string, msgIDs []string, fresh string) (string, error)

	// Threads calls f with every entry of the user's thread index, in
	// no particular order, until f returns an error, which it returns.
	Threads(ctx context.Context, user string, f func(msgID, threadID string) error) error
}
