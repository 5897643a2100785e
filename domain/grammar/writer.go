package grammar

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
)

// Writer encodes server responses onto a buffered stream. Errors are
// sticky: after the first write error every call is a no-op and Err (and
// Flush) report it.
type Writer struct {
	bw  *bufio.Writer // nil while released
	dst io.Writer
	err error
	buf []byte
}

// writeBuffer is the size of the Writer's buffer: several messages of a
// FETCH BODY[] go out in each write(2), and a message file or chunk is
// read into it in one piece.
const writeBuffer = 128 << 10

// NewWriter returns a Writer buffering onto w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{dst: w}
}

// buffer returns the Writer's buffer, taking one from the pool when it has
// none.
func (w *Writer) buffer() *bufio.Writer {
	if w.bw == nil {
		w.bw = writers.Get()
		w.bw.Reset(w.dst)
	}
	return w.bw
}

// Release gives the buffer back to a pool shared by all Writers when
// nothing is waiting in it (after Flush); the next write takes one again.
// A session calls it before waiting for its client.
func (w *Writer) Release() {
	if cap(w.buf) > 4<<10 {
		w.buf = nil
	}
	if w.bw == nil || w.bw.Buffered() > 0 {
		return
	}
	w.bw.Reset(nil)
	writers.Put(w.bw)
	w.bw = nil
}

// Err returns the first write error.
func (w *Writer) Err() error { return w.err }

func (w *Writer) write(b []byte) {
	if w.err == nil {
		_, w.err = w.buffer().Write(b)
	}
}

// Raw writes b as it is.
func (w *Writer) Raw(b []byte) { w.write(b) }

// Untagged writes "* " text CRLF.
func (w *Writer) Untagged(text string) {
	w.buf = append(w.buf[:0], "* "...)
	w.buf = append(w.buf, text...)
	w.buf = append(w.buf, "\r\n"...)
	w.write(w.buf)
}

// Tagged writes the completion response: tag SP status SP ["[" code "]" SP]
// text CRLF.
func (w *Writer) Tagged(tag, status, code, text string) {
	w.buf = AppendStatus(w.buf[:0], tag, status, code, text)
	w.write(w.buf)
}

// AppendStatus appends a status response line (tagged, or untagged with tag
// "*"). The code and text are made legal whatever they hold: resp-text is
// TEXT-CHARs (RFC 3501 9: no CR, LF or NUL) and a code may not close its
// bracket early, so those bytes become spaces, and 8-bit bytes become '?'
// (RFC 3501 text is 7-bit).
func AppendStatus(b []byte, tag, status, code, text string) []byte {
	b = append(b, tag...)
	b = append(b, ' ')
	b = append(b, status...)
	b = append(b, ' ')
	if code != "" {
		b = append(b, '[')
		b = appendText(b, code, true)
		b = append(b, "] "...)
	}
	if text == "" {
		text = "done"
	}
	b = appendText(b, text, false)
	return append(b, "\r\n"...)
}

func appendText(b []byte, s string, code bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0 || c == '\r' || c == '\n' || code && c == ']':
			b = append(b, ' ')
		case c >= 0x80:
			b = append(b, '?')
		default:
			b = append(b, c)
		}
	}
	return b
}

// Continue writes a continuation request "+ text" CRLF.
func (w *Writer) Continue(text string) {
	w.buf = append(w.buf[:0], "+ "...)
	w.buf = append(w.buf, text...)
	w.buf = append(w.buf, "\r\n"...)
	w.write(w.buf)
}

// Literal writes "{n}" CRLF and then exactly n bytes copied from r. A
// literal is CHAR8 (RFC 3501 9): a NUL byte in r is sent as
// imap.NULReplacement. Stores keep binary content base64-encoded (see
// message.ForStore), so this only guards against a message that entered
// the store some other way.
func (w *Writer) Literal(r io.Reader, n int64) {
	w.literal("{", &noNUL{r: r}, n)
}

// Literal8 writes "~{n}" CRLF and then exactly n bytes copied from r, NUL
// bytes included: the literal8 of RFC 3516 4.4, which only a BINARY[]
// FETCH item may carry.
func (w *Writer) Literal8(r io.Reader, n int64) {
	w.literal("~{", r, n)
}

func (w *Writer) literal(open string, r io.Reader, n int64) {
	w.buf = append(w.buf[:0], open...)
	w.buf = strconv.AppendInt(w.buf, n, 10)
	w.buf = append(w.buf, "}\r\n"...)
	w.write(w.buf)
	if w.err != nil {
		return
	}
	var c int64
	c, w.err = io.CopyN(w.buffer(), r, n)
	if w.err == io.EOF && c < n {
		w.err = io.ErrUnexpectedEOF
	}
}

// noNUL replaces NUL bytes as they pass.
type noNUL struct{ r io.Reader }

func (z *noNUL) Read(p []byte) (int, error) {
	n, err := z.r.Read(p)
	// IndexByte scans many bytes per instruction; a message almost never
	// holds a NUL, so this is one fast pass over the bytes.
	for b := p[:n]; ; {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			break
		}
		b[i] = imap.NULReplacement
		b = b[i+1:]
	}
	return n, err
}

// Flush sends what is buffered.
func (w *Writer) Flush() error {
	if w.err == nil && w.bw != nil {
		w.err = w.bw.Flush()
		if f, ok := w.dst.(interface{ Flush() error }); ok && w.err == nil {
			// A layer below (COMPRESS) that holds bytes back sends
			// them now: the client must not wait for them.
			w.err = f.Flush()
		}
	}
	return w.err
}

// AppendFlags appends a parenthesised flag list. A flag is an atom, or
// "\" and an atom; anything else a store might hold (a keyword another
// program wrote) is left out rather than break the response.
func AppendFlags(b []byte, flags []string) []byte {
	b = append(b, '(')
	first := true
	for _, f := range flags {
		if !imap.IsAtom(strings.TrimPrefix(f, "\\")) {
			continue
		}
		if !first {
			b = append(b, ' ')
		}
		first = false
		b = append(b, f...)
	}
	return append(b, ')')
}

// AppendDateTime appends an IMAP date-time in quotes, e.g.
// "17-Jul-1996 02:44:25 -0700".
func AppendDateTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, "_2-Jan-2006 15:04:05 -0700")
	return append(b, '"')
}

// AppendMailbox appends a mailbox name encoded in modified UTF-7, as an
// atom-like astring or a quoted string.
func AppendMailbox(b []byte, name string) []byte {
	return imap.AppendString(b, imap.EncodeMailbox(name))
}
