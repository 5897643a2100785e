package app

import (
	"slices"

	"github.com/imapd-go/imapd/domain/grammar"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// bodyBatchSize is how many messages' bodies a FETCH of whole messages
// opens at once from a store that opens many together
// (ports.BodyBatches); the store bounds the bytes it reads ahead.
const bodyBatchSize = 64

// bodyBatch holds the bodies of the next messages of a FETCH, opened
// together: with a store whose every Open is a round trip to a server,
// FETCH 1:* BODY[] then costs one per batch instead of one per message.
// A nil *bodyBatch opens nothing, and the messages open their bodies one
// by one.
type bodyBatch struct {
	bb     ports.BodyBatches
	start  int // index in the FETCH's seqs of bodies[0]
	bodies []ports.MessageBody
}

// bodyBatcher returns a bodyBatch when items read whole messages and the
// store opens bodies together, else nil.
func (c *conn) bodyBatcher(items []grammar.FetchItem) *bodyBatch {
	bb, ok := c.srv.store.(ports.BodyBatches)
	if !ok || !slices.ContainsFunc(items, wholeMessage) {
		return nil
	}
	return &bodyBatch{bb: bb}
}

// open opens, when seqs[i] is the first message after the batch held, the
// bodies of the batch starting there.
func (p *bodyBatch) open(c *conn, seqs []uint32, i int) error {
	if p == nil || i < p.start+len(p.bodies) {
		return nil
	}
	p.close()
	end := min(i+bodyBatchSize, len(seqs))
	uids := make([]imap.UID, 0, end-i)
	for _, seq := range seqs[i:end] {
		uids = append(uids, c.sel.view.Entry(seq).UID)
	}
	bodies, err := p.bb.OpenBodies(c.ctx, c.sel.owner, c.sel.name, uids)
	if err != nil {
		return err
	}
	p.start, p.bodies = i, bodies
	return nil
}

// take hands over the body of seqs[i], nil when the batch has none (the
// message is then opened alone, and found expunged if it was).
func (p *bodyBatch) take(i int) ports.MessageBody {
	if p == nil || i < p.start || i >= p.start+len(p.bodies) {
		return nil
	}
	b := p.bodies[i-p.start]
	p.bodies[i-p.start] = nil
	return b
}

// close closes the bodies not handed over.
func (p *bodyBatch) close() {
	if p == nil {
		return
	}
	for i, b := range p.bodies {
		if b != nil {
			b.Close()
			p.bodies[i] = nil
		}
	}
}
