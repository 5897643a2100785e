package imap

import (
	"errors"
	"unicode/utf8"
)

// Mailbox names in commands: one rule for every command that takes a
// mailbox name or a LIST pattern, decided here and applied by the handlers.
//
// BAD is only for a command that does not parse: RFC 3501 and RFC 9051 say
// mailbox = "INBOX" / astring, and LIST's pattern is list-mailbox, so any
// atom, quoted string or literal there is well-formed (an 8-bit atom is not:
// ATOM-CHAR is 7-bit). What the astring means is another matter. It may not
// decode (DecodeName: "&" that starts no modified UTF-7 sequence, 8-bit
// bytes before the client enabled UTF8=ACCEPT or IMAP4rev2, bytes that are
// not UTF-8 after), or decode to a name CheckMailboxName refuses ("a//b",
// "..", a control character). Such a name names no mailbox, and cannot
// name one: the command is refused with NO, never BAD (many clients drop
// the connection on a BAD they did not expect), with the code of what the
// command does with the name:
//
//   - UseExisting (SELECT, EXAMINE, STATUS, DELETE, RENAME's source,
//     SUBSCRIBE): NO [NONEXISTENT], as for any missing mailbox. A name that
//     decodes goes to the store even when CheckMailboxName refuses it: the
//     store finds nothing (and a mailbox a store kept from before the
//     check grew stays reachable, to be renamed or deleted).
//   - UseNew (CREATE, RENAME's target): NO [CANNOT] (ErrInvalidName).
//   - UseTarget (APPEND, COPY, MOVE and their UID forms): NO [NONEXISTENT],
//     not [TRYCREATE]: RFC 3501 6.3.11 and 6.4.7 ask for TRYCREATE "unless
//     it is certain that the destination mailbox can not be created", and
//     here it is certain.
//   - UNSUBSCRIBE: OK, doing nothing: nothing is subscribed under such a
//     name (Cyrus answers OK to any UNSUBSCRIBE).
//   - LIST and LSUB: a pattern, or a reference, that does not decode
//     matches no name: the command answers OK, without a response for it
//     (a LIST-EXTENDED pattern list still answers for its other patterns).
//
// Cyrus 3.6 answers the same (NO for the first three, OK for the last two),
// without response codes. For 8-bit names RFC 6855 section 3 gives no
// status: it makes UTF-8 names legal after ENABLE UTF8=ACCEPT, and before
// it a literal or quoted string carrying one is still well-formed, so the
// name, not the command, is what is wrong: NO, as Cyrus and Dovecot answer.

// NameUse says what a command does with a mailbox name it was given.
type NameUse int

const (
	UseExisting NameUse = iota // the mailbox must exist
	UseNew                     // the command creates a mailbox of that name
	UseTarget                  // messages go into the mailbox, which must exist
)

// RefuseName applies the rule above to a name a command carried: name as
// the parser decoded it, decodeErr the error DecodeName gave (nil when it
// decoded). It returns the error the command answers with, or nil when the
// store is to be asked.
func RefuseName(use NameUse, name string, decodeErr error) error {
	err := decodeErr
	if err == nil && use != UseExisting {
		err = CheckMailboxName("mailbox name", name)
	}
	if err == nil {
		return nil
	}
	detail := err.Error()
	var e *Error
	if errors.As(err, &e) {
		detail = e.Detail
	}
	if use == UseNew {
		return &Error{Op: "mailbox name", Kind: ErrInvalidName, Detail: detail}
	}
	return &Error{Op: "mailbox name", Kind: ErrNonexistent, Detail: detail}
}

// DecodeName turns a mailbox name, LIST reference or LIST pattern as a
// command carried it into the UTF-8 name the stores use: from modified
// UTF-7 (RFC 3501 5.1.3), or as it is when utf8 is on, after ENABLE
// UTF8=ACCEPT (RFC 6855 3) or ENABLE IMAP4rev2 (RFC 9051 5.1), where "&"
// is an ordinary character. Before that, 8-bit bytes are no modified UTF-7
// and are refused; after it, bytes that are not UTF-8 are. Errors wrap
// ErrInvalidName; see the rule above for what they mean to a command.
func DecodeName(raw string, utf8Mode bool) (string, error) {
	if utf8Mode {
		if !utf8.ValidString(raw) {
			return "", invalidName(raw, "not UTF-8")
		}
		return raw, nil
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] >= 0x80 {
			return "", invalidName(raw, "8-bit characters without ENABLE UTF8=ACCEPT")
		}
	}
	return DecodeMailbox(raw)
}
