package app

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/imapd-go/imapd/domain/grammar"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/domain/search"
	"github.com/imapd-go/imapd/ports"
)

func (c *conn) uidsOf(seqs []uint32) []imap.UID {
	uids := make([]imap.UID, len(seqs))
	for i, seq := range seqs {
		uids[i] = c.sel.view.Entry(seq).UID
	}
	return uids
}

func cmdStore(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.StoreArgs)
	if c.sel.readOnly {
		return result{}, imap.ErrReadOnly
	}
	seqs, err := c.resolve(cmd, args.Set, args.SavedResult)
	if err != nil {
		return result{}, err
	}
	if args.HasUnchangedSince {
		c.enableCondstore() // RFC 7162 3.1: a CONDSTORE enabling command
	}
	if len(seqs) == 0 {
		return result{}, nil
	}
	op := map[grammar.StoreOp]ports.FlagOp{
		grammar.StoreReplace: ports.FlagsReplace,
		grammar.StoreAdd:     ports.FlagsAdd,
		grammar.StoreRemove:  ports.FlagsRemove,
	}[args.Op]
	metas, modified, err := c.storeFlags(c.uidsOf(seqs), op, args.Flags, args.HasUnchangedSince, args.UnchangedSince)
	if err != nil {
		return result{}, err
	}
	if op != ports.FlagsRemove && len(metas) > 0 {
		// The keywords are now on the messages stored (a removal, or a
		// STORE that changed none, adds none to the mailbox).
		c.announceKeywords(args.Flags)
	}
	asked, nerr := imap.NormalizeFlags(args.Flags)
	if nerr != nil {
		asked = args.Flags
	}
	for _, m := range metas {
		// What the client will take the flags to be: those it was told,
		// changed as it asked. Another session's change it has not been
		// told of yet makes them differ, and the view takes this STORE's
		// mod-sequence, so no later poll would report it: a silent STORE
		// sends the flags then too (RFC 3501 5.2, 7.4.2).
		var stale bool
		if seq := c.sel.view.SeqOf(m.UID); seq != 0 {
			expected, _ := op.Apply(c.sel.view.Entry(seq).Flags, asked)
			stale = !imap.SameFlags(expected, m.Flags)
		}
		seq := c.sel.view.SetFlags(m.UID, m.Flags, m.ModSeq)
		switch {
		case seq == 0:
		case !args.Silent || stale:
			c.writeFlags(seq, cmd.UID)
		case c.condstore:
			// RFC 7162 3.1.3: even a silent STORE tells a CONDSTORE
			// client the new mod-sequences.
			b := strconv.AppendUint([]byte(nil), uint64(seq), 10)
			b = append(b, " FETCH ("...)
			if cmd.UID || c.qresync() {
				b = append(b, "UID "...)
				b = strconv.AppendUint(b, uint64(m.UID), 10)
				b = append(b, ' ')
			}
			b = append(b, "MODSEQ ("...)
			b = strconv.AppendUint(b, m.ModSeq, 10)
			b = append(b, "))"...)
			c.w.Untagged(string(b))
		}
	}
	if len(metas) > 0 && len(c.sel.contexts) > 0 {
		changed := make([]imap.UID, len(metas))
		for i, m := range metas {
			changed[i] = m.UID
		}
		if err := c.refreshContexts(changed); err != nil {
			return result{}, err
		}
	}
	if len(modified) > 0 {
		// RFC 7162 3.1.3: MODIFIED names the messages left unchanged, as
		// UIDs for UID STORE, sequence numbers otherwise.
		set := imap.SetOfUIDs(modified)
		if !cmd.UID {
			nums := make([]uint32, 0, len(modified))
			for _, u := range modified {
				if seq := c.sel.view.SeqOf(u); seq != 0 {
					nums = append(nums, seq)
				}
			}
			set = compactSet(nums)
		}
		return result{code: "MODIFIED " + set, text: "Conditional STORE failed"}, nil
	}
	return result{}, nil
}

// storeFlags changes flags as the session's rights allow (RFC 4314
// section 4: "s" for \Seen, "t" for \Deleted, "w" for the others): a
// flag the user may not change is left as it is, and a STORE that may
// change none of its flags is NO [NOPERM]. A reader who does not own the
// mailbox changes \Seen in their own state (shared.go).
func (c *conn) storeFlags(uids []imap.UID, op ports.FlagOp, flags []string, conditional bool, since uint64) ([]ports.MessageMeta, []imap.UID, error) {
	r := c.sel.rights
	may := func(f string) bool {
		switch imap.CanonicalFlag(f) {
		case imap.FlagSeen:
			return r.Has(imap.RightSeen)
		case imap.FlagDeleted:
			return r.Has(imap.RightDeleteMsg)
		}
		return r.Has(imap.RightWrite)
	}
	var kept []string
	seenAsked, seenKept := false, false
	for _, f := range flags {
		if imap.CanonicalFlag(f) == imap.FlagSeen {
			seenAsked = true
		}
		if may(f) {
			kept = append(kept, f)
			if imap.CanonicalFlag(f) == imap.FlagSeen {
				seenKept = true
			}
		}
	}
	if op == ports.FlagsReplace {
		// A replacement leaves alone what the user may not change.
		if !r.Has(imap.RightSeen) || !r.Has(imap.RightDeleteMsg) || !r.Has(imap.RightWrite) {
			if !r.Has(imap.RightSeen) && !r.Has(imap.RightDeleteMsg) && !r.Has(imap.RightWrite) {
				return nil, nil, imap.Errorf("store", imap.ErrNoPerm, "store")
			}
			return c.replaceAllowed(uids, kept, may, conditional, since)
		}
	} else if len(kept) == 0 && len(flags) > 0 {
		return nil, nil, imap.Errorf("store", imap.ErrNoPerm, "store")
	}
	if c.sel.seenKey == "" || !seenAsked && op != ports.FlagsReplace {
		if conditional {
			metas, modified, err := c.srv.store.UpdateFlagsIf(c.ctx, c.sel.owner, c.sel.name, uids, op, kept, since)
			return c.seenView(metas), modified, err
		}
		metas, err := c.srv.store.UpdateFlags(c.ctx, c.sel.owner, c.sel.name, uids, op, kept)
		return c.seenView(metas), nil, err
	}
	// A reader's \Seen: in their own state; the rest on the messages.
	var others []string
	for _, f := range kept {
		if imap.CanonicalFlag(f) != imap.FlagSeen {
			others = append(others, f)
		}
	}
	var metas []ports.MessageMeta
	var modified []imap.UID
	var err error
	if op == ports.FlagsReplace {
		if metas, modified, err = c.replaceKeepingSeen(uids, others, conditional, since); err != nil {
			return nil, nil, err
		}
		for _, m := range metas {
			if seq := c.sel.view.SeqOf(m.UID); seq != 0 {
				e := c.sel.view.Entry(seq)
				c.sel.view.SetFlags(m.UID, withSeen(m.Flags, imap.HasFlag(e.Flags, imap.FlagSeen)), m.ModSeq)
			}
		}
	} else if len(others) > 0 {
		if conditional {
			metas, modified, err = c.srv.store.UpdateFlagsIf(c.ctx, c.sel.owner, c.sel.name, uids, op, others, since)
		} else {
			metas, err = c.srv.store.UpdateFlags(c.ctx, c.sel.owner, c.sel.name, uids, op, others)
		}
		if err != nil {
			return nil, nil, err
		}
		for _, m := range metas {
			if seq := c.sel.view.SeqOf(m.UID); seq != 0 {
				e := c.sel.view.Entry(seq)
				c.sel.view.SetFlags(m.UID, withSeen(m.Flags, imap.HasFlag(e.Flags, imap.FlagSeen)), m.ModSeq)
			}
		}
	}
	if seenKept || op == ports.FlagsReplace && r.Has(imap.RightSeen) {
		set := op != ports.FlagsRemove && (seenKept || op != ports.FlagsReplace)
		if op == ports.FlagsReplace {
			set = seenKept
		}
		var targets []imap.UID
		for _, u := range uids {
			if !slices.Contains(modified, u) {
				targets = append(targets, u)
			}
		}
		if _, err := c.setSeenFor(targets, set); err != nil {
			return nil, nil, err
		}
	}
	out := make([]ports.MessageMeta, 0, len(uids))
	for _, u := range uids {
		if seq := c.sel.view.SeqOf(u); seq != 0 && !slices.Contains(modified, u) {
			e := c.sel.view.Entry(seq)
			out = append(out, ports.MessageMeta{UID: u, Flags: e.Flags, ModSeq: e.ModSeq})
		}
	}
	return out, modified, nil
}

// replaceKeepingSeen is STORE FLAGS by a reader who does not own the
// mailbox: the messages get flags, and keep the owner's \Seen, whatever
// it is, in two steps (the flags the reader sees and did not ask for are
// removed, then those asked for added); the UNCHANGEDSINCE check is the
// first step's.
func (c *conn) replaceKeepingSeen(uids []imap.UID, flags []string, conditional bool, since uint64) ([]ports.MessageMeta, []imap.UID, error) {
	var drop []string
	for _, u := range uids {
		seq := c.sel.view.SeqOf(u)
		if seq == 0 {
			continue
		}
		for _, f := range c.sel.view.Entry(seq).Flags {
			if f != imap.FlagSeen && !imap.HasFlag(flags, f) && !imap.HasFlag(drop, f) {
				drop = append(drop, f)
			}
		}
	}
	var metas []ports.MessageMeta
	var modified []imap.UID
	var err error
	switch {
	case conditional:
		metas, modified, err = c.srv.store.UpdateFlagsIf(c.ctx, c.sel.owner, c.sel.name, uids, ports.FlagsRemove, drop, since)
	case len(drop) > 0:
		metas, err = c.srv.store.UpdateFlags(c.ctx, c.sel.owner, c.sel.name, uids, ports.FlagsRemove, drop)
	}
	if err != nil || len(flags) == 0 {
		return metas, modified, err
	}
	var rest []imap.UID
	for _, u := range uids {
		if !slices.Contains(modified, u) {
			rest = append(rest, u)
		}
	}
	metas, err = c.srv.store.UpdateFlags(c.ctx, c.sel.owner, c.sel.name, rest, ports.FlagsAdd, flags)
	return metas, modified, err
}

// seenView gives store metadata the session user's \Seen when they do
// not own the selected mailbox.
func (c *conn) seenView(metas []ports.MessageMeta) []ports.MessageMeta {
	if c.sel.seenKey == "" {
		return metas
	}
	out := make([]ports.MessageMeta, len(metas))
	for i, m := range metas {
		seen := false
		if seq := c.sel.view.SeqOf(m.UID); seq != 0 {
			seen = imap.HasFlag(c.sel.view.Entry(seq).Flags, imap.FlagSeen)
		}
		m.Flags = withSeen(m.Flags, seen)
		out[i] = m
	}
	return out
}

// replaceAllowed is STORE FLAGS for a user who may change only some
// flags: each message gets the flags asked for among those the user may
// change, and keeps the others it has, one message at a time.
func (c *conn) replaceAllowed(uids []imap.UID, kept []string, may func(string) bool, conditional bool, since uint64) ([]ports.MessageMeta, []imap.UID, error) {
	var metas []ports.MessageMeta
	var modified []imap.UID
	for _, u := range uids {
		seq := c.sel.view.SeqOf(u)
		if seq == 0 {
			continue
		}
		var next []string
		for _, f := range c.sel.view.Entry(seq).Flags {
			if !may(f) {
				next = append(next, f)
			}
		}
		next = append(next, kept...)
		m, mod, err := c.storeFlagsFull([]imap.UID{u}, next, conditional, since)
		if err != nil {
			return nil, nil, err
		}
		metas = append(metas, m...)
		modified = append(modified, mod...)
	}
	return metas, modified, nil
}

// storeFlagsFull replaces flags with every right, the reader's \Seen
// going to their own state.
func (c *conn) storeFlagsFull(uids []imap.UID, flags []string, conditional bool, since uint64) ([]ports.MessageMeta, []imap.UID, error) {
	saved := c.sel.rights
	c.sel.rights = imap.AllRights
	defer func() { c.sel.rights = saved }()
	return c.storeFlags(uids, ports.FlagsReplace, flags, conditional, since)
}

func cmdCopy(c *conn, cmd *grammar.Command) (result, error) {
	res, err := c.transfer(cmd, c.srv.store.Copy)
	if err != nil || len(res.Source) == 0 {
		return result{}, err
	}
	return result{code: copyUID(res)}, nil
}

// transfer runs COPY or MOVE's common part: the messages named, then the
// store's operation, with TRYCREATE for a missing target (RFC 3501 6.4.7).
func (c *conn) transfer(cmd *grammar.Command, op func(ctx context.Context, user, name string, uids []imap.UID, dest string) (ports.CopyResult, error)) (ports.CopyResult, error) {
	args := cmd.Args.(*grammar.CopyArgs)
	seqs, err := c.resolve(cmd, args.Set, args.SavedResult)
	if err != nil {
		return ports.CopyResult{}, err
	}
	if err := imap.RefuseName(imap.UseTarget, args.Mailbox, args.MailboxErr); err != nil {
		return ports.CopyResult{}, err
	}
	// RFC 4314 section 4: COPY and MOVE need "i" on the target (and
	// "r" on the source, which SELECT checked); MOVE needs "t" and "e"
	// on the source too (RFC 6851 section 3.3).
	dest, _, err := c.access("COPY", args.Mailbox, imap.ErrTryCreate, imap.RightInsert)
	if err != nil {
		return ports.CopyResult{}, tryCreate(err)
	}
	move := cmd.Name == "MOVE"
	if move && !c.sel.rights.Has(imap.RightDeleteMsg, imap.RightExpunge) {
		return ports.CopyResult{}, imap.Errorf("move", imap.ErrNoPerm, "%q", c.nameOf(mailbox{c.sel.owner, c.sel.name}))
	}
	if len(seqs) == 0 {
		return ports.CopyResult{}, nil
	}
	var res ports.CopyResult
	if dest.owner == c.sel.owner {
		res, err = op(c.ctx, c.sel.owner, c.sel.name, c.uidsOf(seqs), dest.name)
	} else {
		// Between owners: a copy through APPEND, then (MOVE) the
		// originals expunged.
		res, err = c.copyAcross(c.uidsOf(seqs), dest)
		if err == nil && move && len(res.Source) > 0 {
			if _, err = c.srv.store.UpdateFlags(c.ctx, c.sel.owner, c.sel.name, res.Source, ports.FlagsAdd, []string{imap.FlagDeleted}); err == nil {
				res.Source, err = c.srv.store.Expunge(c.ctx, c.sel.owner, c.sel.name, res.Source)
			}
		}
	}
	if err == nil && len(res.Dest) > 0 {
		c.wrote(dest)
	}
	return res, tryCreate(err)
}

// copyUID is the RFC 4315 COPYUID response code.
func copyUID(res ports.CopyResult) string {
	return "COPYUID " + itoa(int64(res.UIDValidity)) + " " + imap.SetOfUIDs(res.Source) + " " + imap.SetOfUIDs(res.Dest)
}

// tryCreate turns a missing target mailbox into TRYCREATE (RFC 3501 6.4.7).
func tryCreate(err error) error {
	if errors.Is(err, imap.ErrNonexistent) {
		return imap.ErrTryCreate
	}
	return err
}

func cmdExpunge(c *conn, cmd *grammar.Command) (result, error) {
	if c.sel.readOnly {
		return result{}, imap.ErrReadOnly
	}
	var uids []imap.UID
	if args, ok := cmd.Args.(*grammar.ExpungeArgs); ok && cmd.UID {
		seqs, err := c.resolve(cmd, args.Set, args.SavedResult)
		if err != nil {
			return result{}, err
		}
		uids = c.uidsOf(seqs)
		if len(uids) == 0 {
			return result{}, nil
		}
	}
	// RFC 4314 section 4: EXPUNGE needs "e".
	if !c.sel.rights.Has(imap.RightExpunge) {
		return result{}, imap.Errorf("expunge", imap.ErrNoPerm, "expunge")
	}
	gone, err := c.srv.store.Expunge(c.ctx, c.sel.owner, c.sel.name, uids)
	if err != nil {
		return result{}, err
	}
	if len(gone) > 0 {
		c.wrote(mailbox{c.sel.owner, c.sel.name}) // the expunged messages leave its index
	}
	c.writeExpunged(c.sel.view.Expunge(gone))
	return result{}, c.refreshContexts(nil)
}

func cmdSearch(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.SearchArgs)
	ret := search.ReturnOf(args.Return, args.Partial)
	if ret.Update && c.sel.context(cmd.Tag) != nil {
		// RFC 5267 4.3: a tag already naming an updating context.
		return result{}, bad("Tag reuse")
	}
	withModSeq := hasOp(args.Criteria, search.OpModSeq)
	if withModSeq {
		c.enableCondstore() // RFC 7162 3.1: a CONDSTORE enabling command
	}
	seqs, recs, given, err := c.searchCandidates(args.Criteria, keyNeedsRecord(args.Criteria))
	if err != nil {
		return result{}, err
	}
	saved := c.saved // "$" for this search, before SAVE replaces it
	found, err := c.evalSearch(args.Criteria, saved, seqs, recs, given)
	if err != nil {
		return result{}, err
	}
	res := search.Result{IDs: make([]uint32, len(found))}
	uids := make([]imap.UID, len(found))
	if withModSeq {
		res.ModSeqs = make([]uint64, len(found))
	}
	for i, f := range found {
		res.IDs[i] = f.seq
		if cmd.UID {
			res.IDs[i] = uint32(f.uid)
		}
		uids[i] = f.uid
		if withModSeq {
			res.ModSeqs[i] = f.modseq
		}
	}
	if args.ESearch || c.rev2() {
		// RFC 9051 6.4.4: IMAP4rev2 answers every SEARCH with ESEARCH.
		if !args.ESearch {
			ret = search.Return{All: true}
		}
		c.esearch(cmd, ret, res, uids)
		if ret.Update {
			c.keepContext(cmd, args.Criteria, saved, uids)
		}
		return result{}, nil
	}
	b := make([]byte, 0, 16+len(found)*6)
	b = append(b, "SEARCH"...)
	for _, h := range res.IDs {
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(h), 10)
	}
	if len(res.ModSeqs) > 0 {
		// RFC 7162 3.1.5: the highest mod-sequence of the messages found.
		b = append(b, " (MODSEQ "...)
		b = strconv.AppendUint(b, slices.Max(res.ModSeqs), 10)
		b = append(b, ')')
	}
	c.w.Untagged(string(b))
	return result{}, nil
}

// found is one message a search matched.
type found struct {
	seq    uint32
	uid    imap.UID
	modseq uint64
}

// evalSearch evaluates criteria k, with saved as "$", on the messages
// with sequence numbers seqs (ascending) and returns those that match, in
// order. When given, recs holds the messages' records (in UID order);
// otherwise they are read from the store as the criteria need them.
func (c *conn) evalSearch(k search.Key, saved map[imap.UID]bool, seqs []uint32, recs []ports.MessageRecord, given bool) ([]found, error) {
	v := c.sel.view
	sctx := search.Context{MaxSeq: v.Len(), MaxUID: v.MaxUID(), Location: time.Local, Saved: saved}
	needRecord := keyNeedsRecord(k)
	headerOnly := !search.NeedsStructure(k)
	withObjectIDs := hasOp(k, search.OpEmailID) || hasOp(k, search.OpThreadID)
	var hits []found
	var msg search.Message // each message's, in turn
	for start := 0; start < len(seqs); start += fetchBatch {
		batch := seqs[start:min(start+fetchBatch, len(seqs))]
		if needRecord && !given {
			uids := make([]imap.UID, 0, len(batch))
			for _, seq := range batch {
				uids = append(uids, v.Entry(seq).UID)
			}
			var err error
			if recs, err = c.srv.store.Fetch(c.ctx, c.sel.owner, c.sel.name, uids); err != nil {
				return nil, err
			}
		}
		for _, seq := range batch {
			e := v.Entry(seq)
			msg = search.Message{Seq: seq, UID: e.UID, Flags: c.flagsOf(e), ModSeq: e.ModSeq}
			m := &msg
			if needRecord {
				// Records come in UID order, as the view's entries do;
				// a message expunged meanwhile has none.
				for len(recs) > 0 && recs[0].UID < e.UID {
					recs = recs[1:]
				}
				if len(recs) == 0 || recs[0].UID != e.UID {
					continue
				}
				rec := &recs[0]
				m.InternalDate, m.Size, m.SaveDate = rec.InternalDate, rec.Size, rec.SaveDate
				if withObjectIDs {
					var err error
					if m.EmailID, m.ThreadID, err = objectIDsOf(rec); err != nil {
						return nil, err
					}
				}
				// Header keys alone need only the header, kept at the
				// start of the stored structure: the rest is not decoded.
				if headerOnly {
					hdr, err := message.StoredHeader(rec.Structure)
					if err != nil {
						return nil, err
					}
					m.Header = hdr // nil when too long to keep
				}
				if m.Header == nil {
					st, err := message.Unmarshal(rec.Structure)
					if err != nil {
						return nil, err
					}
					m.Structure = st
				}
			}
			var raw *lazyBody
			if m.Structure != nil && search.NeedsRawFor(k, m.Structure) {
				raw = &lazyBody{c: c, uid: e.UID}
				m.Raw = raw
			}
			ok, err := search.Match(sctx, k, m)
			if raw != nil {
				raw.Close()
			}
			if err != nil {
				return nil, err
			}
			if ok {
				hits = append(hits, found{seq: seq, uid: e.UID, modseq: e.ModSeq})
			}
		}
		if err := c.ctx.Err(); err != nil {
			return nil, err
		}
	}
	return hits, nil
}

// noTextIndex logs once that the store's index cannot answer.
var noTextIndex sync.Once

// searchCandidates returns, ascending, the sequence numbers of the
// messages a search must look at: all of them, or those the store's
// full-text index names when the criteria narrow (search.Narrowing). The
// index names a superset of the matches, and the criteria are evaluated
// on each candidate, so the result is the same either way. With
// needRecord, a store that can (ports.TextRecords) returns the
// candidates' records in the same read: given is then true and recs
// holds them, in UID order.
func (c *conn) searchCandidates(k search.Key, needRecord bool) (seqs []uint32, recs []ports.MessageRecord, given bool, err error) {
	v := c.sel.view
	all := func() []uint32 {
		seqs := make([]uint32, v.Len())
		for i := range seqs {
			seqs[i] = uint32(i + 1)
		}
		return seqs
	}
	ti, ok := c.srv.store.(ports.TextIndex)
	if !ok || v.Len() == 0 {
		return all(), nil, false, nil
	}
	q, ok := search.Narrowing(k)
	if !ok {
		return all(), nil, false, nil
	}
	var uids []imap.UID
	if tr, isTR := ti.(ports.TextRecords); isTR && needRecord {
		recs, ok, err = tr.TextCandidateRecords(c.ctx, c.sel.owner, c.sel.name, q)
		uids = make([]imap.UID, len(recs))
		for i := range recs {
			uids[i] = recs[i].UID
		}
		given = ok
	} else {
		uids, ok, err = ti.TextCandidates(c.ctx, c.sel.owner, c.sel.name, q)
	}
	if err != nil {
		return nil, nil, false, err
	}
	if !ok {
		noTextIndex.Do(func() {
			c.srv.log.Warn("the store's full-text index is unavailable (SQLite without FTS5: build with -tags sqlite_fts5); SEARCH reads every message")
		})
		return all(), nil, false, nil
	}
	// Both lists ascend: walk them together. A candidate the view does
	// not have (appended since) is left for the next search to see.
	for seq := uint32(1); seq <= v.Len() && len(uids) > 0; seq++ {
		u := v.Entry(seq).UID
		for len(uids) > 0 && uids[0] < u {
			uids = uids[1:]
		}
		if len(uids) > 0 && uids[0] == u {
			seqs = append(seqs, seq)
		}
	}
	return seqs, recs, given, nil
}

// esearch answers a SEARCH with RETURN options (RFC 4731, RFC 9394
// PARTIAL) and keeps the result for "$" when SAVE is among them (RFC 5182,
// with RFC 9394 section 3.2 for PARTIAL). uids are the results' UIDs.
func (c *conn) esearch(cmd *grammar.Command, ret search.Return, res search.Result, uids []imap.UID) {
	if ret.Save {
		c.saved = map[imap.UID]bool{}
		for _, i := range res.Returned(ret) {
			c.saved[uids[i]] = true
		}
		if !ret.HasData() && !ret.Update {
			return // SAVE alone: no ESEARCH response (RFC 5182 2.4)
		}
	}
	c.w.Untagged(string(res.AppendData(esearchHead(cmd.Tag, cmd.UID), ret)))
}

// esearchHead starts an ESEARCH response: the search correlator, and UID
// when the results are UIDs.
func esearchHead(tag string, uid bool) []byte {
	b := []byte(`ESEARCH (TAG `)
	b = imap.AppendString(b, tag)
	b = append(b, ')')
	if uid {
		b = append(b, " UID"...)
	}
	return b
}

// compactSet renders ascending numbers as a sequence set.
func compactSet(nums []uint32) string {
	uids := make([]imap.UID, len(nums))
	for i, n := range nums {
		uids[i] = imap.UID(n)
	}
	return imap.SetOfUIDs(uids)
}

// keyNeedsRecord reports whether evaluating k needs more than the view has
// (sequence numbers, UIDs and flags).
func keyNeedsRecord(k search.Key) bool {
	switch k.Op {
	case search.OpAnd, search.OpOr, search.OpNot:
		for _, s := range k.Sub {
			if keyNeedsRecord(s) {
				return true
			}
		}
		return false
	case search.OpAll, search.OpSeqSet, search.OpUID, search.OpFlag, search.OpNoFlag, search.OpNew, search.OpOld,
		search.OpModSeq, search.OpSaved, search.OpSaveDateSupported:
		return false
	}
	return true
}

// cmdMove moves messages (RFC 6851): COPYUID comes untagged before the
// EXPUNGE responses.
func cmdMove(c *conn, cmd *grammar.Command) (result, error) {
	if c.sel.readOnly {
		return result{}, imap.ErrReadOnly
	}
	res, err := c.transfer(cmd, c.srv.store.Move)
	if err != nil {
		return result{}, err
	}
	if len(res.Source) > 0 {
		c.wrote(mailbox{c.sel.owner, c.sel.name}) // the moved messages leave its index
	}
	if len(res.Source) > 0 {
		c.w.Untagged("OK [" + copyUID(res) + "] Moved")
	}
	c.writeExpunged(c.sel.view.Expunge(res.Source))
	return result{}, c.refreshContexts(nil)
}

// writeExpunged reports expunged messages: EXPUNGE responses, or one
// VANISHED response once QRESYNC is enabled (RFC 7162 3.2.10).
func (c *conn) writeExpunged(seqs []uint32, uids []imap.UID) {
	c.contextsExpunged(seqs, uids)
	if c.qresync() {
		if len(uids) > 0 {
			c.w.Untagged("VANISHED " + imap.SetOfUIDs(uids))
		}
		return
	}
	for _, seq := range seqs {
		c.w.Untagged(strconv.FormatUint(uint64(seq), 10) + " EXPUNGE")
	}
}

// qresync reports whether the client enabled QRESYNC.
func (c *conn) qresync() bool { return c.enabled["QRESYNC"] }

// hasOp reports whether the criteria tree uses op.
func hasOp(k search.Key, op search.Op) bool {
	if k.Op == op {
		return true
	}
	for _, s := range k.Sub {
		if hasOp(s, op) {
			return true
		}
	}
	return false
}
