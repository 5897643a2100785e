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
	if t, ok := parseDateFast(v); ok {
		return t
	}
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

// parseDateFast parses the form nearly every message's Date field has,
// "[Mon, ]2 Jan 2006 15:04[:05] -0700", without the allocations of
// mail.ParseDate's tries (SORT reads the dates of a whole mailbox); ok
// is false for anything else, which the slow path then reads.
func parseDateFast(v string) (t time.Time, ok bool) {
	if i := strings.IndexByte(v, ','); i >= 0 {
		if i > 9 {
			return t, false
		}
		v = strings.TrimLeft(v[i+1:], " ")
	}
	num := func(s string) (int, bool) {
		if s == "" || len(s) > 4 {
			return 0, false
		}
		n := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			n = n*10 + int(s[i]-'0')
		}
		return n, true
	}
	var f [5]string
	for i := range f {
		j := strings.IndexByte(v, ' ')
		if i == len(f)-1 {
			if j >= 0 {
				return t, false
			}
			j = len(v)
		} else if j < 0 {
			return t, false
		}
		f[i], v = v[:j], v[min(j+1, len(v)):]
	}
	day, ok1 := num(f[0])
	year, ok2 := num(f[2])
	if !ok1 || !ok2 || len(f[2]) != 4 || len(f[1]) != 3 {
		return t, false
	}
	month := 0
	for m := 1; m <= 12; m++ {
		if strings.EqualFold(f[1], time.Month(m).String()[:3]) {
			month = m
			break
		}
	}
	clock := f[3]
	if month == 0 || (len(clock) != 5 && len(clock) != 8) || clock[2] != ':' || (len(clock) == 8 && clock[5] != ':') {
		return t, false
	}
	hh, ok1 := num(clock[0:2])
	mm, ok2 := num(clock[3:5])
	ss, ok3 := 0, true
	if len(clock) == 8 {
		ss, ok3 = num(clock[6:8])
	}
	zone := f[4]
	if !ok1 || !ok2 || !ok3 || len(zone) != 5 || (zone[0] != '+' && zone[0] != '-') {
		return t, false
	}
	zh, ok1 := num(zone[1:3])
	zm, ok2 := num(zone[3:5])
	if !ok1 || !ok2 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || zm > 59 {
		return t, false
	}
	off := zh*3600 + zm*60
	if zone[0] == '-' {
		off = -off
	}
	t = time.Date(year, time.Month(month), day, hh, mm, ss, 0, time.FixedZone("", off))
	if t.Day() != day {
		return time.Time{}, false // 31 Feb and the like: the slow path decides
	}
	return t, true
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
