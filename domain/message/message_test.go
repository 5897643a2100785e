package message

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func mustParse(t testing.TB, raw string) *Structure {
	t.Helper()
	s, err := Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func section(t testing.TB, s *Structure, raw string, spec string) string {
	t.Helper()
	r, n, err := s.Section(strings.NewReader(raw), parseSection(t, spec))
	if err != nil {
		t.Fatalf("BODY[%s]: %v", spec, err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != n {
		t.Fatalf("BODY[%s]: length %d, read %d", spec, n, len(b))
	}
	return string(b)
}

// Shapes beyond the fixture files: bare LF line endings, degenerate
// multiparts, unusual headers. Each row gives BODYSTRUCTURE and sections.
func TestParseShapes(t *testing.T) {
	tests := []struct {
		name     string
		raw      string
		bs       string
		sections map[string]string
	}{
		{
			name: "bare LF multipart",
			raw:  "Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\nline 1\nline 2\n--x\n\nsecond\n--x--\n",
			bs: `(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 13 2 NIL NIL NIL NIL)` +
				`("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 6 1 NIL NIL NIL NIL) "MIXED" ("BOUNDARY" "x") NIL NIL NIL)`,
			sections: map[string]string{"1": "line 1\nline 2", "2": "second", "2.MIME": "\n", "1.MIME": "Content-Type: text/plain\n\n",
				"HEADER": "Content-Type: multipart/mixed; boundary=x\n\n"},
		},
		{
			name:     "empty message",
			raw:      "",
			bs:       `("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0 NIL NIL NIL NIL)`,
			sections: map[string]string{"": "", "HEADER": "", "TEXT": "", "1": ""},
		},
		{
			name:     "header only, no body",
			raw:      "Subject: x\r\n",
			bs:       `("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0 NIL NIL NIL NIL)`,
			sections: map[string]string{"HEADER": "Subject: x\r\n", "TEXT": "", "HEADER.FIELDS (SUBJECT)": "Subject: x\r\n\r\n"},
		},
		{
			name:     "multipart never delimited",
			raw:      "Content-Type: multipart/mixed; boundary=nope\r\n\r\nonly a preamble\r\n",
			bs:       `(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0 NIL NIL NIL NIL) "MIXED" ("BOUNDARY" "nope") NIL NIL NIL)`,
			sections: map[string]string{"1": "", "TEXT": "only a preamble\r\n", "2": ""},
		},
		{
			name:     "multipart without boundary is text",
			raw:      "Content-Type: multipart/mixed\r\n\r\nhello\r\n",
			bs:       `("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 7 1 NIL NIL NIL NIL)`,
			sections: map[string]string{"1": "hello\r\n"},
		},
		{
			name:     "invalid content type and transport padding after delimiter",
			raw:      "Content-Type: multipart/alternative; boundary=\"a b\"\r\n\r\n--a b  \r\nContent-Type: garbage\r\n\r\nx\r\n--a b-- \t\r\n",
			bs:       `(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 1 1 NIL NIL NIL NIL) "ALTERNATIVE" ("BOUNDARY" "a b") NIL NIL NIL)`,
			sections: map[string]string{"1": "x"},
		},
		{
			name: "nested parts closed by the outer delimiter",
			raw: "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: multipart/related; boundary=i\r\n\r\n" +
				"--i\r\n\r\ninner\r\n--o\r\n\r\nlast\r\n--o--\r\n",
			bs: `((("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 5 1 NIL NIL NIL NIL) "RELATED" ("BOUNDARY" "i") NIL NIL NIL)` +
				`("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 4 1 NIL NIL NIL NIL) "MIXED" ("BOUNDARY" "o") NIL NIL NIL)`,
			sections: map[string]string{"1.1": "inner", "2": "last", "1": "--i\r\n\r\ninner"},
		},
		{
			name: "base64 message/rfc822 is not parsed",
			raw:  "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA0KDQp5\r\n",
			bs: `("MESSAGE" "RFC822" NIL NIL NIL "BASE64" 22 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ` +
				`("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0 NIL NIL NIL NIL) 1 NIL NIL NIL NIL)`,
			sections: map[string]string{"1": "U3ViamVjdDogeA0KDQp5\r\n", "1.HEADER": ""},
		},
		{
			name: "top-level message/rfc822",
			raw:  "Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nhi\r\n",
			bs: `("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 22 (NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL) ` +
				`("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 4 1 NIL NIL NIL NIL) 3 NIL NIL NIL NIL)`,
			sections: map[string]string{"1": "Subject: inner\r\n\r\nhi\r\n", "1.HEADER": "Subject: inner\r\n\r\n", "1.TEXT": "hi\r\n", "1.1": "hi\r\n", "1.2": ""},
		},
		{
			name:     "quoted parameter with escapes and comments",
			raw:      "Content-Type: text/plain (comment) ; charset = \"a\\\"b\" ; format=flowed (c)\r\n\r\nx",
			bs:       `("TEXT" "PLAIN" ("CHARSET" "a\"b" "FORMAT" "flowed") NIL NIL "7BIT" 1 1 NIL NIL NIL NIL)`,
			sections: map[string]string{"1": "x"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustParse(t, tc.raw)
			if got := string(s.BodyStructure(true)); got != tc.bs {
				t.Errorf("BODYSTRUCTURE\n got %s\nwant %s", got, tc.bs)
			}
			if s.Size() != int64(len(tc.raw)) {
				t.Errorf("Size = %d, want %d", s.Size(), len(tc.raw))
			}
			for spec, want := range tc.sections {
				if got := section(t, s, tc.raw, spec); got != want {
					t.Errorf("BODY[%s] = %q, want %q", spec, got, want)
				}
			}
		})
	}
}

func TestEnvelopeAddresses(t *testing.T) {
	tests := []struct{ in, want string }{
		{`John Doe <jdoe@machine.example>`, `(("John Doe" NIL "jdoe" "machine.example"))`},
		{`"Joe Q. Public" <john.q.public@example.com>`, `(("Joe Q. Public" NIL "john.q.public" "example.com"))`},
		{`Joe Q. Public <john.q.public@example.com>`, `(("Joe Q. Public" NIL "john.q.public" "example.com"))`},
		{`Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>`,
			`(("Mary Smith" NIL "mary" "x.test")(NIL NIL "jdoe" "example.org")("Who?" NIL "one" "y.test"))`},
		{`<boss@nil.test>, "Giant; \"Big\" Box" <sysservices@example.net>`,
			`((NIL NIL "boss" "nil.test")("Giant; \"Big\" Box" NIL "sysservices" "example.net"))`},
		{`"john doe"@example.com`, `((NIL NIL "\"john doe\"" "example.com"))`},
		{`user@[192.0.2.1]`, `((NIL NIL "user" "[192.0.2.1]"))`},
		{`,,`, `NIL`},
		{``, `NIL`},
		{`Empty:;, x@y`, `((NIL NIL "Empty" NIL)(NIL NIL NIL NIL)(NIL NIL "x" "y"))`},
		{`Unclosed: a@b`, `((NIL NIL "Unclosed" NIL)(NIL NIL "a" "b")(NIL NIL NIL NIL))`},
	}
	for _, tc := range tests {
		got := string(appendAddresses(nil, parseAddressList(tc.in)))
		if got != tc.want {
			t.Errorf("%q\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestSentDate(t *testing.T) {
	tests := []struct{ date, want string }{
		{"Mon, 7 Feb 1994 21:52:25 -0800 (PST)", "1994-02-07T21:52:25-08:00"},
		{"7 Feb 1994 21:52 -0800", "1994-02-07T21:52:00-08:00"},
		{"Tue,  1 Jul 2003 10:52:37 +0200", "2003-07-01T10:52:37+02:00"},
		{"garbage", ""},
	}
	for _, tc := range tests {
		s := mustParse(t, "Date: "+tc.date+"\r\n\r\n")
		got := s.SentDate()
		if tc.want == "" {
			if !got.IsZero() {
				t.Errorf("%q: %v, want zero", tc.date, got)
			}
			continue
		}
		if got.Format("2006-01-02T15:04:05Z07:00") != tc.want {
			t.Errorf("%q: %v, want %s", tc.date, got, tc.want)
		}
	}
}

func TestLongHeaderNotKept(t *testing.T) {
	raw := "Subject: s\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("p", 90)+"\r\n", 1000) + "\r\nbody"
	s := mustParse(t, raw)
	if _, ok := s.Header(); ok {
		t.Fatal("Header() ok for a header over the cap")
	}
	if _, _, err := s.Section(nil, Section{Specifier: "HEADER"}); !errors.Is(err, ErrNoRaw) {
		t.Errorf("HEADER without raw: err = %v, want ErrNoRaw", err)
	}
	if got := section(t, s, raw, "HEADER.FIELDS (SUBJECT)"); got != "Subject: s\r\n\r\n" {
		t.Errorf("HEADER.FIELDS = %q", got)
	}
	if got := section(t, s, raw, "TEXT"); got != "body" {
		t.Errorf("TEXT = %q", got)
	}
	if !strings.Contains(string(s.Envelope()), `"s"`) {
		t.Errorf("ENVELOPE lost the subject: %s", s.Envelope())
	}
}

func TestHeaderSectionsWithoutRaw(t *testing.T) {
	raw := "From: a@b\r\nTo: c@d\r\n\r\nbody\r\n"
	s := mustParse(t, raw)
	for spec, want := range map[string]string{
		"HEADER":                 "From: a@b\r\nTo: c@d\r\n\r\n",
		"HEADER.FIELDS (to)":     "To: c@d\r\n\r\n",
		"HEADER.FIELDS.NOT (TO)": "From: a@b\r\n\r\n",
		"1.MIME":                 "From: a@b\r\nTo: c@d\r\n\r\n",
	} {
		r, n, err := s.Section(nil, parseSection(t, spec))
		if err != nil {
			t.Errorf("BODY[%s] without raw: %v", spec, err)
			continue
		}
		b, _ := io.ReadAll(r)
		if string(b) != want || n != int64(len(b)) {
			t.Errorf("BODY[%s] = %q (%d), want %q", spec, b, n, want)
		}
	}
	if _, _, err := s.Section(nil, Section{Specifier: "TEXT"}); !errors.Is(err, ErrNoRaw) {
		t.Errorf("TEXT without raw: err = %v, want ErrNoRaw", err)
	}
}

func TestUnmarshalRejects(t *testing.T) {
	good, err := mustParse(t, "Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n").MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if good[0] != formatVersion {
		t.Fatalf("first byte %d, want version %d", good[0], formatVersion)
	}
	bad := [][]byte{nil, {}, {0}, {99, 1, 2}, good[:len(good)-1], append(append([]byte{}, good...), 0)}
	for i := 1; i < len(good); i++ {
		bad = append(bad, good[:i])
	}
	for i, b := range bad {
		if _, err := Unmarshal(b); err == nil {
			t.Errorf("case %d (%d bytes): no error", i, len(b))
		}
	}
	if _, err := Unmarshal([]byte{7}); !errors.Is(err, ErrVersion) {
		t.Errorf("unknown version: err = %v", err)
	}
}

func TestTextParts(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(fixtureDir, "03-rfc822-attachment.eml"))
	if err != nil {
		t.Fatal(err)
	}
	s := mustParse(t, string(raw))
	var got []string
	s.TextParts(func(p TextPart) bool {
		got = append(got, fmt.Sprint(p.Path, p.Subtype, p.Charset))
		return true
	})
	want := []string{"[1]PLAINus-ascii", "[2 1]PLAINus-ascii", "[2 2]HTMLus-ascii"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("TextParts = %v, want %v", got, want)
	}
}

// errReader fails after some bytes: Parse reports read errors.
type errReader struct{ n int }

func (r *errReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("disk on fire")
	}
	n := min(len(p), r.n)
	for i := range p[:n] {
		p[i] = 'a'
	}
	r.n -= n
	return n, nil
}

func TestParseReadError(t *testing.T) {
	if _, err := Parse(&errReader{n: 100}); err == nil {
		t.Error("no error from a failing reader")
	}
}

// allSections lists sections worth trying on any structure.
func allSections() []Section {
	specs := []string{"", "HEADER", "TEXT", "MIME", "HEADER.FIELDS", "HEADER.FIELDS.NOT"}
	paths := [][]int{nil, {0}, {1}, {2}, {3}, {1, 1}, {1, 2}, {2, 1}, {2, 2}, {1, 1, 1}, {2, 1, 1}, {2, 2, 1}}
	var out []Section
	for _, p := range paths {
		for _, s := range specs {
			out = append(out, Section{Path: p, Specifier: s, Fields: []string{"FROM", "CONTENT-TYPE"}})
		}
	}
	return out
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "*.eml"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := Parse(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if s.Size() != int64(len(raw)) {
			t.Fatalf("Size %d, want %d", s.Size(), len(raw))
		}
		blob, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		u, err := Unmarshal(blob)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal): %v", err)
		}
		blob2, _ := u.MarshalBinary()
		if !bytes.Equal(blob, blob2) {
			t.Fatal("marshal round trip differs")
		}
		if !bytes.Equal(s.Envelope(), u.Envelope()) || !bytes.Equal(s.BodyStructure(true), u.BodyStructure(true)) {
			t.Fatal("rendering differs after round trip")
		}
		for _, sec := range allSections() {
			r, n, err := u.Section(bytes.NewReader(raw), sec)
			if err != nil {
				t.Fatalf("%+v: %v", sec, err)
			}
			b, err := io.ReadAll(r)
			if err != nil || int64(len(b)) != n {
				t.Fatalf("%+v: read %d bytes (%v), length %d", sec, len(b), err, n)
			}
		}
		// BINARY: the announced length is what the reader gives.
		for _, path := range [][]int{nil, {1}, {2}, {1, 1}, {2, 1}, {1, 2}} {
			r, n, err := u.Decoded(bytes.NewReader(raw), path)
			if errors.Is(err, ErrUnknownCTE) {
				continue
			}
			if err != nil {
				t.Fatalf("BINARY%v: %v", path, err)
			}
			b, err := io.ReadAll(r)
			if err != nil || int64(len(b)) != n {
				t.Fatalf("BINARY%v: read %d bytes (%v), length %d", path, len(b), err, n)
			}
		}
		// The stored form holds no NUL, has the announced length, and is
		// its own stored form.
		if r, size, changed, err := ForStore(s, bytes.NewReader(raw)); err == nil && changed {
			b, err := io.ReadAll(r)
			if err != nil || int64(len(b)) != size || bytes.IndexByte(b, 0) >= 0 {
				t.Fatalf("stored form: %d bytes (%v), size %d, %q", len(b), err, size, b)
			}
			s2, err := Parse(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if _, _, again, err := ForStore(s2, bytes.NewReader(b)); again || err != nil {
				t.Fatalf("stored form changes again (%v) of %q", err, b)
			}
		} else if err != nil && !errors.Is(err, ErrNUL) {
			t.Fatal(err)
		}
		if env, err := AppendEnvelopeOf(nil, blob); err != nil || !bytes.Equal(env, s.Envelope()) {
			t.Fatalf("AppendEnvelopeOf: %v: %s, want %s", err, env, s.Envelope())
		}
		if bs, err := AppendBodyStructureOf(nil, blob); err != nil || !bytes.Equal(bs, s.BodyStructure(true)) {
			t.Fatalf("AppendBodyStructureOf: %v: %s, want %s", err, bs, s.BodyStructure(true))
		}
		// The texts the blob carries are what its parts render.
		u.envText, u.bsText = nil, nil
		if !bytes.Equal(s.Envelope(), u.Envelope()) || !bytes.Equal(s.BodyStructure(true), u.BodyStructure(true)) {
			t.Fatal("rendering from the decoded parts differs")
		}
		_, _ = Unmarshal(raw) // garbage must not panic either
		_, _ = AppendEnvelopeOf(nil, raw)
		_, _ = AppendBodyStructureOf(nil, raw)
	})
}

func BenchmarkParse(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("From: a@example.com\r\nTo: b@example.com\r\nSubject: bench\r\n" +
		"Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n")
	for i := 0; sb.Len() < 100<<10; i++ {
		fmt.Fprintf(&sb, "--outer\r\nContent-Type: multipart/alternative; boundary=\"in%d\"\r\n\r\n", i)
		fmt.Fprintf(&sb, "--in%d\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", i, strings.Repeat("plain text line of a message body\r\n", 40))
		fmt.Fprintf(&sb, "--in%d\r\nContent-Type: text/html; charset=utf-8\r\n\r\n%s\r\n--in%d--\r\n", i, strings.Repeat("<p>html text line of a message body</p>\r\n", 40), i)
	}
	sb.WriteString("--outer--\r\n")
	raw := sb.String()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Parse(strings.NewReader(raw)); err != nil {
			b.Fatal(err)
		}
	}
}

func TestParseAddressList(t *testing.T) {
	tests := []struct {
		in   string
		want []Address
	}{
		{`<user-from (comment)@ (comment) domain.org>`, []Address{{Mailbox: "user-from", Host: "domain.org"}}},
		{`Alice (x) Smith <alice@example.com>, bob@example.com (Bob)`, []Address{
			{Name: "Alice Smith", Mailbox: "alice", Host: "example.com"},
			{Name: "Bob", Mailbox: "bob", Host: "example.com"}}},
		{`=?UTF-8?Q?J=C3=B6rg?= <j@x>`, []Address{{Name: "=?UTF-8?Q?J=C3=B6rg?=", Mailbox: "j", Host: "x"}}},
		{`undisclosed: a@b, c (x) @d; e@f`, []Address{
			{Mailbox: "a", Host: "b", Group: "undisclosed"},
			{Name: "x", Mailbox: "c", Host: "d", Group: "undisclosed"},
			{Mailbox: "e", Host: "f"}}},
		{`Empty:;`, []Address{{Group: "Empty"}}},
		{`<@r1.example,@r2.example:joe@example.org>`, []Address{{Route: "@r1.example,@r2.example", Mailbox: "joe", Host: "example.org"}}},
		{`"john doe"@example.com`, []Address{{Mailbox: `"john doe"`, Host: "example.com"}}},
		{`nohost`, []Address{{Mailbox: "nohost"}}},
		{`Name Only <>`, []Address{{Name: "Name Only"}}},
	}
	for _, tc := range tests {
		got := ParseAddressList(tc.in)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q\n got %+v\nwant %+v", tc.in, got, tc.want)
		}
	}
}

// StoredHeader reads the header a marshalled Structure keeps, as Header
// does after Unmarshal, and refuses what Unmarshal refuses at its start.
func TestStoredHeader(t *testing.T) {
	long := "Subject: x\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("p", 70)+"\r\n", 2000) + "\r\nbody\r\n"
	for _, raw := range []string{
		"Subject: x\r\nFrom: a@b\r\n\r\nbody\r\n",
		"\r\nbody only\r\n",
		"Subject: no body",
		long,
	} {
		st := mustParse(t, raw)
		b, err := st.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		want, kept := st.Header()
		got, err := StoredHeader(b)
		if err != nil {
			t.Errorf("%.20q: %v", raw, err)
			continue
		}
		if (got != nil) != kept || string(got) != string(want) {
			t.Errorf("%.20q: StoredHeader = %q (nil %v), want %q (kept %v)", raw, got, got == nil, want, kept)
		}
	}
	good, err := mustParse(t, "Subject: x\r\n\r\nbody\r\n").MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range [][]byte{nil, {}, {formatVersion}, {formatVersion, 2}, good[:5]} {
		if _, err := StoredHeader(b); !errors.Is(err, ErrBadFormat) {
			t.Errorf("case %d: err = %v, want ErrBadFormat", i, err)
		}
	}
	if _, err := StoredHeader([]byte{7, 1, 0}); !errors.Is(err, ErrVersion) {
		t.Errorf("unknown version: err = %v", err)
	}
}
