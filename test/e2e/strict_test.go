package e2e

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// strictCheck tokenizes one server response (as transcript.read returns
// it: literals inline, without the final CRLF) the way a strict client
// does and returns what breaks RFC 3501 9 / RFC 3516, or "":
//   - a quoted string holds no CR, LF or NUL, escapes only '"' and '\', and
//     8-bit bytes only as valid UTF-8 and only when utf8 (the session
//     enabled UTF8=ACCEPT, RFC 6855 3);
//   - a {n} literal holds no NUL;
//   - a ~{n} literal8 follows a BINARY[...] item name only;
//   - outside strings there is no CR, LF, NUL or 8-bit byte, and in data
//     responses parentheses and brackets balance (resp-text after a status
//     is free text, but for its [code]).
func strictCheck(resp string, utf8OK bool) string {
	s := resp
	free := statusResp.MatchString(s) // resp-text: only the code is structured
	textStart := -1
	if free {
		m := statusResp.FindStringIndex(s)
		textStart = m[1]
		if strings.HasPrefix(s[textStart:], "[") {
			end := strings.IndexByte(s[textStart:], ']')
			if end < 0 {
				return "unclosed response code"
			}
			textStart += end + 1
		}
	}
	var stack []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if free && i >= textStart {
			if c == 0 || c == '\r' || c == '\n' || c >= 0x80 {
				return "bad byte " + strconv.Quote(string(c)) + " in response text"
			}
			continue
		}
		switch {
		case c == '"':
			i++
			start := i
			for ; i < len(s) && s[i] != '"'; i++ {
				switch q := s[i]; {
				case q == '\\':
					if i+1 >= len(s) || (s[i+1] != '"' && s[i+1] != '\\') {
						return "bad escape in quoted string"
					}
					i++
				case q == 0 || q == '\r' || q == '\n' || (q >= 0x80 && !utf8OK):
					return "bad byte " + strconv.Quote(string(q)) + " in quoted string"
				}
			}
			if i >= len(s) {
				return "unterminated quoted string"
			}
			if !utf8.ValidString(s[start:i]) {
				return "invalid UTF-8 in quoted string"
			}
		case c == '{' || (c == '~' && i+1 < len(s) && s[i+1] == '{'):
			binary := c == '~'
			if binary {
				if !binaryItem.MatchString(s[:i]) {
					return "literal8 outside BINARY[] at " + strconv.Quote(tail(s[:i]))
				}
				i++
			}
			end := strings.Index(s[i:], "}\r\n")
			if end < 0 {
				return "malformed literal"
			}
			n, err := strconv.Atoi(s[i+1 : i+end])
			if err != nil {
				return "malformed literal length"
			}
			i += end + 3
			if i+n > len(s) {
				return "literal cut short"
			}
			if !binary && strings.IndexByte(s[i:i+n], 0) >= 0 {
				return "NUL in a literal after " + strconv.Quote(tail(s[:i]))
			}
			i += n - 1
		case c == '(' || c == '[':
			stack = append(stack, c)
		case c == ')' || c == ']':
			open := byte('(')
			if c == ']' {
				open = '['
			}
			if len(stack) == 0 || stack[len(stack)-1] != open {
				return "unbalanced " + string(c)
			}
			stack = stack[:len(stack)-1]
		case c == 0 || c == '\r' || c == '\n' || c >= 0x80:
			return "bad byte " + strconv.Quote(string(c)) + " outside strings"
		}
	}
	if len(stack) > 0 {
		return "unclosed " + string(stack)
	}
	return ""
}

var (
	statusResp = regexp.MustCompile(`^(\*|\+|[^ ]+) (OK|NO|BAD|BYE|PREAUTH) `)
	binaryItem = regexp.MustCompile(`BINARY\[[0-9.]*\](<[0-9]+>)? $`)
)

func tail(s string) string {
	if len(s) > 40 {
		return s[len(s)-40:]
	}
	return s
}

func TestStrictCheck(t *testing.T) {
	for _, tt := range []struct {
		resp string
		bad  bool
	}{
		{`* 1 FETCH (ENVELOPE ("a \"q\" \\" NIL) BODY[] {3}` + "\r\nx\x00y)", true},
		{`* 1 FETCH (BODY[] {3}` + "\r\nx\ny)", false},
		{`* 1 FETCH (BODY[1] ~{3}` + "\r\nx\x00y)", true},
		{`* 1 FETCH (BINARY[1]<2> ~{3}` + "\r\nx\x00y)", false},
		{`* LIST () "/" "a` + "\xc3\xa9" + `"`, true},
		{`* LIST () "/" "a\b"`, true},
		{`* LIST (\Noselect "/" x`, true},
		{`a1 OK [APPENDUID 1 2] done (with a paren`, false},
		{"a1 NO bad \x00 text", true},
	} {
		if got := strictCheck(tt.resp, false); (got != "") != tt.bad {
			t.Errorf("strictCheck(%q) = %q, want bad %v", tt.resp, got, tt.bad)
		}
	}
}

// fixtureMessages returns every message fixture of the project: the
// e2e ones, and the fuzz corpora of the message and command parsers (any
// bytes make a message to a server that must cope with what it is given).
func fixtureMessages(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	files, _ := filepath.Glob("../testdata/messages/*.eml")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = string(b)
	}
	for _, dir := range []string{"../../domain/message/testdata/fuzz/*/*", "../../domain/grammar/testdata/fuzz/*/*"} {
		files, _ := filepath.Glob(dir)
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(fh)
			sc.Buffer(nil, 1<<20)
			for n := 0; sc.Scan(); n++ {
				line := sc.Text()
				for _, pre := range []string{"[]byte(", "string("} {
					if strings.HasPrefix(line, pre) && strings.HasSuffix(line, ")") {
						if v, err := strconv.Unquote(line[len(pre) : len(line)-1]); err == nil && v != "" {
							out[filepath.Base(f)+"#"+strconv.Itoa(n)] = v
						}
					}
				}
			}
			fh.Close()
		}
	}
	if len(out) < 20 {
		t.Fatalf("only %d fixtures found", len(out))
	}
	// Values that must be escaped or sent as literals.
	for name, m := range map[string]string{
		"quotes": "Subject: a \"quoted\" \\ back\\slash\r\nFrom: \"Q \\\"x\\\"\" <q@x>\r\n" +
			"Content-Type: text/plain; name=\"a\\\"b\"; charset=\"x\\\\y\"\r\nContent-Disposition: attachment; filename=\"f\\\"g\"\r\n" +
			"Content-Language: en, \"fr\"\r\nContent-Location: a \"b\" c\r\nContent-ID: <\"id\">\r\nContent-Description: d\\e\r\n\r\nbody\r\n",
		"8bit": "Subject: caf\xc3\xa9 \xff\r\nFrom: J\xc3\xb6rg <j@\xc3\xa9.x>\r\nContent-Type: text/plain; name=\xe9t\xe9\r\n" +
			"Content-Disposition: inline; filename=\xc3\xa9\r\nContent-Language: \xc3\xa9\r\n\r\nbody\r\n",
		"long":    "Subject: " + strings.Repeat("long ", 300) + "\r\nMessage-ID: <" + strings.Repeat("m", 2000) + "@x>\r\n\r\nbody\r\n",
		"bare cr": "Subject: a\rb\r\nFrom: x\r@y\r\nContent-Type: text/plain; name=\"a\rb\"\r\n\r\nbody\r\n",
		"binary nul": "Subject: nul\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x01\r\n" +
			"--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\nContent-Transfer-Encoding: 8bit\r\n\r\nx\x00y\r\n--b--\r\n",
	} {
		out[name] = m
	}
	return out
}

// TestStrictResponses appends every message fixture and fetches each one
// with every item that writes strings or message data, and runs every
// response through strictCheck; then the same for LIST, LSUB, STATUS,
// NAMESPACE, ID and ESEARCH with mailbox names that need quoting.
func TestStrictResponses(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	check := func(what string, tagged ...string) {
		t.Helper()
		for _, r := range append(tc.untagged, tagged...) {
			if why := strictCheck(r, false); why != "" {
				t.Errorf("%s: %s in %q", what, why, r)
			}
		}
	}
	msgs := fixtureMessages(t)
	var names []string
	for name, m := range msgs {
		// Sent as it is: a fixture may hold what looks like a literal.
		tc.untagged = nil
		tc.send("a APPEND INBOX ~{" + itoa(len(m)) + "+}\r\n" + m + "\r\n")
		st := tc.finish("a")
		check("APPEND "+name, st)
		if strings.HasPrefix(st, "a OK") {
			names = append(names, name)
		}
	}
	tc.ok("s SELECT INBOX")
	if len(names) < len(msgs)/2 {
		t.Fatalf("only %d of %d fixtures appended", len(names), len(msgs))
	}
	check("SELECT", tc.ok("s2 NOOP"))
	tc.ok("f1 FETCH 1:* (ENVELOPE BODYSTRUCTURE BODY RFC822.SIZE INTERNALDATE FLAGS UID)")
	check("FETCH structure")
	tc.ok("f2 FETCH 1:* (BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2] " +
		"BODY.PEEK[2.1] BODY.PEEK[1]<1.20> BODY.PEEK[HEADER.FIELDS (SUBJECT \"A\\\"B\" {3}\r\nA]B)] BODY.PEEK[HEADER.FIELDS.NOT (FROM)])")
	check("FETCH sections")
	tc.ok("f3 FETCH 1:* (RFC822 RFC822.HEADER RFC822.TEXT)")
	check("FETCH RFC822")
	for i := range names {
		seq := itoa(i + 1)
		for _, items := range []string{"BINARY.PEEK[] BINARY.SIZE[]", "BINARY.PEEK[1] BINARY.PEEK[2]<0.10>", "BINARY.PEEK[2.1]"} {
			st := tc.run("b" + seq + " FETCH " + seq + " (" + items + ")")
			if !strings.HasPrefix(st, "b"+seq+" OK") && !strings.Contains(st, "[UNKNOWN-CTE]") {
				t.Errorf("FETCH %s (%s): %q", seq, items, st)
			}
			check("FETCH "+items, st)
		}
	}

	for _, name := range []string{`q"uote`, `back\slash`, "caf&AOk-", "sp ace", "per%cent", "br]ack[et", "NIL"} {
		tc.ok("c CREATE " + literal(name))
		tc.ok("u SUBSCRIBE " + literal(name))
		tc.ok("t STATUS " + literal(name) + " (MESSAGES UIDNEXT)")
		check("STATUS " + name)
	}
	for _, cmd := range []string{`l1 LIST "" *`, `l2 LSUB "" *`, `l3 LIST "" * RETURN (STATUS (MESSAGES) SUBSCRIBED CHILDREN)`,
		`n NAMESPACE`, `i ID ("name" "x")`, `e SEARCH RETURN (MIN MAX COUNT ALL) ALL`, `g UID SEARCH RETURN (ALL) ALL`, `h CAPABILITY`} {
		check(cmd, tc.ok(cmd))
	}
	check("SELECT", tc.no(`x1 SELECT "no such"`, ""))
	check("BAD", tc.bad(`x2 FETCH 1 (BODY[HEADER.FIELDS`))
	check("LOGOUT", tc.ok("z LOGOUT"))

	// RFC 6855: with UTF8=ACCEPT, quoted strings may hold UTF-8, and only
	// valid UTF-8.
	u := e.rawLogin("alice")
	u.ok("v1 ENABLE UTF8=ACCEPT")
	for _, cmd := range []string{`v2 LIST "" *`, "v3 STATUS \"caf\xc3\xa9\" (MESSAGES)", `v4 SELECT INBOX`,
		`v5 FETCH 1:* (ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER])`} {
		st := u.ok(cmd)
		for _, r := range append(u.untagged, st) {
			if why := strictCheck(r, true); why != "" {
				t.Errorf("%s: %s in %q", cmd, why, r)
			}
		}
	}
}
