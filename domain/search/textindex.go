package search

import (
	"io"
	"strings"
	"unicode/utf8"

	"github.com/imapd-go/imapd/domain/message"
)

// A full-text index narrows a search, never decides it: it names the
// messages that may match (a superset), and Match confirms each one, so
// results are always those of RFC 3501's substring semantics. What the
// index holds of a message is its Doc, made of the very haystacks Match
// searches, decoded and lowered the same way; a TextQuery asks, for each
// search string, for the documents whose column holds it.

// TextField is one column of a message's Doc.
type TextField int

const (
	FieldSubject TextField = iota // Subject fields, decoded
	FieldFrom                     // From fields, decoded and in parsed forms
	FieldTo                       // To fields, likewise
	FieldCc                       // Cc fields, likewise
	FieldBcc                      // Bcc fields, likewise
	FieldHeader                   // every field of the top-level header, as TEXT sees it
	FieldBody                     // the decoded text parts, as BODY sees them
	NumTextFields
)

// MinTermRunes is the shortest search string an index narrows on: a
// trigram index cannot find anything shorter.
const MinTermRunes = 3

// Doc is the text of one message for a full-text index, one string per
// TextField, each lower case as Match compares (strings.ToLower). For every
// HEADER, SUBJECT, FROM, TO, CC, BCC, BODY or TEXT key that Match finds in
// the message, the column TermFields names holds the lowered search string
// as a substring. Values are separated by line breaks, which no search
// string spans... unless it holds one itself, and then it may match across
// two values: the index only narrows, so a false candidate is harmless.
type Doc [NumTextFields]string

// MakeDoc builds the Doc of a message from its structure and raw bytes;
// raw is read only for the text parts (and the header, when the structure
// does not hold it).
func MakeDoc(s *message.Structure, raw io.ReaderAt) (Doc, error) {
	var cols [NumTextFields][]string
	hdr, ok := s.Header()
	if !ok {
		r, _, err := s.Section(raw, message.Section{Specifier: "HEADER"})
		if err != nil {
			return Doc{}, err
		}
		if hdr, err = io.ReadAll(r); err != nil {
			return Doc{}, err
		}
	}
	// headerText's lines for TEXT, each field's decoded value for HEADER
	// (matchValue), and matchAddresses' forms for the address keys.
	eachField(hdr, func(name, val []byte) bool {
		v := decodeHeader(unfold(val))
		cols[FieldHeader] = append(cols[FieldHeader], string(name)+": "+v)
		f, ok := headerColumn(string(name))
		if !ok {
			return true
		}
		cols[f] = append(cols[f], v)
		if f != FieldSubject {
			eachAddressForm(unfold(val), func(a string) bool {
				cols[f] = append(cols[f], a)
				return true
			})
		}
		return true
	})
	var ferr error
	s.TextParts(func(tp message.TextPart) bool {
		r, _, err := s.Section(raw, message.Section{Path: tp.Path})
		if err != nil {
			ferr = err
			return false
		}
		// matchReader lowers the decoded text in chunks cut between
		// runes, which lowers it as a whole would.
		b, err := io.ReadAll(decodeBody(r, tp.Encoding, tp.Charset))
		if err != nil {
			ferr = err
			return false
		}
		cols[FieldBody] = append(cols[FieldBody], string(b))
		return true
	})
	if ferr != nil {
		return Doc{}, ferr
	}
	var d Doc
	for f, vs := range cols {
		for i, v := range vs {
			// Lowered one by one, as Match lowers each haystack: the
			// separator keeps two values' bytes from making a rune.
			vs[i] = strings.ToLower(v)
		}
		d[f] = strings.Join(vs, "\n")
	}
	if d[FieldHeader] != "" {
		d[FieldHeader] += "\n" // headerText ends every line so
	}
	return d, nil
}

// headerColumn names the column of a field that has one of its own, as
// fieldIs compares names.
func headerColumn(name string) (TextField, bool) {
	for f, n := range [...]string{FieldSubject: "Subject", FieldFrom: "From", FieldTo: "To", FieldCc: "Cc", FieldBcc: "Bcc"} {
		if fieldIs([]byte(name), n) {
			return TextField(f), true
		}
	}
	return 0, false
}

// TextOp is the kind of a TextQuery node.
type TextOp int

const (
	TextTerm TextOp = iota // Term is in one of Fields
	TextAnd                // every Sub
	TextOr                 // some Sub
)

// TextQuery is what a full-text index is asked: a tree of search strings,
// each lower case, to be found as substrings of a Doc's columns.
type TextQuery struct {
	Op     TextOp
	Fields []TextField // TextTerm: the columns, any of which may hold Term
	Term   string      // TextTerm: lower case, at least MinTermRunes runes
	Sub    []TextQuery // TextAnd, TextOr: two or more
}

// Narrowing returns the TextQuery whose answer holds every message that
// satisfies k, and false when no query narrows k: AND narrows by the
// children that narrow, OR only when both sides do, NOT never; a search
// string narrows when it has at least MinTermRunes runes.
func Narrowing(k Key) (TextQuery, bool) {
	switch k.Op {
	case OpAnd:
		var subs []TextQuery
		for _, s := range k.Sub {
			if q, ok := Narrowing(s); ok {
				subs = append(subs, q)
			}
		}
		switch len(subs) {
		case 0:
			return TextQuery{}, false
		case 1:
			return subs[0], true
		}
		return TextQuery{Op: TextAnd, Sub: subs}, true
	case OpOr:
		if len(k.Sub) != 2 {
			return TextQuery{}, false
		}
		a, ok := Narrowing(k.Sub[0])
		if !ok {
			return TextQuery{}, false
		}
		b, ok := Narrowing(k.Sub[1])
		if !ok {
			return TextQuery{}, false
		}
		return TextQuery{Op: TextOr, Sub: []TextQuery{a, b}}, true
	case OpHeader:
		f, ok := headerColumn(k.Field)
		if !ok {
			f = FieldHeader
		}
		return term(k.Value, f)
	case OpBody:
		return term(k.Value, FieldBody)
	case OpText:
		return term(k.Value, FieldHeader, FieldBody)
	}
	return TextQuery{}, false
}

func term(v string, fields ...TextField) (TextQuery, bool) {
	if !utf8.ValidString(v) {
		return TextQuery{}, false
	}
	t := strings.ToLower(v)
	if utf8.RuneCountInString(t) < MinTermRunes {
		return TextQuery{}, false
	}
	return TextQuery{Op: TextTerm, Fields: fields, Term: t}, true
}

// Contains reports whether d satisfies q, as an index answers it: the
// reference the stores' indexes are tested against.
func (q TextQuery) Contains(d *Doc) bool {
	switch q.Op {
	case TextTerm:
		for _, f := range q.Fields {
			if strings.Contains(d[f], q.Term) {
				return true
			}
		}
		return false
	case TextAnd:
		for _, s := range q.Sub {
			if !s.Contains(d) {
				return false
			}
		}
		return true
	case TextOr:
		for _, s := range q.Sub {
			if s.Contains(d) {
				return true
			}
		}
		return false
	}
	return false
}
