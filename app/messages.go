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
	var metas []ports.MessageMeta
	var modified []imap.UID
	if args.HasUnchangedSince {
		metas, modified, err = c.srv.store.UpdateFlagsIf(c.ctx, c.user, c.sel.name, c.uidsOf(seqs), op, args.Flags, args.UnchangedSince)
	} else {
		metas, err = c.srv.store.UpdateFlags(c.ctx, c.user, c.sel.name, c.uidsOf(seqs), op, args.Flags)
	}
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
	if len(seqs) == 0 {
		// Still tell the client when the target does not exist.
		_, err := c.srv.store.Status(c.ctx, c.user, args.Mailbox)
		return ports.CopyResult{}, tryCreate(err)
	}
	res, err := op(c.ctx, c.user, c.sel.name, c.uidsOf(seqs), args.Mailbox)
	if err == nil && len(res.Dest) > 0 {
		c.wrote(args.Mailbox)
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
	gone, err := c.srv.store.Expunge(c.ctx, c.user, c.sel.name, uids)
	if err != nil {
		return result{}, err
	}
	if len(gone) > 0 {
		c.wrote(c.sel.name) // the expunged messages leave its index
	}
	c.writeExpunged(c.sel.view.Expunge(gone))
	return result{}, nil
}

func cmdSearch(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.SearchArgs)
	found, err := c.search(args.Criteria)
	if err != nil {
		return result{}, err
	}
	hits := found.seqs
	if cmd.UID {
		hits = uidNums(found.uids)
	}
	if args.ESearch || c.rev2() {
		// RFC 9051 6.4.4: IMAP4rev2 answers every SEARCH with ESEARCH.
		opts := args.Return
		if !args.ESearch {
			opts = []string{"ALL"}
		}
		c.esearch(cmd, opts, hits, found.uids, found.modseqs)
		return result{}, nil
	}
	b := make([]byte, 0, 16+len(hits)*6)
	b = append(b, "SEARCH"...)
	for _, h := range hits {
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(h), 10)
	}
	b = appendModSeq(b, found.modseqs)
	c.w.Untagged(string(b))
	return result{}, nil
}

// appendModSeq appends, when the criteria had MODSEQ (modseqs not nil),
// the highest mod-sequence of the messages found (RFC 7162 3.1.5).
func appendModSeq(b []byte, modseqs []uint64) []byte {
	if len(modseqs) == 0 {
		return b
	}
	b = append(b, " (MODSEQ "...)
	b = strconv.AppendUint(b, slices.Max(modseqs), 10)
	return append(b, ')')
}

// uidNums returns UIDs as the numbers a UID command answers with.
func uidNums(uids []imap.UID) []uint32 {
	out := make([]uint32, len(uids))
	for i, u := range uids {
		out[i] = uint32(u)
	}
	return out
}

// found is the result of evaluating search criteria on the selected
// mailbox: the matching messages in mailbox order, by sequence number and
// by UID, and with a MODSEQ criterion each one's mod-sequence.
type found struct {
	seqs    []uint32
	uids    []imap.UID
	modseqs []uint64
}

// search evaluates the criteria on every message of the selected mailbox
// (SEARCH, SORT and THREAD share it).
func (c *conn) search(crit search.Key) (found, error) {
	var out found
	v := c.sel.view
	sctx := search.Context{MaxSeq: v.Len(), MaxUID: v.MaxUID(), Location: time.Local, Saved: c.saved}
	needRecord := keyNeedsRecord(crit)
	headerOnly := !search.NeedsStructure(crit)
	withModSeq := hasOp(crit, search.OpModSeq)
	if withModSeq {
		c.enableCondstore() // RFC 7162 3.1: a CONDSTORE enabling command
	}
	seqs, recs, given, err := c.searchCandidates(crit, needRecord)
	if err != nil {
		return out, err
	}
	var msg search.Message // each message's, in turn
	for start := 0; start < len(seqs); start += fetchBatch {
		batch := seqs[start:min(start+fetchBatch, len(seqs))]
		if needRecord && !given {
			uids := make([]imap.UID, 0, len(batch))
			for _, seq := range batch {
				uids = append(uids, v.Entry(seq).UID)
			}
			var err error
			if recs, err = c.srv.store.Fetch(c.ctx, c.user, c.sel.name, uids); err != nil {
				return out, err
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
				// Header keys alone need only the header, kept at the
				// start of the stored structure: the rest is not decoded.
				if headerOnly {
					hdr, err := message.StoredHeader(rec.Structure)
					if err != nil {
						return out, err
					}
					m.Header = hdr // nil when too long to keep
				}
				if m.Header == nil {
					st, err := message.Unmarshal(rec.Structure)
					if err != nil {
						return out, err
					}
					m.Structure = st
				}
			}
			var raw *lazyBody
			if m.Structure != nil && search.NeedsRawFor(crit, m.Structure) {
				raw = &lazyBody{c: c, uid: e.UID}
				m.Raw = raw
			}
			ok, err := search.Match(sctx, crit, m)
			if raw != nil {
				raw.Close()
			}
			if err != nil {
				return out, err
			}
			if ok {
				if withModSeq {
					out.modseqs = append(out.modseqs, e.ModSeq)
				}
				out.uids = append(out.uids, e.UID)
				out.seqs = append(out.seqs, seq)
			}
		}
		if err := c.ctx.Err(); err != nil {
			return out, err
		}
	}
	return out, nil
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
		recs, ok, err = tr.TextCandidateRecords(c.ctx, c.user, c.sel.name, q)
		uids = make([]imap.UID, len(recs))
		for i := range recs {
			uids[i] = recs[i].UID
		}
		given = ok
	} else {
		uids, ok, err = ti.TextCandidates(c.ctx, c.user, c.sel.name, q)
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

// esearch answers a SEARCH with RETURN options (RFC 4731) and keeps the
// result for "$" when SAVE is among them (RFC 5182). modseqs holds the
// mod-sequence of each hit when the criteria have MODSEQ, nil otherwise.
func (c *conn) esearch(cmd *grammar.Command, opts []string, hits []uint32, uids []imap.UID, modseqs []uint64) {
	want := map[string]bool{}
	for _, o := range opts {
		want[o] = true
	}
	if want["SAVE"] {
		// RFC 5182 2.1: with MIN or MAX (and no ALL/COUNT) only those are
		// saved.
		c.saved = map[imap.UID]bool{}
		switch {
		case len(uids) == 0:
		case (want["MIN"] || want["MAX"]) && !want["ALL"] && !want["COUNT"]:
			if want["MIN"] {
				c.saved[uids[0]] = true
			}
			if want["MAX"] {
				c.saved[uids[len(uids)-1]] = true
			}
		default:
			for _, u := range uids {
				c.saved[u] = true
			}
		}
		if len(opts) == 1 {
			return // SAVE alone: no ESEARCH response (RFC 5182 2.4)
		}
	}
	b := []byte(`ESEARCH (TAG `)
	b = imap.AppendString(b, cmd.Tag)
	b = append(b, ')')
	if cmd.UID {
		b = append(b, " UID"...)
	}
	if len(hits) > 0 {
		if want["MIN"] {
			b = append(b, " MIN "...)
			b = strconv.AppendUint(b, uint64(hits[0]), 10)
		}
		if want["MAX"] {
			b = append(b, " MAX "...)
			b = strconv.AppendUint(b, uint64(hits[len(hits)-1]), 10)
		}
		if want["ALL"] {
			b = append(b, " ALL "...)
			b = append(b, compactSet(hits)...)
		}
	}
	if want["COUNT"] {
		b = append(b, " COUNT "...)
		b = strconv.AppendInt(b, int64(len(hits)), 10)
	}
	if len(modseqs) > 0 {
		// RFC 4731 3.2, RFC 7162 3.1.5: the highest mod-sequence of the
		// messages returned: with MIN and/or MAX alone, of those only.
		var modseq uint64
		switch {
		case want["ALL"] || want["COUNT"] || !want["MIN"] && !want["MAX"]:
			modseq = slices.Max(modseqs)
		default:
			if want["MIN"] {
				modseq = modseqs[0]
			}
			if want["MAX"] {
				modseq = max(modseq, modseqs[len(modseqs)-1])
			}
		}
		b = append(b, " MODSEQ "...)
		b = strconv.AppendUint(b, modseq, 10)
	}
	c.w.Untagged(string(b))
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
		c.wrote(c.sel.name) // the moved messages leave its index
	}
	if len(res.Source) > 0 {
		c.w.Untagged("OK [" + copyUID(res) + "] Moved")
	}
	c.writeExpunged(c.sel.view.Expunge(res.Source))
	return result{}, nil
}

// writeExpunged reports expunged messages: EXPUNGE responses, or one
// VANISHED response once QRESYNC is enabled (RFC 7162 3.2.10).
func (c *conn) writeExpunged(seqs []uint32, uids []imap.UID) {
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
