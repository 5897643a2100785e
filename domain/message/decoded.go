package message

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime/quotedprintable"
)

// ErrUnknownCTE is a content transfer encoding the server cannot decode
// (RFC 3516: NO [UNKNOWN-CTE]).
var ErrUnknownCTE = errors.New("unknown content transfer encoding")

// decodedInMemory is the largest decoded section kept in memory; larger
// ones are decoded twice (once to count, once to send) rather than held.
const decodedInMemory = 1 << 20

// Decoded returns FETCH BINARY[path] (RFC 3516 4.2) and its length, which
// is also BINARY.SIZE[path]. A part that does not exist is empty, like
// BODY[] of a missing part.
//
// The section is the one BODY[path] names, with every content transfer
// encoding inside it removed:
//   - a leaf part: its body, decoded;
//   - the whole message (empty path), a multipart part, or a message/rfc822
//     part: the section as BODY[path] has it (for the whole message, the
//     header included, as RFC 3501 6.4.5 defines BODY[]), with the
//     structure kept byte for byte (headers, delimiters, preamble and
//     epilogue) and each leaf's body decoded. RFC 3516 says BINARY returns
//     the section "after performing CTE-related decoding"; for a composite
//     section the only CTEs that carry content are those of its leaves
//     (RFC 2045 6.4 allows only identity encodings on multiparts and
//     messages), so decoding a composite means decoding its leaves. A leaf
//     decoded this way has its Content-Transfer-Encoding field rewritten
//     to "binary", so that the result is still a truthful MIME entity that
//     a client can parse: leaving "base64" on decoded bytes would make it
//     decode them a second time.
//
// Cyrus imapd 3.6 differs here: its BINARY[] of the whole message is the
// message as stored, undecoded, like BODY[].
//
// A leaf in an encoding the server does not know fails the whole section
// with ErrUnknownCTE (RFC 3516 4.2: NO [UNKNOWN-CTE]).
func (s *Structure) Decoded(raw io.ReaderAt, path []int) (io.Reader, int64, error) {
	if s == nil || s.root == nil {
		return empty()
	}
	p, isMsg, ok := s.locate(path)
	if !ok {
		return empty()
	}
	b := &segments{s: s, raw: raw}
	if isMsg {
		b.entity(p, true, decodeLeaf)
	} else {
		b.body(p, decodeLeaf)
	}
	if b.err != nil {
		return nil, 0, b.err
	}
	if n, ok := b.knownSize(); ok {
		return b.open(), n, nil
	}
	// Only decoding tells the length: decode once to count, keeping the
	// result when it is small.
	var buf bytes.Buffer
	m, err := io.Copy(&buf, io.LimitReader(b.open(), decodedInMemory+1))
	if err != nil {
		return nil, 0, err
	}
	if m <= decodedInMemory {
		return &buf, m, nil
	}
	total, err := io.Copy(io.Discard, b.open())
	if err != nil {
		return nil, 0, err
	}
	return b.open(), total, nil
}

// decodeLeaf is the leafFunc of BINARY: identity encodings stay as they
// are, base64 and quoted-printable bodies are decoded and relabelled.
func decodeLeaf(p *part) (string, segment, bool, error) {
	switch p.enc {
	case "7BIT", "8BIT", "BINARY", "":
		return "", segment{}, false, nil
	case "BASE64", "QUOTED-PRINTABLE":
		return "binary", segment{kind: segDecode, from: p.bodyOff, to: p.end, enc: p.enc}, true, nil
	}
	return "", segment{}, false, ErrUnknownCTE
}

// decodeReader returns r decoded from enc. Damaged encoded text ends the
// content where the damage begins rather than failing: the length was
// counted the same way, and an error half way through a literal would
// cost the connection. Errors of r itself still come through.
func decodeReader(r io.Reader, enc string) io.Reader {
	src := &errTap{r: r}
	var d io.Reader
	switch enc {
	case "BASE64":
		d = base64.NewDecoder(base64.StdEncoding, &base64Clean{r: src})
	case "QUOTED-PRINTABLE":
		d = quotedprintable.NewReader(src)
	default:
		return failReader{ErrUnknownCTE}
	}
	return &lenient{r: d, src: src}
}

// errTap remembers the first error of r other than io.EOF.
type errTap struct {
	r   io.Reader
	err error
}

func (t *errTap) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF && t.err == nil {
		t.err = err
	}
	return n, err
}

// lenient turns a decoding error into the end of the data.
type lenient struct {
	r    io.Reader
	src  *errTap
	done bool
}

func (l *lenient) Read(p []byte) (int, error) {
	if l.done {
		return 0, io.EOF
	}
	n, err := l.r.Read(p)
	if err != nil && err != io.EOF {
		if l.src.err != nil {
			return n, l.src.err
		}
		err = io.EOF
	}
	if err == io.EOF {
		l.done = true
	}
	return n, err
}

// base64Clean passes only the base64 alphabet to the decoder (RFC 2045
// 6.8: other characters are ignored) and ends the text at its padding.
type base64Clean struct {
	r    io.Reader
	n    int // alphabet characters passed so far
	pad  int // padding still to pass once done
	done bool
}

// padTo writes the padding still owed after p[:j], and io.EOF once all of
// it is written.
func (b *base64Clean) padTo(p []byte, j int) (int, error) {
	for ; j < len(p) && b.pad > 0; j++ {
		p[j] = '='
		b.pad--
	}
	if b.pad > 0 {
		return j, nil
	}
	return j, io.EOF
}

func (b *base64Clean) Read(p []byte) (int, error) {
	for {
		if b.done {
			return b.padTo(p, 0)
		}
		n, err := b.r.Read(p)
		j := 0
		for _, c := range p[:n] {
			if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' {
				p[j] = c
				j++
				b.n++
			} else if c == '=' {
				// Padding: complete the last quantum and stop.
				if r := b.n % 4; r >= 2 {
					b.pad = 4 - r
				}
				b.done = true
				break
			}
		}
		if b.done {
			return b.padTo(p, j)
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}
