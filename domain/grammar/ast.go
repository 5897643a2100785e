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

// Mailbox names in every Args are decoded from modified UTF-7 to UTF-8, and
// any case of "INBOX" is normalised to "INBOX" (also as the first level of a
// hierarchical name, e.g. "inbox/x" -> "INBOX/x").

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
type MailboxArgs struct{ Mailbox string }

// RenameArgs: RENAME from to.
type RenameArgs struct{ From, To string }

// ListArgs: LIST and LSUB. Reference and Pattern are decoded from modified
// UTF-7 like mailbox names but keep their wildcards; INBOX is not normalised
// here (matching does that).
type ListArgs struct{ Reference, Pattern string }

// StatusArgs: STATUS mailbox (items). Items are upper-case: MESSAGES, RECENT,
// UIDNEXT, UIDVALIDITY, UNSEEN.
type StatusArgs struct {
	Mailbox string
	Items   []string
}

// AppendArgs: APPEND mailbox [flags] [date-time] literal. The parser stops
// at the literal: Body streams exactly Size bytes from the connection. The
// handler must read Body (or call Parser.DiscardLiteral) and then call
// Parser.EndCommand, which reads the rest of the line, before it answers.
type AppendArgs struct {
	Mailbox string
	Flags   []string // canonical system flags and keywords
	Date    time.Time
	HasDate bool
	Size    int64
	Body    io.Reader
}

// FetchArgs: FETCH / UID FETCH. Macros (ALL, FAST, FULL) are expanded.
type FetchArgs struct {
	Set   imap.NumSet
	Items []FetchItem
}

// FetchItem is one fetch attribute. Name is upper-case and one of ENVELOPE,
// FLAGS, INTERNALDATE, RFC822, RFC822.HEADER, RFC822.SIZE, RFC822.TEXT,
// BODY, BODYSTRUCTURE, UID, BODY[] (Section non-nil; Peek for BODY.PEEK).
type FetchItem struct {
	Name    string
	Section *message.Section // for BODY[...] / BODY.PEEK[...]
	Peek    bool
	Partial *message.Partial
}

// StoreOp says how STORE changes flags.
type StoreOp int

const (
	StoreReplace StoreOp = iota // FLAGS
	StoreAdd                    // +FLAGS
	StoreRemove                 // -FLAGS
)

// StoreArgs: STORE / UID STORE.
type StoreArgs struct {
	Set    imap.NumSet
	Op     StoreOp
	Silent bool
	Flags  []string // canonical system flags and keywords; \Recent is refused by the parser
}

// CopyArgs: COPY / UID COPY (and MOVE later).
type CopyArgs struct {
	Set     imap.NumSet
	Mailbox string
}

// SearchArgs: SEARCH / UID SEARCH. Charset is upper-case ("" when absent);
// the parser refuses charsets other than UTF-8 and US-ASCII with NO
// [BADCHARSET]. Criteria is an OpAnd key holding the top-level keys.
type SearchArgs struct {
	Charset  string
	Criteria search.Key
}

// ExpungeArgs: UID EXPUNGE set (RFC 4315); nil Args for plain EXPUNGE.
type ExpungeArgs struct{ Set imap.NumSet }
