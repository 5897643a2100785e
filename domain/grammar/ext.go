package grammar

import (
	"io"
	"strings"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/search"
)

// EnableArgs: ENABLE capability... (RFC 5161). Caps are upper-case.
type EnableArgs struct{ Caps []string }

// IDArgs: ID (RFC 2971). Params maps field names (lower-case, as fields are
// case-insensitive) to values; a NIL value is stored as "". Nil is true for
// "ID NIL".
type IDArgs struct {
	Params map[string]string
	Nil    bool
}

// RFC 2971 section 3.3 bounds an ID parameter list.
const (
	maxIDPairs    = 30
	maxIDField    = 30
	maxIDValueLen = 1024
)

// QResyncParams is SELECT/EXAMINE's QRESYNC parameter (RFC 7162 section
// 3.2.5): "QRESYNC (uidvalidity modseq [known-uids] [seq-match-data])".
// UIDValidity and ModSeq are at least 1. KnownUIDs is nil when absent;
// neither it nor SeqMatch's sets contain "*" (the parser refuses it).
type QResyncParams struct {
	UIDValidity uint32
	ModSeq      uint64
	KnownUIDs   imap.NumSet
	SeqMatch    *SeqMatch
}

// SeqMatch is QRESYNC's seq-match-data: message sequence numbers and the
// UIDs the client believes they have, pairwise in order (RFC 7162 section
// 3.2.5.2). The parser does not check that both sets have the same size;
// the handler uses the longest matching prefix.
type SeqMatch struct {
	Seqs, UIDs imap.NumSet
}

// AppendMessage is one more message of a MULTIAPPEND command (RFC 3502),
// returned by Parser.NextAppend. Its fields mean what AppendArgs' do: Body
// streams exactly Size bytes and must be read (or Parser.DiscardLiteral
// called) before the next NextAppend. Binary is true for a literal8 or the
// "UTF8 (~{n})" form.
type AppendMessage struct {
	Flags   []string
	Date    time.Time
	HasDate bool
	Size    int64
	Body    io.Reader
	Binary  bool
	// Catenate is true for RFC 4469's CATENATE form: Size and Body are
	// unset and the handler reads the parts with NextCatPart.
	Catenate bool
}

// Canonical SPECIAL-USE attributes (RFC 6154 section 2).
var specialUse = []string{`\All`, `\Archive`, `\Drafts`, `\Flagged`, `\Junk`, `\Sent`, `\Trash`}

// maxModSeq is the largest mod-sequence (RFC 7162 section 7:
// mod-sequence-value is a positive 63-bit number).
const maxModSeq = 1<<63 - 1

// NextAppend reads the next message of a MULTIAPPEND command (RFC 3502),
// once the handler has read the previous message's Body (what is left of it
// is dropped). It returns nil, nil when the command line ends there (its
// CRLF is then read and the input is at the next command). A message after
// the first is read exactly as the first: its synchronizing literal is
// continued, and an oversized one is refused with NO [TOOBIG] before the
// client sends it. Errors are those of Next; after one the command is over.
// Outside an APPEND it returns nil, nil.
func (p *Parser) NextAppend() (*AppendMessage, error) {
	if !p.inAppend && !p.appendMid {
		return nil, nil
	}
	if p.inCat {
		err := p.DiscardCommand()
		if err == nil {
			err = &Error{Tag: p.errTag(), Status: "BAD", Text: "Unfinished CATENATE"}
		}
		return nil, err
	}
	if p.appendMid {
		p.appendMid = false
		p.err = nil
		p.ended = false
	} else {
		if err := p.DiscardLiteral(); err != nil {
			p.inAppend, p.appendClose = false, false
			return nil, err
		}
		p.inAppend = false
		p.err = nil
		p.ended = false
		if !p.readLine(false) || !p.closeAppendData() {
			return nil, p.finish()
		}
	}
	if p.eol() {
		p.ended = true
		return nil, nil
	}
	m := &AppendMessage{}
	if !p.sp() || !p.appendMessage(m) {
		return nil, p.finish()
	}
	return m, nil
}

// DiscardCommand drops the rest of an APPEND command that the handler
// refuses (say after its second message): what is left of the current
// message and every message after it. A further synchronizing literal is
// not continued, so the client stops there and waits for the tagged
// answer; a non-synchronizing one is on the wire already and is read and
// dropped (RFC 7888 section 4) when it is within MaxAppend, else the error
// wraps ErrFatal. Outside an APPEND it does nothing.
func (p *Parser) DiscardCommand() error {
	if !p.inAppend && !p.appendMid {
		return nil
	}
	mid := p.appendMid
	var err error
	if !mid {
		err = p.DiscardLiteral()
	}
	p.abortAppend()
	p.ended = true
	if err != nil {
		return err
	}
	for n := 0; ; n++ {
		var line []byte
		if mid {
			// The rest of the current line is unread: it may announce
			// a literal.
			line, mid = p.line[p.pos:], false
		} else {
			var tooLong bool
			var tail []byte
			line, tooLong, tail, err = p.readRaw(p.lim.MaxLine)
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
			if tooLong {
				line = tail
			}
		}
		size, sync, ok := trailingLiteral(line)
		if !ok || sync {
			return nil
		}
		if size > p.lim.MaxAppend || n >= p.lim.MaxLiterals {
			return &fatalError{"Literal too big"}
		}
		if _, err := io.CopyN(io.Discard, p.r, size); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
}

// seqSetOrSaved reads a sequence-set or "$", the saved search result
// (RFC 5182 seq-last-command), which stands alone: it is never part of a
// list or a range.
func (p *Parser) seqSetOrSaved(dst *imap.NumSet, saved *bool) bool {
	if p.err != nil {
		return false
	}
	if p.peekIs('$') {
		p.pos++
		*saved = true
		return true
	}
	return p.seqSet(dst)
}

// fixedSeqSet reads a sequence-set in which "*" is not allowed (RFC 7162's
// known-uids and seq-match-data).
func (p *Parser) fixedSeqSet(dst *imap.NumSet) bool {
	if !p.seqSet(dst) {
		return false
	}
	if dst.Dynamic() {
		return p.bad(`"*" is not allowed here`)
	}
	return true
}

// modSeq reads a mod-sequence-value (1 to 2^63-1), or with zero a
// mod-sequence-valzer, which may also be 0 (RFC 7162 section 7).
func (p *Parser) modSeq(dst *uint64, zero bool) bool {
	var n int64
	if !p.number64(&n) {
		return false
	}
	if n == 0 && !zero {
		return p.bad("Invalid mod-sequence 0")
	}
	*dst = uint64(n)
	return true
}

// nzNumber reads a 32-bit number that must not be 0.
func (p *Parser) nzNumber(dst *uint32, what string) bool {
	if !p.number(dst) {
		return false
	}
	if *dst == 0 {
		return p.bad("Invalid " + what + " 0")
	}
	return true
}

// optionList reads "(" [atom *(SP atom)] ")" and hands each atom,
// upper-cased, to each; empty says whether "()" is allowed.
func (p *Parser) optionList(what string, empty bool, each func(string) bool) bool {
	if !p.expect('(', "Missing "+what+" list") {
		return false
	}
	if p.peekIs(')') {
		if !empty {
			return p.bad("Empty " + what + " list")
		}
		p.pos++
		return true
	}
	for {
		var o string
		if !p.atom(&o, what) || !each(strings.ToUpper(o)) {
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

// addOnce appends s to *list unless it is there already.
func addOnce(list *[]string, s string) {
	for _, x := range *list {
		if x == s {
			return
		}
	}
	*list = append(*list, s)
}

// selectParams: "(" select-param *(SP select-param) ")", with select-param
// = "CONDSTORE" / "QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP
// known-uids] [SP seq-match-data] ")" (RFC 7162 sections 3.1.8, 3.2.5).
func (p *Parser) selectParams(a *MailboxArgs) bool {
	return p.optionList("select parameter", false, func(o string) bool {
		switch o {
		case "CONDSTORE":
			a.Condstore = true
			return true
		case "QRESYNC":
			if a.QResync != nil {
				return p.bad("QRESYNC given twice")
			}
			a.QResync = &QResyncParams{}
			return p.sp() && p.qresync(a.QResync)
		}
		return p.bad("Unknown select parameter " + o)
	})
}

func (p *Parser) qresync(q *QResyncParams) bool {
	if !p.expect('(', "Missing QRESYNC parameters") || !p.nzNumber(&q.UIDValidity, "UIDVALIDITY") ||
		!p.sp() || !p.modSeq(&q.ModSeq, false) {
		return false
	}
	if p.peekIs(' ') {
		p.pos++
		if !p.peekIs('(') && !p.fixedSeqSet(&q.KnownUIDs) {
			return false
		}
		if q.KnownUIDs != nil && p.peekIs(' ') {
			p.pos++
			if !p.peekIs('(') {
				return p.bad("Invalid QRESYNC parameters")
			}
		}
		if p.peekIs('(') {
			p.pos++
			q.SeqMatch = &SeqMatch{}
			if !p.fixedSeqSet(&q.SeqMatch.Seqs) || !p.sp() || !p.fixedSeqSet(&q.SeqMatch.UIDs) ||
				!p.expect(')', "Invalid QRESYNC sequence match data") {
				return false
			}
		}
	}
	return p.expect(')', "Invalid QRESYNC parameters")
}

// createParams: "(" create-param *(SP create-param) ")", with create-param
// = "USE" SP "(" [use-attr *(SP use-attr)] ")" (RFC 6154 section 6). An
// unknown attribute is a refusal (NO [USEATTR], section 5.2), not a syntax
// error, so the whole list is read first.
func (p *Parser) createParams(a *MailboxArgs) bool {
	var unknown string
	ok := p.optionList("CREATE parameter", false, func(o string) bool {
		if o != "USE" {
			return p.bad("Unknown CREATE parameter " + o)
		}
		if !p.sp() || !p.expect('(', "Missing USE attribute list") {
			return false
		}
		if a.SpecialUse == nil {
			a.SpecialUse = []string{}
		}
		if p.peekIs(')') {
			p.pos++
			return true
		}
		for {
			var attr string
			if !p.expect('\\', "Invalid USE attribute") || !p.atom(&attr, "USE attribute") {
				return false
			}
			known := false
			for _, u := range specialUse {
				if strings.EqualFold(u[1:], attr) {
					addOnce(&a.SpecialUse, u)
					known = true
				}
			}
			if !known && unknown == "" {
				unknown = `\` + attr
			}
			if p.peekIs(')') {
				p.pos++
				return true
			}
			if !p.sp() {
				return false
			}
		}
	})
	if !ok {
		return false
	}
	if unknown != "" {
		p.err = &Error{Status: "NO", Code: "USEATTR", Text: "Unsupported special-use attribute " + unknown}
		return false
	}
	return true
}

// list: LIST [SP list-select-opts] SP mailbox SP mbox-or-pat [SP
// list-return-opts] (RFC 5258 section 6, with RFC 5819's STATUS and RFC
// 6154's SPECIAL-USE options).
func (p *Parser) list(a *ListArgs) bool {
	if !p.sp() {
		return false
	}
	if p.peekIs('(') {
		a.Extended = true
		a.Select = []string{}
		if !p.optionList("selection option", true, func(o string) bool {
			switch o {
			case "SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE":
				addOnce(&a.Select, o)
				return true
			}
			return p.bad("Unknown LIST selection option " + o)
		}) || !p.sp() {
			return false
		}
		// RFC 5258 section 3.1: RECURSIVEMATCH only modifies another
		// (base) selection option and is BAD on its own or with REMOTE.
		if hasOpt(a.Select, "RECURSIVEMATCH") && !hasOpt(a.Select, "SUBSCRIBED") && !hasOpt(a.Select, "SPECIAL-USE") {
			return p.bad("RECURSIVEMATCH needs another selection option")
		}
	}
	if !p.listReference(&a.Reference, &a.ReferenceErr) || !p.sp() {
		return false
	}
	var errs []error
	if p.peekIs('(') {
		a.Extended = true
		p.pos++
		for {
			var pat string
			var err error
			if !p.listPattern(&pat, &err) {
				return false
			}
			a.Patterns = append(a.Patterns, pat)
			errs = append(errs, err)
			if p.peekIs(')') {
				p.pos++
				break
			}
			if !p.sp() {
				return false
			}
		}
	} else {
		var pat string
		var err error
		if !p.listPattern(&pat, &err) {
			return false
		}
		a.Patterns = []string{pat}
		errs = []error{err}
	}
	a.Pattern = a.Patterns[0]
	for _, err := range errs {
		if err != nil {
			a.PatternErrs = errs
		}
	}
	if p.eol() {
		return p.end()
	}
	var ret string
	if !p.sp() || !p.atom(&ret, "RETURN") {
		return false
	}
	if !strings.EqualFold(ret, "RETURN") {
		return p.bad("Expected RETURN")
	}
	a.Extended = true
	a.Return = []string{}
	return p.sp() && p.optionList("return option", true, func(o string) bool {
		switch o {
		case "SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "MYRIGHTS": // MYRIGHTS: RFC 8440
			addOnce(&a.Return, o)
			return true
		case "STATUS":
			if hasOpt(a.Return, o) {
				return p.bad("STATUS given twice")
			}
			a.Return = append(a.Return, o)
			return p.sp() && p.statusItems(&a.StatusItems)
		case "METADATA": // RFC 9590, metadata.go
			if a.Metadata != nil {
				return p.bad("METADATA given twice")
			}
			a.Return = append(a.Return, o)
			a.Metadata = &GetMetadataArgs{}
			return p.sp() && p.listMetadata(a.Metadata)
		}
		return p.bad("Unknown LIST return option " + o)
	}) && p.end()
}

func hasOpt(list []string, o string) bool {
	for _, x := range list {
		if x == o {
			return true
		}
	}
	return false
}

// fetchModifiers: "(" fetch-modifier *(SP fetch-modifier) ")", with
// fetch-modifier = "CHANGEDSINCE" SP mod-sequence-value / "VANISHED" (RFC
// 7162 sections 3.1.4.1 and 3.2.6).
func (p *Parser) fetchModifiers(a *FetchArgs, uid bool) bool {
	if !p.optionList("fetch modifier", false, func(o string) bool {
		switch o {
		case "CHANGEDSINCE":
			if a.ChangedSince != 0 {
				return p.bad("CHANGEDSINCE given twice")
			}
			return p.sp() && p.modSeq(&a.ChangedSince, false)
		case "VANISHED":
			a.Vanished = true
			return true
		case "PARTIAL":
			// RFC 9394 section 3.3.
			if a.Partial != nil {
				return p.bad("PARTIAL given twice")
			}
			a.Partial = new(search.PartialRange)
			return p.sp() && p.partialRange(a.Partial)
		}
		return p.bad("Unknown fetch modifier " + o)
	}) {
		return false
	}
	// RFC 7162 section 3.2.6: VANISHED only in UID FETCH, and only with
	// CHANGEDSINCE.
	if a.Vanished && (!uid || a.ChangedSince == 0) {
		return p.bad("VANISHED needs UID FETCH and CHANGEDSINCE")
	}
	return true
}

// storeModifiers: "(" store-modifier *(SP store-modifier) ")", with
// store-modifier = "UNCHANGEDSINCE" SP mod-sequence-valzer (RFC 7162
// section 3.1.3).
func (p *Parser) storeModifiers(a *StoreArgs) bool {
	return p.optionList("store modifier", false, func(o string) bool {
		if o != "UNCHANGEDSINCE" {
			return p.bad("Unknown store modifier " + o)
		}
		if a.HasUnchangedSince {
			return p.bad("UNCHANGEDSINCE given twice")
		}
		a.HasUnchangedSince = true
		return p.sp() && p.modSeq(&a.UnchangedSince, true)
	})
}

// searchReturn reads search-return-opts after "RETURN" SP: "(" [option
// *(SP option)] ")" with the options of RFC 4731 and RFC 5182's SAVE.
func (p *Parser) searchReturn(a *SearchArgs) bool {
	a.ESearch = true
	a.Return = []string{}
	if !p.optionList("search return option", true, func(o string) bool {
		switch o {
		case "MIN", "MAX", "ALL", "COUNT", "SAVE", "UPDATE", "CONTEXT":
			addOnce(&a.Return, o)
			return true
		case "PARTIAL":
			// RFC 9394 section 3.1: one PARTIAL at most.
			if a.Partial != nil {
				return p.bad("PARTIAL given twice")
			}
			a.Partial = new(search.PartialRange)
			a.Return = append(a.Return, o)
			return p.sp() && p.partialRange(a.Partial)
		}
		return p.bad("Unknown search return option " + o)
	}) {
		return false
	}
	return p.checkReturn(a)
}
