package imap

import (
	"errors"
	"fmt"
)

// Kind classifies a failure so that the protocol layer can choose the
// response (and its RFC 5530 code) without matching strings. Store and Auth
// adapters return errors wrapping one of these sentinels; errors.Is tells
// them apart.
var (
	ErrNonexistent   = errors.New("no such mailbox")        // NO [NONEXISTENT]
	ErrAlreadyExists = errors.New("mailbox already exists") // NO [ALREADYEXISTS]
	ErrTryCreate     = errors.New("mailbox does not exist") // NO [TRYCREATE] (APPEND/COPY target)
	ErrCannot        = errors.New("operation not permitted on this mailbox")
	ErrInvalidName   = errors.New("invalid mailbox name")
	ErrTooBig        = errors.New("too big")           // NO [TOOBIG]
	ErrOverQuota     = errors.New("over quota")        // NO [OVERQUOTA]
	ErrNoUser        = errors.New("no such user")      // NO [AUTHENTICATIONFAILED] at login
	ErrAuthFailed    = errors.New("invalid login")     // NO [AUTHENTICATIONFAILED]
	ErrNoPerm        = errors.New("permission denied") // NO [NOPERM]
	ErrReadOnly      = errors.New("mailbox is read-only")
	ErrUnavailable   = errors.New("temporarily unavailable")              // NO [UNAVAILABLE]
	ErrLimit         = errors.New("limit exceeded")                       // NO [LIMIT]
	ErrHasChildren   = errors.New("name has inferior hierarchical names") // NO [HASCHILDREN]
	ErrNoMessage     = errors.New("no such message")                      // NO [EXPUNGEISSUED] (REPLACE)
)

// Error carries the operation that failed and the kind (one of the sentinels
// above) with an optional detail.
type Error struct {
	Op     string // e.g. "create", "append"
	Kind   error
	Detail string
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("%s: %v: %s", e.Op, e.Kind, e.Detail)
	}
	return fmt.Sprintf("%s: %v", e.Op, e.Kind)
}

func (e *Error) Unwrap() error { return e.Kind }

// Errorf builds an *Error of the given kind.
func Errorf(op string, kind error, format string, args ...any) error {
	return &Error{Op: op, Kind: kind, Detail: fmt.Sprintf(format, args...)}
}
