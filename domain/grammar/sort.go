package grammar

import (
	"strings"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/search"
	"github.com/imapd-go/imapd/domain/sortkey"
)

// SortArgs: SORT / UID SORT (RFC 5256 section 4, RFC 5957's display
// keys). Criteria is an OpAnd key holding the top-level search keys;
// Charset is upper-case. ESort is set for the extended SORT of RFC 5267
// section 3 (ESORT), which takes RETURN options as SEARCH does (Return
// and Partial as in SearchArgs) and is answered with ESEARCH.
type SortArgs struct {
	Keys     []sortkey.Criterion
	Charset  string
	Criteria search.Key
	Return   []string
	Partial  *search.PartialRange
	ESort    bool
}

// ThreadArgs: THREAD / UID THREAD (RFC 5256 section 4). Algorithm is
// upper-case and one of sortkey.Algorithms.
type ThreadArgs struct {
	Algorithm string
	Charset   string
	Criteria  search.Key
}

// sortArgs: SORT [search-return-opts] SP sort-criteria SP search-criteria
//
//	extended-sort  = ["UID" SP] "SORT" search-return-opts SP
//	                 sort-criteria SP search-criteria  ; RFC 5267 section 6
//	sort-criteria  = "(" sort-criterion *(SP sort-criterion) ")"
//	sort-criterion = ["REVERSE" SP] sort-key
func (p *Parser) sortArgs(a *SortArgs) bool {
	if !p.sp() {
		return false
	}
	save := p.pos
	if strings.EqualFold(p.word(imap.IsAtomChar), "RETURN") && p.peekIs(' ') {
		// search-return-opts as SEARCH takes them (RFC 4466, RFC 5267
		// section 3.1, RFC 9394's PARTIAL).
		var r SearchArgs
		if !p.sp() || !p.searchReturn(&r) || !p.sp() {
			return false
		}
		a.ESort, a.Return, a.Partial = true, r.Return, r.Partial
	} else {
		p.pos = save
	}
	if !p.expect('(', "Missing sort criteria") {
		return false
	}
	for {
		var c sortkey.Criterion
		var name string
		if !p.atom(&name, "sort key") {
			return false
		}
		if strings.EqualFold(name, "REVERSE") {
			c.Reverse = true
			if !p.sp() || !p.atom(&name, "sort key") {
				return false
			}
		}
		k, ok := sortkey.Keys[strings.ToUpper(name)]
		if !ok {
			return p.bad("Invalid sort key " + name)
		}
		c.Key = k
		a.Keys = append(a.Keys, c)
		if p.peekIs(')') {
			p.pos++
			break
		}
		if !p.sp() {
			return false
		}
	}
	return p.sp() && p.searchCriteria(&a.Charset, &a.Criteria)
}

// threadArgs: THREAD SP thread-alg SP search-criteria
func (p *Parser) threadArgs(a *ThreadArgs) bool {
	var alg string
	if !p.sp() || !p.atom(&alg, "threading algorithm") {
		return false
	}
	a.Algorithm = strings.ToUpper(alg)
	if _, ok := sortkey.Algorithms[a.Algorithm]; !ok {
		return p.bad("Invalid threading algorithm " + alg)
	}
	return p.sp() && p.searchCriteria(&a.Charset, &a.Criteria)
}

// searchCriteria: charset 1*(SP search-key) (RFC 5256 section 4). The
// charset is required; one other than UTF-8 and US-ASCII is NO
// [BADCHARSET] (section 3: a server must support those two).
func (p *Parser) searchCriteria(charset *string, crit *search.Key) bool {
	var cs string
	if !p.stringOr(&cs, "charset", imap.IsAtomChar) {
		return false
	}
	*charset = strings.ToUpper(cs)
	if *charset != "UTF-8" && *charset != "US-ASCII" {
		p.err = &Error{Status: "NO", Code: "BADCHARSET (UTF-8 US-ASCII)", Text: "Unsupported charset"}
		return false
	}
	*crit = search.Key{Op: search.OpAnd}
	for {
		if !p.sp() {
			return false
		}
		var k search.Key
		if !p.searchKey(&k, 0) {
			return false
		}
		crit.Sub = append(crit.Sub, k)
		if p.eol() {
			return p.end()
		}
	}
}
