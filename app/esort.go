package app

import (
	"slices"

	"github.com/imapd-go/imapd/domain/grammar"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/search"
	"github.com/imapd-go/imapd/domain/sortkey"
)

// esortCapabilities are the extended SORT and the sorted updating
// context (RFC 5267 sections 3 and 4), advertised once logged in.
const esortCapabilities = "ESORT CONTEXT=SORT"

// esort answers an extended SORT (RFC 5267 section 3): SORT or UID SORT
// with RETURN options, answered with one ESEARCH response whose MIN and
// MAX are the first and last messages in sort order and whose ALL and
// PARTIAL keep that order (section 3.2: only ascending runs become
// ranges). SAVE keeps the messages returned for "$" as with SEARCH (RFC
// 5182; "$" is a set, so the order is lost). UPDATE keeps the sorted
// result and reports, by position, the messages that enter or leave it
// (CONTEXT=SORT, section 4.3).
func (c *conn) esort(cmd *grammar.Command, args *grammar.SortArgs) (result, error) {
	ret := search.ReturnOf(args.Return, args.Partial)
	if ret.Update && c.sel.context(cmd.Tag) != nil {
		// RFC 5267 4.3: a tag already naming an updating context.
		return result{}, bad("Tag reuse")
	}
	saved := c.saved // "$" for this sort, before SAVE replaces it
	items, m, err := c.sorted(args.Criteria, args.Keys)
	if err != nil {
		return result{}, err
	}
	v := c.sel.view
	res := search.Result{IDs: make([]uint32, len(items))}
	uids := make([]imap.UID, len(items))
	if m.modseqs != nil {
		res.ModSeqs = make([]uint64, len(items))
	}
	for i := range items {
		res.IDs[i] = c.number(cmd, &items[i])
		uids[i] = v.Entry(items[i].Seq).UID
		if m.modseqs != nil {
			// m is in mailbox order: find the message's mod-sequence.
			if j, ok := slices.BinarySearch(m.seqs, items[i].Seq); ok {
				res.ModSeqs[i] = m.modseqs[j]
			}
		}
	}
	c.esearch(cmd, ret, res, uids)
	if ret.Update {
		if ctx := c.keepContext(cmd, args.Criteria, saved, uids); ctx != nil {
			ctx.Positional = true
			ctx.Order = c.sortOrder(args.Keys)
			if contextsIncremental {
				keys := make([]any, len(items))
				for i := range items {
					keys[i] = items[i].Rec
				}
				ctx.SetSortOrder(c.sortKeys(args.Keys), keys)
			}
		}
	}
	return result{}, nil
}

// contextsIncremental makes SORT contexts follow changes by binary
// searches (search.SortOrder) rather than by sorting their whole result
// again; tests turn it off to compare.
var contextsIncremental = true

// sortKeys is a SORT context's incremental order: the messages' sort
// records, compared by keys (search.SortOrder).
func (c *conn) sortKeys(keys []sortkey.Criterion) *search.SortOrder {
	return &search.SortOrder{
		Keys: func(uids []imap.UID) ([]any, error) {
			recs, err := c.sortRecordsOf(uids)
			if err != nil {
				return nil, err
			}
			out := make([]any, len(recs))
			for i, r := range recs {
				if r != nil {
					out[i] = r
				}
			}
			return out, nil
		},
		Compare: func(a, b any) int { return sortkey.Compare(a.(*sortkey.Record), b.(*sortkey.Record), keys) },
	}
}

// sortRecordsOf returns the sort records of uids (ascending) of the
// selected mailbox, nil for a message gone: from the process's cache, or
// computed (and cached) for those it does not hold, such as new messages.
func (c *conn) sortRecordsOf(uids []imap.UID) ([]*sortkey.Record, error) {
	key := sortBoxKey{user: c.user, name: c.sel.name, uidValidity: c.sel.view.UIDValidity}
	recs, _ := c.srv.sorts.lookup(key, uids)
	if missing := missingUIDs(uids, recs); len(missing) > 0 {
		got, gotRecs, err := c.loadSortRecords(missing)
		if err != nil {
			return nil, err
		}
		c.srv.sorts.add(key, got, gotRecs, true)
		fillRecords(recs, uids, got, gotRecs)
	}
	return recs, nil
}

// sortOrder returns a SORT context's sort program: it puts the UIDs
// given (ascending, all in the selected mailbox's view) in the order of
// keys, leaving out those whose message is gone.
func (c *conn) sortOrder(keys []sortkey.Criterion) func([]imap.UID) ([]imap.UID, error) {
	return func(uids []imap.UID) ([]imap.UID, error) {
		v := c.sel.view
		var f matched
		for _, u := range uids {
			if seq := v.SeqOf(u); seq != 0 {
				f.seqs = append(f.seqs, seq)
				f.uids = append(f.uids, u)
			}
		}
		items, err := c.sortItems(f)
		if err != nil {
			return nil, err
		}
		sortkey.Sort(items, keys)
		out := make([]imap.UID, len(items))
		for i := range items {
			out[i] = v.Entry(items[i].Seq).UID
		}
		return out, nil
	}
}
