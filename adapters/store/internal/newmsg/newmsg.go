// Package newmsg checks a message a store is asked to keep, as every
// store does before it writes anything.
package newmsg

import (
	"errors"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// ErrNoBody is a message without a body or with a negative size.
var ErrNoBody = errors.New("no message body")

// Flags returns msg's flags normalized (imap.NormalizeFlags), or ErrNoBody
// or the normalizing error.
func Flags(msg ports.NewMessage) ([]string, error) {
	if msg.Size < 0 || msg.Body == nil {
		return nil, ErrNoBody
	}
	return imap.NormalizeFlags(msg.Flags)
}
