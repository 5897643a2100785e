package conformance

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Script is one parsed transcript file.
type Script struct {
	Name   string // the name: header, or the file name without .imap
	Group  string // the folder under testdata (an RFC or an extension)
	Path   string
	Source string   // the rfc: header (RFC and section the transcript comes from)
	Login  bool     // connections log in before the first line (login: no turns it off)
	Setup  []Setup  // create:, subscribe: and append: headers, in order
	Blocks []*Block // the body, one block per run of same-kind lines of a connection
}

// Setup is one precondition the runner establishes before the body, on a
// connection of its own.
type Setup struct {
	Op      string // "create", "subscribe" or "append"
	Mailbox string // as an IMAP astring, written as in a command
	File    string // append: the fixture's path
	Flags   string // append: "(\Seen)" or ""
	Date    string // append: `"dd-Mon-yyyy hh:mm:ss +zzzz"` or ""
	Line    int
}

// Block is a run of client lines or of expected server lines of one
// connection.
type Block struct {
	Conn   int // 1 for C:/S:, n for Cn:/Sn:
	Client bool
	Line   int // line number of the block's first line

	// A client block: the pieces to send, in order.
	Sends []Send

	// A server block: what is expected, and how.
	Expect  []Expect
	Ordered bool   // @ordered: the lines come in this order
	Tag     string // the tag of the command the block answers (the last one sent on the connection)
	Index   int    // 1 for the first server block of that tag, 2 for the next...
	Final   bool   // the block holds the command's tagged response
}

// Send is one client line (C: or C+:) with the literal whose data follows
// it, if any.
type Send struct {
	Text     string // the line as written, variables not yet substituted
	Continue bool   // C+: the text continues the command after the previous literal's data
	Literal  *Literal
	Line     int
}

// Literal is the literal announced at the end of a client line.
type Literal struct {
	Prefix  string // "" or "~"
	Size    string // digits as written, or "#": the size of Data
	NonSync bool   // {n+}
	Data    []DataLine
	// HasData is false for a literal announced without data lines: the
	// runner sends the line and expects the server to refuse it.
	HasData bool
}

// DataLine is one L: (text then CRLF) or L\: (escaped bytes, no CRLF) line.
type DataLine struct {
	Text    string
	Escaped bool
}

// Expect is one expected server line.
type Expect struct {
	Kind    byte   // ' ' exactly once, '?' at most once, '*' any number of times
	Strict  bool   // S=: the human-readable text of a status response counts too
	Pattern string // as written
	Line    int
	re      *regexp.Regexp
	caps    []string // capture names, in the order of re's groups
}

var (
	linePrefix     = regexp.MustCompile(`^([CSL])([1-9]?)(\+|\?|\*|=|\\)?:(?: |$)`)
	literalAtEnd   = regexp.MustCompile(`(~?)\{([0-9]+|#)(\+?)\}$`)
	headerLine     = regexp.MustCompile(`^([a-z]+):\s*(.*)$`)
	appendArgument = regexp.MustCompile(`^(\S+|"(?:[^"\\]|\\.)*")\s+(\S+)(?:\s+(\([^)]*\)))?(?:\s+("[^"]*"))?$`)
)

var validKinds = map[string]bool{"C": true, "C+": true, "L": true, `L\`: true, "S": true, "S?": true, "S*": true, "S=": true}

// ParseFile reads the transcript at path; group is the folder it is in.
func ParseFile(path, group string) (*Script, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := Parse(f, path)
	if err != nil {
		return nil, err
	}
	s.Group = group
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(path), ".imap")
	}
	return s, nil
}

// Parse reads one transcript; fixture file names are resolved against
// FixtureDirs.
func Parse(r io.Reader, path string) (*Script, error) {
	s := &Script{Path: path, Login: true}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	body := false
	var cur *Block
	var lastSend *Send // the client line whose literal may take L: lines
	ordered := false
	tags := map[int]string{}      // connection -> tag of its last command
	indexes := map[string]int{}   // "conn tag" -> server blocks so far
	contPending := map[int]bool{} // connection -> its last server line was a "+"
	used := map[string]int{}      // tag -> line of its command
	errf := func(format string, a ...any) error {
		return fmt.Errorf("%s:%d: %s", path, n, fmt.Sprintf(format, a...))
	}
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			// Comments and blank lines separate nothing.
			continue
		}
		if line == "@ordered" {
			ordered = true
			cur = nil
			continue
		}
		m := linePrefix.FindStringSubmatch(line)
		if m == nil {
			if body {
				return nil, errf("not a transcript line: %q", line)
			}
			h := headerLine.FindStringSubmatch(line)
			if h == nil {
				return nil, errf("neither a header nor a transcript line: %q", line)
			}
			if err := s.header(h[1], strings.TrimSpace(h[2]), n); err != nil {
				return nil, errf("%v", err)
			}
			continue
		}
		body = true
		kind, text := m[1]+m[3], line[len(m[0]):]
		if !validKinds[kind] {
			return nil, errf("no such line kind %q", kind)
		}
		conn := 1
		if m[2] != "" {
			conn = int(m[2][0] - '0')
		}
		switch kind {
		case "L", `L\`:
			if m[2] == "" && cur != nil {
				// Literal data belong to the client line just above.
				conn = cur.Conn
			}
			if lastSend == nil || lastSend.Literal == nil || cur == nil || cur.Conn != conn || !cur.Client {
				return nil, errf("literal data without a client line announcing a literal")
			}
			lastSend.Literal.Data = append(lastSend.Literal.Data, DataLine{Text: text, Escaped: kind == `L\`})
			lastSend.Literal.HasData = true
			if kind == `L\` {
				if _, err := unescape(text); err != nil {
					return nil, errf("%v", err)
				}
			}
			continue
		case "C", "C+":
			if ordered {
				return nil, errf("@ordered must precede server lines")
			}
			if cur == nil || !cur.Client || cur.Conn != conn {
				cur = &Block{Conn: conn, Client: true, Line: n}
				s.Blocks = append(s.Blocks, cur)
			}
			snd := Send{Text: text, Continue: kind == "C+", Line: n}
			if snd.Continue && (lastSend == nil || lastSend.Literal == nil || len(cur.Sends) == 0) {
				return nil, errf("C+: must follow a literal's data")
			}
			if lm := literalAtEnd.FindStringSubmatch(text); lm != nil {
				snd.Literal = &Literal{Prefix: lm[1], Size: lm[2], NonSync: lm[3] == "+"}
				snd.Text = text[:len(text)-len(lm[0])]
			}
			if !snd.Continue {
				tag, _, _ := strings.Cut(text, " ")
				if contPending[conn] {
					// It answers a continuation request (AUTHENTICATE's
					// response, IDLE's DONE): not a new command.
					contPending[conn] = false
				} else if tag != "" {
					// Tags name the steps of the differences file.
					if used[tag] != 0 {
						return nil, errf("tag %s is used already (line %d)", tag, used[tag])
					}
					used[tag] = n
					tags[conn] = tag
				}
			}
			cur.Sends = append(cur.Sends, snd)
			lastSend = &cur.Sends[len(cur.Sends)-1]
			continue
		}
		// A server line.
		lastSend = nil
		if cur == nil || cur.Client || cur.Conn != conn {
			cur = &Block{Conn: conn, Line: n, Ordered: ordered, Tag: tags[conn]}
			key := fmt.Sprint(conn, " ", cur.Tag)
			indexes[key]++
			cur.Index = indexes[key]
			s.Blocks = append(s.Blocks, cur)
			ordered = false
		}
		e, err := newExpect(kind, text, n)
		if err != nil {
			return nil, errf("%v", err)
		}
		if e.Kind == ' ' && cur.Tag != "" && strings.HasPrefix(text, cur.Tag+" ") {
			cur.Final = true
		}
		cur.Expect = append(cur.Expect, e)
		contPending[conn] = strings.HasPrefix(text, "+")
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, b := range s.Blocks {
		if b.Client {
			for _, snd := range b.Sends {
				if l := snd.Literal; l != nil && l.Size == "#" && !l.HasData {
					return nil, fmt.Errorf("%s:%d: {#} needs literal data (L: lines)", path, snd.Line)
				}
			}
		}
	}
	if len(s.Blocks) == 0 {
		return nil, fmt.Errorf("%s: no transcript lines", path)
	}
	return s, nil
}

func (s *Script) header(key, value string, line int) error {
	switch key {
	case "name":
		s.Name = value
	case "rfc":
		s.Source = value
	case "login":
		switch value {
		case "yes":
			s.Login = true
		case "no":
			s.Login = false
		default:
			return fmt.Errorf("login: yes or no, not %q", value)
		}
	case "create", "subscribe":
		s.Setup = append(s.Setup, Setup{Op: key, Mailbox: value, Line: line})
	case "append":
		m := appendArgument.FindStringSubmatch(value)
		if m == nil {
			return fmt.Errorf("append: <mailbox> <fixture> [(flags)] [\"date-time\"], not %q", value)
		}
		file, err := Fixture(m[2])
		if err != nil {
			return err
		}
		s.Setup = append(s.Setup, Setup{Op: key, Mailbox: m[1], File: file, Flags: m[3], Date: m[4], Line: line})
	case "note":
	default:
		return fmt.Errorf("unknown header %q", key)
	}
	return nil
}

// FixtureDirs are searched in order for the fixture files named by
// append: headers.
var FixtureDirs = []string{"testdata/messages", "../testdata/messages"}

// Fixture returns the path of the fixture named name.
func Fixture(name string) (string, error) {
	for _, d := range FixtureDirs {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("fixture %q is in none of %v", name, FixtureDirs)
}

// unescape turns the escapes of an L\: line into bytes: \r \n \t \0 \\
// and \xHH.
func unescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return "", fmt.Errorf("a lone \\ at the end of %q", s)
		}
		i++
		switch s[i] {
		case 'r':
			b.WriteByte('\r')
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case '0':
			b.WriteByte(0)
		case '\\':
			b.WriteByte('\\')
		case 'x':
			var v byte
			if i+2 >= len(s) {
				return "", fmt.Errorf("\\x needs two hex digits in %q", s)
			}
			if _, err := fmt.Sscanf(s[i+1:i+3], "%02x", &v); err != nil {
				return "", fmt.Errorf("\\x needs two hex digits in %q", s)
			}
			b.WriteByte(v)
			i += 2
		default:
			return "", fmt.Errorf("unknown escape \\%c in %q", s[i], s)
		}
	}
	return b.String(), nil
}
