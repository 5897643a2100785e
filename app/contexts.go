package app

import (
	"slices"
	"strconv"

	"github.com/imapd-go/imapd/domain/grammar"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/search"
)

// maxUpdateContexts bounds the results a session keeps up to date (RFC
// 5267 4.3.1: at least one per client). Each costs a re-evaluation of its
// criteria on every message that arrives or changes.
const maxUpdateContexts = 10

// context returns the updating context the searching command tagged tag
// made, nil when none.
func (s *selected) context(tag string) *search.UpdateContext {
	if s == nil {
		return nil
	}
	for _, ctx := range s.contexts {
		if ctx.Tag == tag {
			return ctx
		}
	}
	return nil
}

// keepContext keeps the result of a searching command that asked for
// UPDATE (RFC 5267 4.3): uids are its members, in result order. Past the
// limit the client is told with NOUPDATE, and the command still succeeds
// with its other return options honoured (RFC 5267 4.3.1): the context
// kept is returned, nil past the limit.
func (c *conn) keepContext(cmd *grammar.Command, criteria search.Key, saved map[imap.UID]bool, uids []imap.UID) *search.UpdateContext {
	if len(c.sel.contexts) >= maxUpdateContexts {
		b := []byte("NO [NOUPDATE ")
		b = imap.AppendString(b, cmd.Tag)
		b = append(b, "] Too many contexts"...)
		c.w.Untagged(string(b))
		return nil
	}
	ctx := search.NewUpdateContext(cmd.Tag, cmd.UID, criteria, saved, uids)
	c.sel.contexts = append(c.sel.contexts, ctx)
	return ctx
}

// cmdCancelUpdate stops the updates of the contexts named (RFC 5267
// 4.3.5). A tag that names no context is the client's mistake: BAD, and
// no context is cancelled.
func cmdCancelUpdate(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.CancelUpdateArgs)
	for _, tag := range args.Tags {
		if c.sel.context(tag) == nil {
			return result{}, bad("No search update with tag " + tag)
		}
	}
	c.sel.contexts = slices.DeleteFunc(c.sel.contexts, func(ctx *search.UpdateContext) bool {
		return slices.Contains(args.Tags, ctx.Tag)
	})
	return result{}, nil
}

// contextsExpunged tells each context that lost members to the expunge
// about to be reported: REMOVEFROM goes before the EXPUNGE (or VANISHED)
// responses, while the message numbers in it are still valid (RFC 5267
// 4.3.4). seqs are the expunged messages' numbers, highest first, and
// uids their UIDs, ascending: seqs[len-1-i] is the number of uids[i].
func (c *conn) contextsExpunged(seqs []uint32, uids []imap.UID) {
	if c.sel == nil || len(c.sel.contexts) == 0 || len(uids) == 0 {
		return
	}
	seqOf := make(map[imap.UID]uint32, len(uids))
	if len(seqs) == len(uids) {
		for i, u := range uids {
			seqOf[u] = seqs[len(seqs)-1-i]
		}
	}
	for _, ctx := range c.sel.contexts {
		changes := ctx.Remove(uids)
		c.writeChanges(ctx, changes, func(u imap.UID) uint32 { return seqOf[u] })
	}
}

// refreshContexts evaluates each context's criteria again on the messages
// with these UIDs (new, or whose flags changed) and tells the client of
// those that entered or left the result (RFC 5267 4.3.3, 4.3.4). It runs
// after EXISTS, so that the numbers of new messages are valid. Criteria
// with message numbers are evaluated on every message, as an expunge
// renumbers them (with no uids, only those are).
func (c *conn) refreshContexts(uids []imap.UID) error {
	if c.sel == nil || len(c.sel.contexts) == 0 {
		return nil
	}
	v := c.sel.view
	var seqs []uint32
	for _, u := range uids {
		if seq := v.SeqOf(u); seq != 0 && !v.IsGhost(u) {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	seqs = slices.Compact(seqs)
	var all []uint32
	for _, ctx := range c.sel.contexts {
		look := seqs
		if hasOp(ctx.Criteria, search.OpSeqSet) {
			if all == nil {
				all = make([]uint32, 0, v.Len())
				for seq := uint32(1); seq <= v.Len(); seq++ {
					if !v.IsGhost(v.UID(seq)) {
						all = append(all, seq)
					}
				}
			}
			look = all
		}
		if len(look) == 0 {
			continue
		}
		hits, err := c.evalSearch(ctx.Criteria, ctx.Saved, look, nil, false)
		if err != nil {
			return err
		}
		matched := make(map[imap.UID]bool, len(hits))
		for _, h := range hits {
			matched[h.uid] = true
		}
		lookUIDs := make([]imap.UID, len(look))
		matches := make([]bool, len(look))
		for i, seq := range look {
			lookUIDs[i] = v.UID(seq)
			matches[i] = matched[lookUIDs[i]]
		}
		changes, err := ctx.Apply(lookUIDs, matches)
		if err != nil {
			return err
		}
		c.writeChanges(ctx, changes, v.SeqOf)
	}
	return nil
}

// writeChanges sends one ESEARCH response with a context's REMOVEFROM and
// ADDTO pairs, in the order the client must apply them (RFC 5267 4.3.2),
// as UIDs for a UID command, or as message numbers from seqOf.
func (c *conn) writeChanges(ctx *search.UpdateContext, changes []search.Change, seqOf func(imap.UID) uint32) {
	if len(changes) == 0 {
		return
	}
	b := esearchHead(ctx.Tag, ctx.UID)
	ids := make([]uint32, 0, 8)
	for _, ch := range changes {
		ids = ids[:0]
		for _, u := range ch.UIDs {
			if ctx.UID {
				ids = append(ids, uint32(u))
			} else if seq := seqOf(u); seq != 0 {
				ids = append(ids, seq)
			}
		}
		if len(ids) == 0 {
			continue
		}
		if ch.Add {
			b = append(b, " ADDTO ("...)
		} else {
			b = append(b, " REMOVEFROM ("...)
		}
		b = strconv.AppendUint(b, uint64(ch.Position), 10)
		b = append(b, ' ')
		b = search.AppendOrderedSet(b, ids)
		b = append(b, ')')
	}
	c.w.Untagged(string(b))
}
