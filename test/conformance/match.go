package conformance

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// wildcards are the {name} forms of a server line and what they match in
// a rendered response.
var wildcards = map[string]string{
	"any":  `.*`,
	"num":  `[0-9]+`,
	"atom": `[^ ()"{}\[\]]+`,
	// A quoted string, or the atom it may have been normalized to.
	"string":  `(?:"(?:[^"\\]|\\.)*"|[^ ()"{}\[\]\\]+)`,
	"nstring": `(?:NIL|"(?:[^"\\]|\\.)*"|[^ ()"{}\[\]\\]+)`,
	"date":    `"[ 0-9][0-9]-[A-Z][a-z][a-z]-[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}"`,
	"list":    `\([^()]*\)`,
	"text":    `[^\[].*`,
	// Any text without a NUL byte (rendered \0).
	"nonul": `(?:[^\\]|\\[^0])*`,
	// The connection was closed (the runner's pseudo-response at EOF).
	"closed": `\{closed\}`,
}

// token is a piece of a pattern: text to match as written, a wildcard, a
// capture or a reference to one.
type token struct {
	text    string // literal text
	kind    string // a wildcards key, for a wildcard or a capture
	capture string // {$name=kind}
	ref     string // {$name}
}

var braced = regexp.MustCompile(`\{[^{}]*\}`)

// tokenize splits a pattern into tokens; {digits} and {digits+} are
// literal text (a literal's announcement), as is a "{" that opens none of
// the forms.
func tokenize(p string) ([]token, error) {
	var out []token
	lit := func(s string) {
		if s == "" {
			return
		}
		if n := len(out); n > 0 && out[n-1].kind == "" && out[n-1].capture == "" && out[n-1].ref == "" {
			out[n-1].text += s
			return
		}
		out = append(out, token{text: s})
	}
	last := 0
	for _, loc := range braced.FindAllStringIndex(p, -1) {
		inner := p[loc[0]+1 : loc[1]-1]
		var tk token
		switch {
		case strings.HasPrefix(inner, "$"):
			name, kind, hasKind := strings.Cut(inner[1:], "=")
			if !validName(name) {
				return nil, fmt.Errorf("bad variable name in %q", p[loc[0]:loc[1]])
			}
			if hasKind {
				if _, ok := wildcards[kind]; !ok {
					return nil, fmt.Errorf("unknown wildcard %q in %q", kind, p[loc[0]:loc[1]])
				}
				tk = token{capture: name, kind: kind}
			} else {
				tk = token{ref: name}
			}
		case wildcards[inner] != "":
			tk = token{kind: inner}
		case isLetters(inner):
			return nil, fmt.Errorf("unknown wildcard {%s}", inner)
		default:
			continue
		}
		lit(p[last:loc[0]])
		out = append(out, tk)
		last = loc[1]
	}
	lit(p[last:])
	return out, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func isLetters(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// statusLine splits the pattern of a status response (tagged, untagged
// OK/NO/BAD/BYE/PREAUTH, or a "+" continuation) into its head (tag and
// status), its response code (without brackets; "" for none) and its
// text. ok is false for other responses.
var statusRE = regexp.MustCompile(`^(\S+ (?:OK|NO|BAD|BYE|PREAUTH))(?: (\[[^\]]*\]\??))?(?: (.*))?$`)

func splitStatus(p string) (head, code, text string, plus, ok bool) {
	if p == "+" || strings.HasPrefix(p, "+ ") {
		return "+", "", strings.TrimPrefix(strings.TrimPrefix(p, "+"), " "), true, true
	}
	m := statusRE.FindStringSubmatch(p)
	if m == nil {
		return "", "", "", false, false
	}
	return m[1], m[2], m[3], false, true
}

// compile checks the pattern; the regular expression itself is built at
// match time, when the variables it refers to have their values.
func (e *Expect) compile() error {
	_, err := tokenize(e.Pattern)
	return err
}

// IsTerminator tells a pattern that ends a server block: a tagged status
// response or a continuation request.
// newExpect is the expectation of one server line: kind is "S", "S?",
// "S*" or "S=", pattern its text, line where it stands.
func newExpect(kind, pattern string, line int) (Expect, error) {
	e := Expect{Kind: ' ', Pattern: pattern, Line: line}
	switch kind {
	case "S?":
		e.Kind = '?'
	case "S*":
		e.Kind = '*'
	case "S=":
		e.Strict = true
	}
	return e, e.compile()
}

func (e *Expect) IsTerminator() bool {
	if e.Kind != ' ' {
		return false
	}
	return isTerminator(e.Pattern)
}

func isTerminator(line string) bool {
	return line == "+" || strings.HasPrefix(line, "+ ") || (line != "" && !strings.HasPrefix(line, "* ") && line != "*")
}

var reCache sync.Map // regexp source -> *regexp.Regexp

// regexpFor builds the regular expression of the pattern under vars and
// the names of its captures, in group order.
func (e *Expect) regexpFor(vars map[string]string) (*regexp.Regexp, []string, error) {
	var src strings.Builder
	var caps []string
	add := func(p string) error {
		tks, err := tokenize(p)
		if err != nil {
			return err
		}
		for _, tk := range tks {
			switch {
			case tk.capture != "":
				src.WriteString("(" + wildcards[tk.kind] + ")")
				caps = append(caps, tk.capture)
			case tk.ref != "":
				v, ok := vars[tk.ref]
				if !ok {
					return fmt.Errorf("{$%s} has no value yet", tk.ref)
				}
				src.WriteString(regexp.QuoteMeta(normalize(v)))
			case tk.kind != "":
				src.WriteString("(?:" + wildcards[tk.kind] + ")")
			default:
				src.WriteString(regexp.QuoteMeta(normalize(tk.text)))
			}
		}
		return nil
	}
	src.WriteString("^")
	pattern := e.Pattern
	if strings.HasPrefix(pattern, "* STATUS ") {
		pattern = sortStatus(pattern)
	}
	if strings.HasPrefix(pattern, "* ESEARCH ") {
		pattern = sortESearch(pattern)
	}
	head, code, text, plus, status := splitStatus(pattern)
	switch {
	case !status || e.Strict:
		if err := add(pattern); err != nil {
			return nil, nil, err
		}
	case plus:
		// A continuation request's text is the server's own.
		src.WriteString(`\+(?: .*)?`)
	default:
		if err := add(head); err != nil {
			return nil, nil, err
		}
		if optional := strings.HasSuffix(code, "?"); optional {
			// [CODE]? : that code, or none.
			src.WriteString("(?: ")
			if err := add(strings.TrimSuffix(code, "?")); err != nil {
				return nil, nil, err
			}
			src.WriteString(`(?: .*)?|(?: [^\[].*)?)`)
		} else if code != "" {
			src.WriteString(" ")
			if err := add(code); err != nil {
				return nil, nil, err
			}
			src.WriteString(`(?: .*)?`)
		} else {
			// No response code is expected, so none may come.
			src.WriteString(`(?: [^\[].*)?`)
		}
		_ = text
	}
	src.WriteString("$")
	s := src.String()
	if re, ok := reCache.Load(s); ok {
		return re.(*regexp.Regexp), caps, nil
	}
	re, err := regexp.Compile("(?s)" + s)
	if err != nil {
		return nil, nil, fmt.Errorf("pattern %q: %v", e.Pattern, err)
	}
	reCache.Store(s, re)
	return re, caps, nil
}

// Match tells whether the rendered response line matches the pattern
// under vars, and returns vars with the pattern's captures added.
func (e *Expect) Match(line string, vars map[string]string) (map[string]string, bool) {
	re, caps, err := e.regexpFor(vars)
	if err != nil {
		return nil, false
	}
	raw := line
	line = normalize(line)
	if strings.HasPrefix(e.Pattern, "* STATUS ") {
		line = sortStatus(line)
	}
	if strings.HasPrefix(e.Pattern, "* ESEARCH ") {
		line = sortESearch(line)
	}
	m := re.FindStringSubmatch(line)
	if m == nil && strings.Contains(raw, " FETCH (") {
		// Literal sizes count the bytes as sent: reorder before
		// normalizing.
		if l, ok := reorderFetch(e.Pattern, raw); ok {
			m = re.FindStringSubmatch(normalize(l))
		}
	}
	if m == nil {
		return nil, false
	}
	if len(caps) == 0 {
		return vars, true
	}
	out := make(map[string]string, len(vars)+len(caps))
	for k, v := range vars {
		out[k] = v
	}
	for i, name := range caps {
		if old, ok := out[name]; ok && old != m[i+1] {
			return nil, false
		}
		out[name] = m[i+1]
	}
	return out, true
}

var literal8 = regexp.MustCompile(`([ (])~\{`)

var quotedAtom = regexp.MustCompile(`"([^"\\\x00-\x20(){%*\]\x7f-\xff]+)"`)

var flagList = regexp.MustCompile(`\((\\?[A-Za-z$*][^\s()\[\]{}"]*(?: \\?[A-Za-z$*][^\s()\[\]{}"]*)*)\)`)

// normalize writes each quoted string that could be an atom ("INBOX",
// "/") as that atom, servers choose either form; and sorts each list of
// flags (a parenthesized list of atoms of which one at least starts with
// a backslash), since flags and mailbox attributes are sets.
func normalize(s string) string {
	// A literal8 (~{n}) that holds no NUL is a literal ({n}): RFC 3516 4.3
	// lets a server answer BINARY with either; only NUL needs literal8.
	if strings.Contains(s, "~{") && !strings.Contains(s, `\0`) {
		s = literal8.ReplaceAllString(s, "$1{")
	}
	// An empty literal is an empty string.
	s = strings.ReplaceAll(s, `{0}\r\n`, `""`)
	if strings.Contains(s, `"`) {
		s = quotedAtom.ReplaceAllStringFunc(s, func(q string) string {
			if strings.EqualFold(q, `"NIL"`) {
				return q
			}
			return q[1 : len(q)-1]
		})
	}
	if strings.Contains(s, `(\`) || strings.Contains(s, ` \`) {
		s = flagList.ReplaceAllStringFunc(s, func(l string) string {
			items := strings.Fields(l[1 : len(l)-1])
			flags := false
			for _, it := range items {
				flags = flags || strings.HasPrefix(it, `\`)
			}
			if !flags {
				return l
			}
			sort.Slice(items, func(i, j int) bool { return strings.ToLower(items[i]) < strings.ToLower(items[j]) })
			return "(" + strings.Join(items, " ") + ")"
		})
	}
	return s
}

var statusItems = regexp.MustCompile(`\(([^()]*)\)$`)

// sortStatus puts the items of a STATUS response in the order of their
// names: a server answers them in any order (RFC 3501 7.2.4).
func sortStatus(s string) string {
	loc := statusItems.FindStringSubmatchIndex(s)
	if loc == nil {
		return s
	}
	pairs, ok := sortedPairs(s[loc[2]:loc[3]])
	if !ok {
		return s
	}
	return s[:loc[2]] + pairs + s[loc[3]:]
}

// sortedPairs sorts the "name value" pairs of a space-separated list; ok
// is false when the list is not made of pairs.
func sortedPairs(list string) (string, bool) {
	f := strings.Fields(list)
	if len(f)%2 != 0 {
		return "", false
	}
	pairs := make([]string, 0, len(f)/2)
	for i := 0; i < len(f); i += 2 {
		pairs = append(pairs, f[i]+" "+f[i+1])
	}
	sort.Strings(pairs)
	return strings.Join(pairs, " "), true
}

var esearchHead = regexp.MustCompile(`^\* ESEARCH(?: \(TAG [^)]*\))?(?: UID)?`)

// sortESearch puts the return data of an ESEARCH response in the order of
// their names: RFC 4731 3.1 fixes no order.
func sortESearch(s string) string {
	head := esearchHead.FindString(s)
	pairs, ok := sortedPairs(s[len(head):])
	if !ok {
		return s
	}
	if pairs == "" {
		return head
	}
	return head + " " + pairs
}

// MatchBlock matches the responses a server sent for a block against the
// block's expectations: as a multiset, or in order when ordered. It
// returns the variables with the captures of the matching added.
func MatchBlock(exps []Expect, lines []string, ordered bool, vars map[string]string) (map[string]string, bool) {
	if ordered {
		return matchOrdered(exps, lines, 0, 0, vars)
	}
	used := make([]bool, len(exps))
	failed := map[string]bool{}
	return matchSet(exps, lines, 0, used, vars, failed)
}

func matchOrdered(exps []Expect, lines []string, i, j int, vars map[string]string) (map[string]string, bool) {
	if j == len(exps) {
		return vars, i == len(lines)
	}
	e := &exps[j]
	if i < len(lines) {
		if nv, ok := e.Match(lines[i], vars); ok {
			next := j + 1
			if e.Kind == '*' {
				next = j
			}
			if out, ok := matchOrdered(exps, lines, i+1, next, nv); ok {
				return out, true
			}
		}
	}
	if e.Kind != ' ' {
		return matchOrdered(exps, lines, i, j+1, vars)
	}
	return nil, false
}

func matchSet(exps []Expect, lines []string, i int, used []bool, vars map[string]string, failed map[string]bool) (map[string]string, bool) {
	if i == len(lines) {
		for j, e := range exps {
			if e.Kind == ' ' && !used[j] {
				return nil, false
			}
		}
		return vars, true
	}
	key := fmt.Sprint(i, used, vars)
	if failed[key] {
		return nil, false
	}
	// Lines that must come once first, then optional ones, then the
	// patterns that may match any number of lines.
	for _, pass := range []byte{' ', '?', '*'} {
		for j := range exps {
			e := &exps[j]
			if e.Kind != pass || (pass != '*' && used[j]) {
				continue
			}
			nv, ok := e.Match(lines[i], vars)
			if !ok {
				continue
			}
			if pass != '*' {
				used[j] = true
			}
			out, ok := matchSet(exps, lines, i+1, used, nv, failed)
			if pass != '*' {
				used[j] = false
			}
			if ok {
				return out, true
			}
		}
	}
	failed[key] = true
	return nil, false
}

// render writes a response as the matcher sees it: the line without its
// CRLF, each literal's CRLF and data inline after its {n}, and control
// bytes as escapes (\r \n \t \0 \xHH).
func render(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		switch {
		case c == '\r':
			s.WriteString(`\r`)
		case c == '\n':
			s.WriteString(`\n`)
		case c == '\t':
			s.WriteString(`\t`)
		case c == 0:
			s.WriteString(`\0`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&s, `\x%02x`, c)
		default:
			s.WriteByte(c)
		}
	}
	return s.String()
}

// fetchItem is one item of a FETCH response: its name (with section and
// origin) and its value, as rendered.
type fetchItem struct{ name, value string }

var fetchHead = regexp.MustCompile(`^\* [0-9{][^ ]* FETCH \(`)

// fetchItems splits a rendered FETCH response (or the pattern of one)
// into its head and items; ok is false when it cannot.
func fetchItems(s string) (head string, items []fetchItem, ok bool) {
	loc := fetchHead.FindStringIndex(s)
	if loc == nil || !strings.HasSuffix(s, ")") {
		return "", nil, false
	}
	head = s[:loc[1]]
	body := s[loc[1] : len(s)-1]
	for i := 0; i < len(body); {
		// The name: up to a space outside brackets.
		j, depth := i, 0
		for j < len(body) && (body[j] != ' ' || depth > 0) {
			switch body[j] {
			case '[':
				depth++
			case ']':
				depth--
			}
			j++
		}
		if j >= len(body) {
			return "", nil, false
		}
		name := body[i:j]
		k, ok := skipValue(body, j+1)
		if !ok {
			return "", nil, false
		}
		items = append(items, fetchItem{name, body[j+1 : k]})
		if k < len(body) && body[k] != ' ' {
			return "", nil, false
		}
		i = k + 1
	}
	return head, items, true
}

var (
	renderedLiteral = regexp.MustCompile(`^~?\{([0-9]+)\}\\r\\n`)
	wildcardToken   = regexp.MustCompile(`^\{\$?[A-Za-z0-9_=]+\}`)
)

// skipValue returns the end of the value that starts at s[i]: a
// parenthesized list, a quoted string, a literal (its data counted in
// bytes, an escape being one), a wildcard or an atom.
func skipValue(s string, i int) (int, bool) {
	if i >= len(s) {
		return i, false
	}
	switch {
	case s[i] == '(':
		j := i + 1
		for j < len(s) && s[j] != ')' {
			if s[j] == ' ' {
				j++
				continue
			}
			k, ok := skipValue(s, j)
			if !ok {
				return i, false
			}
			j = k
		}
		if j >= len(s) {
			return i, false
		}
		return j + 1, true
	case s[i] == '"':
		for j := i + 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				j++
			case '"':
				return j + 1, true
			}
		}
		return i, false
	case renderedLiteral.MatchString(s[i:]):
		m := renderedLiteral.FindStringSubmatch(s[i:])
		n, _ := strconv.Atoi(m[1])
		j := i + len(m[0])
		for ; n > 0 && j < len(s); n-- {
			if s[j] == '\\' && j+1 < len(s) && strings.IndexByte(`rnt0x`, s[j+1]) >= 0 {
				if s[j+1] == 'x' {
					j += 4
				} else {
					j += 2
				}
				continue
			}
			j++
		}
		return j, n == 0
	case wildcardToken.MatchString(s[i:]):
		return i + len(wildcardToken.FindString(s[i:])), true
	}
	j := i
	for j < len(s) && s[j] != ' ' && s[j] != ')' && s[j] != '(' {
		if s[j] == '[' {
			// An atom with a section, such as BODY[1] in a pattern.
			for j < len(s) && s[j] != ']' {
				j++
			}
		}
		j++
	}
	return j, j > i
}

// reorderFetch puts the items of the rendered FETCH response line in the
// order of the pattern's, since a server sends them in any order (RFC
// 3501 7.4.2); items the pattern lacks go last.
func reorderFetch(pattern, line string) (string, bool) {
	_, want, ok := fetchItems(pattern)
	if !ok {
		return line, false
	}
	head, got, ok := fetchItems(line)
	if !ok {
		return line, false
	}
	used := make([]bool, len(got))
	var out []string
	for _, w := range want {
		for k, g := range got {
			if !used[k] && strings.EqualFold(g.name, w.name) {
				used[k] = true
				out = append(out, g.name+" "+g.value)
				break
			}
		}
	}
	for k, g := range got {
		if !used[k] {
			out = append(out, g.name+" "+g.value)
		}
	}
	return head + strings.Join(out, " ") + ")", true
}
