package grammar

import (
	"github.com/imapd-go/imapd/domain/search"
)

// partialRange: partial-range-first / partial-range-last, with
// partial-range-first = nz-number ":" nz-number and partial-range-last =
// MINUS nz-number ":" MINUS nz-number (RFC 9394 section 4). Unlike a
// seq-range it has no "*", and both ends carry the same sign. The ends may
// come in either order.
func (p *Parser) partialRange(r *search.PartialRange) bool {
	if p.err != nil {
		return false
	}
	neg := p.peekIs('-')
	var a, b uint32
	if neg {
		p.pos++
	}
	if !p.partialEnd(&a) || !p.expect(':', "Invalid PARTIAL range") {
		return false
	}
	if p.peekIs('-') != neg {
		return p.bad("PARTIAL range ends must have the same sign")
	}
	if neg {
		p.pos++
	}
	if !p.partialEnd(&b) {
		return false
	}
	*r = search.PartialRange{Lo: min(a, b), Hi: max(a, b), FromEnd: neg}
	return true
}

// partialEnd reads one end of a partial range: an nz-number.
func (p *Parser) partialEnd(n *uint32) bool {
	if !isDigit(p.peek()) {
		return p.bad("Invalid PARTIAL range")
	}
	return p.nzNumber(n, "PARTIAL range end")
}

// checkReturn applies the rules between search return options once all
// are read: "RETURN ()" means RETURN (ALL) (RFC 4731 section 3.1), and so
// does a list with only the CONTEXT hint, which asks for nothing (RFC 5267
// section 4.2); PARTIAL and ALL exclude each other (RFC 9394 section 3.1:
// "either one PARTIAL, one ALL, or neither").
func (p *Parser) checkReturn(a *SearchArgs) bool {
	if a.Partial != nil && hasOpt(a.Return, "ALL") {
		return p.bad("PARTIAL and ALL cannot be used together")
	}
	for _, o := range a.Return {
		if o != "CONTEXT" {
			return true
		}
	}
	a.Return = append(a.Return, "ALL")
	return true
}

// CancelUpdateArgs: CANCELUPDATE 1*(SP quoted) (RFC 5267 section 4.3.5):
// the tags of the searching commands whose updates stop.
type CancelUpdateArgs struct{ Tags []string }

// cancelUpdate reads CANCELUPDATE's arguments: one or more quoted strings.
func (p *Parser) cancelUpdate(a *CancelUpdateArgs) bool {
	for {
		if !p.sp() {
			return false
		}
		if !p.peekIs('"') {
			return p.bad("CANCELUPDATE takes quoted tags")
		}
		var tag string
		if !p.quoted(&tag) {
			return false
		}
		a.Tags = append(a.Tags, tag)
		if p.eol() {
			return p.end()
		}
	}
}
