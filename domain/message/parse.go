package message

import (
	"bufio"
	"io"
	"sync"
)

// pos is the line reader's position and what it knows about the last line.
type pos struct {
	off         int64 // offset of the next unread byte
	lfs         int64 // LF bytes consumed so far
	atStart     bool  // the next chunk begins a line
	lastCR      bool  // the previous chunk ended with CR
	curLen      int64 // bytes of the current, unfinished line so far
	prevTerm    int64 // terminator length of the last complete line (0 before any)
	prevContent bool  // the last complete line had bytes before its terminator
}

// chunk is a line, or a piece of a line longer than the read buffer.
type chunk struct {
	b      []byte // valid until the next read
	before pos    // the reader's position before this chunk
}

func (c *chunk) start() bool { return c.before.atStart }

// endBefore describes where an entity ends when a boundary line begins at c:
// RFC 2046 section 5.1.1 attaches the line break preceding a delimiter to
// the delimiter, so the entity ends before that line break.
func (c *chunk) endBefore() endInfo {
	p := c.before
	e := endInfo{off: p.off - p.prevTerm, lfs: p.lfs, partial: p.prevTerm > 0 && p.prevContent}
	if p.prevTerm > 0 {
		e.lfs--
	}
	return e
}

// endInfo is where an entity's body ends: the offset, the LF count up to
// there, and whether the last line before it lacks its LF.
type endInfo struct {
	off     int64
	lfs     int64
	partial bool
}

// lineReader splits the message into lines, keeping exact byte offsets.
// Bare LF ends a line as well as CRLF.
type lineReader struct {
	br      *bufio.Reader
	p       pos
	pending *chunk
	err     error // first non-EOF read error
}

// lineBufs keeps the read buffers of finished parses for the next: every
// APPEND parses its message, and a new 32 KiB buffer for each was a
// quarter of the bytes a whole mixed-load session allocated.
var lineBufs = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 32<<10) }}

func newLineReader(r io.Reader) *lineReader {
	br := lineBufs.Get().(*bufio.Reader)
	br.Reset(r)
	return &lineReader{br: br, p: pos{atStart: true}}
}

// release gives the read buffer back to lineBufs. No chunk the reader
// returned may be used afterwards (as after any later read).
func (r *lineReader) release() {
	r.br.Reset(nil)
	lineBufs.Put(r.br)
	r.br = nil
}

// next returns the next chunk, or false at the end of input (or on error,
// which is kept in r.err).
func (r *lineReader) next() (chunk, bool) {
	var c chunk
	if r.pending != nil {
		c = *r.pending
		r.pending = nil
	} else {
		if r.err != nil {
			return chunk{}, false
		}
		b, err := r.br.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			if err != io.EOF {
				r.err = err
			}
			if len(b) == 0 {
				return chunk{}, false
			}
		}
		c = chunk{b: b}
	}
	c.before = r.p
	r.advance(c.b)
	return c, true
}

func (r *lineReader) advance(b []byte) {
	p := &r.p
	n := int64(len(b))
	p.off += n
	if b[len(b)-1] == '\n' {
		term := int64(1)
		if (len(b) >= 2 && b[len(b)-2] == '\r') || (len(b) == 1 && p.lastCR) {
			term = 2
		}
		p.prevTerm = term
		p.prevContent = p.curLen+n-term > 0
		p.lfs++
		p.atStart = true
		p.curLen = 0
		p.lastCR = false
		return
	}
	p.atStart = false
	p.curLen += n
	p.lastCR = b[len(b)-1] == '\r'
}

// unread pushes c back; the next call to next returns it again. Only the
// chunk just returned may be pushed back.
func (r *lineReader) unread(c chunk) {
	r.p = c.before
	r.pending = &c
}

// eof describes the end of the input as an entity end.
func (r *lineReader) eof() endInfo {
	return endInfo{off: r.p.off, lfs: r.p.lfs, partial: !r.p.atStart}
}

// hit is what stopped an entity: a boundary line of the multipart at index
// idx of the boundary stack (close when it is the close delimiter), or the
// end of input (idx -1).
type hit struct {
	idx   int
	close bool
	end   endInfo
}

type parser struct {
	r      *lineReader
	bounds []string // active boundaries, outermost first

	keep    bool // collecting the top-level header
	hdr     []byte
	hdrOver bool
}

// Parse reads the whole message from r and computes its structure. It
// streams: memory use is bounded by the read buffer, the kept header and
// the structure itself, whatever the message size. Malformed content never
// fails the parse; only read errors are returned.
func Parse(r io.Reader) (*Structure, error) {
	p := &parser{r: newLineReader(r), keep: true}
	defer p.r.release()
	// With no delimiter active at the top, the root entity always runs to
	// the end of the input.
	root, _ := p.entity(true, "TEXT", "PLAIN", 0)
	if p.r.err != nil {
		return nil, p.r.err
	}
	root.nest()
	s := &Structure{root: root}
	if !p.hdrOver {
		s.header, s.hdrOK = p.hdr, true
		if s.header == nil {
			s.header = []byte{}
		}
	}
	return s, nil
}

// nest clamps the offsets of nested entities into their parent's body.
// Degenerate input (a delimiter sharing its line break with a blank line
// or a preamble) can otherwise leave an empty entity a byte outside.
func (pt *part) nest() {
	for _, c := range append(pt.children[:len(pt.children):len(pt.children)], pt.msg) {
		if c == nil {
			continue
		}
		c.hdrOff = min(max(c.hdrOff, pt.bodyOff), pt.end)
		c.bodyOff = min(max(c.bodyOff, c.hdrOff), pt.end)
		c.end = min(max(c.end, c.bodyOff), pt.end)
		if c.end == c.bodyOff {
			c.lines = 0
		}
		c.nest()
	}
}

func countLines(bodyOff, lfStart int64, e endInfo) int64 {
	if e.off <= bodyOff {
		return 0
	}
	n := e.lfs - lfStart
	if e.partial {
		n++
	}
	if n < 0 {
		n = 0
	}
	return n
}

// boundary reports whether c is a delimiter line of an active multipart,
// searching from the innermost.
func (p *parser) boundary(c *chunk) (idx int, closing, ok bool) {
	if len(p.bounds) == 0 || !c.start() || len(c.b) < 3 || c.b[0] != '-' || c.b[1] != '-' {
		return 0, false, false
	}
	b := c.b[2:]
	// RFC 2046 5.1.1: linear white space may follow the delimiter.
	for len(b) > 0 {
		x := b[len(b)-1]
		if x != '\n' && x != '\r' && x != ' ' && x != '\t' {
			break
		}
		b = b[:len(b)-1]
	}
	for i := len(p.bounds) - 1; i >= 0; i-- {
		bd := p.bounds[i]
		if len(b) == len(bd) && string(b) == bd {
			return i, false, true
		}
		if len(b) == len(bd)+2 && string(b[:len(bd)]) == bd && b[len(bd)] == '-' && b[len(bd)+1] == '-' {
			return i, true, true
		}
	}
	return 0, false, false
}

// entity parses one MIME entity (header and body) starting at the reader's
// position. isMsg says the header is a message header, for the envelope.
func (p *parser) entity(isMsg bool, defTyp, defSub string, depth int) (*part, hit) {
	r := p.r
	pt := &part{hdrOff: r.p.off}
	keep := p.keep
	p.keep = false
	var hc headerCollector
	if isMsg {
		pt.env = new([envFields]nstr)
		hc.env = pt.env
	}

	headerDone := false
	for !headerDone {
		c, ok := r.next()
		if !ok {
			hc.finish()
			pt.bodyOff, pt.end = r.p.off, r.p.off
			p.describe(pt, &hc, defTyp, defSub)
			return pt, hit{idx: -1, end: r.eof()}
		}
		if idx, cl, ok := p.boundary(&c); ok {
			// A delimiter inside the header: the entity has no body.
			hc.finish()
			e := c.endBefore()
			if e.off < pt.hdrOff {
				e.off, e.lfs = pt.hdrOff, c.before.lfs
			}
			pt.bodyOff, pt.end = e.off, e.off
			p.describe(pt, &hc, defTyp, defSub)
			e.partial = false
			return pt, hit{idx: idx, close: cl, end: e}
		}
		switch {
		case !c.start():
			hc.cont(c.b)
		case isBlankLine(c.b):
			headerDone = true
		case c.b[0] == ' ' || c.b[0] == '\t':
			hc.cont(c.b)
		default:
			name, val, ok := splitField(c.b)
			if !ok {
				// Like MTAs do, the first line that is not a header field
				// starts the body, even without a blank line before it.
				r.unread(c)
				headerDone = true
				continue
			}
			hc.field(name, val)
		}
		if keep {
			if !p.hdrOver && len(p.hdr)+len(c.b) <= maxKeptHeader {
				p.hdr = append(p.hdr, c.b...)
			} else {
				p.hdrOver = true
				p.hdr = nil
			}
		}
	}
	hc.finish()
	pt.bodyOff = r.p.off
	lfStart := r.p.lfs
	p.describe(pt, &hc, defTyp, defSub)

	var h hit
	switch {
	case pt.multipart() && depth < maxDepth:
		h = p.multipartBody(pt, depth)
	case pt.isRFC822() && depth < maxDepth && plainEncoding(pt.enc):
		var m *part
		m, h = p.entity(true, "TEXT", "PLAIN", depth+1)
		pt.msg = m
	default:
		h = p.leafBody()
	}
	// The line break before a delimiter may be the blank line that ended
	// this header: the body is then empty and ends where the header does.
	// Clamping the hit too keeps every entity inside its parent.
	if h.end.off < pt.hdrOff {
		h.end = endInfo{off: pt.hdrOff}
	}
	pt.bodyOff = min(pt.bodyOff, h.end.off)
	pt.end = h.end.off
	pt.lines = countLines(pt.bodyOff, lfStart, h.end)
	return pt, h
}

// plainEncoding reports whether a message/rfc822 body in this encoding can
// be parsed as a message (RFC 2046 5.2.1 allows only the identity ones).
func plainEncoding(enc string) bool {
	switch enc {
	case "7BIT", "8BIT", "BINARY":
		return true
	}
	return false
}

func (p *parser) leafBody() hit {
	for {
		c, ok := p.r.next()
		if !ok {
			return hit{idx: -1, end: p.r.eof()}
		}
		if idx, cl, ok := p.boundary(&c); ok {
			return hit{idx: idx, close: cl, end: c.endBefore()}
		}
	}
}

func (p *parser) multipartBody(pt *part, depth int) hit {
	p.bounds = append(p.bounds, paramValue(pt.params, "BOUNDARY"))
	top := len(p.bounds) - 1
	defer func() { p.bounds = p.bounds[:top] }()
	defTyp, defSub := "TEXT", "PLAIN"
	if pt.sub == "DIGEST" {
		// RFC 2046 5.1.5: parts of a digest default to message/rfc822.
		defTyp, defSub = "MESSAGE", "RFC822"
	}

	// Preamble, up to the first delimiter.
	var h hit
	for {
		c, ok := p.r.next()
		if !ok {
			h = hit{idx: -1, end: p.r.eof()}
			break
		}
		idx, cl, ok := p.boundary(&c)
		if !ok {
			continue
		}
		h = hit{idx: idx, close: cl, end: c.endBefore()}
		break
	}
	for h.idx == top && !h.close {
		var child *part
		child, h = p.entity(false, defTyp, defSub, depth+1)
		pt.children = append(pt.children, child)
	}
	if len(pt.children) == 0 {
		// RFC 3501 requires at least one body in a multipart: stand in an
		// empty text part for a multipart whose delimiters never appear.
		pt.children = []*part{emptyPart(max(h.end.off, pt.hdrOff))}
	}
	if h.idx != top {
		return h // end of input or an outer delimiter: a missing close delimiter
	}
	// Epilogue, up to an outer delimiter or the end.
	for {
		c, ok := p.r.next()
		if !ok {
			return hit{idx: -1, end: p.r.eof()}
		}
		if idx, cl, ok := p.boundary(&c); ok && idx < top {
			return hit{idx: idx, close: cl, end: c.endBefore()}
		}
	}
}

func emptyPart(off int64) *part {
	return &part{hdrOff: off, bodyOff: off, end: off, typ: "TEXT", sub: "PLAIN",
		params: []kv{{"CHARSET", "us-ascii"}}, enc: "7BIT"}
}

func isBlankLine(b []byte) bool {
	return (len(b) == 1 && b[0] == '\n') || (len(b) == 2 && b[0] == '\r' && b[1] == '\n')
}

// describe fills the MIME fields of pt from its collected header.
func (p *parser) describe(pt *part, hc *headerCollector, defTyp, defSub string) {
	typ, sub, params, ok := "", "", []kv(nil), false
	if hc.mime[mimeType].ok {
		typ, sub, params, ok = parseContentType(hc.mime[mimeType].s)
	}
	if ok && typ == "MULTIPART" && paramValue(params, "BOUNDARY") == "" {
		ok = false // RFC 2046 5.1.1: the boundary parameter is required
	}
	if !ok {
		typ, sub, params = defTyp, defSub, nil
	}
	if typ == "TEXT" && !hasParam(params, "CHARSET") {
		params = append([]kv{{"CHARSET", "us-ascii"}}, params...)
	}
	pt.typ, pt.sub, pt.params = typ, sub, params
	pt.enc = "7BIT"
	if v := hc.mime[mimeEncoding]; v.ok {
		if e := upperASCII(trimWSP(stripComments(v.s))); e != "" {
			pt.enc = e
		}
	}
	pt.id = hc.mime[mimeID]
	pt.desc = hc.mime[mimeDesc]
	pt.md5 = hc.mime[mimeMD5]
	pt.loc = hc.mime[mimeLoc]
	if v := hc.mime[mimeDisp]; v.ok {
		if d, dp := parseDisposition(v.s); d != "" {
			pt.disp = nstr{d, true}
			pt.dispParams = dp
		}
	}
	if v := hc.mime[mimeLang]; v.ok {
		pt.lang = parseLanguage(v.s)
	}
}
