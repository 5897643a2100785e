// Package grammar reads IMAP commands (RFC 3501 / RFC 9051 formal syntax,
// with synchronizing and non-synchronizing literals) into the typed values
// below, and encodes responses. It does no I/O beyond the bufio.Reader and
// io.Writer it is handed, and imports only the standard library and other
// domain packages.
package grammar

import (
	"io"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/domain/search"
)

// Command is one parsed command. Name is upper-case ("LOGIN", "FETCH"); for
// "UID FETCH" and friends Name is the inner command and UID is true. Args is
// one of the *Args types below, or nil for commands without arguments
// (CAPABILITY, NOOP, LOGOUT, STARTTLS, CHECK, CLOSE, EXPUNGE, UNSELECT, IDLE).
type Command struct {
	Tag  string
	Name string
	UID  bool
	Args any
}

// Mailbox names in every Args are decoded from modified UTF-7 to UTF-8 (or
// taken as UTF-8 after SetUTF8), and any case of "INBOX" is normalised to
// "INBOX" (also as the first level of a hierarchical name, e.g. "inbox/x"
// -> "INBOX/x"). A name that parses (it is an astring, or a list-mailbox)
// but does not decode (imap.DecodeName) is no syntax error: the field keeps
// it as sent, and the Err field beside it holds the reason (wrapping
// imap.ErrInvalidName). Handlers answer such a name as imap.RefuseName
// says.

// LoginArgs: LOGIN userid password.
type LoginArgs struct{ User, Password string }

// AuthenticateArgs: AUTHENTICATE mechanism [initial-response] (RFC 4959).
// Mechanism is upper-case. HasInitial is true when an initial response was
// given; "=" gives an empty, non-nil Initial.
type AuthenticateArgs struct {
	Mechanism  string
	Initial    []byte // base64-decoded
	HasInitial bool
}

// MailboxArgs: SELECT, EXAMINE, CREATE, DELETE, SUBSCRIBE, UNSUBSCRIBE.
//
// SELECT and EXAMINE may carry select-params (RFC 7162 section 3.1.8 /
// 3.2.5): Condstore is true for "(CONDSTORE)", QResync is non-nil for
// "(QRESYNC (...))". Whether QRESYNC was enabled is the handler's check
// (RFC 7162 3.2.5: BAD when it was not).
//
// CREATE may carry "(USE (attrs))" (RFC 6154 section 5.2): SpecialUse holds
// the attributes in canonical case (\All, \Archive, \Drafts, \Flagged,
// \Junk, \Sent, \Trash); it is non-nil (maybe empty) when USE was given.
// An unknown attribute is refused by the parser with NO [USEATTR].
type MailboxArgs struct {
	Mailbox    string
	MailboxErr error // see "Mailbox names" above
	Condstore  bool
	QResync    *QResyncParams
	SpecialUse []string
}

// RenameArgs: RENAME from to.
type RenameArgs struct {
	From, To       string
	FromErr, ToErr error // see "Mailbox names" above
}

// ListArgs: LIST and LSUB. Reference and Pattern are decoded from modified
// UTF-7 like mailbox names but keep their wildcards; INBOX is not normalised
// here (matching does that). ReferenceErr is the reference's decoding
// error; PatternErrs is nil when every pattern decoded, and otherwise holds
// each pattern's error (nil for those that decoded) in the order of
// Patterns.
//
// The extended form (RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154
// SPECIAL-USE) sets Extended: it is true when selection options, a
// parenthesised pattern list or RETURN options were given (even empty
// ones). Patterns always holds every pattern (one for the basic form) and
// Pattern is Patterns[0]. Select holds the selection options and Return the
// return options, upper-case, without duplicates, in the client's order:
// Select from SUBSCRIBED, REMOTE, RECURSIVEMATCH, SPECIAL-USE; Return from
// SUBSCRIBED, CHILDREN, SPECIAL-USE, STATUS. When STATUS is among Return,
// StatusItems holds its items (upper-case, as StatusArgs.Items). The parser
// enforces RFC 5258's rules: unknown options and RECURSIVEMATCH without
// SUBSCRIBED or SPECIAL-USE are BAD. LSUB never takes the extended form.
type ListArgs struct {
	Reference, Pattern string
	Patterns           []string
	ReferenceErr       error
	PatternErrs        []error
	Extended           bool
	Select             []string
	Return             []string
	StatusItems        []string
	// Metadata is RFC 9590's METADATA return option (then "METADATA"
	// is among Return): the entries (and MAXSIZE, DEPTH) each listed
	// mailbox is answered with, as GETMETADATA would.
	Metadata *GetMetadataArgs
}

// StatusArgs: STATUS mailbox (items). Items are upper-case: MESSAGES, RECENT,
// UIDNEXT, UIDVALIDITY, UNSEEN.
type StatusArgs struct {
	Mailbox    string
	MailboxErr error // see "Mailbox names" above
	Items      []string
}

// AppendArgs: APPEND mailbox [flags] [date-time] literal. The parser stops
// at the literal: Body streams exactly Size bytes from the connection. The
// handler must read Body (or call Parser.DiscardLiteral) and then call
// Parser.EndCommand, which reads the rest of the line, before it answers.
//
// With MULTIAPPEND (RFC 3502) the handler calls Parser.NextAppend instead
// of EndCommand after each message, until it returns nil. Binary is true
// when the message came as a literal8 ("~{n}", RFC 3516: NUL allowed) or in
// RFC 6855's "UTF8 (~{n})" form.
type AppendArgs struct {
	Mailbox    string
	MailboxErr error    // see "Mailbox names" above
	Flags      []string // canonical system flags and keywords
	Date       time.Time
	HasDate    bool
	Size       int64
	Body       io.Reader
	Binary     bool
	Catenate   bool // RFC 4469: read the parts with Parser.NextCatPart
}

// FetchArgs: FETCH / UID FETCH. Macros (ALL, FAST, FULL) are expanded.
//
// SavedResult is true when the set was "$" (RFC 5182): Set is then nil and
// the handler uses the saved search result (a set of UIDs, whether or not
// the command is a UID command).
//
// Fetch modifiers (RFC 7162 section 3.1.4 / 3.2.6): ChangedSince is the
// CHANGEDSINCE mod-sequence (0 when absent; the grammar requires it to be
// >= 1). Vanished is true for UID FETCH ... (CHANGEDSINCE n VANISHED); the
// parser refuses VANISHED without CHANGEDSINCE or outside UID FETCH, and
// the handler must refuse it with BAD when QRESYNC is not enabled.
type FetchArgs struct {
	Set          imap.NumSet
	Items        []FetchItem
	SavedResult  bool
	ChangedSince uint64
	Vanished     bool
	// Partial is the PARTIAL fetch modifier (RFC 9394 section 3.3): only
	// the messages at these positions among those the set names (after
	// CHANGEDSINCE) are fetched. Nil when absent.
	Partial *search.PartialRange
}

// FetchItem is one fetch attribute. Name is upper-case and one of ENVELOPE,
// FLAGS, INTERNALDATE, RFC822, RFC822.HEADER, RFC822.SIZE, RFC822.TEXT,
// BODY, BODYSTRUCTURE, UID, BODY[] (Section non-nil; Peek for BODY.PEEK).
//
// Extensions: MODSEQ (RFC 7162); BINARY (RFC 3516 BINARY[part]<partial>
// and BINARY.PEEK[...]: Section non-nil with only Path set, Peek and
// Partial as for BODY[]); BINARY.SIZE (Section non-nil, Path only, never a
// Partial).
type FetchItem struct {
	Name    string
	Section *message.Section // for BODY[...] / BODY.PEEK[...]
	Peek    bool
	Partial *message.Partial
	Lazy    bool // PREVIEW (LAZY), RFC 8970
}

// StoreOp says how STORE changes flags.
type StoreOp int

const (
	StoreReplace StoreOp = iota // FLAGS
	StoreAdd                    // +FLAGS
	StoreRemove                 // -FLAGS
)

// StoreArgs: STORE / UID STORE. SavedResult is true when the set was "$"
// (see FetchArgs). HasUnchangedSince is true when the UNCHANGEDSINCE store
// modifier was given (RFC 7162 section 3.1.3); UnchangedSince is its
// mod-sequence, where 0 is valid.
type StoreArgs struct {
	Set    imap.NumSet
	Op     StoreOp
	Silent bool
	Flags  []string // canonical system flags and keywords; \Recent is refused by the parser

	SavedResult       bool
	UnchangedSince    uint64
	HasUnchangedSince bool
}

// CopyArgs: COPY / UID COPY, MOVE / UID MOVE. SavedResult is true when the
// set was "$" (see FetchArgs).
type CopyArgs struct {
	Set         imap.NumSet
	Mailbox     string
	MailboxErr  error // see "Mailbox names" above
	SavedResult bool
}

// SearchArgs: SEARCH / UID SEARCH. Charset is upper-case ("" when absent);
// the parser refuses charsets other than UTF-8 and US-ASCII with NO
// [BADCHARSET]. Criteria is an OpAnd key holding the top-level keys.
//
// ESearch is true when RETURN (...) was given (RFC 4731): the answer is
// then an ESEARCH response. Return holds the return options, upper-case,
// without duplicates, from MIN, MAX, ALL, COUNT, SAVE (RFC 5182); an empty
// "RETURN ()" is stored as ["ALL"] (RFC 4731 section 3.1). Unknown options
// are BAD.
//
// PARTIAL (RFC 9394), CONTEXT and UPDATE (RFC 5267 CONTEXT=SEARCH) are
// among the options too: Partial holds PARTIAL's range (nil when absent).
// The parser refuses PARTIAL twice, and PARTIAL with ALL (RFC 9394 section
// 3.1). Only when no option but CONTEXT was given does ALL stand for the
// empty list. search.ReturnOf(Return, Partial) gives them as one value.
type SearchArgs struct {
	Charset  string
	Criteria search.Key
	Return   []string
	Partial  *search.PartialRange
	ESearch  bool
}

// ExpungeArgs: UID EXPUNGE set (RFC 4315); nil Args for plain EXPUNGE.
// SavedResult is true when the set was "$" (see FetchArgs).
type ExpungeArgs struct {
	Set         imap.NumSet
	SavedResult bool
}
