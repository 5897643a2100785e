package message

import (
	"bytes"
	"errors"
	"io"
	"sync"
)

// ErrNUL is a message holding NUL bytes where no content transfer encoding
// can carry them: in a header, a delimiter line, a preamble or an
// epilogue, or in a part whose encoding is not an identity one. Such a
// message is refused, as Cyrus refuses it ("Message contains NUL
// characters").
var ErrNUL = errors.New("message contains NUL characters")

// ForStore returns the form in which a message received from a client or
// an MTA is to be stored, and its length. changed is false (and r nil) when
// the message is fit as it is, which is the case of every message without
// NUL bytes.
//
// A message appended as a literal8 (RFC 3516 4.3) may hold parts in the
// binary encoding with NUL bytes, which BODY[], RFC822 and their kind
// could only send in a literal, and a literal is CHAR8: no NUL (RFC 3501
// 9). RFC 3516 4.3 lets the server store such content in another
// encoding; here each leaf whose body holds NUL is stored base64-encoded,
// with its Content-Transfer-Encoding field changed to match. BINARY[n]
// still returns the original bytes, while every size, BODYSTRUCTURE and
// partial fetch describes the one stored form, because the structure is
// computed from it.
func ForStore(st *Structure, raw io.ReaderAt) (r io.Reader, size int64, changed bool, err error) {
	if st == nil || st.root == nil {
		return nil, 0, false, nil
	}
	found, err := hasNUL(raw, 0, st.root.end)
	if err != nil || !found {
		return nil, 0, false, err
	}
	b := &segments{s: st, raw: raw}
	b.entity(st.root, true, func(p *part) (string, segment, bool, error) {
		nul, err := hasNUL(raw, p.bodyOff, p.end)
		if err != nil || !nul {
			return "", segment{}, false, err
		}
		if !plainEncoding(p.enc) {
			return "", segment{}, false, ErrNUL
		}
		// The last part of a message that ends without a delimiter gets a
		// final line break after its base64 text.
		return "base64", segment{kind: segEncode, from: p.bodyOff, to: p.end, crlf: p.end == st.root.end}, true, nil
	})
	if b.err != nil {
		return nil, 0, false, b.err
	}
	for i := range b.out {
		g := &b.out[i]
		switch g.kind {
		case segData:
			if bytes.IndexByte(g.data, 0) >= 0 {
				return nil, 0, false, ErrNUL
			}
		case segRaw:
			nul, err := hasNUL(raw, g.from, g.to)
			if err != nil {
				return nil, 0, false, err
			}
			if nul {
				return nil, 0, false, ErrNUL
			}
		}
	}
	size, _ = b.knownSize()
	return b.open(), size, true, nil
}

// nulBufs keeps hasNUL's read buffers between messages.
var nulBufs = sync.Pool{New: func() any { return new([32 << 10]byte) }}

// hasNUL reports whether bytes [from, to) of raw hold a NUL.
func hasNUL(raw io.ReaderAt, from, to int64) (bool, error) {
	if to <= from {
		return false, nil
	}
	bp := nulBufs.Get().(*[32 << 10]byte)
	defer nulBufs.Put(bp)
	buf := bp[:min(to-from, int64(len(bp)))]
	for from < to {
		n := min(int64(len(buf)), to-from)
		m, err := raw.ReadAt(buf[:n], from)
		if bytes.IndexByte(buf[:m], 0) >= 0 {
			return true, nil
		}
		if int64(m) < n {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return false, err
		}
		from += n
	}
	return false, nil
}
