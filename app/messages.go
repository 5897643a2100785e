package app

import (
	"errors"
	"strconv"
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
	seqs, err := c.resolve(cmd, args.Set)
	if err != nil {
		return result{}, err
	}
	if len(seqs) == 0 {
		return result{}, nil
	}
	op := map[grammar.StoreOp]ports.FlagOp{
		grammar.StoreReplace: ports.FlagsReplace,
		grammar.StoreAdd:     ports.FlagsAdd,
		grammar.StoreRemove:  ports.FlagsRemove,
	}[args.Op]
	metas, err := c.srv.store.UpdateFlags(c.ctx, c.user, c.sel.name, c.uidsOf(seqs), op, args.Flags)
	if err != nil {
		return result{}, err
	}
	c.announceKeywords(args.Flags)
	for _, m := range metas {
		seq := c.sel.view.SetFlags(m.UID, m.Flags, m.ModSeq)
		if seq != 0 && !args.Silent {
			c.writeFlags(seq, cmd.UID)
		}
	}
	return result{}, nil
}

func cmdCopy(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.CopyArgs)
	seqs, err := c.resolve(cmd, args.Set)
	if err != nil {
		return result{}, err
	}
	if len(seqs) == 0 {
		// Still tell the client when the target does not exist.
		if _, err := c.srv.store.Status(c.ctx, c.user, args.Mailbox); err != nil {
			return result{}, tryCreate(err)
		}
		return result{}, nil
	}
	res, err := c.srv.store.Copy(c.ctx, c.user, c.sel.name, c.uidsOf(seqs), args.Mailbox)
	if err != nil {
		return result{}, tryCreate(err)
	}
	if len(res.Source) == 0 {
		return result{}, nil
	}
	return result{code: "COPYUID " + itoa(int64(res.UIDValidity)) + " " + imap.SetOfUIDs(res.Source) + " " + imap.SetOfUIDs(res.Dest)}, nil
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
		uids = c.uidsOf(c.sel.view.UIDSeqs(args.Set))
		if len(uids) == 0 {
			return result{}, nil
		}
	}
	gone, err := c.srv.store.Expunge(c.ctx, c.user, c.sel.name, uids)
	if err != nil {
		return result{}, err
	}
	c.writeExpunged(c.sel.view.Expunge(gone))
	return result{}, nil
}

func cmdSearch(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.SearchArgs)
	v := c.sel.view
	sctx := search.Context{MaxSeq: v.Len(), MaxUID: v.MaxUID(), Location: time.Local}
	needRecord := keyNeedsRecord(args.Criteria)
	var hits []uint32
	for start := uint32(1); start <= v.Len(); start += fetchBatch {
		end := min(start+fetchBatch-1, v.Len())
		var records map[imap.UID]*ports.MessageRecord
		if needRecord {
			uids := make([]imap.UID, 0, end-start+1)
			for seq := start; seq <= end; seq++ {
				uids = append(uids, v.Entry(seq).UID)
			}
			recs, err := c.srv.store.Fetch(c.ctx, c.user, c.sel.name, uids)
			if err != nil {
				return result{}, err
			}
			records = make(map[imap.UID]*ports.MessageRecord, len(recs))
			for i := range recs {
				records[recs[i].UID] = &recs[i]
			}
		}
		for seq := start; seq <= end; seq++ {
			e := v.Entry(seq)
			m := &search.Message{Seq: seq, UID: e.UID, Flags: c.flagsOf(e)}
			if needRecord {
				rec := records[e.UID]
				if rec == nil {
					continue
				}
				st, err := message.Unmarshal(rec.Structure)
				if err != nil {
					return result{}, err
				}
				m.InternalDate, m.Size, m.Structure = rec.InternalDate, rec.Size, st
			}
			var raw *lazyBody
			if m.Structure != nil && search.NeedsRawFor(args.Criteria, m.Structure) {
				raw = &lazyBody{c: c, uid: e.UID}
				m.Raw = raw
			}
			ok, err := search.Match(sctx, args.Criteria, m)
			if raw != nil {
				raw.Close()
			}
			if err != nil {
				return result{}, err
			}
			if ok {
				if cmd.UID {
					hits = append(hits, uint32(e.UID))
				} else {
					hits = append(hits, seq)
				}
			}
		}
		if err := c.ctx.Err(); err != nil {
			return result{}, err
		}
	}
	b := make([]byte, 0, 16+len(hits)*6)
	b = append(b, "SEARCH"...)
	for _, h := range hits {
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(h), 10)
	}
	c.w.Untagged(string(b))
	return result{}, nil
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
	case search.OpAll, search.OpSeqSet, search.OpUID, search.OpFlag, search.OpNoFlag, search.OpNew, search.OpOld:
		return false
	}
	return true
}

// cmdMove moves messages (RFC 6851): COPYUID comes untagged before the
// EXPUNGE responses.
func cmdMove(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.CopyArgs)
	if c.sel.readOnly {
		return result{}, imap.ErrReadOnly
	}
	seqs, err := c.resolve(cmd, args.Set)
	if err != nil {
		return result{}, err
	}
	if len(seqs) == 0 {
		if _, err := c.srv.store.Status(c.ctx, c.user, args.Mailbox); err != nil {
			return result{}, tryCreate(err)
		}
		return result{}, nil
	}
	res, err := c.srv.store.Move(c.ctx, c.user, c.sel.name, c.uidsOf(seqs), args.Mailbox)
	if err != nil {
		return result{}, tryCreate(err)
	}
	if len(res.Source) > 0 {
		c.w.Untagged("OK [COPYUID " + itoa(int64(res.UIDValidity)) + " " + imap.SetOfUIDs(res.Source) + " " + imap.SetOfUIDs(res.Dest) + "] Moved")
	}
	c.writeExpunged(c.sel.view.Expunge(res.Source))
	return result{}, nil
}

// writeExpunged reports expunged sequence numbers.
func (c *conn) writeExpunged(seqs []uint32) {
	for _, seq := range seqs {
		c.w.Untagged(strconv.FormatUint(uint64(seq), 10) + " EXPUNGE")
	}
}
