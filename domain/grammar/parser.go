package grammar

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/imapd-go/imapd/domain/imap"
)

// Limits are the named budgets the parser enforces before allocating. A zero
// (or negative) field means its default (see DefaultLimits).
type Limits struct {
	MaxLine         int   // bytes of one command outside literals, all lines of it together
	MaxLiteral      int64 // one literal outside APPEND's message
	MaxLiterals     int   // literals in one command (APPEND's message included)
	MaxCommandBytes int64 // literal bytes of one command outside APPEND's message
	MaxAppend       int64 // APPEND's message literal (imapd.conf maxmessagesize)

	// MaxNonSyncLiteral bounds non-synchronizing literals ({n+}); 0 means
	// no bound beyond the others (LITERAL+). Set it to
	// LiteralMinusMax when LITERAL- is advertised instead (RFC 7888
	// section 4): a larger one is answered BAD [TOOBIG] after its bytes
	// are read and dropped, or ends the connection when they would exceed
	// MaxCommandBytes.
	MaxNonSyncLiteral int64
}

// LiteralMinusMax is the largest non-synchronizing literal a LITERAL-
// client may send (RFC 7888 section 4).
const LiteralMinusMax = 4096

// Default budgets. They are generous enough for real clients (a SEARCH with a
// long OR chain, a LOGIN with a literal password) and small enough that a
// hostile client cannot make one session hold much memory.
const (
	DefaultMaxLine         = 64 << 10
	DefaultMaxLiteral      = 1 << 20
	DefaultMaxLiterals     = 100
	DefaultMaxCommandBytes = 8 << 20
	DefaultMaxAppend       = 64 << 20
)

// maxNesting bounds parenthesised and NOT/OR search keys, so that a hostile
// command cannot exhaust the stack.
const maxNesting = 1000

// DefaultLimits returns the default budgets.
func DefaultLimits() Limits {
	return Limits{
		MaxLine:         DefaultMaxLine,
		MaxLiteral:      DefaultMaxLiteral,
		MaxLiterals:     DefaultMaxLiterals,
		MaxCommandBytes: DefaultMaxCommandBytes,
		MaxAppend:       DefaultMaxAppend,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxLine <= 0 {
		l.MaxLine = d.MaxLine
	}
	if l.MaxLiteral <= 0 {
		l.MaxLiteral = d.MaxLiteral
	}
	if l.MaxLiterals <= 0 {
		l.MaxLiterals = d.MaxLiterals
	}
	if l.MaxCommandBytes <= 0 {
		l.MaxCommandBytes = d.MaxCommandBytes
	}
	if l.MaxAppend <= 0 {
		l.MaxAppend = d.MaxAppend
	}
	return l
}

// Parser reads commands from a client. It is not safe for concurrent use.
//
// A command is read line by line: p.line holds the current line (without its
// CRLF) and p.pos the cursor in it. A literal may only end a line; reading
// one reads its bytes and then the next line of the same command. Errors are
// sticky: the first one is kept in p.err and every grammar method then
// returns false, so the grammar reads as a chain of && / ||.
type Parser struct {
	r    *bufio.Reader
	cont func() error
	lim  Limits

	line  []byte
	pos   int
	buf   []byte // backing store of line
	err   error
	ended bool // the command's last byte has been read: nothing to discard

	tag       string
	lineBytes int   // bytes of the command outside literals so far
	literals  int   // literals in the command so far
	litBytes  int64 // literal bytes of the command so far

	// The APPEND message literal being streamed.
	inAppend    bool
	appendLeft  int64
	appendGen   int
	appendClose bool // the literal was RFC 6855's "UTF8 (~{n})": a ")" follows it
	// CATENATE (RFC 4469, urlauth.go): appendMid says the APPEND command
	// goes on in p.line from p.pos (no literal is being streamed); inCat
	// that its parts are being read, catFirst that none has been yet.
	appendMid, inCat, catFirst bool

	utf8 bool // UTF8=ACCEPT is enabled (RFC 6855)
}

// NewParser reads commands from r. cont is called when a synchronizing
// literal is accepted; it must write "+ ..." and flush. A nil cont is allowed
// (nothing is sent).
func NewParser(r *bufio.Reader, cont func() error, lim Limits) *Parser {
	return &Parser{r: r, cont: cont, lim: lim.withDefaults()}
}

// SetReader makes the parser read from r from now on. A session swaps
// readers between commands, when the one it had holds no byte, so that
// an idle session keeps no read buffer. It also drops a line buffer that
// a long command grew.
func (p *Parser) SetReader(r *bufio.Reader) {
	p.r = r
	if cap(p.buf) > 4<<10 {
		p.buf = nil
	}
}

// SetLimits changes the budgets from the next command on (e.g. after login,
// when the user's APPENDLIMIT is known).
func (p *Parser) SetLimits(lim Limits) { p.lim = lim.withDefaults() }

// SetUTF8 switches RFC 6855 UTF8=ACCEPT on or off (the session turns it on
// after ENABLE UTF8=ACCEPT). When on, mailbox names, LIST references and
// patterns are taken as UTF-8 as sent, without modified UTF-7 decoding (so
// "&" is an ordinary character), and APPEND accepts the "UTF8 (~{n})" form.
func (p *Parser) SetUTF8(on bool) { p.utf8 = on }

// Next reads one whole command. It returns io.EOF on a clean end of input
// (between commands), a *Error for a refused command (the input is then at
// the start of the next command), an error wrapping ErrFatal when the stream
// cannot be resynchronised, or an I/O error (io.ErrUnexpectedEOF when the
// input ends inside a command).
//
// For APPEND, Next returns once the message literal's header is read (and,
// for a synchronizing literal, continued): the handler reads
// AppendArgs.Body and then calls EndCommand. If the handler calls Next
// without EndCommand, Next calls it first and returns its error, if any.
func (p *Parser) Next() (*Command, error) {
	if p.inAppend || p.appendMid {
		if err := p.EndCommand(); err != nil {
			return nil, err
		}
	}
	p.tag = ""
	p.lineBytes, p.literals, p.litBytes = 0, 0, 0
	p.err = nil
	p.ended = false
	if !p.readLine(true) {
		if p.err == io.EOF {
			return nil, io.EOF
		}
		return nil, p.finish()
	}
	cmd := p.command()
	if p.err != nil {
		return nil, p.finish()
	}
	return cmd, nil
}

// EndCommand finishes an APPEND: it drains the unread bytes of the message
// literal and reads the rest of the line, which must be empty. Anything else
// gives a *Error BAD (the input is then at the next command). Outside an
// APPEND it does nothing.
func (p *Parser) EndCommand() error {
	if !p.inAppend && !p.appendMid {
		return nil
	}
	if p.inCat {
		// The handler stopped inside a CATENATE list.
		err := p.DiscardCommand()
		if err == nil {
			err = &Error{Tag: p.errTag(), Status: "BAD", Text: "Unfinished CATENATE"}
		}
		return err
	}
	if p.appendMid {
		p.appendMid = false
		p.err = nil
		p.ended = false
	} else {
		if err := p.DiscardLiteral(); err != nil {
			p.inAppend = false
			return err
		}
		p.inAppend = false
		p.err = nil
		p.ended = false
		if !p.readLine(false) || !p.closeAppendData() {
			return p.finish()
		}
	}
	if !p.eol() {
		p.bad("Junk after message literal")
		return p.finish()
	}
	p.ended = true
	return nil
}

// closeAppendData reads the ")" that ends RFC 6855's "UTF8 (~{n})" after
// its literal, when the message came in that form.
func (p *Parser) closeAppendData() bool {
	if !p.appendClose {
		return true
	}
	p.appendClose = false
	return p.expect(')', "Missing ) after UTF8 literal")
}

// DiscardLiteral reads and drops what is left of APPEND's message literal,
// for a handler that refuses the message without reading it.
func (p *Parser) DiscardLiteral() error {
	if !p.inAppend || p.appendLeft == 0 {
		return nil
	}
	n, err := io.CopyN(io.Discard, p.r, p.appendLeft)
	p.appendLeft -= n
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// ReadLine reads one raw line (without its CRLF), bounded by MaxLine, for
// AUTHENTICATE's responses and IDLE's DONE. An over-long line gives a *Error
// BAD (the rest of it is discarded). The returned slice is the caller's.
func (p *Parser) ReadLine() ([]byte, error) {
	line, tooLong, _, err := p.readRaw(p.lim.MaxLine)
	if err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, err
	}
	if tooLong {
		return nil, &Error{Tag: p.errTag(), Status: "BAD", Text: "Line too long"}
	}
	return append([]byte(nil), line...), nil
}

// fatalError is an error after which the stream cannot be resynchronised.
type fatalError struct{ text string }

func (e *fatalError) Error() string        { return e.text }
func (e *fatalError) Is(target error) bool { return target == ErrFatal }

// readRaw reads one line up to LF, returning it without CRLF (a bare LF is
// accepted as a line end too, as Cyrus does). A line longer than max is
// discarded to its end; tooLong is then true and tail holds its last bytes,
// so that a literal announced at its end can still be recognised. A clean
// EOF before any byte is io.EOF; an EOF inside a line is
// io.ErrUnexpectedEOF.
func (p *Parser) readRaw(max int) (line []byte, tooLong bool, tail []byte, err error) {
	p.buf = p.buf[:0]
	if max < 0 {
		max = 0
	}
	for {
		chunk, err := p.r.ReadSlice('\n')
		p.buf = append(p.buf, chunk...)
		if !tooLong && len(p.buf) > max+2 {
			tooLong = true
			if p.tag == "" {
				p.tag = leadingTag(p.buf)
			}
		}
		if tooLong && len(p.buf) > 64 {
			// Keep only a short tail: enough for a literal header such
			// as "{9223372036854775807+}\r\n".
			p.buf = append(p.buf[:0], p.buf[len(p.buf)-32:]...)
		}
		switch err {
		case nil:
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if len(p.buf) == 0 && !tooLong {
				return nil, false, nil, io.EOF
			}
			return nil, false, nil, io.ErrUnexpectedEOF
		default:
			return nil, false, nil, err
		}
		b := p.buf[:len(p.buf)-1]
		if len(b) > 0 && b[len(b)-1] == '\r' {
			b = b[:len(b)-1]
		}
		if tooLong || len(b) > max {
			return nil, true, b, nil
		}
		return b, false, nil, nil
	}
}

// leadingTag returns the tag at the start of an over-long command line, so
// that the refusal can be tagged, or "" when there is none.
func leadingTag(b []byte) string {
	for i, c := range b {
		if c == ' ' {
			return string(b[:i])
		}
		if !isTagChar(c) {
			break
		}
	}
	return ""
}

// readLine reads the next line of the current command into p.line, charging
// it to the MaxLine budget. first is true for a command's first line, where
// a clean EOF is io.EOF rather than io.ErrUnexpectedEOF.
func (p *Parser) readLine(first bool) bool {
	line, tooLong, tail, err := p.readRaw(p.lim.MaxLine - p.lineBytes)
	if err != nil {
		if err == io.EOF && !first {
			err = io.ErrUnexpectedEOF
		}
		p.err = err
		p.ended = true
		return false
	}
	p.pos = 0
	if tooLong {
		p.line = tail
		p.pos = len(tail)
		p.err = &Error{Status: "BAD", Text: "Line too long"}
		return false
	}
	p.line = line
	p.lineBytes += len(line)
	return true
}

func (p *Parser) errTag() string {
	if p.tag == "" {
		return "*"
	}
	return p.tag
}

// finish turns p.err into Next's error: a *Error gets its tag and the input
// is moved to the next command.
func (p *Parser) finish() error {
	var e *Error
	if !errors.As(p.err, &e) {
		return p.err
	}
	e.Tag = p.errTag()
	if !p.ended {
		if err := p.resync(); err != nil {
			return err
		}
	}
	return e
}

// resync discards the rest of a refused command. The current line has been
// read to its end; if it announces a literal, the client's next move
// depends on its kind: for a synchronizing literal the client waits for a
// "+" that will not come, so the command ends here; a non-synchronizing
// literal is already on the wire and must be read and dropped, with the line
// that follows it (RFC 7888 section 4).
func (p *Parser) resync() error {
	var dropped int64
	for n := 0; ; n++ {
		size, sync, ok := trailingLiteral(p.line)
		if !ok || sync {
			p.ended = true
			return nil
		}
		dropped += size
		if dropped > p.lim.MaxCommandBytes || n >= p.lim.MaxLiterals {
			return &fatalError{"Literal too big"}
		}
		if _, err := io.CopyN(io.Discard, p.r, size); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		line, tooLong, tail, err := p.readRaw(p.lim.MaxLine)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if tooLong {
			line = tail
		}
		p.line = line
	}
}

// trailingLiteral reports whether b ends with a literal header "{n}" or
// "{n+}". A size that does not fit in int64 is reported as the largest.
func trailingLiteral(b []byte) (size int64, sync, ok bool) {
	i := len(b) - 1
	if i < 0 || b[i] != '}' {
		return 0, false, false
	}
	i--
	sync = true
	if i >= 0 && b[i] == '+' {
		sync = false
		i--
	}
	end := i + 1
	for i >= 0 && b[i] >= '0' && b[i] <= '9' {
		i--
	}
	if i < 0 || b[i] != '{' || i+1 == end {
		return 0, false, false
	}
	return parseSize(b[i+1 : end]), sync, true
}

func parseSize(digits []byte) int64 {
	var n int64
	for _, c := range digits {
		if n > (1<<63-1-9)/10 {
			return 1<<63 - 1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// ---- The cursor and the sticky error ----

func (p *Parser) bad(text string) bool {
	if p.err == nil {
		p.err = &Error{Status: "BAD", Text: text}
	}
	return false
}

func (p *Parser) eol() bool { return p.pos >= len(p.line) }

func (p *Parser) peek() byte {
	if p.pos < len(p.line) {
		return p.line[p.pos]
	}
	return 0
}

func (p *Parser) peekIs(c byte) bool { return p.pos < len(p.line) && p.line[p.pos] == c }

func (p *Parser) expect(c byte, text string) bool {
	if p.err != nil {
		return false
	}
	if !p.peekIs(c) {
		return p.bad(text)
	}
	p.pos++
	return true
}

func (p *Parser) sp() bool { return p.expect(' ', "Missing space") }

// end checks that the command has no more arguments.
func (p *Parser) end() bool {
	if p.err != nil {
		return false
	}
	if !p.eol() {
		return p.bad("Unexpected extra arguments")
	}
	p.ended = true
	return true
}

// word reads 1* bytes accepted by ok.
func (p *Parser) word(ok func(byte) bool) string {
	start := p.pos
	for p.pos < len(p.line) && ok(p.line[p.pos]) {
		p.pos++
	}
	return string(p.line[start:p.pos])
}

func isAstringChar(c byte) bool { return imap.IsAtomChar(c) || c == ']' }

func isListChar(c byte) bool { return isAstringChar(c) || c == '%' || c == '*' }

func isTagChar(c byte) bool { return isAstringChar(c) && c != '+' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// atom reads an atom.
func (p *Parser) atom(dst *string, what string) bool {
	if p.err != nil {
		return false
	}
	s := p.word(imap.IsAtomChar)
	if s == "" {
		return p.bad("Missing " + what)
	}
	*dst = s
	return true
}

// astring reads an atom of ASTRING-CHARs, a quoted string or a literal.
func (p *Parser) astring(dst *string, what string) bool {
	return p.stringOr(dst, what, isAstringChar)
}

func (p *Parser) stringOr(dst *string, what string, bare func(byte) bool) bool {
	if p.err != nil {
		return false
	}
	switch p.peek() {
	case '"', '{':
		return p.str(dst, what)
	}
	s := p.word(bare)
	if s == "" {
		return p.bad("Missing " + what)
	}
	*dst = s
	return true
}

// str reads a quoted string or a literal.
func (p *Parser) str(dst *string, what string) bool {
	if p.err != nil {
		return false
	}
	switch p.peek() {
	case '"':
		return p.quoted(dst)
	case '{':
		var b []byte
		if !p.literal(&b) {
			return false
		}
		*dst = string(b)
		return true
	}
	return p.bad("Missing " + what)
}

// nstring reads NIL or a string; isNil reports which.
func (p *Parser) nstring(dst *string, isNil *bool, what string) bool {
	if p.err != nil {
		return false
	}
	if p.peek() == 'N' || p.peek() == 'n' {
		save := p.pos
		if w := p.word(imap.IsAtomChar); strings.EqualFold(w, "NIL") {
			*isNil = true
			*dst = ""
			return true
		}
		p.pos = save
		return p.bad("Invalid " + what)
	}
	*isNil = false
	return p.str(dst, what)
}

// quoted reads a quoted string (RFC 3501 quoted): no NUL, CR or LF, and a
// backslash escapes only '"' and '\'. 8-bit bytes must form valid UTF-8
// (RFC 9051 allows UTF-8 in quoted strings; anything else is binary and
// belongs in a literal).
func (p *Parser) quoted(dst *string) bool {
	p.pos++ // the opening quote
	var b []byte
	high := false
	for {
		if p.eol() {
			return p.bad("Unterminated quoted string")
		}
		c := p.line[p.pos]
		p.pos++
		switch c {
		case '"':
			if high && !utf8.Valid(b) {
				return p.bad("Invalid UTF-8 in quoted string")
			}
			*dst = string(b)
			return true
		case '\\':
			if p.eol() || (p.line[p.pos] != '"' && p.line[p.pos] != '\\') {
				return p.bad("Invalid escape in quoted string")
			}
			c = p.line[p.pos]
			p.pos++
		case 0, '\r', '\n':
			return p.bad("Invalid character in quoted string")
		}
		if c >= 0x80 {
			high = true
		}
		b = append(b, c)
	}
}

// literalHeader reads "{n}" or "{n+}", which must end the line.
func (p *Parser) literalHeader() (size int64, sync bool, ok bool) {
	if p.err != nil {
		return 0, false, false
	}
	rest := p.line[p.pos:]
	size, sync, ok = trailingLiteral(rest)
	if !ok || rest[0] != '{' {
		p.bad("Invalid literal")
		return 0, false, false
	}
	p.pos = len(p.line)
	p.literals++
	if p.literals > p.lim.MaxLiterals {
		p.bad("Too many literals")
		return 0, false, false
	}
	if !sync && p.lim.MaxNonSyncLiteral > 0 && size > p.lim.MaxNonSyncLiteral {
		// RFC 7888 section 4: the bytes are on the wire; finish's resync
		// reads and drops them (or gives up when they are too many).
		p.err = &Error{Status: "BAD", Code: "TOOBIG", Text: "Non-synchronizing literal too big"}
		return 0, false, false
	}
	return size, sync, true
}

// overBudget refuses a literal of the given size: a synchronizing one with
// NO [TOOBIG] (the client will not send it, so the command ends here), a
// non-synchronizing one with a fatal error (RFC 7888 section 4: the bytes
// are already on their way and not worth reading).
func (p *Parser) overBudget(sync bool, text string) bool {
	if sync {
		p.err = &Error{Status: "NO", Code: "TOOBIG", Text: text}
		p.ended = true
	} else {
		p.err = &fatalError{text}
	}
	return false
}

func (p *Parser) continueLiteral(sync bool) bool {
	if sync && p.cont != nil {
		if err := p.cont(); err != nil {
			p.err = err
			p.ended = true
			return false
		}
	}
	return true
}

// literal reads a literal (outside APPEND's message) and the line after it.
func (p *Parser) literal(dst *[]byte) bool { return p.literalData(dst, false) }

// literalData is literal; binary (a literal8's data, RFC 3516) admits NUL.
func (p *Parser) literalData(dst *[]byte, binary bool) bool {
	size, sync, ok := p.literalHeader()
	if !ok {
		return false
	}
	if size > p.lim.MaxLiteral || size > p.lim.MaxCommandBytes-p.litBytes {
		return p.overBudget(sync, "Literal too big")
	}
	if !p.continueLiteral(sync) {
		return false
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(p.r, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		p.err = err
		p.ended = true
		return false
	}
	p.litBytes += size
	if !p.readLine(false) {
		return false
	}
	// RFC 3501 CHAR8 excludes NUL.
	for _, c := range b {
		if c == 0 && !binary {
			return p.bad("NUL in literal")
		}
	}
	*dst = b
	return true
}

// appendBody streams APPEND's message literal from the connection.
type appendBody struct {
	p   *Parser
	gen int
}

func (b *appendBody) Read(buf []byte) (int, error) {
	p := b.p
	if b.gen != p.appendGen || !p.inAppend || p.appendLeft == 0 {
		return 0, io.EOF
	}
	if int64(len(buf)) > p.appendLeft {
		buf = buf[:p.appendLeft]
	}
	n, err := p.r.Read(buf)
	p.appendLeft -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// appendLiteral reads APPEND's message literal header (a literal, or a
// literal8 when binary: the "~" is already read) and sets up its
// streaming; the bytes stay on the wire.
func (p *Parser) appendLiteral(a *AppendMessage, binary bool) bool {
	if p.err != nil {
		return false
	}
	if !p.peekIs('{') {
		return p.bad("Missing message literal")
	}
	size, sync, ok := p.literalHeader()
	if !ok {
		return false
	}
	if size > p.lim.MaxAppend {
		return p.overBudget(sync, "Message too big")
	}
	if !p.continueLiteral(sync) {
		return false
	}
	p.appendGen++
	p.inAppend = true
	p.appendLeft = size
	p.ended = true
	a.Size = size
	a.Body = &appendBody{p: p, gen: p.appendGen}
	a.Binary = binary
	return true
}
