// Package search holds SEARCH criteria (RFC 3501 section 6.4.4) as a tree and
// evaluates them over one message. It does no I/O of its own: message bytes
// come through an io.ReaderAt the caller provides.
package search

import (
	"time"

	"github.com/imapd-go/imapd/domain/imap"
)

// Op is one search key.
type Op int

const (
	OpAnd        Op = iota // Sub: all must match (a parenthesised list, or the top level)
	OpOr                   // Sub[0] OR Sub[1]
	OpNot                  // NOT Sub[0]
	OpAll                  // ALL
	OpSeqSet               // Set: message sequence numbers
	OpUID                  // Set: UIDs
	OpFlag                 // Value: flag or keyword is set (ANSWERED, DELETED, DRAFT, FLAGGED, SEEN, RECENT, KEYWORD x)
	OpNoFlag               // Value: flag or keyword not set (UNANSWERED ..., UNKEYWORD x)
	OpNew                  // RECENT and UNSEEN
	OpOld                  // NOT RECENT
	OpBefore               // Date: internal date (date part, in the server's time zone) < Date
	OpOn                   // internal date on Date
	OpSince                // internal date >= Date
	OpSentBefore           // Date header, as above
	OpSentOn               //
	OpSentSince            //
	OpLarger               // Size: RFC822.SIZE > Size
	OpSmaller              // RFC822.SIZE < Size
	OpHeader               // Field, Value: header field contains Value (empty Value: field present)
	OpBody                 // Value: body text contains Value
	OpText                 // Value: header or body contains Value

	// Extensions. New ops go at the end so that the values above never move.

	// OpModSeq: MODSEQ [entry-name entry-type] n (RFC 7162 section 3.1.5):
	// the message's mod-sequence >= ModSeq. When an entry was named, Field
	// holds its flag (canonical spelling, e.g. `\Seen`, from "/flags/\Seen")
	// and Value its type ("priv", "shared" or "all", lower-case); a server
	// that keeps one mod-sequence per message may ignore both.
	OpModSeq
	// OpOlder: OLDER n (RFC 5032): internal date at least Size seconds
	// before now.
	OpOlder
	// OpYounger: YOUNGER n (RFC 5032): internal date at most Size seconds
	// before now.
	OpYounger
	// OpSaved: "$" (RFC 5182) as a search key, alone or as "UID $": the
	// messages in the session's saved search result. The saved result is a
	// set of UIDs either way, so both spellings parse to this one op.
	OpSaved
	// OpSavedBefore, OpSavedOn, OpSavedSince: the save date (RFC 8514)
	// compared with Date as BEFORE, ON and SINCE compare the internal date.
	OpSavedBefore
	OpSavedOn
	OpSavedSince
	// OpSaveDateSupported: SAVEDATESUPPORTED (RFC 8514): true when the
	// mailbox keeps save dates, which every mailbox of this server does.
	OpSaveDateSupported
	// OpEmailID, OpThreadID: EMAILID and THREADID (RFC 8474 section 6):
	// the message's id equals Value.
	OpEmailID
	OpThreadID
)

// Key is one node of a criteria tree. BCC, CC, FROM, SUBJECT and TO are
// parsed as OpHeader with the field name set.
type Key struct {
	Op    Op
	Field string    // OpHeader: field name as given
	Value string    // flag, keyword or search string
	Date  time.Time // date at 00:00 UTC of the given day (only Y/M/D matter)
	Size  int64     // OpLarger/OpSmaller: octets; OpOlder/OpYounger: seconds
	Set   imap.NumSet
	// ModSeq is OpModSeq's mod-sequence (0 is valid: every message
	// matches).
	ModSeq uint64
	Sub    []Key
}
