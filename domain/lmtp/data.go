package lmtp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"time"
)

// DotReader reads the text DATA sends (RFC 5321 4.5.2): lines up to the
// one holding a single ".", with the leading "." of every other line that
// starts with one removed. It returns io.EOF after the terminating line,
// and io.ErrUnexpectedEOF if the connection ends before it. A line that
// ends in a bare LF is passed on ending in CRLF, as a message is stored.
type DotReader struct {
	r       *bufio.Reader
	pending []byte
	scratch []byte
	bol     bool // at the start of a line
	prevCR  bool // the last chunk ended in CR (a line cut by the buffer)
	done    bool
	err     error
}

// NewDotReader reads DATA's text from r, which must be positioned just
// after the DATA command's CRLF.
func NewDotReader(r *bufio.Reader) *DotReader { return &DotReader{r: r, bol: true} }

// ErrDataCut is the error of a DATA text that the connection ends early.
var ErrDataCut = io.ErrUnexpectedEOF

func (d *DotReader) Read(p []byte) (int, error) {
	for len(d.pending) == 0 {
		if d.done {
			return 0, io.EOF
		}
		if d.err != nil {
			return 0, d.err
		}
		line, err := d.r.ReadSlice('\n')
		if d.bol && len(line) > 0 && line[0] == '.' {
			if string(line) == ".\r\n" || string(line) == ".\n" {
				d.done = true
				continue
			}
			line = line[1:]
		}
		switch {
		case err == nil:
			n := len(line)
			if !(n >= 2 && line[n-2] == '\r') && !(n == 1 && d.prevCR) {
				d.scratch = append(append(d.scratch[:0], line[:n-1]...), '\r', '\n')
				line = d.scratch
			}
			d.bol, d.prevCR = true, false
		case errors.Is(err, bufio.ErrBufferFull):
			d.bol, d.prevCR = false, len(line) > 0 && line[len(line)-1] == '\r'
		default:
			d.err = ErrDataCut
			line = nil
		}
		d.pending = line
	}
	n := copy(p, d.pending)
	d.pending = d.pending[n:]
	return n, nil
}

// Discard reads the rest of the text, up to its terminating line.
func (d *DotReader) Discard() error {
	_, err := io.Copy(io.Discard, d)
	return err
}

// ReadHeader reads a message's header section from r: every line up to
// and including the empty line that ends it (or all of r when there is
// none). A header section longer than limit is an error wrapping
// ErrHeaderTooBig, with what was read.
func ReadHeader(r io.Reader, limit int) ([]byte, error) {
	var h []byte
	buf := make([]byte, 1)
	// Byte at a time: r is a DotReader over a bufio.Reader, so this costs
	// a copy per byte and never reads past the header.
	for {
		n, err := r.Read(buf)
		if n == 1 {
			h = append(h, buf[0])
			if buf[0] == '\n' && (bytes.HasSuffix(h, []byte("\r\n\r\n")) || string(h) == "\r\n") {
				return h, nil
			}
			if len(h) > limit {
				return h, ErrHeaderTooBig
			}
		}
		if err == io.EOF {
			return h, nil
		}
		if err != nil {
			return h, err
		}
	}
}

// ErrHeaderTooBig is a header section over ReadHeader's limit.
var ErrHeaderTooBig = errors.New("header section too big")

// Trace describes a delivery for the header fields it adds.
type Trace struct {
	Sender     string // the reverse-path, "" for <>
	LHLO       string // the client's LHLO name
	ClientHost string // "name [ip]", "[ip]" or "[unix socket]"
	ServerName string // servername
	TLS        bool   // the session runs over TLS: LMTPS (RFC 3848)
	Auth       bool   // the client authenticated: LMTPA (RFC 3848)
	Date       time.Time
}

// With is the Received field's protocol: LMTP, LMTPS, LMTPA or LMTPSA
// (RFC 3848).
func (t Trace) With() string {
	w := "LMTP"
	if t.TLS {
		w += "S"
	}
	if t.Auth {
		w += "A"
	}
	return w
}

// Header returns the fields a delivery puts at the top of the message:
// Return-Path with the envelope sender (RFC 5321 4.4) and a Received
// field, folded as Cyrus folds it (a tab and a space).
func (t Trace) Header() []byte {
	var b strings.Builder
	b.WriteString("Return-Path: <" + t.Sender + ">\r\n")
	b.WriteString("Received: from " + t.LHLO + " (" + t.ClientHost + ")\r\n")
	b.WriteString("\t by " + t.ServerName + " with " + t.With() + ";\r\n")
	b.WriteString("\t " + t.Date.Format(DateLayout) + "\r\n")
	return []byte(b.String())
}

// DateLayout is RFC 5322's date-time, as Date and Received write it.
const DateLayout = "Mon, 02 Jan 2006 15:04:05 -0700"

// Fields are the header fields of a delivered message that the delivery
// looks at.
type Fields struct {
	MessageID string // the Message-ID field's value, unfolded and trimmed; "" when absent
	Date      string // the Date field's value, likewise
}

// RewriteHeader returns the header section h (as ReadHeader returns it)
// as it is stored: without the Return-Path fields it came with (the
// delivery writes its own, RFC 5321 4.4), and with a Message-ID (from
// newID) and a Date (now) added at its end when it has none, as Cyrus
// adds them. The returned Fields are those of the stored header.
func RewriteHeader(h []byte, newID func() string, now time.Time) ([]byte, Fields) {
	var out []byte
	var f Fields
	body := []byte(nil)
	if i := bytes.Index(h, []byte("\r\n\r\n")); i >= 0 {
		h, body = h[:i+2], h[i+2:]
	} else if string(h) == "\r\n" {
		h, body = nil, h
	} else if !bytes.HasSuffix(h, []byte("\r\n")) && len(h) > 0 {
		// A message that is all header without a final CRLF.
		h = append(h, '\r', '\n')
	}
	for len(h) > 0 {
		// One field: its first line and its continuation lines.
		end := 0
		for {
			i := bytes.Index(h[end:], []byte("\r\n"))
			if i < 0 {
				end = len(h)
				break
			}
			end += i + 2
			if end >= len(h) || (h[end] != ' ' && h[end] != '\t') {
				break
			}
		}
		field := h[:end]
		h = h[end:]
		name, value, ok := bytes.Cut(field, []byte(":"))
		if ok {
			n := strings.TrimSpace(string(name))
			switch {
			case strings.EqualFold(n, "Return-Path"):
				continue
			case strings.EqualFold(n, "Message-ID") && f.MessageID == "":
				f.MessageID = unfold(value)
			case strings.EqualFold(n, "Date") && f.Date == "":
				f.Date = unfold(value)
			}
		}
		out = append(out, field...)
	}
	if f.MessageID == "" {
		f.MessageID = newID()
		out = append(out, "Message-ID: "+f.MessageID+"\r\n"...)
	}
	if f.Date == "" {
		f.Date = now.Format(DateLayout)
		out = append(out, "Date: "+f.Date+"\r\n"...)
	}
	if body == nil {
		body = []byte("\r\n")
	}
	return append(out, body...), f
}

func unfold(v []byte) string {
	s := strings.NewReplacer("\r\n", "", "\n", "").Replace(string(v))
	return strings.TrimSpace(s)
}
