package ports

import "context"

// NoLimit is a quota resource without a limit.
const NoLimit int64 = -1

// QuotaLimits are the limits of one quota root (RFC 9208), NoLimit where
// the root has none.
type QuotaLimits struct {
	// Storage is the STORAGE limit in units of 1024 bytes (KB), as
	// RFC 9208 section 5.1 and Cyrus count it.
	Storage int64
	// Messages is the MESSAGE limit (RFC 9208 section 5.2).
	Messages int64
	// Mailboxes is the MAILBOX limit (RFC 9208 section 5.3): how many
	// mailboxes the root holds, INBOX included.
	Mailboxes int64
}

// Unlimited is a root without any limit.
var Unlimited = QuotaLimits{Storage: NoLimit, Messages: NoLimit, Mailboxes: NoLimit}

// QuotaUsage is what the mailboxes of a quota root hold.
type QuotaUsage struct {
	// Storage is the sum of the RFC822.SIZE of every message, in bytes;
	// each copy of a message counts, even where a store shares the bytes.
	Storage int64
	// Messages is the number of messages.
	Messages int64
	// Mailboxes is the number of mailboxes, INBOX included.
	Mailboxes int64
}

// Quota is a root's limits with its usage.
type Quota struct {
	Limits QuotaLimits
	Usage  QuotaUsage
}

// Admits reports whether a root with these limits and usage u may take
// bytes more bytes and msgs more messages. Only growth is judged: a
// change that adds nothing to a resource is never refused for it, even
// above its limit (a limit set below the usage stops growth, it removes
// nothing). A STORAGE limit of L admits up to L*1024 bytes.
func (l QuotaLimits) Admits(u QuotaUsage, bytes, msgs int64) bool {
	if bytes > 0 && l.Storage >= 0 && u.Storage+bytes > l.Storage*1024 {
		return false
	}
	if msgs > 0 && l.Messages >= 0 && u.Messages+msgs > l.Messages {
		return false
	}
	return true
}

// AdmitsMailboxes reports whether a root with these limits and usage u
// may take n more mailboxes.
func (l QuotaLimits) AdmitsMailboxes(u QuotaUsage, n int64) bool {
	return n <= 0 || l.Mailboxes < 0 || u.Mailboxes+n <= l.Mailboxes
}

// Quotas is implemented by a store that keeps quota limits and usage. Each
// user's whole tree (INBOX and every mailbox under it) is one quota root;
// the app names it (INBOX for the user, user/NAME for an admin), the store
// knows it by the user.
//
// Usage is kept by the store as it changes, in the same atomic step as the
// change (never by summing every message when asked), and is exact: it
// equals the sum over the user's messages at every moment another process
// can see, whatever the number of processes writing at once.
//
// With a limit set, Append, AppendAll and Copy fail with imap.ErrOverQuota,
// storing nothing, when the messages they add would take the root past a
// limit (QuotaLimits.Admits), judged under the same lock as the write, so
// that two processes cannot both take the last bytes. Move within the user
// adds nothing and is never refused for quota. Expunge, DeleteMailbox and
// DeleteUser lower the usage. Imported messages (ports.Importer) count
// but are never refused. With a MAILBOX limit, CreateMailbox and
// RenameMailbox fail with imap.ErrOverQuota, changing nothing, when the
// mailboxes they create (superior levels included) would take the root
// past it (AdmitsMailboxes), judged under the same lock as the change;
// EnsureUser and ImportMailbox are never refused.
type Quotas interface {
	// Quota returns the user's limits and usage as one consistent view.
	// A user without limits has Unlimited. imap.ErrNonexistent if the
	// user does not exist (EnsureUser was never called, or DeleteUser
	// since).
	Quota(ctx context.Context, user string) (Quota, error)

	// SetQuota replaces the user's limits (Unlimited removes them); a
	// limit below NoLimit counts as NoLimit. A limit below the usage is
	// kept as it is: nothing is removed, but nothing more is admitted.
	// imap.ErrNonexistent if the user does not exist.
	SetQuota(ctx context.Context, user string, limits QuotaLimits) error
}
