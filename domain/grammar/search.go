package grammar

import (
	"strings"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/search"
)

// searchArgs: SEARCH [SP "RETURN" SP "(" [search-return-opt *(SP
// search-return-opt)] ")"] [SP "CHARSET" SP astring] 1*(SP search-key)
// (RFC 4731 section 3.1).
func (p *Parser) searchArgs(a *SearchArgs) bool {
	if !p.sp() {
		return false
	}
	save := p.pos
	if strings.EqualFold(p.word(imap.IsAtomChar), "RETURN") && p.peekIs(' ') {
		if !p.sp() || !p.searchReturn(a) || !p.sp() {
			return false
		}
		save = p.pos
	} else {
		p.pos = save
	}
	if strings.EqualFold(p.word(imap.IsAtomChar), "CHARSET") && p.peekIs(' ') {
		var cs string
		if !p.sp() || !p.astring(&cs, "charset") {
			return false
		}
		a.Charset = strings.ToUpper(cs)
		if a.Charset != "UTF-8" && a.Charset != "US-ASCII" {
			p.err = &Error{Status: "NO", Code: "BADCHARSET (UTF-8 US-ASCII)", Text: "Unsupported charset"}
			return false
		}
		if !p.sp() {
			return false
		}
	} else {
		p.pos = save
	}
	a.Criteria = search.Key{Op: search.OpAnd}
	for {
		var k search.Key
		if !p.searchKey(&k, 0) {
			return false
		}
		a.Criteria.Sub = append(a.Criteria.Sub, k)
		if p.eol() {
			return p.end()
		}
		if !p.sp() {
			return false
		}
	}
}

// Search keys without arguments.
var simpleKeys = map[string]search.Key{
	"ALL":        {Op: search.OpAll},
	"ANSWERED":   {Op: search.OpFlag, Value: imap.FlagAnswered},
	"DELETED":    {Op: search.OpFlag, Value: imap.FlagDeleted},
	"DRAFT":      {Op: search.OpFlag, Value: imap.FlagDraft},
	"FLAGGED":    {Op: search.OpFlag, Value: imap.FlagFlagged},
	"SEEN":       {Op: search.OpFlag, Value: imap.FlagSeen},
	"RECENT":     {Op: search.OpFlag, Value: imap.FlagRecent},
	"UNANSWERED": {Op: search.OpNoFlag, Value: imap.FlagAnswered},
	"UNDELETED":  {Op: search.OpNoFlag, Value: imap.FlagDeleted},
	"UNDRAFT":    {Op: search.OpNoFlag, Value: imap.FlagDraft},
	"UNFLAGGED":  {Op: search.OpNoFlag, Value: imap.FlagFlagged},
	"UNSEEN":     {Op: search.OpNoFlag, Value: imap.FlagSeen},
	"NEW":        {Op: search.OpNew},
	"OLD":        {Op: search.OpOld},
	// RFC 8514
	"SAVEDATESUPPORTED": {Op: search.OpSaveDateSupported},
}

// Search keys taking a date.
var dateKeys = map[string]search.Op{
	"BEFORE": search.OpBefore, "ON": search.OpOn, "SINCE": search.OpSince,
	"SENTBEFORE": search.OpSentBefore, "SENTON": search.OpSentOn, "SENTSINCE": search.OpSentSince,
	// RFC 8514
	"SAVEDBEFORE": search.OpSavedBefore, "SAVEDON": search.OpSavedOn, "SAVEDSINCE": search.OpSavedSince,
}

// Search keys on one header field, with the field's usual spelling.
var headerKeys = map[string]string{
	"BCC": "Bcc", "CC": "Cc", "FROM": "From", "SUBJECT": "Subject", "TO": "To",
}

// searchKey reads one search-key (RFC 3501 section 9).
func (p *Parser) searchKey(k *search.Key, depth int) bool {
	if p.err != nil {
		return false
	}
	if depth > maxNesting {
		return p.bad("Search keys nested too deeply")
	}
	c := p.peek()
	switch {
	case c == '(':
		p.pos++
		k.Op = search.OpAnd
		for {
			var sub search.Key
			if !p.searchKey(&sub, depth+1) {
				return false
			}
			k.Sub = append(k.Sub, sub)
			if p.peekIs(')') {
				p.pos++
				return true
			}
			if !p.sp() {
				return false
			}
		}
	case c == '*' || isDigit(c):
		k.Op = search.OpSeqSet
		return p.seqSet(&k.Set)
	case c == '$':
		// RFC 5182 section 2.1: "$" is the saved result.
		p.pos++
		k.Op = search.OpSaved
		return true
	}
	var name string
	if !p.atom(&name, "search key") {
		return false
	}
	name = strings.ToUpper(name)
	if sk, ok := simpleKeys[name]; ok {
		*k = sk
		return true
	}
	if op, ok := objectIDKeys[name]; ok {
		k.Op = op
		return p.sp() && p.objectID(&k.Value)
	}
	if op, ok := dateKeys[name]; ok {
		k.Op = op
		return p.sp() && p.searchDate(&k.Date)
	}
	if field, ok := headerKeys[name]; ok {
		k.Op, k.Field = search.OpHeader, field
		return p.sp() && p.astring(&k.Value, "search string")
	}
	switch name {
	case "BODY", "TEXT":
		k.Op = search.OpBody
		if name == "TEXT" {
			k.Op = search.OpText
		}
		return p.sp() && p.astring(&k.Value, "search string")
	case "HEADER":
		k.Op = search.OpHeader
		if !p.sp() || !p.astring(&k.Field, "header field name") || !p.sp() || !p.astring(&k.Value, "search string") {
			return false
		}
		if !validFieldName(k.Field) {
			return p.bad("Invalid header field name")
		}
		return true
	case "KEYWORD", "UNKEYWORD":
		k.Op = search.OpFlag
		if name == "UNKEYWORD" {
			k.Op = search.OpNoFlag
		}
		return p.sp() && p.atom(&k.Value, "keyword")
	case "LARGER", "SMALLER":
		k.Op = search.OpLarger
		if name == "SMALLER" {
			k.Op = search.OpSmaller
		}
		return p.sp() && p.number64(&k.Size)
	case "UID":
		k.Op = search.OpUID
		if !p.sp() {
			return false
		}
		if p.peekIs('$') {
			p.pos++
			k.Op = search.OpSaved
			return true
		}
		return p.seqSet(&k.Set)
	case "MODSEQ":
		k.Op = search.OpModSeq
		return p.sp() && p.searchModSeq(k)
	case "OLDER", "YOUNGER":
		// RFC 5032: interval = nz-number, in seconds.
		k.Op = search.OpOlder
		if name == "YOUNGER" {
			k.Op = search.OpYounger
		}
		var n uint32
		if !p.sp() || !p.nzNumber(&n, "interval") {
			return false
		}
		k.Size = int64(n)
		return true
	case "NOT":
		k.Op = search.OpNot
		k.Sub = make([]search.Key, 1)
		return p.sp() && p.searchKey(&k.Sub[0], depth+1)
	case "OR":
		k.Op = search.OpOr
		k.Sub = make([]search.Key, 2)
		return p.sp() && p.searchKey(&k.Sub[0], depth+1) && p.sp() && p.searchKey(&k.Sub[1], depth+1)
	}
	return p.bad("Invalid search key " + name)
}

// searchDate: date-text / DQUOTE date-text DQUOTE.
func (p *Parser) searchDate(dst *time.Time) bool {
	var s string
	if p.peekIs('"') {
		if !p.quoted(&s) {
			return false
		}
	} else if !p.atom(&s, "date") {
		return false
	}
	d, ok := parseDate(s)
	if !ok {
		return p.bad("Invalid date")
	}
	*dst = d
	return true
}

// searchModSeq reads what follows MODSEQ SP: [entry-name SP entry-type-req
// SP] mod-sequence-valzer, with entry-name = DQUOTE "/flags/" attr-flag
// DQUOTE and entry-type-req = "priv" / "shared" / "all" (RFC 7162 section
// 3.1.5).
func (p *Parser) searchModSeq(k *search.Key) bool {
	if p.peekIs('"') {
		var entry, typ string
		if !p.quoted(&entry) || !p.sp() || !p.atom(&typ, "entry type") || !p.sp() {
			return false
		}
		flag, ok := strings.CutPrefix(strings.ToLower(entry), "/flags/")
		if !ok || flag == "" {
			return p.bad("Invalid MODSEQ entry name")
		}
		flag = entry[len("/flags/"):]
		if flag[0] == '\\' {
			if !imap.IsAtom(flag[1:]) {
				return p.bad("Invalid MODSEQ entry name")
			}
			flag = imap.CanonicalFlag(flag)
		} else if !imap.IsAtom(flag) {
			return p.bad("Invalid MODSEQ entry name")
		}
		typ = strings.ToLower(typ)
		if typ != "priv" && typ != "shared" && typ != "all" {
			return p.bad("Invalid MODSEQ entry type")
		}
		k.Field, k.Value = flag, typ
	}
	return p.modSeq(&k.ModSeq, true)
}
