package app

import (
	"context"
	"slices"
	"strconv"

	"github.com/imapd-go/imapd/domain/grammar"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/search"
	"github.com/imapd-go/imapd/domain/sortkey"
	"github.com/imapd-go/imapd/ports"
)

// sortCapabilities are the SORT and THREAD extensions (RFC 5256, RFC
// 5957), advertised once logged in.
const sortCapabilities = "SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES THREAD=REFS"

// cmdSort answers SORT and UID SORT (RFC 5256 section 4): the messages
// matching the criteria, ordered by the sort keys, in one SORT response
// (empty when nothing matches), with RFC 7162's MODSEQ when the criteria
// had one.
func cmdSort(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.SortArgs)
	if args.ESort {
		return c.esort(cmd, args) // esort.go
	}
	items, m, err := c.sorted(args.Criteria, args.Keys)
	if err != nil {
		return result{}, err
	}
	b := make([]byte, 0, 16+len(items)*7)
	b = append(b, "SORT"...)
	for i := range items {
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(c.number(cmd, &items[i])), 10)
	}
	b = appendModSeq(b, m.modseqs)
	c.w.Untagged(string(b))
	return result{}, nil
}

// cmdThread answers THREAD and UID THREAD (RFC 5256 section 4) with one
// THREAD response.
func cmdThread(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.ThreadArgs)
	items, _, err := c.sorted(args.Criteria, nil)
	if err != nil {
		return result{}, err
	}
	threads := sortkey.Algorithms[args.Algorithm](items)
	b := make([]byte, 0, 16+len(items)*8)
	b = append(b, "THREAD"...)
	if len(threads) > 0 {
		b = append(b, ' ')
		b = sortkey.AppendThreads(b, threads, func(it *sortkey.Item) uint32 { return c.number(cmd, it) })
	}
	c.w.Untagged(string(b))
	return result{}, nil
}

// number is how a SORT or THREAD response names a message: its UID for
// the UID forms, else its sequence number.
func (c *conn) number(cmd *grammar.Command, it *sortkey.Item) uint32 {
	if cmd.UID {
		return uint32(c.sel.view.Entry(it.Seq).UID)
	}
	return it.Seq
}

// sorted returns the messages that match crit with their sort records,
// ordered by keys (left in mailbox order when keys is empty). ESORT's
// RETURN options (RFC 5267) take their numbers from this order.
func (c *conn) sorted(crit search.Key, keys []sortkey.Criterion) ([]sortkey.Item, matched, error) {
	f, err := c.matchAll(crit)
	if err != nil {
		return nil, f, err
	}
	items, err := c.sortItems(f)
	if err != nil {
		return nil, f, err
	}
	if len(keys) > 0 {
		sortkey.Sort(items, keys)
	}
	return items, f, nil
}

// sortItems returns the sort record of each message found, in mailbox
// order. Records come from the process's cache (sortcache.go); the first
// time the process looks at the mailbox, from the list the store saved
// (ports.SortRecords), then from those the store kept with each message
// at APPEND (ports.MessageSortRecords, msgsort.go) of the messages past
// the list's last UID (those that arrived since it was saved: reading
// them all costs far more than the list); the others (messages stored
// before records were kept) are computed from the structure blob stored
// at APPEND (Fetch), cached, and saved with the list when they are many
// (saveStoredSortRecords, in sortcache.go). So that the next process
// reads the list alone, it is saved, with every record, when there was
// none or when many came from the per-message records.
// A message expunged meanwhile by another session is left out.
func (c *conn) sortItems(f matched) ([]sortkey.Item, error) {
	key := sortBoxKey{user: c.sel.owner, name: c.sel.name, uidValidity: c.sel.view.UIDValidity}
	recs, looked := c.srv.sorts.lookup(key, f.uids)
	missing := missingUIDs(f.uids, recs)
	stored, _ := c.srv.store.(ports.SortRecords)
	hadList := true
	var listed, kept int // records read from the list, and per message
	if len(missing) > 0 && !looked {
		var from imap.UID
		if stored != nil {
			var got []imap.UID
			var gotRecs []*sortkey.Record
			got, gotRecs, hadList = c.loadStoredSortRecords(stored, key)
			if len(got) > 0 {
				from = got[len(got)-1] + 1
			}
			listed = len(got)
			c.srv.sorts.add(key, got, gotRecs, false)
			fillRecords(recs, f.uids, got, gotRecs)
			missing = missingUIDs(f.uids, recs)
		}
		if perMsg, ok := c.srv.store.(ports.MessageSortRecords); ok && len(missing) > 0 {
			if missing[0] < from && len(missing) >= saveSortAfter {
				// A list that lacks many older records (saved by a
				// version that left out those kept per message).
				from = 0
			}
			if from == 0 || missing[len(missing)-1] >= from {
				got, gotRecs := c.loadMessageSortRecords(perMsg, key, from)
				kept = len(got)
				c.srv.sorts.add(key, got, gotRecs, false)
				fillRecords(recs, f.uids, got, gotRecs)
				missing = missingUIDs(f.uids, recs)
			}
		}
	}
	unsaved, computed := 0, 0
	if len(missing) > 0 {
		got, gotRecs, err := c.loadSortRecords(missing)
		if err != nil {
			return nil, err
		}
		computed = len(got)
		unsaved = c.srv.sorts.add(key, got, gotRecs, true)
		fillRecords(recs, f.uids, got, gotRecs)
	}
	if stored != nil && (!hadList && listed+kept+computed > 0 || kept >= saveSortAfter ||
		computed > 0 && (unsaved >= saveSortAfter || computed >= saveSortAfter)) {
		c.saveStoredSortRecords(stored, key, f.uids, recs)
	}
	items := make([]sortkey.Item, 0, len(recs))
	for i, r := range recs {
		if r != nil {
			items = append(items, sortkey.Item{Seq: f.seqs[i], Rec: r})
		}
	}
	return items, nil
}

// loadSortRecords computes the sort records of uids (ascending);
// it returns those the mailbox still holds, with their UIDs. The store
// reads the next batch while this one's records are computed.
func (c *conn) loadSortRecords(uids []imap.UID) ([]imap.UID, []*sortkey.Record, error) {
	type batch struct {
		mrs []ports.MessageRecord
		err error
	}
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	batches := make(chan batch, 1)
	go func() {
		defer close(batches)
		for start := 0; start < len(uids); start += fetchBatch {
			mrs, err := c.srv.store.Fetch(ctx, c.sel.owner, c.sel.name, uids[start:min(start+fetchBatch, len(uids))])
			if err == nil {
				err = ctx.Err()
			}
			select {
			case batches <- batch{mrs, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	got := make([]imap.UID, 0, len(uids))
	all := make([]sortkey.Record, 0, len(uids))
	for b := range batches {
		if b.err != nil {
			return nil, nil, b.err
		}
		for i := range b.mrs {
			m := &b.mrs[i]
			r, err := sortkey.FromBlob(m.Structure, m.InternalDate, m.Size)
			if err != nil {
				return nil, nil, err
			}
			got = append(got, m.UID)
			all = append(all, r)
		}
	}
	recs := make([]*sortkey.Record, len(all))
	for i := range all {
		recs[i] = &all[i]
	}
	return got, recs, nil
}

// matched is what search criteria matched in the selected mailbox, in
// mailbox order: sequence numbers, UIDs and, when the criteria had MODSEQ,
// each message's mod-sequence.
type matched struct {
	seqs    []uint32
	uids    []imap.UID
	modseqs []uint64
}

// matchAll evaluates crit on every message of the selected mailbox, as
// SEARCH does (SORT and THREAD take their messages from it).
func (c *conn) matchAll(crit search.Key) (matched, error) {
	var out matched
	withModSeq := hasOp(crit, search.OpModSeq)
	if withModSeq {
		c.enableCondstore() // RFC 7162 3.1: a CONDSTORE enabling command
	}
	seqs, recs, given, err := c.searchCandidates(crit, keyNeedsRecord(crit))
	if err != nil {
		return out, err
	}
	hits, err := c.evalSearch(crit, c.saved, seqs, recs, given)
	if err != nil {
		return out, err
	}
	out.seqs = make([]uint32, len(hits))
	out.uids = make([]imap.UID, len(hits))
	for i, h := range hits {
		out.seqs[i], out.uids[i] = h.seq, h.uid
		if withModSeq {
			out.modseqs = append(out.modseqs, h.modseq)
		}
	}
	return out, nil
}

// appendModSeq appends, when the criteria had MODSEQ (modseqs not nil),
// the highest mod-sequence of the messages matched (RFC 7162 3.1.5).
func appendModSeq(b []byte, modseqs []uint64) []byte {
	if len(modseqs) == 0 {
		return b
	}
	b = append(b, " (MODSEQ "...)
	b = strconv.AppendUint(b, slices.Max(modseqs), 10)
	return append(b, ')')
}
