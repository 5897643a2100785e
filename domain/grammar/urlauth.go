package grammar

import (
	"io"
	"strings"

	"github.com/imapd-go/imapd/domain/message"
)

// CatPart is one cat-part of an APPEND ... CATENATE (RFC 4469 section 5):
// a URL, or a TEXT literal whose Size bytes Body streams from the
// connection like an APPEND message (Binary for a literal8, RFC 3516).
type CatPart struct {
	URL    string // "" for TEXT
	Size   int64
	Body   io.Reader
	Binary bool
}

// catenate reads the start of a CATENATE append-data (the word itself is
// read): SP "(". Its parts are read by NextCatPart.
func (p *Parser) catenate(m *AppendMessage) bool {
	if !p.sp() || !p.expect('(', "Missing ( after CATENATE") {
		return false
	}
	m.Catenate = true
	p.inCat, p.catFirst, p.appendMid = true, true, true
	return true
}

// NextCatPart reads the next cat-part of a CATENATE message (RFC 4469:
// "CATENATE" SP "(" cat-part *(SP cat-part) ")", cat-part = "TEXT" SP
// literal / "URL" SP astring). It returns nil at the closing ")"; the
// handler then goes on with NextAppend or EndCommand. A TEXT part's Body
// must be read (or is dropped) before the next call. A syntax error is a
// *Error (the rest of the command is discarded, as Next does).
func (p *Parser) NextCatPart() (*CatPart, error) {
	if !p.inCat {
		return nil, nil
	}
	if p.inAppend {
		// The previous part was a TEXT literal: the line goes on after it.
		if err := p.DiscardLiteral(); err != nil {
			p.abortAppend()
			return nil, err
		}
		p.inAppend, p.appendMid = false, true
		p.err, p.ended = nil, false
		if !p.readLine(false) {
			p.abortAppend()
			return nil, p.finish()
		}
	}
	p.err = nil
	if p.catFirst {
		p.catFirst = false
	} else {
		if p.peekIs(')') {
			p.pos++
			p.inCat = false
			return nil, nil
		}
		if !p.sp() {
			return nil, p.catFail()
		}
	}
	var kind string
	if !p.atom(&kind, "CATENATE part") {
		return nil, p.catFail()
	}
	part := &CatPart{}
	switch strings.ToUpper(kind) {
	case "URL":
		if !p.sp() || !p.astring(&part.URL, "URL") {
			return nil, p.catFail()
		}
		if part.URL == "" {
			p.bad("Empty URL")
			return nil, p.catFail()
		}
	case "TEXT":
		if !p.sp() {
			return nil, p.catFail()
		}
		binary := false
		if p.peekIs('~') {
			p.pos++
			binary = true
		}
		var m AppendMessage
		if !p.appendLiteral(&m, binary) {
			return nil, p.catFail()
		}
		p.appendMid = false
		part.Size, part.Body, part.Binary = m.Size, m.Body, m.Binary
	default:
		p.bad("Invalid CATENATE part")
		return nil, p.catFail()
	}
	return part, nil
}

// catFail ends a CATENATE command after a syntax error in its parts.
func (p *Parser) catFail() error {
	p.abortAppend()
	return p.finish()
}

// abortAppend forgets the APPEND command's state, for an error after which
// the command is over.
func (p *Parser) abortAppend() {
	p.inAppend, p.appendClose, p.inCat, p.appendMid = false, false, false, false
}

// GenURLAuthArgs: GENURLAUTH 1*(SP url-rump SP mechanism) (RFC 4467
// section 6.1). Mechanisms are upper-case.
type GenURLAuthArgs struct {
	Items []GenURLAuthItem
}

// GenURLAuthItem is one rump and the mechanism asked for it.
type GenURLAuthItem struct{ Rump, Mechanism string }

// ResetKeyArgs: RESETKEY [SP mailbox *(SP mechanism)] (RFC 4467 section
// 6.2). Mailbox is "" when absent (every key of the user).
type ResetKeyArgs struct {
	Mailbox    string
	MailboxErr error
	Mechanisms []string
}

// URLFetchArgs: URLFETCH 1*(SP url-fetch-param) (RFC 4467 section 6.3,
// extended by RFC 5524 section 4 with "(" url 1*(SP url-fetch-arg) ")").
type URLFetchArgs struct {
	Items []URLFetchItem
}

// URLFetchItem is one URL with RFC 5524's parameters; Extended is true for
// the parenthesised form, which is answered in the extended form.
type URLFetchItem struct {
	URL               string
	Extended          bool
	BodyPartStructure bool
	Binary            bool
	Body              bool
}

// urlauthArgs reads the arguments of GENURLAUTH, RESETKEY and URLFETCH.
func (p *Parser) urlauthArgs(cmd *Command) bool {
	switch cmd.Name {
	case "GENURLAUTH":
		a := &GenURLAuthArgs{}
		cmd.Args = a
		for {
			var it GenURLAuthItem
			if !p.sp() || !p.astring(&it.Rump, "URL") || !p.sp() || !p.mechanism(&it.Mechanism) {
				return false
			}
			a.Items = append(a.Items, it)
			if p.eol() {
				return p.end()
			}
		}
	case "RESETKEY":
		a := &ResetKeyArgs{}
		cmd.Args = a
		if p.eol() {
			return p.end()
		}
		if !p.sp() || !p.mailbox(&a.Mailbox, &a.MailboxErr) {
			return false
		}
		for !p.eol() {
			var m string
			if !p.sp() || !p.mechanism(&m) {
				return false
			}
			a.Mechanisms = append(a.Mechanisms, m)
		}
		return p.end()
	case "URLFETCH":
		a := &URLFetchArgs{}
		cmd.Args = a
		for {
			var it URLFetchItem
			if !p.sp() || !p.urlFetchParam(&it) {
				return false
			}
			a.Items = append(a.Items, it)
			if p.eol() {
				return p.end()
			}
		}
	}
	return p.bad("Unrecognized command")
}

// urlFetchParam: url / "(" url 1*(SP url-fetch-arg) ")" with url-fetch-arg
// = "BODYPARTSTRUCTURE" / "BINARY" / "BODY"; BINARY and BODY exclude each
// other (RFC 5524 section 4).
func (p *Parser) urlFetchParam(it *URLFetchItem) bool {
	if !p.peekIs('(') {
		return p.astring(&it.URL, "URL")
	}
	p.pos++
	it.Extended = true
	if !p.astring(&it.URL, "URL") {
		return false
	}
	for !p.peekIs(')') {
		var arg string
		if !p.sp() || !p.atom(&arg, "URLFETCH parameter") {
			return false
		}
		var dst *bool
		switch strings.ToUpper(arg) {
		case "BODYPARTSTRUCTURE":
			dst = &it.BodyPartStructure
		case "BINARY":
			dst = &it.Binary
		case "BODY":
			dst = &it.Body
		default:
			return p.bad("Invalid URLFETCH parameter " + arg)
		}
		if *dst {
			return p.bad("Repeated URLFETCH parameter " + arg)
		}
		*dst = true
	}
	p.pos++
	if !it.BodyPartStructure && !it.Binary && !it.Body {
		return p.bad("Missing URLFETCH parameter")
	}
	if it.Binary && it.Body {
		return p.bad("URLFETCH BINARY and BODY exclude each other")
	}
	return true
}

// mechanism: "INTERNAL" / 1*(ALPHA / DIGIT / "-" / ".") (RFC 4467 section
// 9), upper-cased.
func (p *Parser) mechanism(dst *string) bool {
	var m string
	if !p.atom(&m, "mechanism") {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !(isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '.') {
			return p.bad("Invalid mechanism")
		}
	}
	*dst = strings.ToUpper(m)
	return true
}

// ParseSection parses the section-text of an IMAP URL's ;SECTION= (RFC
// 5092: what goes between FETCH's brackets) as FETCH's BODY[...] does.
func ParseSection(text string) (message.Section, bool) {
	var s message.Section
	if text == "" {
		return s, true
	}
	p := &Parser{line: []byte("[" + text + "]"), lim: DefaultLimits()}
	if !p.section(&s) || !p.eol() {
		return message.Section{}, false
	}
	return s, true
}
