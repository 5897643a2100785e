package message

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
)

// ErrNoRaw is returned by Section when the section needs the message bytes
// and raw is nil.
var ErrNoRaw = errors.New("message: section needs the raw message")

// maxFilteredHeader bounds the header bytes scanned for a HEADER.FIELDS
// section read from the raw message.
const maxFilteredHeader = 8 << 20

// Section returns a reader for FETCH BODY[sec] and its exact length
// (RFC 3501 section 6.4.5). A part that does not exist yields an empty
// section. raw may be nil when the section is the top-level header (or a
// selection of its fields) and the header was kept.
func (s *Structure) Section(raw io.ReaderAt, sec Section) (io.Reader, int64, error) {
	if s == nil || s.root == nil {
		return empty()
	}
	p, isMsg, ok := s.locate(sec.Path)
	if !ok {
		return empty()
	}
	// The message whose header HEADER and TEXT address: the message itself
	// at the top, the encapsulated one for a message/rfc822 part.
	msg := p
	if !isMsg {
		msg = p.msg
	}
	top := len(sec.Path) == 0
	switch strings.ToUpper(sec.Specifier) {
	case "":
		if top {
			return s.rangeOf(raw, 0, s.root.end)
		}
		return s.rangeOf(raw, p.bodyOff, p.end)
	case "MIME":
		if top {
			return empty()
		}
		return s.rangeOf(raw, p.hdrOff, p.bodyOff)
	case "HEADER":
		if msg == nil {
			return empty()
		}
		return s.rangeOf(raw, msg.hdrOff, msg.bodyOff)
	case "TEXT":
		if msg == nil {
			return empty()
		}
		return s.rangeOf(raw, msg.bodyOff, msg.end)
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		if msg == nil {
			return empty()
		}
		not := len(sec.Specifier) > len("HEADER.FIELDS")
		var src io.Reader
		if msg == s.root && s.hdrOK {
			src = bytes.NewReader(s.header)
		} else {
			if raw == nil {
				return nil, 0, ErrNoRaw
			}
			n := min(msg.bodyOff-msg.hdrOff, maxFilteredHeader)
			src = io.NewSectionReader(raw, msg.hdrOff, n)
		}
		b, err := filterFields(src, sec.Fields, not)
		if err != nil {
			return nil, 0, err
		}
		return bytes.NewReader(b), int64(len(b)), nil
	}
	return empty()
}

func empty() (io.Reader, int64, error) { return bytes.NewReader(nil), 0, nil }

// rangeOf serves [from, to) of the message, from the kept header when it
// covers the range.
func (s *Structure) rangeOf(raw io.ReaderAt, from, to int64) (io.Reader, int64, error) {
	if to <= from {
		return empty()
	}
	if s.hdrOK && to <= int64(len(s.header)) {
		return bytes.NewReader(s.header[from:to]), to - from, nil
	}
	if raw == nil {
		return nil, 0, ErrNoRaw
	}
	return io.NewSectionReader(raw, from, to-from), to - from, nil
}

// locate finds the entity a part path names (RFC 3501 6.4.5). isMsg is
// true only for the top level (empty path).
func (s *Structure) locate(path []int) (p *part, isMsg, ok bool) {
	p, isMsg = s.root, true
	for _, n := range path {
		if !isMsg && p.msg != nil {
			// The parts of a message/rfc822 part are those of the
			// encapsulated message.
			p, isMsg = p.msg, true
		}
		switch {
		case p.multipart() && len(p.children) > 0:
			if n < 1 || n > len(p.children) {
				return nil, false, false
			}
			p = p.children[n-1]
		case isMsg && n == 1:
			// Part 1 of a non-multipart message is its body; its MIME
			// header is the message header.
		default:
			return nil, false, false
		}
		isMsg = false
	}
	return p, isMsg, true
}

// filterFields copies the header fields of src whose names are (or, with
// not, are not) in names, each with its continuation lines, followed by a
// blank line (RFC 3501 6.4.5 HEADER.FIELDS).
func filterFields(src io.Reader, names []string, not bool) ([]byte, error) {
	br := bufio.NewReader(src)
	var out []byte
	keep := false
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			switch {
			case isBlankLine(line):
				// The end of the header.
				return endFields(out), nil
			case line[0] == ' ' || line[0] == '\t':
				// continuation: same decision as its field
			default:
				name, _, ok := splitField(line)
				keep = ok && containsFold(names, name) != not
			}
			if keep {
				out = append(out, line...)
			}
		}
		if err == bufio.ErrBufferFull {
			// A very long line: the rest follows with the same decision.
			for err == bufio.ErrBufferFull {
				line, err = br.ReadSlice('\n')
				if keep {
					out = append(out, line...)
				}
			}
		}
		if err == io.EOF {
			return endFields(out), nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func endFields(out []byte) []byte {
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\r', '\n')
	}
	return append(out, '\r', '\n')
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// TextPart describes one text/* leaf of a message, for body searches.
type TextPart struct {
	Path     []int  // the part's section path (as for BODY[path])
	Subtype  string // upper-cased, e.g. "PLAIN", "HTML"
	Encoding string // content transfer encoding, upper-cased
	Charset  string // as written, "us-ascii" by default
}

// TextParts calls f for each text/* leaf in the message, encapsulated
// messages included, in order, until f returns false.
func (s *Structure) TextParts(f func(TextPart) bool) {
	if s == nil || s.root == nil {
		return
	}
	walkText(s.root, true, nil, f)
}

func walkText(p *part, isMsg bool, path []int, f func(TextPart) bool) bool {
	if !isMsg && p.msg != nil {
		return walkText(p.msg, true, path, f)
	}
	if p.multipart() && len(p.children) > 0 {
		for i, c := range p.children {
			if !walkText(c, false, append(path[:len(path):len(path)], i+1), f) {
				return false
			}
		}
		return true
	}
	if isMsg {
		// The body of a non-multipart message is its part 1.
		path = append(path[:len(path):len(path)], 1)
		if p.msg != nil {
			return walkText(p.msg, true, path, f)
		}
	}
	if p.typ != "TEXT" {
		return true
	}
	return f(TextPart{Path: path, Subtype: p.sub, Encoding: p.enc, Charset: paramValue(p.params, "CHARSET")})
}
