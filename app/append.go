package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/imapd-go/imapd/domain/grammar"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/ports"
)

// memSpoolLimit is the largest message kept in memory while it is being
// received; larger ones go to a temporary file.
const memSpoolLimit = 1 << 20

// defaultMaxMessage is the APPEND/deliver limit when maxmessagesize is not
// set.
const defaultMaxMessage = 64 << 20

// spool holds a message received from a client or an MTA until the store
// has it, so that a slow sender never holds a store lock and the structure
// can be computed before the message is stored.
type spool struct {
	mem  []byte
	f    *os.File
	size int64
}

// newSpool reads r to its end, keeping up to memLimit bytes in memory.
// More than limit bytes is imap.ErrTooBig.
func newSpool(r io.Reader, limit, memLimit int64) (*spool, error) {
	s := &spool{}
	// A literal's size is the limit: a small message fits a buffer of
	// its size (and the byte that finds the end) instead of 8 KB.
	size := 8 << 10
	if limit >= 0 && limit < int64(size) {
		size = int(limit) + 1
	}
	buf := make([]byte, 0, size)
	lr := &io.LimitedReader{R: r, N: limit + 1}
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) >= memLimit {
				break
			}
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			s.mem, s.size = buf, int64(len(buf))
			return s.check(limit)
		}
		if err != nil {
			return nil, err
		}
	}
	f, err := os.CreateTemp("", "imapd-spool-")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name()) // unlinked: nothing is left behind by a crash
	s.f = f
	if _, err := f.Write(buf); err != nil {
		s.Close()
		return nil, err
	}
	n, err := io.Copy(f, lr)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.size = int64(len(buf)) + n
	return s.check(limit)
}

func (s *spool) check(limit int64) (*spool, error) {
	if s.size > limit {
		s.Close()
		return nil, imap.ErrTooBig
	}
	return s, nil
}

// reader returns a fresh reader over the whole message.
func (s *spool) reader() io.Reader {
	if s.f != nil {
		return io.NewSectionReader(s.f, 0, s.size)
	}
	return bytes.NewReader(s.mem)
}

// readerAt gives random access to the message.
func (s *spool) readerAt() io.ReaderAt {
	if s.f != nil {
		return s.f
	}
	return bytes.NewReader(s.mem)
}

func (s *spool) Close() {
	if s.f != nil {
		s.f.Close()
	}
}

// newMessage computes the structure of a spooled message once, here, so
// that FETCH never parses it again. A message that cannot be stored as it
// came (binary parts with NUL bytes, see message.ForStore) is first
// rewritten in its stored form, in the spool itself, and the structure is
// that of the stored form.
func newMessage(s *spool, flags []string, date time.Time) (ports.NewMessage, error) {
	st, err := message.Parse(s.reader())
	if err != nil {
		return ports.NewMessage{}, err
	}
	r, size, changed, err := message.ForStore(st, s.readerAt())
	if err != nil {
		return ports.NewMessage{}, err
	}
	if changed {
		ns, err := newSpool(r, size, memSpoolLimit)
		if err != nil {
			return ports.NewMessage{}, err
		}
		s.Close()
		*s = *ns
		if st, err = message.Parse(s.reader()); err != nil {
			return ports.NewMessage{}, err
		}
	}
	StampExtras(st, s.readerAt())
	blob, err := st.MarshalBinary()
	if err != nil {
		return ports.NewMessage{}, err
	}
	msg := ports.NewMessage{Flags: flags, InternalDate: date, Size: s.size, Body: s.reader(), Structure: blob}
	StampSortRecord(&msg)
	return msg, nil
}

func (s *Server) maxMessage() int64 {
	if s.opts.MaxMessageSize > 0 {
		return s.opts.MaxMessageSize
	}
	return defaultMaxMessage
}

// maxMultiAppend bounds the messages of one MULTIAPPEND command, and
// multiAppendMemory the bytes they may hold in memory together (the rest
// waits in temporary files).
const (
	maxMultiAppend    = 1000
	multiAppendMemory = 4 << 20
)

// cmdAppend stores one or more messages (RFC 3501 6.3.11, RFC 3502
// MULTIAPPEND). Every message is received and parsed before the first is
// stored, so a syntax error or an oversized message stores nothing.
func cmdAppend(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.AppendArgs)
	if err := imap.RefuseName(imap.UseTarget, args.Mailbox, args.MailboxErr); err != nil {
		c.p.DiscardCommand()
		return result{}, err
	}
	target, _ := c.mailboxOf(args.Mailbox)
	next := &grammar.AppendMessage{Flags: args.Flags, Date: args.Date, HasDate: args.HasDate, Size: args.Size, Body: args.Body, Binary: args.Binary, Catenate: args.Catenate}
	var msgs []ports.NewMessage
	var spools []*spool
	memBudget := int64(multiAppendMemory)
	defer func() {
		for _, sp := range spools {
			sp.Close()
		}
	}()
	for next != nil {
		body, size := next.Body, next.Size
		var cat *catReader
		if next.Catenate {
			// RFC 4469: the parts, read one after the other, up to the
			// message size limit.
			cat = &catReader{c: c}
			body, size = cat, c.srv.maxMessage()
		}
		sp, err := newSpool(body, size, min(memBudget, memSpoolLimit))
		if cat != nil {
			cat.closePart()
			if err != nil {
				return result{}, c.catError(err)
			}
		}
		if err != nil {
			return result{}, fmt.Errorf("%w: reading APPEND literal: %v", errConnection, err)
		}
		spools = append(spools, sp)
		memBudget -= int64(len(sp.mem))
		if cat == nil && sp.size != next.Size {
			return result{}, fmt.Errorf("%w: APPEND literal cut short", errConnection)
		}
		if sp.size == 0 {
			c.p.DiscardCommand()
			return result{}, bad("Empty message")
		}
		date := next.Date
		if !next.HasDate {
			date = time.Now()
		}
		msg, err := newMessage(sp, next.Flags, date)
		if err == nil {
			err = c.srv.threadMessage(c.ctx, target.owner, &msg)
		}
		if err != nil {
			c.p.DiscardCommand()
			return result{}, err
		}
		msgs = append(msgs, msg)
		if len(msgs) > maxMultiAppend {
			c.p.DiscardCommand()
			return result{}, &grammar.Error{Status: "NO", Code: "LIMIT", Text: "Too many messages in one APPEND"}
		}
		if next, err = c.p.NextAppend(); err != nil {
			return result{}, err
		}
	}
	// RFC 4314 section 4: APPEND needs "i" on the target.
	m, _, err := c.access("APPEND", args.Mailbox, imap.ErrTryCreate, imap.RightInsert)
	if err != nil {
		return result{}, err
	}
	// RFC 3502: all or nothing, in one store operation.
	res, err := c.srv.store.AppendAll(c.ctx, m.owner, m.name, msgs)
	if errors.Is(err, imap.ErrNonexistent) {
		err = imap.ErrTryCreate
	}
	if err != nil {
		return result{}, err
	}
	c.wrote(m)
	uids := make([]imap.UID, len(res))
	for i, r := range res {
		uids[i] = r.UID
	}
	return result{code: "APPENDUID " + itoa(int64(res[0].UIDValidity)) + " " + imap.SetOfUIDs(uids), text: "APPEND completed"}, nil
}

// discardAppend reads what the client sends of an APPEND that will not be
// stored.
func (c *conn) discardAppend(cmd *grammar.Command) {
	c.p.DiscardCommand()
}

// errConnection marks failures of the client connection itself.
var errConnection = errors.New("connection failed")

// Deliver stores one message read from r in user's mailbox (INBOX when
// mailbox is ""), as an MTA's local delivery does. The user's store is
// created if needed. Errors wrap imap.ErrTryCreate (no such mailbox) and
// imap.ErrTooBig.
func (s *Server) Deliver(ctx context.Context, user, mailbox string, r io.Reader) (ports.AppendResult, error) {
	if mailbox == "" {
		mailbox = "INBOX"
	}
	mailbox = imap.NormalizeMailbox(mailbox)
	if err := s.EnsureUser(ctx, user); err != nil {
		return ports.AppendResult{}, err
	}
	p, err := Prepare(r, s.maxMessage(), time.Now())
	if err != nil {
		return ports.AppendResult{}, err
	}
	defer p.Close()
	msg, err := p.Message(ctx, s.store, user, nil)
	if err != nil {
		return ports.AppendResult{}, err
	}
	res, err := s.store.Append(ctx, user, mailbox, msg)
	if errors.Is(err, imap.ErrNonexistent) {
		err = imap.Errorf("deliver", imap.ErrTryCreate, "%s", mailbox)
	}
	return res, err
}
