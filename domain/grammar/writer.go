package grammar

import (
	"bufio"
	"io"
	"strconv"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
)

// Writer encodes server responses onto a buffered stream. Errors are
// sticky: after the first write error every call is a no-op and Err (and
// Flush) report it.
type Writer struct {
	bw  *bufio.Writer
	err error
	buf []byte
}

// NewWriter returns a Writer buffering onto w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{bw: bufio.NewWriterSize(w, 16<<10)}
}

// Err returns the first write error.
func (w *Writer) Err() error { return w.err }

func (w *Writer) write(b []byte) {
	if w.err == nil {
		_, w.err = w.bw.Write(b)
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
// "*").
func AppendStatus(b []byte, tag, status, code, text string) []byte {
	b = append(b, tag...)
	b = append(b, ' ')
	b = append(b, status...)
	b = append(b, ' ')
	if code != "" {
		b = append(b, '[')
		b = append(b, code...)
		b = append(b, "] "...)
	}
	if text == "" {
		text = "done"
	}
	b = append(b, text...)
	return append(b, "\r\n"...)
}

// Continue writes a continuation request "+ text" CRLF.
func (w *Writer) Continue(text string) {
	w.buf = append(w.buf[:0], "+ "...)
	w.buf = append(w.buf, text...)
	w.buf = append(w.buf, "\r\n"...)
	w.write(w.buf)
}

// Literal writes "{n}" CRLF and then exactly n bytes copied from r.
func (w *Writer) Literal(r io.Reader, n int64) {
	w.buf = append(w.buf[:0], '{')
	w.buf = strconv.AppendInt(w.buf, n, 10)
	w.buf = append(w.buf, "}\r\n"...)
	w.write(w.buf)
	if w.err != nil {
		return
	}
	var c int64
	c, w.err = io.CopyN(w.bw, r, n)
	if w.err == io.EOF && c < n {
		w.err = io.ErrUnexpectedEOF
	}
}

// Flush sends what is buffered.
func (w *Writer) Flush() error {
	if w.err == nil {
		w.err = w.bw.Flush()
	}
	return w.err
}

// AppendFlags appends a parenthesised flag list.
func AppendFlags(b []byte, flags []string) []byte {
	b = append(b, '(')
	for i, f := range flags {
		if i > 0 {
			b = append(b, ' ')
		}
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
