package grammar

import (
	"strings"

	"github.com/imapd-go/imapd/domain/message"
)

// Fetch macros (RFC 3501 section 6.4.5).
var fetchMacros = map[string][]string{
	"ALL":  {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"},
	"FAST": {"FLAGS", "INTERNALDATE", "RFC822.SIZE"},
	"FULL": {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"},
}

var fetchAtts = map[string]bool{
	"ENVELOPE": true, "FLAGS": true, "INTERNALDATE": true, "RFC822": true, "RFC822.HEADER": true,
	"RFC822.SIZE": true, "RFC822.TEXT": true, "BODY": true, "BODYSTRUCTURE": true, "UID": true,
	"MODSEQ":   true, // RFC 7162 section 3.1.4.1
	"SAVEDATE": true, // RFC 8514
	"EMAILID":  true, // RFC 8474 section 5
	"THREADID": true, // RFC 8474 section 5
}

func isAttChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || isDigit(c) || c == '.'
}

// fetchItems: "ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")".
func (p *Parser) fetchItems(dst *[]FetchItem) bool {
	if p.err != nil {
		return false
	}
	if !p.peekIs('(') {
		save := p.pos
		if m, ok := fetchMacros[strings.ToUpper(p.word(isAttChar))]; ok && !p.peekIs('[') {
			for _, n := range m {
				*dst = append(*dst, FetchItem{Name: n})
			}
			return true
		}
		p.pos = save
		return p.fetchAtt(dst)
	}
	p.pos++
	for {
		if !p.fetchAtt(dst) {
			return false
		}
		if p.peekIs(')') {
			p.pos++
			return true
		}
		if !p.sp() {
			return false
		}
	}
}

// fetchAtt reads one fetch-att.
func (p *Parser) fetchAtt(dst *[]FetchItem) bool {
	if p.err != nil {
		return false
	}
	name := strings.ToUpper(p.word(isAttChar))
	if name == "" {
		return p.bad("Missing fetch attribute")
	}
	if name == "BODY" || name == "BODY.PEEK" {
		if p.peekIs('[') {
			it := FetchItem{Name: "BODY[]", Peek: name == "BODY.PEEK", Section: &message.Section{}}
			if !p.section(it.Section) || !p.partial(&it.Partial) {
				return false
			}
			*dst = append(*dst, it)
			return true
		}
		if name == "BODY.PEEK" {
			return p.bad("Missing section after BODY.PEEK")
		}
	}
	switch name {
	case "PREVIEW":
		return p.previewAtt(dst)
	case "BINARY", "BINARY.PEEK", "BINARY.SIZE":
		// RFC 3516 section 4.2: "BINARY" [".PEEK"] section-binary
		// [partial] / "BINARY.SIZE" section-binary.
		if !p.peekIs('[') {
			return p.bad("Missing section after " + name)
		}
		it := FetchItem{Name: "BINARY", Peek: name == "BINARY.PEEK", Section: &message.Section{}}
		if name == "BINARY.SIZE" {
			it.Name = "BINARY.SIZE"
		}
		if !p.sectionBinary(it.Section) {
			return false
		}
		if it.Name == "BINARY" && !p.partial(&it.Partial) {
			return false
		}
		*dst = append(*dst, it)
		return true
	}
	if !fetchAtts[name] {
		return p.bad("Invalid fetch attribute " + name)
	}
	*dst = append(*dst, FetchItem{Name: name})
	return true
}

// section: "[" [section-spec] "]", where section-spec = section-msgtext /
// (section-part ["." section-text]); MIME is only valid after a part
// number (RFC 3501 section 6.4.5).
func (p *Parser) section(s *message.Section) bool {
	p.pos++ // '['
	if p.peekIs(']') {
		p.pos++
		return true
	}
	if isDigit(p.peek()) {
		for {
			var n uint32
			if p.peek() == '0' {
				return p.bad("Invalid section part 0")
			}
			if !p.number(&n) {
				return false
			}
			s.Path = append(s.Path, int(n))
			if p.peekIs('.') && p.pos+1 < len(p.line) && isDigit(p.line[p.pos+1]) {
				p.pos++
				continue
			}
			break
		}
		if p.peekIs(']') {
			p.pos++
			return true
		}
		if !p.expect('.', "Invalid section") {
			return false
		}
	}
	spec := strings.ToUpper(p.word(isAttChar))
	switch spec {
	case "HEADER", "TEXT":
	case "MIME":
		if len(s.Path) == 0 {
			return p.bad("MIME needs a part number")
		}
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		if !p.sp() || !p.headerList(&s.Fields) {
			return false
		}
	default:
		return p.bad("Invalid section")
	}
	s.Specifier = spec
	return p.expect(']', "Invalid section")
}

// headerList: "(" header-fld-name *(SP header-fld-name) ")", names upper-cased.
func (p *Parser) headerList(dst *[]string) bool {
	if !p.expect('(', "Missing header list") {
		return false
	}
	for {
		var f string
		if !p.astring(&f, "header field name") {
			return false
		}
		if !validFieldName(f) {
			return p.bad("Invalid header field name")
		}
		*dst = append(*dst, strings.ToUpper(f))
		if p.peekIs(')') {
			p.pos++
			return true
		}
		if !p.sp() {
			return false
		}
	}
}

// validFieldName reports whether f is an RFC 5322 field name (printable
// ASCII except colon), the only names a header can match.
func validFieldName(f string) bool {
	for i := 0; i < len(f); i++ {
		if f[i] <= ' ' || f[i] >= 0x7f || f[i] == ':' {
			return false
		}
	}
	return f != ""
}

// partial: ["<" number "." nz-number ">"].
func (p *Parser) partial(dst **message.Partial) bool {
	if !p.peekIs('<') {
		return true
	}
	p.pos++
	var off, n uint32
	if !p.number(&off) || !p.expect('.', "Invalid partial") || !p.number(&n) || !p.expect('>', "Invalid partial") {
		return false
	}
	if n == 0 {
		return p.bad("Invalid partial: count must not be 0")
	}
	*dst = &message.Partial{Offset: int64(off), Count: int64(n)}
	return true
}

// sectionBinary: "[" [section-part] "]" with section-part = nz-number
// *("." nz-number) (RFC 3516 section 4.2).
func (p *Parser) sectionBinary(s *message.Section) bool {
	p.pos++ // '['
	if p.peekIs(']') {
		p.pos++
		return true
	}
	for {
		var n uint32
		if !isDigit(p.peek()) || p.peek() == '0' {
			return p.bad("Invalid binary section")
		}
		if !p.number(&n) {
			return false
		}
		s.Path = append(s.Path, int(n))
		if !p.peekIs('.') {
			break
		}
		p.pos++
	}
	return p.expect(']', "Invalid binary section")
}
