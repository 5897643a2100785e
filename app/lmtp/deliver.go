package lmtp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"

	"github.com/imapd-go/imapd/app"
	"github.com/imapd-go/imapd/domain/imap"
	proto "github.com/imapd-go/imapd/domain/lmtp"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/ports"
)

var (
	// errUnknownUser is a recipient with no mailbox here.
	errUnknownUser = errors.New("user unknown")
	// errBadContent is a message that cannot be stored as it is.
	errBadContent = errors.New("message cannot be stored")
)

// resolve finds where mail for to goes: the user's +detail folder when it
// exists and identity (the client's AUTH identity, "" for anyone) may
// post to it, else INBOX, as Cyrus's lmtpd does silently.
func (s *Server) resolve(ctx context.Context, to proto.Recipient, identity string) (rcpt, error) {
	ok, err := s.users.UserExists(ctx, to.User)
	if err != nil {
		return rcpt{}, err
	}
	if !ok {
		return rcpt{}, errUnknownUser
	}
	if err := s.store.EnsureUser(ctx, to.User); err != nil {
		return rcpt{}, err
	}
	r := rcpt{user: to.User, mailbox: "INBOX"}
	if to.Detail == "" {
		return r, nil
	}
	name := imap.NormalizeMailbox(to.Detail)
	if imap.CheckMailboxName("deliver", name) != nil {
		return r, nil
	}
	if _, err := s.store.Status(ctx, to.User, name); err != nil {
		if errors.Is(err, imap.ErrNonexistent) {
			return r, nil
		}
		return rcpt{}, err
	}
	ok, err = s.mayPost(ctx, identity, to.User, name)
	if err != nil && !errors.Is(err, imap.ErrNonexistent) {
		return rcpt{}, err
	}
	if ok {
		r.mailbox = name
	}
	return r, nil
}

// data receives the message of the transaction after DATA (RFC 5321
// 4.1.1.4, dot-stuffed) and answers once per recipient.
func (ss *session) data() error {
	if len(ss.rcpts) == 0 {
		// RFC 2033 4.2: DATA with no successful RCPT fails with 503
		// (without MAIL too, as Cyrus words it).
		return ss.reply(proto.R(503, "5.5.1", "No recipients"))
	}
	if ss.binary {
		// RFC 3030 3: a BINARYMIME message comes with BDAT only.
		return ss.reply(proto.R(503, "5.5.1", "BODY=BINARYMIME needs BDAT"))
	}
	if err := ss.reply(proto.R(354, "", "go ahead")); err != nil {
		return err
	}
	if err := ss.bw.Flush(); err != nil {
		return err
	}
	dot := proto.NewDotReader(ss.br)
	return ss.receive(dot, dot.Discard)
}

// receive reads the message from r and answers once per recipient (RFC
// 2033 4.2), each answer written when that recipient's copy is durable or
// refused. drain reads what is left of the message; its error (a
// connection lost before the message's end) stores nothing and ends the
// session, unless it is an abandoned transaction (errAbandoned).
func (ss *session) receive(r io.Reader, drain func() error) error {
	s := ss.srv
	now := s.now()
	hdr, err := proto.ReadHeader(r, maxHeader)
	var fail *proto.Reply
	var prep *app.Prepared
	var fields proto.Fields
	switch {
	case errors.Is(err, proto.ErrHeaderTooBig):
		fail = proto.R(552, "5.3.4", "Message header too big")
	case err != nil:
		fail = s.failure(err)
	default:
		trace := proto.Trace{Sender: *ss.sender, LHLO: ss.lhlo, ClientHost: ss.clientHost(),
			ServerName: s.opts.ServerName, TLS: ss.c.TLS(), Date: now}.Header()
		var stored []byte
		stored, fields = proto.RewriteHeader(hdr, s.newMessageID, now)
		body := &countReader{r: r}
		prep, err = app.Prepare(io.MultiReader(bytes.NewReader(trace), bytes.NewReader(stored), body), s.maxMessage(), now)
		switch {
		case err == nil:
		case errors.Is(err, imap.ErrTooBig):
			n, _ := io.Copy(io.Discard, r)
			fail = proto.TooBig(int64(len(trace)+len(stored))+body.n+n, s.maxMessage())
		case errors.Is(err, message.ErrNUL), errors.Is(err, imap.ErrCannot):
			fail = s.failure(errBadContent)
		default:
			fail = s.failure(err)
		}
	}
	// Whatever happened, the message is read to its end before any
	// reply; a connection cut short stores nothing.
	if err := drain(); err != nil {
		if prep != nil {
			prep.Close()
		}
		return err
	}
	rcpts := ss.rcpts
	ss.reset()
	if fail != nil {
		s.log.Debug("lmtp message refused", "reply", fail.Error())
		for range rcpts {
			if err := ss.reply(fail); err != nil {
				return err
			}
		}
		return nil
	}
	defer prep.Close()
	for _, r := range rcpts {
		reply := proto.Delivered(ss.id)
		if err := s.deliver(ss, prep, r, fields); err != nil {
			s.log.Warn("lmtp delivery failed", "user", r.user, "mailbox", r.mailbox, "err", err)
			reply = s.failure(err)
		}
		if err := ss.reply(reply); err != nil {
			return err
		}
	}
	return nil
}

// deliver stores prep in r's mailbox as one Store.Append, durable when it
// returns, unless duplicate suppression finds it was delivered there
// before.
func (s *Server) deliver(ss *session, prep *app.Prepared, r rcpt, f proto.Fields) error {
	ctx := ss.ctx
	key := ports.Delivery{MessageID: f.MessageID, Date: f.Date, User: r.user, Mailbox: r.mailbox}
	if s.dups != nil {
		seen, err := s.dups.Delivered(ctx, key)
		if err != nil {
			// A record we cannot read must not hold mail back.
			s.log.Warn("duplicate suppression unavailable", "err", err)
		} else if seen {
			ev := ss.event("dupelim", r, f)
			// Cyrus names the mailbox by its unique id here: its
			// MAILBOXID (RFC 8474), which our stores keep too.
			if o, ok := s.store.(ports.ObjectIDs); ok {
				if id, err := o.MailboxID(ctx, r.user, r.mailbox); err == nil {
					ev.Mailbox = id
				}
			}
			s.tel.Event(ev)
			return nil
		}
	}
	msg, err := prep.Message(ctx, s.store, r.user, nil)
	if err != nil {
		return err
	}
	_, err = s.store.Append(ctx, r.user, r.mailbox, msg)
	if (errors.Is(err, imap.ErrNonexistent) || errors.Is(err, imap.ErrTryCreate)) && r.mailbox != "INBOX" {
		// The folder went away since RCPT: INBOX, as at RCPT.
		r.mailbox, key.Mailbox = "INBOX", "INBOX"
		if msg, err = prep.Message(ctx, s.store, r.user, nil); err != nil {
			return err
		}
		_, err = s.store.Append(ctx, r.user, r.mailbox, msg)
	}
	if err != nil {
		return err
	}
	s.tel.Event(ss.event("delivered", r, f))
	if s.dups != nil {
		if err := s.dups.Record(ctx, key, s.now()); err != nil {
			s.log.Warn("duplicate suppression: cannot record a delivery", "err", err)
		}
	}
	return nil
}

// event is the Telemetry event of a delivery of kind "delivered" or
// "dupelim" (Cyrus's lines "Delivered: <message-id> to mailbox: <mailbox>"
// and "dupelim: eliminated duplicate message to <mailbox> id <message-id>
// date <date> (delivery)", imap/lmtpd.c and imap/duplicate.c).
func (ss *session) event(kind string, r rcpt, f proto.Fields) ports.Event {
	return ports.Event{Kind: kind, User: r.user, Remote: ss.c.RemoteAddr(), Host: ss.clientHost(), SessionID: ss.id,
		TLS: ss.c.TLS(), MessageID: f.MessageID, Date: f.Date, Mailbox: internalName(r.user, r.mailbox)}
}

// internalName is a mailbox as Cyrus's logs name it: user.<user> for
// INBOX, user.<user>.<folder> for others, "." in names written "^".
func internalName(user, mailbox string) string {
	n := "user." + strings.ReplaceAll(user, ".", "^")
	if mailbox != "INBOX" {
		n += "." + strings.ReplaceAll(strings.ReplaceAll(mailbox, ".", "^"), "/", ".")
	}
	return n
}

// newMessageID is the Message-ID given to a message that has none.
func (s *Server) newMessageID() string {
	return fmt.Sprintf("<lmtpd-%d-%016x@%s>", s.now().UnixNano(), rand.Uint64(), s.opts.ServerName)
}

// countReader counts what is read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
