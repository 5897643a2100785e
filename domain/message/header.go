package message

import "strings"

// MIME header fields kept for every entity.
const (
	mimeType = iota
	mimeEncoding
	mimeID
	mimeDesc
	mimeDisp
	mimeLang
	mimeLoc
	mimeMD5
	mimeFields
)

var mimeNames = [mimeFields]string{
	"content-type", "content-transfer-encoding", "content-id", "content-description",
	"content-disposition", "content-language", "content-location", "content-md5",
}

// headerCollector gathers the values of the fields Structure needs while
// the header streams by. The first occurrence of a field wins. Values are
// unfolded (RFC 5322 2.2.3) and trimmed but otherwise raw.
type headerCollector struct {
	mime [mimeFields]nstr
	env  *[envFields]nstr // nil unless the entity is a message

	cur  *nstr // field being collected, nil when not interesting
	buf  []byte
	over bool
}

func (h *headerCollector) field(name string, val []byte) {
	h.finish()
	for i, n := range mimeNames {
		if strings.EqualFold(n, name) {
			if !h.mime[i].ok {
				h.cur = &h.mime[i]
			}
			break
		}
	}
	if h.cur == nil && h.env != nil {
		for i, n := range envNames {
			if strings.EqualFold(n, name) {
				if !h.env[i].ok {
					h.cur = &h.env[i]
				}
				break
			}
		}
	}
	if h.cur != nil {
		h.buf = h.buf[:0]
		h.over = false
		h.cont(val)
	}
}

// cont adds a continuation line (or the rest of a long line).
func (h *headerCollector) cont(b []byte) {
	if h.cur == nil || h.over {
		return
	}
	for _, c := range b {
		if c == '\r' || c == '\n' {
			continue // unfolding: CRLF before WSP is removed
		}
		if len(h.buf) >= maxFieldValue {
			h.over = true
			return
		}
		h.buf = append(h.buf, c)
	}
}

func (h *headerCollector) finish() {
	if h.cur != nil {
		*h.cur = nstr{trimWSP(string(h.buf)), true}
		h.cur = nil
	}
}

// splitField splits a header line "name: value". The name is printable
// ASCII without colon; RFC 5322 4.5.3 (obsolete syntax) allows white space
// before the colon.
func splitField(line []byte) (name string, val []byte, ok bool) {
	i := 0
	for i < len(line) && line[i] > ' ' && line[i] < 0x7f && line[i] != ':' {
		i++
	}
	if i == 0 {
		return "", nil, false
	}
	j := i
	for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
		j++
	}
	if j >= len(line) || line[j] != ':' {
		return "", nil, false
	}
	return string(line[:i]), line[j+1:], true
}

func trimWSP(s string) string {
	return strings.Trim(s, " \t\r\n")
}

func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			return strings.ToUpper(s)
		}
	}
	return s
}

func paramValue(ps []kv, k string) string {
	for _, p := range ps {
		if p.k == k {
			return p.v
		}
	}
	return ""
}

func hasParam(ps []kv, k string) bool {
	for _, p := range ps {
		if p.k == k {
			return true
		}
	}
	return false
}

// isTokenChar reports whether c may appear in an RFC 2045 token.
func isTokenChar(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	return !strings.ContainsRune(`()<>@,;:\"/[]?=`, rune(c))
}

// parseContentType parses "type/subtype; params" leniently. ok is false
// when the value has no recognisable type/subtype, in which case RFC 2045
// section 5.2 says to assume the default.
func parseContentType(v string) (typ, sub string, params []kv, ok bool) {
	v = stripComments(v)
	s := trimWSP(v)
	i := 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	typ = s[:i]
	s = trimWSP(s[i:])
	if typ == "" || !strings.HasPrefix(s, "/") {
		return "", "", nil, false
	}
	s = trimWSP(s[1:])
	i = 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	sub = s[:i]
	if sub == "" {
		return "", "", nil, false
	}
	return upperASCII(typ), upperASCII(sub), parseParams(s[i:]), true
}

// parseDisposition parses a Content-Disposition value (RFC 2183).
func parseDisposition(v string) (string, []kv) {
	s := trimWSP(stripComments(v))
	i := 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	if i == 0 {
		return "", nil
	}
	return upperASCII(s[:i]), parseParams(s[i:])
}

// parseParams parses ";attr=value" pairs. Attributes are upper-cased;
// values keep their case with quoting removed. RFC 2231 parameters are kept
// as written. Malformed pieces are skipped.
func parseParams(s string) []kv {
	var ps []kv
	for {
		k := strings.IndexByte(s, ';')
		if k < 0 {
			return ps
		}
		s = strings.TrimLeft(s[k+1:], " \t")
		i := 0
		for i < len(s) && isTokenChar(s[i]) {
			i++
		}
		attr := s[:i]
		s = strings.TrimLeft(s[i:], " \t")
		if !strings.HasPrefix(s, "=") {
			continue
		}
		s = strings.TrimLeft(s[1:], " \t")
		var val string
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			j := 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			val = b.String()
			if j < len(s) {
				j++
			}
			s = s[j:]
		} else {
			j := strings.IndexByte(s, ';')
			if j < 0 {
				j = len(s)
			}
			val = trimWSP(s[:j])
			s = s[j:]
		}
		if attr != "" {
			ps = append(ps, kv{upperASCII(attr), val})
		}
	}
}

// parseLanguage splits a Content-Language value (RFC 3282) into tags.
func parseLanguage(v string) []string {
	var out []string
	for _, t := range strings.Split(stripComments(v), ",") {
		if t = trimWSP(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}
