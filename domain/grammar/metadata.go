package grammar

import (
	"strings"

	"github.com/imapd-go/imapd/domain/imap"
)

// DepthInfinity is GETMETADATA's DEPTH infinity.
const DepthInfinity = -1

// GetMetadataArgs: GETMETADATA [options] mailbox entries (RFC 5464
// section 4.2). Mailbox "" is the server. MaxSize is -1 without MAXSIZE;
// Depth is 0, 1 or DepthInfinity (0 without DEPTH). Entries are folded
// to lower case and checked (imap.MetadataEntryName, the roots /private
// and /shared allowed). As Cyrus does, and as cyradm's getmetadata needs,
// an entry may end in "/*" (every entry under it) or "/%" (the entries
// one level under it); Wildcard then holds "*" or "%" at its index and
// the entry is the part before the "/".
type GetMetadataArgs struct {
	Mailbox    string
	MailboxErr error // see "Mailbox names" in ast.go
	MaxSize    int64
	Depth      int
	Entries    []string
	Wildcard   []string // pairwise with Entries: "", "*" or "%"
}

// MetadataValue is one entry-value of SETMETADATA: Value is nil for NIL
// (remove the entry), else the bytes sent (a literal8 may hold NUL).
type MetadataValue struct {
	Entry string
	Value []byte
}

// SetMetadataArgs: SETMETADATA mailbox (entry value ...) (RFC 5464
// section 4.3). Mailbox "" is the server. Entries are checked and folded
// as imap.MetadataEntryName says (no bare roots).
type SetMetadataArgs struct {
	Mailbox    string
	MailboxErr error // see "Mailbox names" in ast.go
	Entries    []MetadataValue
}

// getMetadata reads GETMETADATA's arguments (RFC 5464 section 5):
//
//	getmetadata = "GETMETADATA" [SP getmetadata-options] SP mailbox SP entries
//	getmetadata-options = "(" getmetadata-option *(SP getmetadata-option) ")"
//	getmetadata-option  = maxsize-opt / scope-opt
//	maxsize-opt = "MAXSIZE" SP number
//	scope-opt   = "DEPTH" SP ("0" / "1" / "infinity")
//	entries     = entry / "(" entry *(SP entry) ")"
func (p *Parser) getMetadata(a *GetMetadataArgs) bool {
	a.MaxSize = -1
	if !p.sp() {
		return false
	}
	seenOptions := p.peekIs('(')
	if seenOptions {
		if !p.metadataOptions(a) || !p.sp() {
			return false
		}
	}
	if !p.mailbox(&a.Mailbox, &a.MailboxErr) || !p.sp() {
		return false
	}
	// RFC 5464's examples (4.2.1, 4.2.2) put the options after the
	// mailbox, against its ABNF; clients follow either, and Cyrus takes
	// both. An entry starts with "/" or a quote, an option with a letter.
	if p.pos+1 < len(p.line) && p.line[p.pos] == '(' && isLetter(p.line[p.pos+1]) && !seenOptions {
		if !p.metadataOptions(a) || !p.sp() {
			return false
		}
	}
	return p.metadataEntries(a) && p.end()
}

// metadataEntries reads entries = entry / "(" entry *(SP entry) ")"
// into a.Entries and a.Wildcard.
func (p *Parser) metadataEntries(a *GetMetadataArgs) bool {
	if !p.peekIs('(') {
		return p.metadataEntry(a)
	}
	p.pos++
	return p.metadataEntryList(a)
}

// metadataEntryList reads entry *(SP entry) ")".
func (p *Parser) metadataEntryList(a *GetMetadataArgs) bool {
	for {
		if !p.metadataEntry(a) {
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

// metadataEntry reads one entry of GETMETADATA (roots and Cyrus's
// trailing wildcards allowed).
func (p *Parser) metadataEntry(a *GetMetadataArgs) bool {
	var e, wild string
	if !p.entry(&e) {
		return false
	}
	if n := len(e); n > 2 && e[n-2] == '/' && (e[n-1] == '*' || e[n-1] == '%') {
		e, wild = e[:n-2], e[n-1:]
	}
	name, err := imap.MetadataEntryName(e, true)
	if err != nil {
		return p.bad(err.Error())
	}
	a.Entries = append(a.Entries, name)
	a.Wildcard = append(a.Wildcard, wild)
	return true
}

// listMetadata reads LIST's METADATA return option after "METADATA" SP
// (RFC 9590), in the form Cyrus takes: entries, or a parenthesised list
// whose GETMETADATA options (MAXSIZE, DEPTH) come before its entries:
//
//	"(" *(getmetadata-option SP) entry *(SP entry) ")" / entry
func (p *Parser) listMetadata(a *GetMetadataArgs) bool {
	a.MaxSize = -1
	if !p.peekIs('(') {
		return p.metadataEntries(a)
	}
	p.pos++
	seen := map[string]bool{}
	for p.pos < len(p.line) && isLetter(p.line[p.pos]) {
		opt, ok := p.metadataOptionName(seen, "METADATA option")
		if !ok || !p.sp() || !p.metadataOption(a, opt) || !p.sp() {
			return false
		}
	}
	return p.metadataEntryList(a)
}

// metadataOptions reads getmetadata-options; each option at most once.
func (p *Parser) metadataOptions(a *GetMetadataArgs) bool {
	p.pos++ // "("
	seen := map[string]bool{}
	for {
		opt, ok := p.metadataOptionName(seen, "GETMETADATA option")
		if !ok || !p.sp() || !p.metadataOption(a, opt) {
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

// metadataOptionName reads an option's name (what names it in errors),
// upper-cased: MAXSIZE or DEPTH, each at most once (seen).
func (p *Parser) metadataOptionName(seen map[string]bool, what string) (string, bool) {
	var opt string
	if !p.atom(&opt, what) {
		return "", false
	}
	opt = strings.ToUpper(opt)
	if seen[opt] {
		return "", p.bad("Duplicate " + what + " " + opt)
	}
	seen[opt] = true
	if opt != "MAXSIZE" && opt != "DEPTH" {
		return "", p.bad("Unknown " + what + " " + opt)
	}
	return opt, true
}

// metadataOption reads the value of the option opt (upper case):
// maxsize-opt = "MAXSIZE" SP number, scope-opt = "DEPTH" SP ("0" / "1" /
// "infinity"); other options are BAD.
func (p *Parser) metadataOption(a *GetMetadataArgs, opt string) bool {
	switch opt {
	case "MAXSIZE":
		var n uint32
		if !p.number(&n) {
			return false
		}
		a.MaxSize = int64(n)
	case "DEPTH":
		var d string
		if !p.atom(&d, "DEPTH") {
			return false
		}
		switch strings.ToLower(d) {
		case "0":
			a.Depth = 0
		case "1":
			a.Depth = 1
		case "infinity":
			a.Depth = DepthInfinity
		default:
			return p.bad("DEPTH must be 0, 1 or infinity")
		}
	default:
		return p.bad("Unknown GETMETADATA option " + opt)
	}
	return true
}

// setMetadata reads SETMETADATA's arguments (RFC 5464 section 5):
//
//	setmetadata = "SETMETADATA" SP mailbox SP "(" entry-value *(SP entry-value) ")"
//	entry-value = entry SP value
//	value       = nstring / literal8
func (p *Parser) setMetadata(a *SetMetadataArgs) bool {
	if !p.sp() || !p.mailbox(&a.Mailbox, &a.MailboxErr) || !p.sp() || !p.expect('(', "Missing ( before entries") {
		return false
	}
	for {
		var e string
		if !p.entry(&e) {
			return false
		}
		name, err := imap.MetadataEntryName(e, false)
		if err != nil {
			return p.bad(err.Error())
		}
		v := MetadataValue{Entry: name}
		if !p.sp() || !p.metadataValue(&v.Value) {
			return false
		}
		a.Entries = append(a.Entries, v)
		if p.peekIs(')') {
			p.pos++
			return p.end()
		}
		if !p.sp() {
			return false
		}
	}
}

// entry reads entry = astring; a bare one is read as far as list-chars
// go, so that a wildcard in it is refused for what it is
// (imap.MetadataEntryName), not as a missing space.
func (p *Parser) entry(dst *string) bool { return p.stringOr(dst, "entry", isListChar) }

// metadataValue reads value = nstring / literal8; NIL leaves *dst nil,
// anything else makes it non-nil (an empty string too).
func (p *Parser) metadataValue(dst *[]byte) bool {
	if p.err != nil {
		return false
	}
	switch p.peek() {
	case '~':
		// RFC 3516 literal8: any bytes, NUL included.
		p.pos++
		if !p.peekIs('{') {
			return p.bad("Missing literal8")
		}
		if !p.literalData(dst, true) {
			return false
		}
	case '{':
		if !p.literalData(dst, false) {
			return false
		}
	default:
		var s string
		var isNil bool
		if !p.nstring(&s, &isNil, "value") {
			return false
		}
		if isNil {
			*dst = nil
			return true
		}
		*dst = []byte(s)
	}
	if *dst == nil {
		*dst = []byte{}
	}
	return true
}

// SpecialUseAttr returns the canonical spelling of an RFC 6154
// special-use attribute (`\sent` -> `\Sent`); ok is false for one
// it does not define.
func SpecialUseAttr(s string) (string, bool) {
	for _, a := range specialUse {
		if strings.EqualFold(a, s) {
			return a, true
		}
	}
	return "", false
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
