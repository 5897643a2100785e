package app

import (
	"context"
	"io"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/ports"
)

// Prepared is a message received for delivery: spooled (in memory, or in
// an unlinked temporary file when large) and parsed once, however many
// mailboxes it then goes to. imapctl deliver and lmtpd both store mail
// through it.
type Prepared struct {
	sp     *spool
	blob   []byte // the structure, with its EMAILID and preview, no THREADID yet
	date   time.Time
	record []byte // the SORT and THREAD record (StampSortRecord)
}

// DefaultMaxMessage is the size limit of APPEND and delivery when
// maxmessagesize is not set.
const DefaultMaxMessage = defaultMaxMessage

// Prepare reads r to its end and computes the message's structure and
// its sort record, for the internal date given. More than limit bytes is
// imap.ErrTooBig (r is read no further); an empty message is
// imap.ErrCannot.
func Prepare(r io.Reader, limit int64, date time.Time) (*Prepared, error) {
	sp, err := newSpool(r, limit, memSpoolLimit)
	if err != nil {
		return nil, err
	}
	if sp.size == 0 {
		sp.Close()
		return nil, imap.Errorf("deliver", imap.ErrCannot, "empty message")
	}
	msg, err := newMessage(sp, nil, date)
	if err != nil {
		sp.Close()
		return nil, err
	}
	return &Prepared{sp: sp, blob: msg.Structure, date: date, record: msg.SortRecord}, nil
}

// Size is the message's size as stored.
func (p *Prepared) Size() int64 { return p.sp.size }

// Message returns the message as user's copy, ready for Store.Append:
// its own reader over the bytes, the structure with user's THREADID
// (ThreadMessage) and the sort record computed once. Each call gives a
// fresh reader.
func (p *Prepared) Message(ctx context.Context, store ports.Store, user string, flags []string) (ports.NewMessage, error) {
	msg := ports.NewMessage{Flags: flags, InternalDate: p.date, Size: p.sp.size, Body: p.sp.reader(), Structure: p.blob, SortRecord: p.record}
	if err := ThreadMessage(ctx, store, user, &msg); err != nil {
		return ports.NewMessage{}, err
	}
	return msg, nil
}

// Close releases the spool.
func (p *Prepared) Close() { p.sp.Close() }

// Structure returns the parsed structure (read-only), for callers that
// look at the header.
func (p *Prepared) Structure() (*message.Structure, error) { return message.Unmarshal(p.blob) }
