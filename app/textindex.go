package app

import (
	"errors"
	"slices"
	"sync"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// indexer keeps the store's full-text index (ports.TextIndex) current
// with what the session stores, when Options.IndexOnWrite asks for it:
// APPEND, COPY and MOVE name their target mailbox, MOVE and EXPUNGE their
// source (wrote), and once the command's answer is out (flush) one
// goroutine per session indexes those mailboxes, so the index follows
// each write without holding up its OK. Otherwise the store indexes a
// mailbox's new messages at its next search, all in one batch, which
// costs less per message: a document indexed alone doubled the time of a
// durable APPEND (BenchmarkAppendIndexed in the sqlite store). Either
// way a message the index has not yet seen is a candidate of every
// search, so results never depend on when it is indexed; a session or
// process that ends first leaves the rest to the next search or to
// `imapctl index`.
type indexer struct {
	mu      sync.Mutex
	pending []mailbox // mailboxes written since the last flush
	queued  []mailbox // mailboxes the goroutine has still to index
	running bool
	wg      sync.WaitGroup
}

// wrote notes that the command stored messages in the mailbox.
func (c *conn) wrote(name mailbox) {
	if _, ok := c.srv.store.(ports.TextIndex); !ok || !c.srv.opts.IndexOnWrite {
		return
	}
	x := &c.index
	x.mu.Lock()
	if !slices.Contains(x.pending, name) {
		x.pending = append(x.pending, name)
	}
	x.mu.Unlock()
}

// indexWritten starts indexing the mailboxes the last command wrote to.
func (c *conn) indexWritten() {
	ti, ok := c.srv.store.(ports.TextIndex)
	if !ok {
		return
	}
	x := &c.index
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, name := range x.pending {
		if !slices.Contains(x.queued, name) {
			x.queued = append(x.queued, name)
		}
	}
	x.pending = x.pending[:0]
	if x.running || len(x.queued) == 0 {
		return
	}
	x.running = true
	x.wg.Add(1)
	c.safeGo(func() {
		defer x.wg.Done()
		for {
			x.mu.Lock()
			if len(x.queued) == 0 || c.ctx.Err() != nil {
				x.queued = x.queued[:0]
				x.running = false
				x.mu.Unlock()
				return
			}
			m := x.queued[0]
			x.queued = x.queued[1:]
			x.mu.Unlock()
			err := ti.IndexMailbox(c.ctx, m.owner, m.name)
			if err != nil && !errors.Is(err, imap.ErrNonexistent) && c.ctx.Err() == nil {
				c.srv.log.Warn("indexing for search", "user", m.owner, "mailbox", m.name, "err", err)
			}
		}
	}, nil)
}
