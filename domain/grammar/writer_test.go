package grammar

import (
	"bufio"
	"bytes"
	"math/rand"
	"strconv"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
)

// wantBack is what a string written by the server reads back as: its
// bytes, with NUL replaced (NUL cannot cross IMAP outside a literal8).
func wantBack(s string) string {
	return strings.ReplaceAll(s, "\x00", string([]byte{imap.NULReplacement}))
}

// reparse runs the writer's encodings of s through the project's command
// parser, as arguments of LOGIN (two astrings) and ID (a string and an
// nstring), and reports what came back.
func reparse(t *testing.T, s string, utf8 bool) {
	t.Helper()
	enc := imap.AppendString
	if utf8 {
		enc = imap.AppendUTF8String
	}
	var b []byte
	b = append(b, "a LOGIN "...)
	b = imap.AppendAString(b, s)
	b = append(b, ' ')
	b = enc(b, s)
	// ID values are at most 1024 bytes.
	id := s[:min(len(s), 1024)]
	b = append(b, "\r\nb ID (\"k\" "...)
	b = imap.AppendNString(b, id, true)
	b = append(b, " \"n\" "...)
	b = imap.AppendNString(b, s, false)
	b = append(b, ")\r\nc LOGIN "...)
	b = imap.AppendAtomOrString(b, s)
	b = append(b, " x\r\n"...)
	p := NewParser(bufio.NewReader(bytes.NewReader(b)), func() error { return nil }, Limits{MaxLine: 1 << 20, MaxLiteral: 1 << 20})
	p.SetUTF8(utf8)
	want := wantBack(s)
	cmd, err := p.Next()
	if err != nil {
		t.Fatalf("%q: LOGIN: %v (wire %q)", s, err, b)
	}
	if a := cmd.Args.(*LoginArgs); a.User != want || a.Password != want {
		t.Fatalf("%q: astring %q, string %q (wire %q)", s, a.User, a.Password, b)
	}
	if cmd, err = p.Next(); err != nil {
		t.Fatalf("%q: ID: %v (wire %q)", s, err, b)
	}
	if a := cmd.Args.(*IDArgs); a.Params["k"] != wantBack(id) || a.Params["n"] != "" {
		t.Fatalf("%q: nstring %q, NIL %q (wire %q)", s, a.Params["k"], a.Params["n"], b)
	}
	if cmd, err = p.Next(); err != nil {
		t.Fatalf("%q: atom or string: %v (wire %q)", s, err, b)
	}
	if a := cmd.Args.(*LoginArgs); a.User != want {
		t.Fatalf("%q: atom or string %q (wire %q)", s, a.User, b)
	}
	// No quoted string the writer makes may hold what RFC 3501 forbids,
	// and no literal a NUL.
	if bytes.IndexByte(b, 0) >= 0 {
		t.Fatalf("%q: NUL on the wire %q", s, b)
	}
}

// stringSeeds are the strings that stress the choice between atom, quoted
// string and literal.
var stringSeeds = []string{
	"", "NIL", "nil", "INBOX", "a b", `"`, `\`, `a"b\c`, "]", "a]b", "{3}", "~{1}", "(", ")", "%", "*",
	"\r", "\n", "a\r\nb", "\x00", "a\x00b", "\x7f", "\x01\x1f", "caf\xc3\xa9", "\xff\xfe", "\xc3", "\xe2\x82",
	strings.Repeat("x", 1024), strings.Repeat("x", 1025), strings.Repeat("\xc3\xa9", 600),
}

// TestStringRoundTrip: every string the writer encodes reads back, through
// the project's own parser, as the same bytes (NUL aside).
func TestStringRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	cases := append([]string{}, stringSeeds...)
	for range 3000 {
		n := rng.Intn(40)
		if rng.Intn(20) == 0 {
			n = 1000 + rng.Intn(100)
		}
		s := make([]byte, n)
		for i := range s {
			switch rng.Intn(4) {
			case 0:
				s[i] = byte(rng.Intn(256))
			case 1:
				s[i] = `"\(){}[]% *~NIL`[rng.Intn(15)]
			default:
				s[i] = byte('a' + rng.Intn(26))
			}
		}
		cases = append(cases, string(s))
	}
	for _, s := range cases {
		reparse(t, s, false)
		reparse(t, s, true)
	}
}

// FuzzStringRoundTrip is TestStringRoundTrip under the fuzzer.
func FuzzStringRoundTrip(f *testing.F) {
	for _, s := range stringSeeds {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, utf8 bool) {
		reparse(t, s, utf8)
	})
}

func TestLiteralKeepsNULOut(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	w.Raw([]byte("* 1 FETCH (BODY[] "))
	w.Literal(strings.NewReader("a\x00b"), 3)
	w.Raw([]byte(" BINARY[] "))
	w.Literal8(strings.NewReader("a\x00b"), 3)
	w.Raw([]byte(")\r\n"))
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "* 1 FETCH (BODY[] {3}\r\na\x80b BINARY[] ~{3}\r\na\x00b)\r\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

// TestLiteralReplacesEveryNUL covers NUL bytes at either end, next to each
// other and spread through a literal larger than the writer's buffer.
func TestLiteralReplacesEveryNUL(t *testing.T) {
	big := []byte(strings.Repeat("x", 40<<10))
	for _, i := range []int{0, 1, 16 << 10, 16<<10 + 1, 30000, len(big) - 1} {
		big[i] = 0
	}
	for _, in := range []string{"\x00", "\x00\x00\x00", "\x00a\x00", "ab\x00\x00cd\x00", string(big)} {
		var out bytes.Buffer
		w := NewWriter(&out)
		w.Literal(strings.NewReader(in), int64(len(in)))
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		want := "{" + strconv.Itoa(len(in)) + "}\r\n" + wantBack(in)
		if out.String() != want {
			t.Errorf("%.20q...: NUL left or bytes changed", in)
		}
	}
}

func TestAppendStatusText(t *testing.T) {
	got := string(AppendStatus(nil, "*", "BYE", "ALERT]x\r\n", "shut\r\ndown \x00 caf\xc3\xa9"))
	want := "* BYE [ALERT x  ] shut  down   caf??\r\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestAppendFlagsSkipsNonAtoms(t *testing.T) {
	got := string(AppendFlags(nil, []string{`\Seen`, "$Junk", "two words", "", `\`, "a(b", "ok"}))
	if got != `(\Seen $Junk ok)` {
		t.Errorf("got %s", got)
	}
}

func TestWriterReleaseKeepsPendingBytes(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	w.Untagged("1 EXISTS")
	w.Release() // holds a byte: kept
	w.Untagged("2 EXISTS")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	w.Release()
	if w.bw != nil {
		t.Fatal("an empty buffer was not released")
	}
	w.Tagged("a1", "OK", "", "done")
	w.Flush()
	if got, want := out.String(), "* 1 EXISTS\r\n* 2 EXISTS\r\na1 OK done\r\n"; got != want {
		t.Fatalf("wrote %q, want %q", got, want)
	}
}
