package app

import (
	"bufio"
	"bytes"
	"compress/flate"
	"fmt"
	"io"

	"github.com/imapd-go/imapd/domain/grammar"
	"github.com/imapd-go/imapd/domain/session"
)

// COMPRESS=DEFLATE (RFC 4978): after the tagged OK both directions are one
// raw DEFLATE stream each (RFC 1951, no zlib header). The layer sits
// directly on the connection, so over TLS (STARTTLS or a TLS port) it
// compresses inside TLS, and the session log (tapReader/tapWriter) still
// sees the protocol in clear.
//
// Memory. A flate.Writer is about 1 MB at every level (its hash tables
// are arrays in the struct), so a session holds one only while it writes:
// each burst of output (Writer.Flush: a command's answer, a continuation
// request, an IDLE update) ends with a sync flush, which puts the stream
// on a byte boundary with everything so far decodable, and the writer
// then goes back to a pool shared by all sessions, as the response buffer
// does (buffers.go). The next burst takes one (any one: Reset) and goes
// on with new blocks; a DEFLATE stream is a sequence of blocks, and
// starting a new compressor after a sync flush only forgoes matches
// against earlier bursts' bytes. The reader side cannot do the same: the
// client's compressor may refer back 32 KB into everything it sent, so
// each session keeps its flate reader (its 32 KB window and tables): an
// idle compressed session costs about 35 KB more than a plain one
// (TestCompressedIdleSessions: 61 KB against 26 KB; 1.3 MB with a writer
// kept), but keeps no input buffer (compressedInput).
//
// Level. flate.BestSpeed. Measured here (BenchmarkCompressFetch, FETCH
// of whole messages, 2-core machine): BestSpeed 15 ns per byte sent, to
// 47% of the size; the default level 42 ns per byte, to 42%; Huffman
// only 7.5 ns, to 63%. Most of what a server sends is message text read
// from disk: BestSpeed keeps most of the reduction at a third of the CPU.
// And each burst here starts from a pooled writer (Reset): BestSpeed's
// Reset is cheap, the default level's clears 640 KB of hash tables, so an
// IDLE update of one line costs 43 us instead of 0.12 us
// (BenchmarkCompressSmallBursts).
const compressLevel = flate.BestSpeed

// deflaters are the flate writers of sessions that are not writing.
var deflaters = grammar.NewBufferPool(func() *flate.Writer {
	w, err := flate.NewWriter(nil, compressLevel)
	if err != nil {
		panic(err) // the level is a valid constant
	}
	return w
})

// compressedOut batches flate's output (it writes in pieces of a few
// hundred bytes) into whole writes to the connection; pooled with the
// flate writer.
const compressedOutBuffer = 32 << 10

var compressedOuts = grammar.NewBufferPool(func() *bufio.Writer { return bufio.NewWriterSize(nil, compressedOutBuffer) })

// deflateWriter is the output side of a compressed session: what
// grammar.Writer flushes goes through it to the connection.
type deflateWriter struct {
	dst io.Writer
	fw  *flate.Writer // nil between bursts
	bw  *bufio.Writer // nil between bursts
}

func (d *deflateWriter) Write(p []byte) (int, error) {
	if d.fw == nil {
		d.bw = compressedOuts.Get()
		d.bw.Reset(d.dst)
		d.fw = deflaters.Get()
		d.fw.Reset(d.bw)
	}
	return d.fw.Write(p)
}

// Flush ends a burst: a sync flush (RFC 4978 section 4: the client must
// never wait for bytes held back in the compressor), the bytes go to the
// connection, and the writer and buffer go back to their pools.
func (d *deflateWriter) Flush() error {
	if d.fw == nil {
		return nil
	}
	err := d.fw.Flush()
	if err == nil {
		err = d.bw.Flush()
	}
	d.fw.Reset(nil)
	deflaters.Put(d.fw)
	d.bw.Reset(nil)
	compressedOuts.Put(d.bw)
	d.fw, d.bw = nil, nil
	return err
}

// compressedInBuffer is the size of a compressed session's input buffer
// while it reads (a large APPEND comes through it).
const compressedInBuffer = 16 << 10

var compressedIns = grammar.NewBufferPool(func() *[compressedInBuffer]byte { return new([compressedInBuffer]byte) })

// compressedInput is what the flate reader reads: the connection through
// a buffer that, like the session's own read buffer (buffers.go), is
// pooled while the session waits. It is an io.ByteReader, so that flate
// reads no byte beyond the ones it decodes.
type compressedInput struct {
	src  io.Reader
	big  *[compressedInBuffer]byte // nil while waiting
	buf  []byte                    // big[:] or head[:]
	r, w int
	// head takes the first bytes after a wait, and what was left
	// unread when the big buffer went back.
	head [64]byte
	wait bool // the next fill is the wait for the client: into head
}

func (s *compressedInput) ReadByte() (byte, error) {
	if s.r == s.w {
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
	b := s.buf[s.r]
	s.r++
	return b, nil
}

func (s *compressedInput) Read(p []byte) (int, error) {
	if s.r == s.w {
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, s.buf[s.r:s.w])
	s.r += n
	return n, nil
}

func (s *compressedInput) fill() error {
	if s.wait || s.big == nil && s.buf == nil {
		s.wait = false
		s.buf = s.head[:]
	} else {
		if s.big == nil {
			s.big = compressedIns.Get()
		}
		s.buf = s.big[:]
	}
	for range 100 {
		n, err := s.src.Read(s.buf)
		s.r, s.w = 0, n
		if n > 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

// release gives the input buffer back before the session waits, unless
// more is left in it than head holds (pipelined commands).
func (s *compressedInput) release() {
	if s.big == nil {
		s.wait = s.r == s.w
		return
	}
	rest := s.w - s.r
	if rest > len(s.head) {
		return
	}
	copy(s.head[:], s.buf[s.r:s.w])
	s.buf, s.r, s.w = s.head[:], 0, rest
	compressedIns.Put(s.big)
	s.big = nil
	s.wait = rest == 0
}

// compression is a session's COMPRESS layer, nil until COMPRESS.
type compression struct {
	in  compressedInput
	out deflateWriter
}

// cmdCompress starts COMPRESS=DEFLATE (RFC 4978 section 3) once the
// tagged OK is out: the OK itself is the last thing sent in clear, and
// what the client sends after it is compressed.
func cmdCompress(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.CompressArgs)
	if args.Algorithm != "DEFLATE" {
		return result{}, bad("Unknown COMPRESS algorithm")
	}
	if c.compress != nil {
		// RFC 4978 section 3: COMPRESS when it is active already is
		// BAD (NO is for compression by another layer), with RFC
		// 5530's code, as Cyrus 3.6 answers.
		return result{}, &grammar.Error{Status: "BAD", Code: "COMPRESSIONACTIVE", Text: "DEFLATE active via COMPRESS"}
	}
	if c.state == session.Selected {
		// What changed goes before the OK, in clear, rather than
		// after it from dispatch.
		if err := c.poll(true); err != nil {
			return result{}, err
		}
	}
	c.w.Tagged(cmd.Tag, "OK", "", "DEFLATE active")
	c.mu.Lock()
	err := c.w.Flush()
	if err == nil {
		z := &compression{}
		z.out.dst = c.out.w
		// RFC 4978 section 3 has the client wait for the OK before it
		// compresses; bytes it sent before that (in the read buffer)
		// are read as compressed ones, the start of the stream.
		var early []byte
		if c.br != nil && c.br.Buffered() > 0 {
			early, _ = c.br.Peek(c.br.Buffered())
			early = append([]byte(nil), early...)
			c.br.Discard(len(early))
		}
		z.in.src = c.in.r
		if len(early) > 0 {
			z.in.src = io.MultiReader(bytes.NewReader(early), c.in.r)
		}
		c.in.r = flate.NewReader(&z.in)
		c.out.w = &z.out
		c.compress = z
	}
	c.mu.Unlock()
	if err != nil {
		return result{written: true}, fmt.Errorf("%w: %v", errConnection, err)
	}
	return result{written: true}, nil
}

// releaseCompressed gives back the compressed input's buffer before the
// session waits (the output side gives its own back at each flush).
func (c *conn) releaseCompressed() {
	if c.compress != nil {
		c.compress.in.release()
	}
}

// canStartTLS: TLS can start on the connection, and no COMPRESS layer is
// on, which would then run under TLS (back in the not-authenticated state
// after UNAUTHENTICATE, STARTTLS is refused: TLS would have to go under
// a compression the client has already started).
func (c *conn) canStartTLS() bool {
	return c.compress == nil && c.c.CanStartTLS()
}
