package search

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
)

// Message is what evaluation sees of one message.
type Message struct {
	Seq          uint32
	UID          imap.UID
	Flags        []string // including \Recent when recent for this session
	InternalDate time.Time
	Size         int64
	Structure    *message.Structure
	// Header is the top-level header, which header keys read instead of
	// Structure's when it is not nil: a search that NeedsStructure says
	// needs no more leaves Structure nil (see message.StoredHeader).
	Header   []byte
	Raw      io.ReaderAt // may be nil when NeedsRaw is false
	ModSeq   uint64      // for MODSEQ (RFC 7162)
	SaveDate time.Time   // for SAVED* (RFC 8514); zero when unknown
	// EmailID and ThreadID are the RFC 8474 ids, for EMAILID and
	// THREADID; ThreadID is empty when the message has none.
	EmailID, ThreadID string
}

// Context holds the values of "*" and the time zone for date comparisons.
type Context struct {
	MaxSeq   uint32
	MaxUID   imap.UID
	Location *time.Location
	// Now is the time OLDER and YOUNGER count from (RFC 5032); zero means
	// time.Now().
	Now time.Time
	// Saved is the session's saved search result as UIDs (RFC 5182 "$").
	Saved map[imap.UID]bool
}

// ErrNeedRaw is returned by Match when a key needs the message bytes and
// Message.Raw is nil.
var ErrNeedRaw = errors.New("search: criteria need the raw message")

// NeedsRaw reports whether evaluating k needs the message bytes: BODY and
// TEXT always do. Header keys need them only for a message whose header was
// too long to keep in its Structure; NeedsRawFor tells for one message.
func NeedsRaw(k Key) bool {
	return walk(k, func(k Key) bool { return k.Op == OpBody || k.Op == OpText })
}

// NeedsStructure reports whether evaluating k needs more of a message's
// structure than its top-level header: the text parts for BODY and TEXT,
// the Date: field as parsed for SENTBEFORE, SENTON and SENTSINCE.
func NeedsStructure(k Key) bool {
	return walk(k, func(k Key) bool {
		switch k.Op {
		case OpBody, OpText, OpSentBefore, OpSentOn, OpSentSince:
			return true
		}
		return false
	})
}

// NeedsRawFor is NeedsRaw for one message: it also reports header keys
// when s does not hold the message header.
func NeedsRawFor(k Key, s *message.Structure) bool {
	if NeedsRaw(k) {
		return true
	}
	if _, ok := s.Header(); ok {
		return false
	}
	return walk(k, func(k Key) bool { return k.Op == OpHeader })
}

func walk(k Key, f func(Key) bool) bool {
	if f(k) {
		return true
	}
	for _, s := range k.Sub {
		if walk(s, f) {
			return true
		}
	}
	return false
}

// cost ranks keys so that AND and OR try cheap ones first: metadata, then
// the kept header, then the message body.
func cost(k Key) int {
	switch k.Op {
	case OpHeader, OpSentBefore, OpSentOn, OpSentSince:
		return 1
	case OpBody, OpText:
		return 2
	}
	c := 0
	for _, s := range k.Sub {
		c = max(c, cost(s))
	}
	return c
}

// Match reports whether m satisfies k (RFC 3501 section 6.4.4).
func Match(ctx Context, k Key, m *Message) (bool, error) {
	e := evaluator{ctx: ctx, m: m}
	return e.match(k)
}

type evaluator struct {
	ctx Context
	m   *Message

	hdr    []byte // the top-level header, loaded once
	hdrErr error
	hdrSet bool
}

func (e *evaluator) match(k Key) (bool, error) {
	m := e.m
	switch k.Op {
	case OpAnd:
		for pass := 0; pass <= 2; pass++ {
			for _, s := range k.Sub {
				if cost(s) != pass {
					continue
				}
				ok, err := e.match(s)
				if err != nil || !ok {
					return false, err
				}
			}
		}
		return true, nil
	case OpOr:
		if len(k.Sub) != 2 {
			return false, errors.New("search: OR needs two keys")
		}
		a, b := k.Sub[0], k.Sub[1]
		if cost(b) < cost(a) {
			a, b = b, a
		}
		ok, err := e.match(a)
		if err != nil || ok {
			return ok, err
		}
		return e.match(b)
	case OpNot:
		if len(k.Sub) != 1 {
			return false, errors.New("search: NOT needs one key")
		}
		ok, err := e.match(k.Sub[0])
		return !ok && err == nil, err
	case OpAll:
		return true, nil
	case OpSeqSet:
		return k.Set.Contains(m.Seq, e.ctx.MaxSeq), nil
	case OpUID:
		return k.Set.Contains(uint32(m.UID), uint32(e.ctx.MaxUID)), nil
	case OpFlag:
		return imap.HasFlag(m.Flags, k.Value), nil
	case OpNoFlag:
		return !imap.HasFlag(m.Flags, k.Value), nil
	case OpNew:
		return imap.HasFlag(m.Flags, imap.FlagRecent) && !imap.HasFlag(m.Flags, imap.FlagSeen), nil
	case OpOld:
		return !imap.HasFlag(m.Flags, imap.FlagRecent), nil
	case OpBefore, OpOn, OpSince:
		loc := e.ctx.Location
		if loc == nil {
			loc = time.Local
		}
		return compareDay(k.Op-OpBefore, m.InternalDate.In(loc), k.Date), nil
	case OpSentBefore, OpSentOn, OpSentSince:
		// RFC 3501 6.4.4: the Date: header, disregarding time and zone, so
		// the date as written in its own zone.
		if m.Structure == nil {
			return false, nil
		}
		d := m.Structure.SentDate()
		if d.IsZero() {
			return false, nil
		}
		return compareDay(k.Op-OpSentBefore, d, k.Date), nil
	case OpLarger:
		return m.Size > k.Size, nil
	case OpSmaller:
		return m.Size < k.Size, nil
	case OpModSeq:
		return m.ModSeq >= k.ModSeq, nil
	case OpOlder, OpYounger:
		now := e.ctx.Now
		if now.IsZero() {
			now = time.Now()
		}
		age := now.Sub(m.InternalDate)
		if k.Op == OpOlder {
			return age >= time.Duration(k.Size)*time.Second, nil
		}
		return age <= time.Duration(k.Size)*time.Second, nil
	case OpSaved:
		return e.ctx.Saved[m.UID], nil
	case OpSavedBefore, OpSavedOn, OpSavedSince:
		if m.SaveDate.IsZero() {
			return false, nil
		}
		loc := e.ctx.Location
		if loc == nil {
			loc = time.Local
		}
		return compareDay(k.Op-OpSavedBefore, m.SaveDate.In(loc), k.Date), nil
	case OpSaveDateSupported:
		return true, nil
	case OpEmailID:
		return m.EmailID != "" && m.EmailID == k.Value, nil
	case OpThreadID:
		return m.ThreadID != "" && m.ThreadID == k.Value, nil
	case OpHeader:
		return e.header(k.Field, k.Value)
	case OpBody:
		return e.body(k.Value)
	case OpText:
		hdr, err := e.header1()
		if err != nil {
			return false, err
		}
		if newMatcher(k.Value).matchString(headerText(hdr)) {
			return true, nil
		}
		return e.body(k.Value)
	}
	return false, errors.New("search: unknown key")
}

// compareDay compares the calendar day of t with the day of d (its
// Y/M/D in UTC): rel 0 before, 1 on, 2 since.
func compareDay(rel Op, t, d time.Time) bool {
	ty, tm, td := t.Date()
	dy, dm, dd := d.UTC().Date()
	a := time.Date(ty, tm, td, 0, 0, 0, 0, time.UTC)
	b := time.Date(dy, dm, dd, 0, 0, 0, 0, time.UTC)
	switch rel {
	case 0:
		return a.Before(b)
	case 1:
		return a.Equal(b)
	default:
		return !a.Before(b)
	}
}

// header1 returns the top-level header bytes, from the structure or read
// from the raw message.
func (e *evaluator) header1() ([]byte, error) {
	if e.hdrSet {
		return e.hdr, e.hdrErr
	}
	e.hdrSet = true
	if e.m.Header != nil {
		e.hdr = e.m.Header
		return e.hdr, nil
	}
	if e.m.Structure == nil {
		e.hdrErr = errors.New("search: message without structure")
		return nil, e.hdrErr
	}
	if h, ok := e.m.Structure.Header(); ok {
		e.hdr = h
		return h, nil
	}
	if e.m.Raw == nil {
		e.hdrErr = ErrNeedRaw
		return nil, e.hdrErr
	}
	r, _, err := e.m.Structure.Section(e.m.Raw, message.Section{Specifier: "HEADER"})
	if err == nil {
		e.hdr, err = io.ReadAll(r)
	}
	e.hdrErr = err
	return e.hdr, err
}

// header matches HEADER field string: some occurrence of the field whose
// decoded value contains the string; an empty string matches any occurrence.
func (e *evaluator) header(field, value string) (bool, error) {
	hdr, err := e.header1()
	if err != nil {
		return false, err
	}
	mt := newMatcher(value)
	addr := isAddressField(field)
	found := false
	eachFieldNamed(hdr, field, func(val []byte) bool {
		if value == "" || mt.matchValue(val) || addr && mt.mayMatchAddresses(val) && mt.matchAddresses(unfold(val)) {
			found = true
			return false
		}
		return true
	})
	return found, nil
}

// fieldIs reports whether a field name is the name searched for, ignoring
// case as strings.EqualFold does.
func fieldIs(name []byte, field string) bool {
	if !isASCII(name) || !isASCII(field) {
		return strings.EqualFold(string(name), field)
	}
	if len(name) != len(field) {
		return false
	}
	for i := range len(name) {
		if lowerASCII(name[i]) != lowerASCII(field[i]) {
			return false
		}
	}
	return true
}

func isASCII[T string | []byte](s T) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// matchValue matches a raw field value unfolded, trimmed and with its
// encoded words decoded, as matchString(decodeHeader(unfold(val))) does,
// without copying a value that is on one line and has no encoded word.
func (m matcher) matchValue(val []byte) bool {
	// Trimmed first, a value whose line breaks were all in the white
	// space around it is already unfolded (see unfold).
	t := bytes.TrimSpace(val)
	if bytes.IndexByte(t, '\r') >= 0 || bytes.IndexByte(t, '\n') >= 0 || bytes.Contains(t, []byte("=?")) {
		return m.matchString(decodeHeader(unfold(val)))
	}
	return m.matchBytes(t)
}

// isAddressField reports whether a field holds an address list that the
// FROM, TO, CC and BCC keys also match in its parsed form.
func isAddressField(field string) bool {
	for _, f := range [...]string{"From", "To", "Cc", "Bcc"} {
		if strings.EqualFold(field, f) {
			return true
		}
	}
	return false
}

// matchAddresses matches an address-list field value in its parsed form
// (RFC 5322 3.4), where comments and folding are gone: each address as
// "name <local@domain>", its bare local@domain, the same with a quoted
// local part unquoted, and the name of its group. The display name has
// its encoded words decoded (RFC 2047); an obsolete route is left out.
func (m matcher) matchAddresses(v string) bool {
	found := false
	eachAddressForm(v, func(s string) bool {
		found = m.matchString(s)
		return !found
	})
	return found
}

// eachAddressForm calls f with each parsed form of an address-list field
// value that matchAddresses matches, until f returns false.
func eachAddressForm(v string, f func(string) bool) {
	for _, a := range message.ParseAddressList(v) {
		if a.Group != "" && !f(decodeHeader(a.Group)) {
			return
		}
		if a.Mailbox == "" {
			if a.Name != "" && !f(decodeHeader(a.Name)) {
				return
			}
			continue
		}
		spec := a.Mailbox
		if a.Host != "" {
			spec += "@" + a.Host
		}
		full := spec
		if a.Name != "" {
			full = decodeHeader(a.Name) + " <" + spec + ">"
		}
		if !f(full) {
			return
		}
		if unq := unquoteLocal(a.Mailbox); unq != a.Mailbox {
			if a.Host != "" {
				unq += "@" + a.Host
			}
			if !f(unq) {
				return
			}
		}
	}
}

// mayMatchAddresses is false when matchAddresses cannot match v: for a
// needle of ASCII letters, digits and other atext (no white space, no
// specials), in a value without comments, quoted strings, quoted pairs or
// encoded words. Every parsed form is then made of the value's words and
// specials, with white space dropped or turned into one space and with
// "@", "<", ">" and spaces added between them, so any run of atext in it
// lies in the value with its white space removed (RFC 5322 3.2.3, 3.4).
func (m matcher) mayMatchAddresses(v []byte) bool {
	if !m.atext || !isASCII(v) || bytes.ContainsAny(v, "(\"\\") || bytes.Contains(v, []byte("=?")) {
		return true
	}
	for i := range v {
		j, k := 0, i
		for j < len(m.needle) && k < len(v) {
			switch c := v[k]; {
			case c == ' ' || c == '\t' || c == '\r' || c == '\n':
				if j == 0 {
					k = len(v) // a match starts at a word
					continue
				}
			case lowerASCII(c) == m.needle[j]:
				j++
			default:
				k = len(v)
				continue
			}
			k++
		}
		if j == len(m.needle) {
			return true
		}
	}
	return false
}

// unquoteLocal removes the quotes and quoting backslashes of a local part
// written as a quoted-string (RFC 5322 3.2.4).
func unquoteLocal(s string) string {
	if !strings.Contains(s, `"`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// eachField calls f with each field of a header block (value raw, with its
// folding) until f returns false. The slices alias hdr.
func eachField(hdr []byte, f func(name, val []byte) bool) {
	for len(hdr) > 0 {
		var line []byte
		line, hdr = nextField(hdr)
		i := bytes.IndexByte(line, ':')
		if i < 0 {
			continue
		}
		if !f(trimWSPRight(line[:i]), line[i+1:]) {
			return
		}
	}
}

// eachFieldNamed is eachField for the fields named field (see fieldIs)
// alone. A line whose first letter, ASCII, is not the field's is passed
// over without looking further: a name that starts with another ASCII
// letter never folds to the field's.
func eachFieldNamed(hdr []byte, field string, f func(val []byte) bool) {
	var first byte // the field's first letter in lower case; 0 if not ASCII
	if field != "" && field[0] < utf8.RuneSelf {
		first = lowerASCII(field[0])
	}
	for len(hdr) > 0 {
		var line []byte
		line, hdr = nextField(hdr)
		if first != 0 && line[0] < utf8.RuneSelf && lowerASCII(line[0]) != first {
			continue
		}
		i := bytes.IndexByte(line, ':')
		if i < 0 || !fieldIs(trimWSPRight(line[:i]), field) {
			continue
		}
		if !f(line[i+1:]) {
			return
		}
	}
}

// nextField splits the first field off a header block: up to a line break
// not followed by white space (RFC 5322 2.2.3).
func nextField(hdr []byte) (line, rest []byte) {
	end := 0
	for {
		i := bytes.IndexByte(hdr[end:], '\n')
		if i < 0 {
			return hdr, nil
		}
		end += i + 1
		if end >= len(hdr) || (hdr[end] != ' ' && hdr[end] != '\t') {
			return hdr[:end], hdr[end:]
		}
	}
}

// trimWSPRight removes the spaces and tabs that end b.
func trimWSPRight(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// headerText renders a header block as decoded text, one field a line, for
// TEXT searches.
func headerText(hdr []byte) string {
	var b strings.Builder
	eachField(hdr, func(name, val []byte) bool {
		b.Write(name)
		b.WriteString(": ")
		b.WriteString(decodeHeader(unfold(val)))
		b.WriteByte('\n')
		return true
	})
	return b.String()
}

// unfold removes line breaks (RFC 5322 2.2.3) and trims white space.
func unfold[T string | []byte](v T) string {
	s := strings.ReplaceAll(string(v), "\r", "")
	s = strings.ReplaceAll(s, "\n", "")
	return strings.TrimSpace(s)
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// decodeHeader decodes RFC 2047 encoded words; undecodable text stays raw.
func decodeHeader(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	d, err := wordDecoder.DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// body searches the decoded text parts of the message.
func (e *evaluator) body(value string) (bool, error) {
	if e.m.Structure == nil {
		return false, errors.New("search: message without structure")
	}
	if e.m.Raw == nil {
		return false, ErrNeedRaw
	}
	mt := newMatcher(value)
	found := false
	var ferr error
	e.m.Structure.TextParts(func(tp message.TextPart) bool {
		r, _, err := e.m.Structure.Section(e.m.Raw, message.Section{Path: tp.Path})
		if err != nil {
			ferr = err
			return false
		}
		ok, err := mt.matchReader(decodeBody(r, tp.Encoding, tp.Charset))
		if err != nil {
			ferr = err
			return false
		}
		found = ok
		return !ok
	})
	return found, ferr
}

// decodeBody undoes the transfer encoding and converts the charset to
// UTF-8, as well as it can: unknown charsets are searched as they are.
func decodeBody(r io.Reader, enc, cs string) io.Reader {
	switch strings.ToUpper(enc) {
	case "BASE64":
		r = base64.NewDecoder(base64.StdEncoding, &b64Filter{r: r})
	case "QUOTED-PRINTABLE":
		r = &lenient{r: quotedprintable.NewReader(r)}
	}
	cs = strings.ToLower(cs)
	if cs != "" && cs != "utf-8" && cs != "us-ascii" {
		if cr, err := charset.Reader(cs, r); err == nil {
			r = cr
		}
	}
	return r
}

// b64Filter drops the bytes base64 does not use (line breaks, junk), so
// that the decoder stops only at the real end.
type b64Filter struct{ r io.Reader }

func (f *b64Filter) Read(p []byte) (int, error) {
	for {
		n, err := f.r.Read(p)
		j := 0
		for _, c := range p[:n] {
			if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// lenient turns decoding errors into the end of the text: a broken
// encoding searches what was decoded before it.
type lenient struct{ r io.Reader }

func (l *lenient) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if err != nil && err != io.EOF {
		err = io.EOF
	}
	return n, err
}

// matcher finds a string case-insensitively (Unicode lower case) in text.
type matcher struct {
	needle string
	raw    []byte // needle, for matchReader's lowered bytes
	atext  bool   // needle is ASCII without white space or specials
}

func newMatcher(s string) matcher {
	m := matcher{needle: strings.ToLower(s), atext: s != ""}
	m.raw = []byte(m.needle)
	for i := 0; i < len(m.needle) && m.atext; i++ {
		switch c := m.needle[i]; c {
		case '(', ')', '<', '>', '[', ']', ':', ';', '@', '\\', ',', '.', '"':
			m.atext = false
		default:
			m.atext = c > ' ' && c < utf8.RuneSelf
		}
	}
	return m
}

func (m matcher) matchString(s string) bool { return containsFold(s, m.needle) }

func (m matcher) matchBytes(b []byte) bool { return containsFold(b, m.needle) }

// containsFold reports whether strings.ToLower(s) contains needle, itself
// lower case. ASCII text, the usual in header fields, is compared as it is
// instead of through a lowered copy: its lower case is ASCII lower case.
func containsFold[T string | []byte](s T, needle string) bool {
	if !isASCII(s) {
		return strings.Contains(strings.ToLower(string(s)), needle)
	}
	n := len(needle)
	if n == 0 {
		return true
	}
	first := needle[0]
	if first >= utf8.RuneSelf {
		return false // lowered ASCII text holds no other byte
	}
	for i := 0; i+n <= len(s); i++ {
		if lowerASCII(s[i]) != first {
			continue
		}
		j := 1
		for j < n && lowerASCII(s[i+j]) == needle[j] {
			j++
		}
		if j == n {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// matchChunk is how much of a text matchReader lowers at a time.
const matchChunk = 32 << 10

// matchBuf holds matchReader's buffers. A SEARCH BODY or TEXT reads the
// text of every message it looks at, so they are kept between calls
// (matchBufs) rather than made for each message.
type matchBuf struct {
	raw [utf8.UTFMax + matchChunk]byte // an incomplete rune held back, then a chunk
	low []byte                         // lowered tail of the last chunk, then this one
}

var matchBufs = sync.Pool{New: func() any { return new(matchBuf) }}

// matchReader streams r in bounded chunks. It lowers each chunk and keeps
// the last len(needle)-1 lowered bytes so that a match across chunks is
// found; an incomplete UTF-8 sequence at a chunk's end waits for the next.
func (m matcher) matchReader(r io.Reader) (bool, error) {
	if m.needle == "" {
		return true, nil
	}
	b := matchBufs.Get().(*matchBuf)
	low := b.low[:0]
	defer func() {
		b.low = low[:0]
		matchBufs.Put(b)
	}()
	keep := len(m.raw) - 1
	carry := 0 // bytes held back at the start of b.raw
	for {
		n, err := io.ReadFull(r, b.raw[carry:carry+matchChunk])
		chunk := b.raw[:carry+n]
		cut := len(chunk)
		if err == nil {
			cut = completeRunes(chunk)
		}
		low = appendLower(low, chunk[:cut])
		if bytes.Contains(low, m.raw) {
			return true, nil
		}
		if len(low) > keep {
			low = low[:copy(low, low[len(low)-keep:])]
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		carry = copy(b.raw[:], chunk[cut:])
	}
}

// completeRunes returns the length of b without an incomplete UTF-8
// sequence at its end.
func completeRunes(b []byte) int {
	for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return len(b) - i
			}
			break
		}
	}
	return len(b)
}

// appendLower appends strings.ToLower(string(s)) to dst: each rune in
// Unicode lower case, each byte that is not UTF-8 as U+FFFD.
func appendLower(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			dst = append(dst, lowerASCII(c))
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
		i += size
	}
	return dst
}
