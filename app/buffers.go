package app

import (
	"bufio"
	"io"
	"sync"

	"github.com/imapd-go/imapd/domain/grammar"
)

// A session's large buffers (the 16 KB read buffer, the response writer's
// 128 KB one, FETCH's line buffer) are only held while it works on a
// command. Before it waits for the client (for the next command, or for
// DONE in IDLE) it gives back those that hold nothing to pools shared by
// all sessions, and waits with a small read into wakeReader's head; the
// bytes that end the wait are handed to a pooled buffer. An idle session so
// costs a few hundred bytes of buffer, however many are open.

// readBuffer is the size of a session's read buffer while it works.
const readBuffer = 16 << 10

// readers are the read buffers of the sessions that wait for their
// client.
var readers = grammar.NewBufferPool(func() *bufio.Reader { return bufio.NewReaderSize(nil, readBuffer) })

// fetchBufs are FETCH's line buffers (*[]byte) of idle sessions.
var fetchBufs sync.Pool

// wakeReader is what a session's read buffer reads from: first the bytes
// that ended its wait, then the connection.
type wakeReader struct {
	src    io.Reader
	head   [512]byte
	hs, he int
	err    error
}

func (w *wakeReader) Read(p []byte) (int, error) {
	if w.hs < w.he {
		n := copy(p, w.head[w.hs:w.he])
		w.hs += n
		return n, nil
	}
	if w.err != nil {
		err := w.err
		w.err = nil
		return 0, err
	}
	return w.src.Read(p)
}

// nextCommand reads the next command, holding no buffer while none has
// begun to arrive.
func (c *conn) nextCommand() (*grammar.Command, error) {
	c.releaseOutput()
	c.releaseInput()
	c.awaitInput()
	return c.p.Next()
}

// releaseOutput gives back the response buffer (when flushed) and FETCH's
// line buffer. The autologout timer may write meanwhile: c.mu orders them.
func (c *conn) releaseOutput() {
	c.mu.Lock()
	c.w.Release()
	c.mu.Unlock()
	// A small one (the usual FETCH line) costs less kept than pooled.
	if cap(c.fetchBuf) > 1<<10 {
		b := c.fetchBuf[:0]
		fetchBufs.Put(&b)
		c.fetchBuf = nil
	}
}

// takeFetchBuf gets a FETCH line buffer back from the pool, if it has one.
func (c *conn) takeFetchBuf() {
	if c.fetchBuf == nil {
		if b, ok := fetchBufs.Get().(*[]byte); ok {
			c.fetchBuf = *b
		}
	}
}

// releaseInput gives back the read buffer unless it holds input already
// (pipelined commands): those are read first.
func (c *conn) releaseInput() {
	c.releaseCompressed()
	if c.br != nil && c.br.Buffered() == 0 {
		c.putReader()
	}
}

// putReader gives the read buffer back to the pool.
func (c *conn) putReader() {
	c.br.Reset(nil)
	readers.Put(c.br)
	c.br = nil
	c.p.SetReader(nil)
}

// dropInput gives back the read buffer at the end of the session,
// whatever it holds (the client is gone), unless IDLE's reader may still
// use it. Kept, it would be garbage once the session is: 16 KB made anew
// for each session of a process.
func (c *conn) dropInput() {
	if !c.inputAway && c.br != nil {
		c.releaseCompressed()
		c.putReader()
	}
}

// awaitInput waits for the client's next bytes without a read buffer, then
// takes one from the pool. An error of the wait (end of input, a closed
// connection) is kept for the parser to meet after the bytes read before
// it, as if it had read the connection itself.
func (c *conn) awaitInput() {
	if c.br != nil {
		return
	}
	w := &c.wake
	w.src = c.in
	n, err := c.in.Read(w.head[:])
	w.hs, w.he, w.err = 0, n, err
	c.br = readers.Get()
	c.br.Reset(w)
	c.p.SetReader(c.br)
}
