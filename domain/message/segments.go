package message

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
)

// A message rewritten on the fly (BINARY's decoded form, the stored form of
// a message with binary parts) is a list of segments: byte ranges of the
// original, bytes computed in memory (rewritten MIME headers), and leaf
// bodies decoded from or encoded to a content transfer encoding.
type segKind uint8

const (
	segRaw    segKind = iota // bytes [from, to) of the original
	segData                  // data
	segDecode                // [from, to) decoded from enc
	segEncode                // [from, to) encoded to base64 lines
)

type segment struct {
	kind     segKind
	from, to int64
	data     []byte
	enc      string
	crlf     bool // segEncode: end with a line break
}

// size returns the segment's length, or -1 when only decoding tells.
func (g *segment) size() int64 {
	switch g.kind {
	case segRaw:
		return g.to - g.from
	case segData:
		return int64(len(g.data))
	case segEncode:
		return base64Lines(g.to-g.from, g.crlf)
	}
	return -1
}

// segments accumulates a rewritten message in order.
type segments struct {
	s   *Structure
	raw io.ReaderAt
	out []segment
	err error
}

func (b *segments) rawRange(from, to int64) {
	if to <= from {
		return
	}
	if n := len(b.out); n > 0 && b.out[n-1].kind == segRaw && b.out[n-1].to == from {
		b.out[n-1].to = to
		return
	}
	b.out = append(b.out, segment{kind: segRaw, from: from, to: to})
}

// header returns the MIME header bytes [hdrOff, bodyOff) of p.
func (b *segments) header(p *part) []byte {
	r, n, err := b.s.rangeOf(b.raw, p.hdrOff, p.bodyOff)
	if err != nil {
		b.fail(err)
		return nil
	}
	h := make([]byte, n)
	if _, err := io.ReadFull(r, h); err != nil {
		b.fail(err)
		return nil
	}
	return h
}

func (b *segments) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// leafFunc decides what becomes of a leaf body: it returns the new
// Content-Transfer-Encoding label and the body's segment, or ok false to
// keep the leaf as it is.
type leafFunc func(p *part) (label string, body segment, ok bool, err error)

// entity appends p, its MIME header first when withHeader, recursing into
// multiparts and encapsulated messages so that their structure (header,
// delimiters, preamble, epilogue) is kept byte for byte.
func (b *segments) entity(p *part, withHeader bool, leaf leafFunc) {
	if b.err != nil {
		return
	}
	if p.multipart() && len(p.children) > 0 || p.msg != nil {
		if withHeader {
			b.rawRange(p.hdrOff, p.bodyOff)
		}
		b.body(p, leaf)
		return
	}
	label, seg, ok, err := leaf(p)
	if err != nil {
		b.fail(err)
		return
	}
	if !ok {
		if withHeader {
			b.rawRange(p.hdrOff, p.end)
		} else {
			b.rawRange(p.bodyOff, p.end)
		}
		return
	}
	if withHeader {
		b.out = append(b.out, segment{kind: segData, data: setEncoding(b.header(p), label)})
	}
	b.out = append(b.out, seg)
}

// body appends the body of p (see entity).
func (b *segments) body(p *part, leaf leafFunc) {
	switch {
	case p.multipart() && len(p.children) > 0:
		cur := p.bodyOff
		for _, c := range p.children {
			if c.hdrOff < cur {
				continue // a stand-in part (see multipartBody); nothing of its own
			}
			b.rawRange(cur, c.hdrOff)
			b.entity(c, true, leaf)
			cur = c.end
		}
		b.rawRange(cur, p.end)
	case p.msg != nil:
		b.rawRange(p.bodyOff, p.msg.hdrOff)
		b.entity(p.msg, true, leaf)
		b.rawRange(p.msg.end, p.end)
	default:
		b.entity(p, false, leaf)
	}
}

// open returns a reader over the segments, opening each one only when the
// previous one is used up.
func (b *segments) open() io.Reader {
	return &segReader{b: b}
}

// knownSize returns the total length when no segment needs decoding to
// tell.
func (b *segments) knownSize() (int64, bool) {
	var n int64
	for i := range b.out {
		m := b.out[i].size()
		if m < 0 {
			return 0, false
		}
		n += m
	}
	return n, true
}

type segReader struct {
	b   *segments
	i   int
	cur io.Reader
}

func (r *segReader) Read(p []byte) (int, error) {
	for {
		if r.cur == nil {
			if r.i >= len(r.b.out) {
				return 0, io.EOF
			}
			r.cur = r.b.openSegment(&r.b.out[r.i])
			r.i++
		}
		n, err := r.cur.Read(p)
		if err == io.EOF {
			r.cur = nil
			err = nil
			if n == 0 {
				continue
			}
		}
		return n, err
	}
}

func (b *segments) openSegment(g *segment) io.Reader {
	if g.kind == segData {
		return bytes.NewReader(g.data)
	}
	r, _, err := b.s.rangeOf(b.raw, g.from, g.to)
	if err != nil {
		return failReader{err}
	}
	switch g.kind {
	case segDecode:
		return decodeReader(r, g.enc)
	case segEncode:
		return &base64LineWriter{src: r, crlf: g.crlf}
	}
	return r
}

type failReader struct{ err error }

func (e failReader) Read([]byte) (int, error) { return 0, e.err }

// setEncoding returns a MIME header with its Content-Transfer-Encoding
// field set to label: the first such field replaced, later ones dropped,
// one added before the blank line when there is none. The header always
// ends with a blank line.
func setEncoding(h []byte, label string) []byte {
	field := "Content-Transfer-Encoding: " + label + "\r\n"
	out := make([]byte, 0, len(h)+len(field)+4)
	done, drop := false, false
	rest := h
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		line := rest
		if i >= 0 {
			line = rest[:i+1]
		}
		rest = rest[len(line):]
		if isBlankLine(line) {
			break // the end of the header; added back below
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !drop {
				out = append(out, line...)
			}
			continue
		}
		name, _, ok := splitField(line)
		drop = ok && strings.EqualFold(name, "Content-Transfer-Encoding")
		if !drop {
			if line[len(line)-1] != '\n' {
				line = append(line[:len(line):len(line)], '\r', '\n')
			}
			out = append(out, line...)
		} else if !done {
			out = append(out, field...)
			done = true
		}
	}
	if !done {
		out = append(out, field...)
	}
	return append(out, '\r', '\n')
}

// base64LineLen is the length of a base64 line (RFC 2045 6.8: at most 76
// characters), from base64LineIn bytes of content.
const (
	base64LineLen = 76
	base64LineIn  = base64LineLen / 4 * 3
)

// base64Lines returns the length of n bytes encoded in base64 lines joined
// by CRLF, with a final CRLF when crlf.
func base64Lines(n int64, crlf bool) int64 {
	if n == 0 {
		return 0
	}
	l := (n + 2) / 3 * 4
	lines := (l + base64LineLen - 1) / base64LineLen
	size := l + 2*(lines-1)
	if crlf {
		size += 2
	}
	return size
}

// base64LineWriter reads src and yields it in base64 lines.
type base64LineWriter struct {
	src   io.Reader
	crlf  bool
	buf   []byte
	wrote bool
	done  bool
	in    [base64LineIn]byte
}

func (w *base64LineWriter) Read(p []byte) (int, error) {
	for len(w.buf) == 0 {
		if w.done {
			return 0, io.EOF
		}
		n, err := io.ReadFull(w.src, w.in[:])
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			w.done = true
		} else if err != nil {
			return 0, err
		}
		w.buf = w.buf[:0]
		if n > 0 {
			if w.wrote {
				w.buf = append(w.buf, '\r', '\n')
			}
			w.wrote = true
			w.buf = base64.StdEncoding.AppendEncode(w.buf, w.in[:n])
		}
		if w.done && w.wrote && w.crlf {
			w.buf = append(w.buf, '\r', '\n')
		}
	}
	n := copy(p, w.buf)
	w.buf = w.buf[n:]
	return n, nil
}
