package ports

import (
	"context"
	"io"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/search"
)

// Store keeps users' mailboxes and messages. Implementations must be safe for
// concurrent use by many goroutines and by many OS processes opening the same
// storage at once, and must leave every mailbox consistent after a crash at
// any moment (no partial message, no reused UID, no UIDVALIDITY change).
//
// Mailbox names are UTF-8 with "/" as the hierarchy separator; "INBOX" is
// always spelled so (callers normalise case). Every store holds exactly the
// names imap.CheckMailboxName accepts, no more and no fewer, so that
// mailboxes move between stores: a name it refuses is never created
// (imap.ErrInvalidName) and never found (imap.ErrNonexistent where a
// mailbox must exist). Errors wrap the kinds in
// domain/imap (imap.ErrNonexistent, imap.ErrAlreadyExists, ...), so callers
// use errors.Is. Every user's mailboxes are independent.
//
// A mailbox holds at most imap.MaxKeywords distinct keywords (compared
// without regard to case); a keyword counts while a message in the mailbox
// has it. Append, AppendAll, UpdateFlags, UpdateFlagsIf, Copy and Move fail
// with imap.ErrLimit, changing nothing, when they would give the mailbox
// (the destination, for Copy and Move) a keyword beyond that, judged under
// the same lock as the change itself, so two processes cannot both add the
// last one. Keywords the mailbox has can always be set.
type Store interface {
	// EnsureUser makes sure the user's storage and INBOX exist. Idempotent.
	EnsureUser(ctx context.Context, user string) error

	// DeleteUser removes the user's mailboxes, messages and subscriptions.
	// A user that does not exist is not an error.
	DeleteUser(ctx context.Context, user string) error

	// ListMailboxes returns every mailbox of the user, sorted by name.
	ListMailboxes(ctx context.Context, user string) ([]MailboxInfo, error)

	// CreateMailbox creates the mailbox, and any missing superior levels of
	// its name as ordinary mailboxes. It fails with imap.ErrAlreadyExists if
	// the name exists, imap.ErrInvalidName if imap.CheckMailboxName refuses
	// it (empty, an empty, "." or ".." level, too long...). A new
	// mailbox gets a UIDVALIDITY that no mailbox of that name had before.
	CreateMailbox(ctx context.Context, user, name string) error

	// DeleteMailbox deletes the mailbox and its messages; its children (if
	// any) remain. INBOX cannot be deleted (imap.ErrCannot); a missing
	// mailbox is imap.ErrNonexistent.
	DeleteMailbox(ctx context.Context, user, name string) error

	// RenameMailbox renames the mailbox and every child ("a/b" moves with
	// "a"), keeping UIDs, UIDVALIDITY and flags. Missing superior levels of
	// the new name are created. imap.ErrNonexistent if from is missing,
	// imap.ErrAlreadyExists if to exists. Renaming INBOX moves all its
	// messages to the new mailbox and leaves INBOX empty (children of INBOX
	// stay where they are).
	RenameMailbox(ctx context.Context, user, from, to string) error

	// SetSpecialUse replaces the mailbox's special-use attributes (RFC
	// 6154); nil or empty clears them. They stay with the mailbox through
	// RENAME and go with it on DELETE. imap.ErrNonexistent if the mailbox
	// does not exist.
	SetSpecialUse(ctx context.Context, user, name string, uses []string) error

	// SetSubscribed records a subscription. Subscribing to a name that does
	// not exist is allowed; so is unsubscribing from one not subscribed.
	SetSubscribed(ctx context.Context, user, name string, subscribed bool) error

	// Subscriptions returns the subscribed names, sorted.
	Subscriptions(ctx context.Context, user string) ([]string, error)

	// Status returns the mailbox's counters. imap.ErrNonexistent if missing.
	Status(ctx context.Context, user, name string) (MailboxStatus, error)

	// Append stores one message and returns when it is durable (data
	// fsynced, index committed). The new UID is greater than every UID the
	// mailbox ever had. imap.ErrTryCreate if the mailbox does not exist;
	// imap.ErrLimit if its flags would give the mailbox too many keywords.
	Append(ctx context.Context, user, name string, msg NewMessage) (AppendResult, error)

	// AppendAll stores several messages in one mailbox as one operation
	// (RFC 3502 MULTIAPPEND): when it returns nil every message is durable,
	// with new UIDs in the order given, and the results are pairwise with
	// msgs; when it returns an error, none of them is stored.
	// imap.ErrTryCreate if the mailbox does not exist, imap.ErrLimit if
	// the messages' flags would give it too many keywords.
	AppendAll(ctx context.Context, user, name string, msgs []NewMessage) ([]AppendResult, error)

	// Snapshot returns the mailbox's status and the metadata of all its
	// messages in UID order, as one consistent view.
	Snapshot(ctx context.Context, user, name string) (MailboxStatus, []MessageMeta, error)

	// ChangesSince returns what changed after modseq: messages whose ModSeq
	// is greater (new ones included), in UID order, and UIDs expunged after
	// modseq, ascending, plus the current status, as one consistent view.
	// imap.ErrNonexistent if the mailbox is gone.
	ChangesSince(ctx context.Context, user, name string, modseq uint64) (Changes, error)

	// Fetch returns the full records of the given UIDs (those that still
	// exist, in UID order; missing UIDs are skipped silently). The
	// records, the slice and what they point to (Flags, Structure) alike,
	// may be shared and are read-only: the caller must not change them
	// (appending to the slice is fine), and no later call of any method
	// changes them, so they stay valid as long as the caller keeps them
	// (message.Unmarshal keeps references into Structure). A store may so
	// hand out the same records to every caller instead of copying them
	// per Fetch.
	Fetch(ctx context.Context, user, name string, uids []imap.UID) ([]MessageRecord, error)

	// Open returns the raw RFC 5322 bytes of one message for random access.
	// imap.ErrNonexistent if the message (or mailbox) does not exist. The
	// caller must Close it.
	Open(ctx context.Context, user, name string, uid imap.UID) (MessageBody, error)

	// UpdateFlags changes the flags of the given UIDs (missing ones are
	// skipped) and gives each changed message a new, higher mod-sequence.
	// It returns the new metadata of every message it touched, changed or
	// not, in UID order. Flags are compared case-insensitively; keywords
	// keep the case they were first set in. imap.ErrLimit, with no message
	// changed, if op with flags would give the mailbox too many keywords
	// (FlagsRemove never does).
	UpdateFlags(ctx context.Context, user, name string, uids []imap.UID, op FlagOp, flags []string) ([]MessageMeta, error)

	// UpdateFlagsIf is UpdateFlags with RFC 7162's UNCHANGEDSINCE: a
	// message whose ModSeq is greater than unchangedSince is left as it is
	// and its UID returned in modified (ascending); the check and the
	// change are one atomic step, also against other processes. updated
	// holds the others, as UpdateFlags returns them.
	UpdateFlagsIf(ctx context.Context, user, name string, uids []imap.UID, op FlagOp, flags []string, unchangedSince uint64) (updated []MessageMeta, modified []imap.UID, err error)

	// Expunge removes the messages among uids that have \Deleted set (all
	// \Deleted messages when uids is nil) and returns the UIDs removed,
	// ascending.
	Expunge(ctx context.Context, user, name string, uids []imap.UID) ([]imap.UID, error)

	// Copy copies the given UIDs (missing ones are skipped) to dest with
	// their flags and internal dates, all or nothing. It returns dest's
	// UIDVALIDITY and the source and new UIDs, pairwise. imap.ErrTryCreate
	// if dest does not exist; imap.ErrLimit if the copies would give dest
	// too many keywords.
	Copy(ctx context.Context, user, name string, uids []imap.UID, dest string) (CopyResult, error)

	// Move moves the given UIDs (missing ones are skipped) to dest as one
	// operation (RFC 6851): the copies appear in dest with their flags and
	// internal dates, and the originals are expunged from name, whether or
	// not they had \Deleted. It returns the COPYUID data; the expunged source
	// UIDs are Result.Source. imap.ErrTryCreate if dest does not exist;
	// imap.ErrLimit, with nothing moved, if the messages would give dest
	// too many keywords.
	Move(ctx context.Context, user, name string, uids []imap.UID, dest string) (CopyResult, error)

	// Watch returns a channel that receives a value (coalesced: the channel
	// has a buffer of one) soon after the mailbox may have changed, by this
	// or any other process, until ctx ends; then the channel is closed. A
	// wake-up without a change is allowed; a change without a wake-up
	// within a second is not. Used by IDLE.
	Watch(ctx context.Context, user, name string) (<-chan struct{}, error)

	// WatchUser is Watch for the whole user: the channel receives a value
	// soon after any mailbox of the user that existed when it was called
	// may have changed (messages, flags), after a mailbox is created,
	// deleted or renamed, and after the subscriptions change, by this or
	// any other process, until ctx ends; then it is closed. The same
	// rules as Watch's apply (coalesced, a second at most, spurious
	// wake-ups allowed). A caller that sees the set of mailboxes change
	// calls it again to cover the new ones. Used by NOTIFY (RFC 5465).
	WatchUser(ctx context.Context, user string) (<-chan struct{}, error)

	// ClaimRecent claims for the caller, and no one else, the messages not
	// yet claimed by any session: it returns [from, to) where from is the
	// lowest UID not yet claimed and to is the mailbox's UIDNEXT, and
	// advances the mark to to, atomically. Sessions opened read-only must
	// not call it.
	ClaimRecent(ctx context.Context, user, name string) (from, to imap.UID, err error)

	// Close releases the store's resources.
	Close() error
}

// MailboxInfo describes one mailbox in a listing.
type MailboxInfo struct {
	Name string
	// SpecialUse holds the mailbox's RFC 6154 attributes (\Drafts,
	// \Sent, ...) as SetSpecialUse stored them; nil when none.
	SpecialUse []string
}

// MailboxStatus holds a mailbox's counters.
type MailboxStatus struct {
	UIDValidity   uint32
	UIDNext       imap.UID
	Messages      uint32
	Unseen        uint32 // messages without \Seen
	HighestModSeq uint64
	RecentUID     imap.UID // lowest UID not yet claimed as \Recent
	Recent        uint32   // messages with UID >= RecentUID
	Size          int64    // total RFC822.SIZE of all messages
}

// MessageMeta is what a session's view needs of each message.
type MessageMeta struct {
	UID    imap.UID
	Flags  []string // system flags canonical, keywords as stored; never \Recent
	ModSeq uint64
}

// MessageRecord is everything about a message except its bytes. Structure is
// the blob domain/message computed at APPEND (message.Structure in binary
// form); stores keep it opaque.
type MessageRecord struct {
	MessageMeta
	InternalDate time.Time
	Size         int64
	Structure    []byte
	// SaveDate is when the message was stored in this mailbox (APPEND,
	// COPY, MOVE, delivery; RFC 8514), to the second.
	SaveDate time.Time
}

// NewMessage is a message to append. Body yields exactly Size bytes; it may
// be read only once. Structure is the domain/message blob for it.
type NewMessage struct {
	Flags        []string
	InternalDate time.Time
	Size         int64
	Body         io.Reader
	Structure    []byte
	// SaveDate, when not zero, is kept as the message's save date
	// (migration); otherwise the store uses the time it stores it.
	SaveDate time.Time
	// SortRecord, when not nil, is the message's SORT and THREAD
	// record (domain/sortkey's AppendRecord), opaque to the store, which
	// keeps it with the message when it implements MessageSortRecords.
	SortRecord []byte
}

// AppendResult identifies the appended message (RFC 4315 APPENDUID).
type AppendResult struct {
	UIDValidity uint32
	UID         imap.UID
}

// CopyResult identifies the copies (RFC 4315 COPYUID).
type CopyResult struct {
	UIDValidity uint32
	Source      []imap.UID
	Dest        []imap.UID
}

// Changes is the answer to ChangesSince.
type Changes struct {
	Status   MailboxStatus
	Updated  []MessageMeta
	Expunged []imap.UID
}

// FlagOp says how UpdateFlags changes flags.
type FlagOp int

const (
	FlagsReplace FlagOp = iota
	FlagsAdd
	FlagsRemove
)

// Apply returns the flags a message with cur gets from op with flags, and
// whether they differ from cur (as a case-insensitive set). Both lists are
// normalised (imap.NormalizeFlags).
func (op FlagOp) Apply(cur, flags []string) ([]string, bool) {
	var next []string
	switch op {
	case FlagsReplace:
		next = flags
	case FlagsAdd:
		next = imap.AddFlags(cur, flags)
	case FlagsRemove:
		next = imap.RemoveFlags(cur, flags)
	default:
		return cur, false
	}
	if imap.SameFlags(cur, next) {
		return cur, false
	}
	return next, true
}

// MessageBody is random access to one message's bytes.
type MessageBody interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// TextIndex is a full-text index a Store may keep of its messages, for
// SEARCH to look at fewer of them. It only narrows: the caller still
// evaluates the criteria on every candidate, so results stay exactly RFC
// 3501's.
type TextIndex interface {
	// TextCandidates returns, ascending, UIDs of the mailbox's messages
	// that may satisfy q: every message whose search.Doc satisfies q
	// (q.Contains) is among them, and so is every message the index has
	// not seen (appended by a program without the index, or before a
	// crash the index did not survive); others may be too. ok is false
	// when the index cannot answer at all (FTS5 not built in): then every
	// message is a candidate. imap.ErrNonexistent if the mailbox is gone.
	TextCandidates(ctx context.Context, user, name string, q search.TextQuery) (uids []imap.UID, ok bool, err error)

	// IndexMailbox indexes the mailbox's messages the index has not seen
	// (those APPEND, COPY, MOVE and delivery stored since it last looked),
	// so that the next search need not. It does nothing, successfully,
	// when the index cannot answer (FTS5 not built in).
	// imap.ErrNonexistent if the mailbox is gone.
	IndexMailbox(ctx context.Context, user, name string) error

	// BuildTextIndex indexes the user's messages the index has not seen,
	// in every mailbox, calling progress (when not nil) with the number
	// of messages done and to do as it goes; with rebuild, it forgets
	// what the index holds of the user first and indexes everything.
	BuildTextIndex(ctx context.Context, user string, rebuild bool, progress func(done, total int)) error
}

// TextRecords is a TextIndex that can return the candidates' records with
// them, as Fetch would, for a search whose criteria need more than UIDs
// and flags: one read of the store instead of two.
type TextRecords interface {
	TextIndex

	// TextCandidateRecords is TextCandidates returning, in UID order,
	// the record of each candidate the mailbox still holds (as Fetch
	// returns them) instead of its UID.
	TextCandidateRecords(ctx context.Context, user, name string, q search.TextQuery) (recs []MessageRecord, ok bool, err error)
}

// MemoryReleaser is implemented by a store that holds memory it can give
// back while the process is idle (connections and caches kept for speed).
// The app calls ReleaseMemory when the process has gone quiet: between
// sessions in a process that serves one at a time, and after a period
// without commands in one that serves many. Operations may run meanwhile.
type MemoryReleaser interface {
	ReleaseMemory()
}

// SortRecords is implemented by a store that keeps, per mailbox, one
// opaque list of SORT and THREAD records (domain/sortkey's encoding),
// which the app computes from the structure blobs stored at APPEND and
// saves, so that a process sorting a mailbox for the first time reads
// one value instead of every message's structure. A record depends only
// on a message's bytes and internal date, which a UID keeps for as long
// as the mailbox keeps its UIDVALIDITY: the list is saved and loaded
// with the UIDVALIDITY it belongs to.
type SortRecords interface {
	// LoadSortRecords returns the list last saved for the mailbox and
	// the UIDVALIDITY it was saved with; data is nil when none was saved
	// (or the mailbox was deleted and created again since). data is the
	// caller's: the store keeps no reference to it.
	// imap.ErrNonexistent if the mailbox does not exist.
	LoadSortRecords(ctx context.Context, user, name string) (uidValidity uint32, data []byte, err error)

	// SaveSortRecords replaces the mailbox's list with data, unless the
	// mailbox's UIDVALIDITY is no longer uidValidity (then it does
	// nothing, successfully). The list stays with the mailbox through
	// RENAME and goes with it on DELETE. imap.ErrNonexistent if the
	// mailbox does not exist.
	SaveSortRecords(ctx context.Context, user, name string, uidValidity uint32, data []byte) error
}
