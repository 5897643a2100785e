package grammar

import "strings"

// CompressArgs: COMPRESS algorithm (RFC 4978 section 3:
// command-any =/ compress; compress = "COMPRESS" SP algorithm;
// algorithm = "DEFLATE"). Algorithm is upper-cased; the handler refuses
// one it does not know with BAD, as section 3 asks.
type CompressArgs struct {
	Algorithm string
}

func (p *Parser) compress(a *CompressArgs) bool {
	if !p.sp() || !p.atom(&a.Algorithm, "compression algorithm") {
		return false
	}
	a.Algorithm = strings.ToUpper(a.Algorithm)
	return p.end()
}
