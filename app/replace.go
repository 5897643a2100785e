package app

import (
	"errors"
	"fmt"
	"time"

	"github.com/imapd-go/imapd/domain/grammar"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// cmdReplace is REPLACE and UID REPLACE (RFC 8508): APPEND of a new
// message, then the removal of an old one of the selected mailbox, as if
// by UID STORE +FLAGS.SILENT (\Deleted) and UID EXPUNGE of it alone
// (section 3.3). The new message is received and stored first: a message
// that cannot be stored (no target mailbox, too big, malformed) leaves
// the old one as it was. The expunge that follows removes only the old
// message, whatever else has \Deleted.
func cmdReplace(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.ReplaceArgs)
	old, err := c.replacedUID(cmd, args.Message)
	if err == nil && c.sel.readOnly {
		err = imap.ErrReadOnly
	}
	if err == nil {
		err = imap.RefuseName(imap.UseTarget, args.Mailbox, args.MailboxErr)
	}
	if err != nil {
		c.p.DiscardCommand()
		return result{}, err
	}
	sp, err := newSpool(args.Body, args.Size, memSpoolLimit)
	if err != nil {
		return result{}, fmt.Errorf("%w: reading REPLACE literal: %v", errConnection, err)
	}
	defer sp.Close()
	if sp.size != args.Size {
		return result{}, fmt.Errorf("%w: REPLACE literal cut short", errConnection)
	}
	if args.Size == 0 {
		c.p.DiscardCommand()
		return result{}, bad("Empty message")
	}
	// RFC 8508 section 6: one append-message, where APPEND may have
	// several (MULTIAPPEND).
	next, err := c.p.NextAppend()
	if err != nil {
		return result{}, err
	}
	if next != nil {
		c.p.DiscardCommand()
		return result{}, bad("REPLACE takes one message")
	}
	date := args.Date
	if !args.HasDate {
		date = time.Now()
	}
	msg, err := newMessage(sp, args.Flags, date)
	if err == nil {
		err = c.srv.threadMessage(c.ctx, c.sel.owner, &msg)
	}
	if err != nil {
		return result{}, err
	}
	// RFC 8508 section 3: REPLACE needs what APPEND to the target and
	// EXPUNGE in the selected mailbox need (RFC 4314 "i", "t", "e").
	if !c.sel.rights.Has(imap.RightDeleteMsg, imap.RightExpunge) {
		return result{}, imap.Errorf("replace", imap.ErrNoPerm, "replace")
	}
	m, _, err := c.access("APPEND", args.Mailbox, imap.ErrTryCreate, imap.RightInsert)
	if err != nil {
		return result{}, err
	}
	res, err := c.srv.store.Append(c.ctx, m.owner, m.name, msg)
	if errors.Is(err, imap.ErrNonexistent) {
		err = imap.ErrTryCreate
	}
	if err != nil {
		return result{}, err
	}
	c.wrote(m)
	// RFC 8508 section 3.4: APPENDUID in an untagged OK, then what the
	// selected mailbox gained (EXISTS) and lost (EXPUNGE or VANISHED).
	c.w.Untagged("OK [APPENDUID " + itoa(int64(res.UIDValidity)) + " " + itoa(int64(res.UID)) + "] Replacement message ready")
	if err := c.poll(true); err != nil {
		return result{}, err
	}
	sel := mailbox{c.sel.owner, c.sel.name}
	if _, err := c.srv.store.UpdateFlags(c.ctx, sel.owner, sel.name, []imap.UID{old}, ports.FlagsAdd, []string{`\Deleted`}); err != nil {
		return result{}, err
	}
	gone, err := c.srv.store.Expunge(c.ctx, sel.owner, sel.name, []imap.UID{old})
	if err != nil {
		return result{}, err
	}
	if len(gone) > 0 {
		c.wrote(sel)
	}
	c.writeExpunged(c.sel.view.Expunge(gone))
	return result{text: completedText(cmd)}, nil
}

// replacedUID is the UID of the message REPLACE names: a message number,
// or a UID in the UID form. One that is not in the mailbox (any more) is
// NO: the command is well formed, the message is gone.
func (c *conn) replacedUID(cmd *grammar.Command, n uint32) (imap.UID, error) {
	v := c.sel.view
	if cmd.UID {
		if seq := v.SeqOf(imap.UID(n)); seq != 0 && !v.IsGhost(imap.UID(n)) {
			return imap.UID(n), nil
		}
	} else if n >= 1 && n <= v.Len() && !v.IsGhost(v.UID(n)) {
		return v.UID(n), nil
	}
	return 0, &grammar.Error{Status: "NO", Text: "No such message"}
}
