package grammar

import "errors"

// Error is a command the parser refused. Status is "BAD" or "NO"; Code is an
// optional response code without brackets (e.g. "TOOBIG", "CLIENTBUG",
// "BADCHARSET (UTF-8 US-ASCII)"). Tag is the command's tag when it was read,
// or "*" when even the tag was unreadable. When the parser returns an *Error
// the input is positioned at the start of the next command, so the session
// can answer and go on.
type Error struct {
	Tag    string
	Status string
	Code   string
	Text   string
}

func (e *Error) Error() string { return e.Status + " " + e.Text }

// ErrFatal wraps conditions after which the connection cannot continue
// (the stream cannot be resynchronised, e.g. an oversized non-synchronizing
// literal). The session sends "* BYE" with the error text and closes.
var ErrFatal = errors.New("fatal protocol error")
