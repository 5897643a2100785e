package message

import (
	"net/mail"
	"strings"
	"time"
)

// maxKeptHeader caps the top-level header bytes kept inside a Structure.
// Longer headers are served from the raw message instead.
const maxKeptHeader = 64 << 10

// maxFieldValue caps the bytes kept of one interesting header field (an
// address list, a subject) while parsing.
const maxFieldValue = 64 << 10

// maxDepth bounds the nesting of multiparts and encapsulated messages that
// Parse descends into; deeper entities are treated as opaque leaves.
const maxDepth = 64

// Structure is the MIME structure of one stored message.
type Structure struct {
	root   *part
	header []byte // top-level header (with its blank line); nil when not kept
	hdrOK  bool
	// The ENVELOPE and BODYSTRUCTURE as a stored blob held them rendered
	// (see formatVersion); nil otherwise.
	envText, bsText []byte
	ext             Extras
}

// Envelope header fields, in ENVELOPE order (RFC 3501 section 7.4.2).
const (
	envDate = iota
	envSubject
	envFrom
	envSender
	envReplyTo
	envTo
	envCc
	envBcc
	envInReplyTo
	envMessageID
	envFields
)

var envNames = [envFields]string{
	"date", "subject", "from", "sender", "reply-to", "to", "cc", "bcc", "in-reply-to", "message-id",
}

// nstr is a header value that may be absent.
type nstr struct {
	s  string
	ok bool
}

// kv is one MIME parameter, attribute upper-cased, value as written.
type kv struct{ k, v string }

// part is one MIME entity. A message (the top level, or the body of a
// message/rfc822 part) is an entity whose header is an RFC 5322 header; it
// then also carries env.
type part struct {
	hdrOff, bodyOff, end int64 // header start, body start, body end (exclusive)
	lines                int64 // lines in [bodyOff, end)

	typ, sub   string // upper-cased
	params     []kv
	id, desc   nstr
	enc        string // upper-cased, "7BIT" by default
	md5, loc   nstr
	disp       nstr // disposition type, upper-cased
	dispParams []kv
	lang       []string

	children []*part // multipart
	msg      *part   // message/rfc822: the encapsulated message
	env      *[envFields]nstr
}

func (p *part) multipart() bool { return p.typ == "MULTIPART" }

func (p *part) isRFC822() bool { return p.typ == "MESSAGE" && p.sub == "RFC822" }

// Size returns the total size of the message in bytes.
func (s *Structure) Size() int64 {
	if s == nil || s.root == nil {
		return 0
	}
	return s.root.end
}

// Header returns the top-level header bytes, including the blank line that
// ends it when the message has one. ok is false when the header was too long
// to keep; callers then read it from the raw message.
func (s *Structure) Header() (b []byte, ok bool) {
	if s == nil || !s.hdrOK {
		return nil, false
	}
	return s.header, true
}

// SentDate returns the parsed Date: header of the message in its own time
// zone, or the zero time when the field is absent or unparseable.
func (s *Structure) SentDate() time.Time {
	if s == nil || s.root == nil || s.root.env == nil {
		return time.Time{}
	}
	d := s.root.env[envDate]
	if !d.ok {
		return time.Time{}
	}
	return parseDate(d.s)
}

// parseDate parses an RFC 5322 date, tolerating the usual deviations:
// comments, missing day of week, missing seconds, odd spacing.
func parseDate(v string) time.Time {
	v = strings.TrimSpace(stripComments(v))
	if t, err := mail.ParseDate(v); err == nil {
		return t
	}
	// Drop a leading day name that mail.ParseDate rejected, and retry with
	// some layouts it does not know.
	if i := strings.IndexByte(v, ','); i >= 0 && i < 10 {
		v = strings.TrimSpace(v[i+1:])
	}
	v = strings.Join(strings.Fields(v), " ")
	for _, layout := range []string{
		"2 Jan 2006 15:04:05 -0700",
		"2 Jan 2006 15:04 -0700",
		"2 Jan 2006 15:04:05 MST",
		"2 Jan 2006 15:04:05",
		"2 Jan 06 15:04:05 -0700",
		"Mon Jan 2 15:04:05 2006",
		"Mon Jan 2 15:04:05 MST 2006",
		"2006-01-02T15:04:05Z07:00",
		"2006-01-02 15:04:05 -0700",
	} {
		if t, err := time.Parse(layout, v); err == nil {
			return t
		}
	}
	return time.Time{}
}

// stripComments removes RFC 5322 comments (nested parentheses) outside
// quoted strings.
func stripComments(v string) string {
	if !strings.Contains(v, "(") {
		return v
	}
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && (quoted || depth > 0) && i+1 < len(v):
			if depth == 0 {
				b.WriteByte(c)
				b.WriteByte(v[i+1])
			}
			i++
			continue
		case depth == 0 && c == '"':
			quoted = !quoted
		case !quoted && c == '(':
			depth++
			continue
		case !quoted && c == ')' && depth > 0:
			depth--
			if depth == 0 {
				b.WriteByte(' ')
			}
			continue
		}
		if depth == 0 {
			b.WriteByte(c)
		}
	}
	return b.String()
}
