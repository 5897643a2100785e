package app

import (
	"errors"
	"io"
	"slices"
	"strings"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// Mailboxes of other owners: creating under them, the viewer's own \Seen
// on them, and COPY and MOVE between owners.
//
// \Seen is per user except the owner's on their own mailboxes (Cyrus): a
// reader who does not own the selected mailbox sees \Seen from their own
// seen state (ports.SeenStates, keyed by owner and MAILBOXID) instead of
// the message's flag, and setting or clearing it (STORE, or a FETCH of a
// body) changes only that state. The mailbox's mod-sequences are the
// owner's: a reader's own \Seen change does not give the message a new
// MODSEQ, so a CONDSTORE client of the reader learns of it from the
// untagged FETCH its STORE (or another of its sessions, at the next
// poll) produces, which carries the message's unchanged MODSEQ, and not
// from CHANGEDSINCE. That is the documented difference from Cyrus, which
// keeps a mod-sequence in its seen database.

// mayCreate resolves ext for CREATE (or RENAME's target) and checks the
// right to create it: "k" on its nearest existing superior (RFC 4314
// section 4), or on the owner's INBOX for a top-level name; only an
// admin creates a top-level shared mailbox or another user's INBOX
// (Cyrus). An admin may create anywhere.
func (c *conn) mayCreate(op, ext string) (mailbox, error) {
	m, ok := c.mailboxOf(ext)
	if !ok {
		return m, imap.Errorf(op, imap.ErrInvalidName, "%q", ext)
	}
	if c.admin || m.owner == c.user {
		return m, nil
	}
	if m.name == "INBOX" {
		return m, imap.Errorf(op, imap.ErrNoPerm, "%q", ext)
	}
	parents := imap.Parents(m.name)
	if !m.shared() && len(parents) == 0 {
		parents = []string{"INBOX"}
	}
	for _, p := range slices.Backward(parents) {
		r, err := c.rightsOf(mailbox{owner: m.owner, name: p})
		if errors.Is(err, imap.ErrNonexistent) || errors.Is(err, imap.ErrNoUser) {
			continue
		}
		if err != nil {
			return m, err
		}
		if r.Has(imap.RightCreate) {
			return m, nil
		}
		break
	}
	return m, imap.Errorf(op, imap.ErrNoPerm, "%q", ext)
}

// initACL gives a new top-level shared mailbox imapd.conf's defaultacl,
// and creates another user's storage when an admin creates their INBOX;
// other mailboxes keep what the store gave them (their parent's ACL).
func (c *conn) initACL(m mailbox) error {
	a := c.acls()
	if a == nil || !m.shared() || strings.Contains(m.name, "/") {
		return nil
	}
	_, err := a.ModifyACL(c.ctx, m.owner, m.name, func(cur imap.ACL, set bool) (imap.ACL, error) {
		if set {
			return cur, nil
		}
		return c.srv.defaultSharedACL(), nil
	})
	return err
}

// seenStates returns the store's per-reader \Seen, nil when it keeps
// none (then readers share the owner's \Seen).
func (c *conn) seenStates() (ports.SeenStates, ports.ObjectIDs) {
	ss, ok1 := c.srv.store.(ports.SeenStates)
	ids, ok2 := c.srv.store.(ports.ObjectIDs)
	if !ok1 || !ok2 {
		return nil, nil
	}
	return ss, ids
}

// seenKeyOf is the key of the session user's seen state of m, "" when
// the user owns m (their \Seen is the message's) or the store keeps no
// seen states.
func (c *conn) seenKeyOf(m mailbox) (string, error) {
	if m.owner == c.user {
		return "", nil
	}
	ss, ids := c.seenStates()
	if ss == nil {
		return "", nil
	}
	id, err := ids.MailboxID(c.ctx, m.owner, m.name)
	if err != nil {
		return "", err
	}
	return m.owner + "/" + id, nil
}

// withSeen returns flags with \Seen set as seen says.
func withSeen(flags []string, seen bool) []string {
	out := make([]string, 0, len(flags)+1)
	for _, f := range flags {
		if f != imap.FlagSeen {
			out = append(out, f)
		}
	}
	if seen {
		out = append(out, imap.FlagSeen)
	}
	return out
}

// overlaySeen prepares sel for a reader who does not own it and returns
// metas with that reader's \Seen (copies: the store's are shared).
func (c *conn) overlaySeen(sel *selected, metas []ports.MessageMeta) ([]ports.MessageMeta, error) {
	key, err := c.seenKeyOf(mailbox{owner: sel.owner, name: sel.name})
	if err != nil || key == "" {
		return metas, err
	}
	ss, _ := c.seenStates()
	uids, version, err := ss.LoadSeen(c.ctx, c.user, key)
	if err != nil {
		return nil, err
	}
	sel.seenKey, sel.seenVersion = key, version
	return applySeen(metas, uids), nil
}

func applySeen(metas []ports.MessageMeta, seen []imap.UID) []ports.MessageMeta {
	out := make([]ports.MessageMeta, len(metas))
	for i, m := range metas {
		_, found := slices.BinarySearch(seen, m.UID)
		m.Flags = withSeen(m.Flags, found)
		out[i] = m
	}
	return out
}

// overlaySeenChanges is overlaySeen for the changes a poll found; when
// the reader's seen state changed since the view last looked (another
// session of theirs), the messages whose \Seen it changed are reported
// too, with their flags as the view has them otherwise.
func (c *conn) overlaySeenChanges(sel *selected, updated []ports.MessageMeta) ([]ports.MessageMeta, error) {
	if sel.seenKey == "" {
		return updated, nil
	}
	ss, _ := c.seenStates()
	uids, version, err := ss.LoadSeen(c.ctx, c.user, sel.seenKey)
	if err != nil {
		return nil, err
	}
	out := applySeen(updated, uids)
	if version == sel.seenVersion {
		return out, nil
	}
	sel.seenVersion = version
	for seq := uint32(1); seq <= sel.view.Len(); seq++ {
		e := sel.view.Entry(seq)
		_, seen := slices.BinarySearch(uids, e.UID)
		if seen != imap.HasFlag(e.Flags, imap.FlagSeen) {
			sel.view.SetFlags(e.UID, withSeen(e.Flags, seen), e.ModSeq)
			c.writeFlags(seq, c.notifyFlagUID())
		}
	}
	return out, nil
}

// setSeenFor records \Seen (or its absence) in the reader's own state
// for uids of the selected mailbox and updates the view; it returns the
// new metadata of the messages, as UpdateFlags would.
func (c *conn) setSeenFor(uids []imap.UID, seen bool) ([]ports.MessageMeta, error) {
	ss, _ := c.seenStates()
	version, err := ss.UpdateSeen(c.ctx, c.user, c.sel.seenKey, uids, seen)
	if err != nil {
		return nil, err
	}
	if version == c.sel.seenVersion+1 {
		c.sel.seenVersion = version // only this change since the view looked
	}
	var out []ports.MessageMeta
	for _, u := range uids {
		seq := c.sel.view.SeqOf(u)
		if seq == 0 {
			continue
		}
		e := c.sel.view.Entry(seq)
		flags := withSeen(e.Flags, seen)
		c.sel.view.SetFlags(u, flags, e.ModSeq)
		out = append(out, ports.MessageMeta{UID: u, Flags: flags, ModSeq: e.ModSeq})
	}
	return out, nil
}

// unseenFor counts the messages of m without \Seen for the session's
// user, from their own seen state when they do not own m.
func (c *conn) unseenFor(m mailbox) (uint32, error) {
	key, err := c.seenKeyOf(m)
	if err != nil {
		return 0, err
	}
	_, metas, err := c.srv.store.Snapshot(c.ctx, m.owner, m.name)
	if err != nil {
		return 0, err
	}
	var seen []imap.UID
	if key != "" {
		ss, _ := c.seenStates()
		if seen, _, err = ss.LoadSeen(c.ctx, c.user, key); err != nil {
			return 0, err
		}
	}
	n := uint32(0)
	for _, mm := range metas {
		if _, found := slices.BinarySearch(seen, mm.UID); !found {
			n++
		}
	}
	return n, nil
}

// copyAcross copies the messages uids of the selected mailbox to dest, a
// mailbox of another owner, as one APPEND of them all (the store copies
// only within one owner's mailboxes): same bytes, internal dates and
// flags as the session sees them.
func (c *conn) copyAcross(uids []imap.UID, dest mailbox) (ports.CopyResult, error) {
	recs, err := c.srv.store.Fetch(c.ctx, c.sel.owner, c.sel.name, uids)
	if err != nil {
		return ports.CopyResult{}, err
	}
	var msgs []ports.NewMessage
	var src []imap.UID
	for _, r := range recs {
		body, err := c.srv.store.Open(c.ctx, c.sel.owner, c.sel.name, r.UID)
		if errors.Is(err, imap.ErrNonexistent) {
			continue
		}
		if err != nil {
			return ports.CopyResult{}, err
		}
		defer body.Close()
		flags := r.Flags
		if seq := c.sel.view.SeqOf(r.UID); seq != 0 {
			flags = c.sel.view.Entry(seq).Flags
		}
		msgs = append(msgs, ports.NewMessage{
			Flags: flags, InternalDate: r.InternalDate, Size: body.Size(),
			Body: io.NewSectionReader(body, 0, body.Size()), Structure: r.Structure,
		})
		src = append(src, r.UID)
	}
	if len(msgs) == 0 {
		return ports.CopyResult{}, nil
	}
	res, err := c.srv.store.AppendAll(c.ctx, dest.owner, dest.name, msgs)
	if err != nil {
		return ports.CopyResult{}, err
	}
	out := ports.CopyResult{UIDValidity: res[0].UIDValidity, Source: src}
	for _, r := range res {
		out.Dest = append(out.Dest, r.UID)
	}
	return out, nil
}
