package app

import (
	"strconv"

	"github.com/imapd-go/imapd/domain/grammar"
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
	items, found, err := c.sorted(args.Criteria, args.Keys)
	if err != nil {
		return result{}, err
	}
	b := make([]byte, 0, 16+len(items)*7)
	b = append(b, "SORT"...)
	for i := range items {
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(c.number(cmd, &items[i])), 10)
	}
	b = appendModSeq(b, found.modseqs)
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
func (c *conn) sorted(crit search.Key, keys []sortkey.Criterion) ([]sortkey.Item, found, error) {
	f, err := c.search(crit)
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
// order: from the store when it keeps them (ports.SortRecorder), else
// computed from the structure blob stored at APPEND. A message expunged
// meanwhile by another session is left out.
func (c *conn) sortItems(f found) ([]sortkey.Item, error) {
	items := make([]sortkey.Item, 0, len(f.seqs))
	if sr, ok := c.srv.store.(ports.SortRecorder); ok {
		recs, err := sr.SortRecords(c.ctx, c.user, c.sel.name, f.uids)
		if err != nil {
			return nil, err
		}
		j := 0
		for i := range recs {
			for j < len(f.uids) && f.uids[j] < recs[i].UID {
				j++
			}
			if j < len(f.uids) && f.uids[j] == recs[i].UID {
				items = append(items, sortkey.Item{Seq: f.seqs[j], Rec: &recs[i].Record})
			}
		}
		return items, nil
	}
	recs := make([]sortkey.Record, 0, len(f.uids))
	for start := 0; start < len(f.uids); start += fetchBatch {
		batch := f.uids[start:min(start+fetchBatch, len(f.uids))]
		mrs, err := c.srv.store.Fetch(c.ctx, c.user, c.sel.name, batch)
		if err != nil {
			return nil, err
		}
		j := start
		for i := range mrs {
			m := &mrs[i]
			for j < len(f.uids) && f.uids[j] < m.UID {
				j++
			}
			if j == len(f.uids) || f.uids[j] != m.UID {
				continue
			}
			r, err := sortkey.FromBlob(m.Structure, m.InternalDate, m.Size)
			if err != nil {
				return nil, err
			}
			recs = append(recs, r)
			items = append(items, sortkey.Item{Seq: f.seqs[j]})
		}
		if err := c.ctx.Err(); err != nil {
			return nil, err
		}
	}
	for i := range items {
		items[i].Rec = &recs[i]
	}
	return items, nil
}
