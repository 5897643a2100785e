package grammar

import (
	"strings"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/search"
)

// Search keys taking an objectid (RFC 8474 section 6):
// search-key =/ "EMAILID" SP objectid / "THREADID" SP objectid.
var objectIDKeys = map[string]search.Op{
	"EMAILID": search.OpEmailID, "THREADID": search.OpThreadID,
}

func isObjectIDChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || isDigit(c) || c == '_' || c == '-'
}

// objectID reads objectid = 1*255(ALPHA / DIGIT / "_" / "-") (RFC 8474
// section 7).
func (p *Parser) objectID(dst *string) bool {
	if p.err != nil {
		return false
	}
	id := p.word(isObjectIDChar)
	if !imap.IsObjectID(id) {
		if id == "" {
			return p.bad("Missing object id")
		}
		return p.bad("Object id longer than 255 characters")
	}
	*dst = id
	return true
}

// previewAtt reads what follows "PREVIEW" in a fetch-att (RFC 8970
// section 6): [SP "(" preview-mod *(SP preview-mod) ")"], preview-mod =
// "LAZY".
func (p *Parser) previewAtt(dst *[]FetchItem) bool {
	it := FetchItem{Name: "PREVIEW"}
	if p.peekIs(' ') && p.pos+1 < len(p.line) && p.line[p.pos+1] == '(' {
		p.pos += 2
		for {
			mod := strings.ToUpper(p.word(isAttChar))
			switch mod {
			case "LAZY":
				it.Lazy = true
			case "":
				return p.bad("Missing PREVIEW modifier")
			default:
				return p.bad("Unknown PREVIEW modifier " + mod)
			}
			if p.peekIs(')') {
				p.pos++
				break
			}
			if !p.sp() {
				return false
			}
		}
	}
	*dst = append(*dst, it)
	return true
}
