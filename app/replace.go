package app

import (
	"fmt"
	"time"

	"github.com/imapd-go/imapd/domain/grammar"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// cmdReplace is REPLACE and UID REPLACE (RFC 8508): APPEND of a new
// message and the removal of an old one of the selected mailbox, as if by
// UID STORE +FLAGS.SILENT (\Deleted) and UID EXPUNGE of it alone (section
// 3.4), but as one action: the new message is received and parsed first,
// then the store puts it in place of the old one in one atomic step
// (ports.Replacer), so that no session, and no crash, ever sees both or
// neither. A message that cannot be stored (no target mailbox, too big,
// malformed, a CATENATE URL that names nothing) leaves the old one as it
// was; an old one that another session expunged meanwhile fails the
// command and stores nothing.
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
	body, size := args.Body, args.Size
	var cat *catReader
	if args.Catenate {
		// RFC 8508 section 4.2: REPLACE takes CATENATE's append-data
		// as APPEND does (RFC 4469); a URL may name the old message.
		cat = &catReader{c: c}
		body, size = cat, c.srv.maxMessage()
	}
	sp, err := newSpool(body, size, memSpoolLimit)
	if cat != nil {
		cat.closePart()
		if err != nil {
			return result{}, c.catError(err)
		}
	}
	if err != nil {
		return result{}, fmt.Errorf("%w: reading REPLACE literal: %v", errConnection, err)
	}
	defer sp.Close()
	if cat == nil && sp.size != args.Size {
		return result{}, fmt.Errorf("%w: REPLACE literal cut short", errConnection)
	}
	if sp.size == 0 {
		c.p.DiscardCommand()
		return result{}, bad("Empty message")
	}
	// RFC 8508 section 5: one append-message, where APPEND may have
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
	dest, _, err := c.access("APPEND", args.Mailbox, imap.ErrTryCreate, imap.RightInsert)
	if err != nil {
		return result{}, err
	}
	sel := mailbox{c.sel.owner, c.sel.name}
	res, err := c.replace(sel, old, dest, msg)
	if err != nil {
		return result{}, err
	}
	c.wrote(dest)
	c.wrote(sel)
	// RFC 8508 section 4.3: APPENDUID in an untagged OK, then what the
	// selected mailbox gained (EXISTS, section 3.2's example) and, last,
	// what it lost (EXPUNGE or VANISHED, RFC 7162 3.2.10 by section 4.5).
	c.w.Untagged("OK [APPENDUID " + itoa(int64(res.UIDValidity)) + " " + itoa(int64(res.UID)) + "] Replacement message ready")
	if err := c.poll(false); err != nil {
		return result{}, err
	}
	c.writeExpunged(c.sel.view.Expunge([]imap.UID{old}))
	return result{text: completedText(cmd)}, nil
}

// replace puts msg in dest in place of old in the selected mailbox sel:
// in one step where the store can (ports.Replacer), else as APPEND, STORE
// and UID EXPUNGE in turn, after checking that old is still there.
func (c *conn) replace(sel mailbox, old imap.UID, dest mailbox, msg ports.NewMessage) (ports.AppendResult, error) {
	// The store replaces atomically within one owner's mailboxes; into
	// another owner's, the steps below follow one another.
	if r, ok := c.srv.store.(ports.Replacer); ok && sel.owner == dest.owner {
		return r.Replace(c.ctx, sel.owner, sel.name, old, dest.name, msg)
	}
	if recs, err := c.srv.store.Fetch(c.ctx, sel.owner, sel.name, []imap.UID{old}); err != nil {
		return ports.AppendResult{}, err
	} else if len(recs) == 0 {
		return ports.AppendResult{}, imap.Errorf("replace", imap.ErrNoMessage, "UID %d", old)
	}
	res, err := c.srv.store.Append(c.ctx, dest.owner, dest.name, msg)
	if err != nil {
		return res, err
	}
	if _, err := c.srv.store.UpdateFlags(c.ctx, sel.owner, sel.name, []imap.UID{old}, ports.FlagsAdd, []string{imap.FlagDeleted}); err != nil {
		return res, err
	}
	_, err = c.srv.store.Expunge(c.ctx, sel.owner, sel.name, []imap.UID{old})
	return res, err
}

// replacedUID is the UID of the message REPLACE names: a message number,
// or a UID in the UID form. One that is not in the mailbox is NO; one
// that another session expunged, which this session has not been told
// yet, is NO [EXPUNGEISSUED] (RFC 5530), as when the store finds it gone.
func (c *conn) replacedUID(cmd *grammar.Command, n uint32) (imap.UID, error) {
	v := c.sel.view
	uid := imap.UID(n)
	if !cmd.UID {
		if n < 1 || n > v.Len() {
			return 0, &grammar.Error{Status: "NO", Text: "No such message"}
		}
		uid = v.UID(n)
	} else if v.SeqOf(uid) == 0 {
		return 0, &grammar.Error{Status: "NO", Text: "No such message"}
	}
	if v.IsGhost(uid) {
		return 0, imap.Errorf("replace", imap.ErrNoMessage, "UID %d", uid)
	}
	return uid, nil
}
