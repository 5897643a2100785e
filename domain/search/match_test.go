package search

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
)

const sample = "Date: Mon, 7 Feb 1994 23:52:25 -0800 (PST)\r\n" +
	"From: =?ISO-8859-1?Q?Andr=E9?= Pirard <pirard@example.be>\r\n" +
	"To: Bob <bob@example.com>\r\n" +
	"Subject: =?UTF-8?B?wqFIb2xhLCBzZcOxb3Ih?=\r\n" +
	"X-Folded: alpha\r\n beta\r\n" +
	"X-Empty:\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=b\r\n" +
	"\r\n" +
	"--b\r\n" +
	"Content-Type: text/plain; charset=iso-8859-1\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Le caf=E9 est pr=EAt, tr=E8s CHAUD et tr=\r\n" +
	"=E8s bon.\r\n" +
	"--b\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"PHA+R3LDvMOfZSBhdXMgS8O2bG48L3A+\r\n" + // <p>Grüße aus Köln</p>
	"--b\r\n" +
	"Content-Type: application/octet-stream\r\n" +
	"\r\n" +
	"secret binary words\r\n" +
	"--b--\r\n"

func parse(t testing.TB, raw string) *message.Structure {
	t.Helper()
	s, err := message.Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestMatch(t *testing.T) {
	s := parse(t, sample)
	paris, _ := time.LoadLocation("Europe/Paris")
	if paris == nil {
		paris = time.FixedZone("CET", 3600)
	}
	msg := &Message{
		Seq:   3,
		UID:   42,
		Flags: []string{`\Seen`, `\Recent`, "$Label1"},
		// 23:30 UTC on 9 March is 10 March in Paris.
		InternalDate: time.Date(2024, 3, 9, 23, 30, 0, 0, time.UTC),
		Size:         int64(len(sample)),
		Structure:    s,
		Raw:          strings.NewReader(sample),
	}
	ctx := Context{MaxSeq: 10, MaxUID: 100, Location: paris}
	set := func(a, b uint32) imap.NumSet { return imap.NumSet{{Start: a, Stop: b}} }
	hdr := func(f, v string) Key { return Key{Op: OpHeader, Field: f, Value: v} }
	not := func(k Key) Key { return Key{Op: OpNot, Sub: []Key{k}} }
	tests := []struct {
		name string
		key  Key
		want bool
	}{
		{"all", Key{Op: OpAll}, true},
		{"seq in", Key{Op: OpSeqSet, Set: set(2, 4)}, true},
		{"seq out", Key{Op: OpSeqSet, Set: set(4, 9)}, false},
		{"seq star", Key{Op: OpSeqSet, Set: set(3, 0)}, true},
		{"uid in", Key{Op: OpUID, Set: set(42, 42)}, true},
		{"uid star", Key{Op: OpUID, Set: set(0, 0)}, false},
		{"uid out", Key{Op: OpUID, Set: set(1, 41)}, false},
		{"flag seen", Key{Op: OpFlag, Value: `\Seen`}, true},
		{"flag case", Key{Op: OpFlag, Value: `\SEEN`}, true},
		{"flag answered", Key{Op: OpFlag, Value: `\Answered`}, false},
		{"keyword", Key{Op: OpFlag, Value: "$label1"}, true},
		{"unkeyword", Key{Op: OpNoFlag, Value: "$Label1"}, false},
		{"unanswered", Key{Op: OpNoFlag, Value: `\Answered`}, true},
		{"new (recent but seen)", Key{Op: OpNew}, false},
		{"old", Key{Op: OpOld}, false},
		{"before same day", Key{Op: OpBefore, Date: day(2024, 3, 10)}, false},
		{"before next day", Key{Op: OpBefore, Date: day(2024, 3, 11)}, true},
		{"on local day", Key{Op: OpOn, Date: day(2024, 3, 10)}, true},
		{"on utc day", Key{Op: OpOn, Date: day(2024, 3, 9)}, false},
		{"since same day", Key{Op: OpSince, Date: day(2024, 3, 10)}, true},
		{"since next day", Key{Op: OpSince, Date: day(2024, 3, 11)}, false},
		// The Date: header is 7 Feb 1994 in its own zone (8 Feb in UTC).
		{"senton own zone", Key{Op: OpSentOn, Date: day(1994, 2, 7)}, true},
		{"senton utc day", Key{Op: OpSentOn, Date: day(1994, 2, 8)}, false},
		{"sentbefore", Key{Op: OpSentBefore, Date: day(1994, 2, 8)}, true},
		{"sentbefore same", Key{Op: OpSentBefore, Date: day(1994, 2, 7)}, false},
		{"sentsince same", Key{Op: OpSentSince, Date: day(1994, 2, 7)}, true},
		{"sentsince later", Key{Op: OpSentSince, Date: day(1994, 2, 8)}, false},
		{"larger strict", Key{Op: OpLarger, Size: int64(len(sample))}, false},
		{"larger", Key{Op: OpLarger, Size: int64(len(sample)) - 1}, true},
		{"smaller strict", Key{Op: OpSmaller, Size: int64(len(sample))}, false},
		{"smaller", Key{Op: OpSmaller, Size: int64(len(sample)) + 1}, true},
		{"from decoded", hdr("FROM", "andré"), true},
		{"from address", hdr("from", "PIRARD@EXAMPLE"), true},
		{"subject decoded", hdr("SUBJECT", "¡hola, SEÑOR"), true},
		{"subject raw form not matched", hdr("SUBJECT", "wqFIb2xh"), false},
		{"to", hdr("TO", "bob"), true},
		{"cc absent", hdr("CC", ""), false},
		{"header present empty value", hdr("X-Empty", ""), true},
		{"header folded", hdr("X-Folded", "alpha beta"), true},
		{"header other field", hdr("X-Folded", "bob"), false},
		{"body qp decoded", Key{Op: OpBody, Value: "café est prêt"}, true},
		{"body soft break", Key{Op: OpBody, Value: "très bon"}, true},
		{"body case", Key{Op: OpBody, Value: "chaud"}, true},
		{"body base64 html", Key{Op: OpBody, Value: "GRÜSSE"}, false},
		{"body base64 html umlaut", Key{Op: OpBody, Value: "GRÜßE AUS"}, true},
		{"body not in non-text part", Key{Op: OpBody, Value: "secret"}, false},
		{"body not headers", Key{Op: OpBody, Value: "Pirard"}, false},
		{"body encoded form not matched", Key{Op: OpBody, Value: "caf=E9"}, false},
		{"text header", Key{Op: OpText, Value: "pirard"}, true},
		{"text body", Key{Op: OpText, Value: "köln"}, true},
		{"text miss", Key{Op: OpText, Value: "nowhere"}, false},
		{"and", Key{Op: OpAnd, Sub: []Key{{Op: OpFlag, Value: `\Seen`}, hdr("TO", "bob")}}, true},
		{"and short", Key{Op: OpAnd, Sub: []Key{{Op: OpFlag, Value: `\Deleted`}, hdr("TO", "bob")}}, false},
		{"and empty", Key{Op: OpAnd}, true},
		{"or", Key{Op: OpOr, Sub: []Key{{Op: OpFlag, Value: `\Deleted`}, hdr("TO", "bob")}}, true},
		{"or none", Key{Op: OpOr, Sub: []Key{{Op: OpFlag, Value: `\Deleted`}, hdr("TO", "carol")}}, false},
		{"not", not(Key{Op: OpFlag, Value: `\Deleted`}), true},
		{"not not", not(not(Key{Op: OpFlag, Value: `\Deleted`})), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Match(ctx, tc.key, msg)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Match = %v, want %v", got, tc.want)
			}
		})
	}

	// NEW: recent and not seen.
	unseen := *msg
	unseen.Flags = []string{`\Recent`}
	if ok, _ := Match(ctx, Key{Op: OpNew}, &unseen); !ok {
		t.Error("NEW: recent unseen message not matched")
	}
	unseen.Flags = nil
	if ok, _ := Match(ctx, Key{Op: OpOld}, &unseen); !ok {
		t.Error("OLD: non-recent message not matched")
	}
}

func TestMatchNoDate(t *testing.T) {
	s := parse(t, "Subject: x\r\n\r\nbody\r\n")
	m := &Message{Structure: s}
	for _, op := range []Op{OpSentBefore, OpSentOn, OpSentSince} {
		if ok, err := Match(Context{}, Key{Op: op, Date: day(2000, 1, 1)}, m); ok || err != nil {
			t.Errorf("op %d without Date: = %v, %v; want false", op, ok, err)
		}
	}
}

func TestNeedsRaw(t *testing.T) {
	tests := []struct {
		key  Key
		want bool
	}{
		{Key{Op: OpAll}, false},
		{Key{Op: OpHeader, Field: "FROM", Value: "x"}, false},
		{Key{Op: OpBody, Value: "x"}, true},
		{Key{Op: OpNot, Sub: []Key{{Op: OpText, Value: "x"}}}, true},
		{Key{Op: OpOr, Sub: []Key{{Op: OpAll}, {Op: OpBody}}}, true},
	}
	for _, tc := range tests {
		if got := NeedsRaw(tc.key); got != tc.want {
			t.Errorf("NeedsRaw(%+v) = %v, want %v", tc.key, got, tc.want)
		}
	}
	m := &Message{Structure: parse(t, sample)}
	if _, err := Match(Context{}, Key{Op: OpBody, Value: "x"}, m); !errors.Is(err, ErrNeedRaw) {
		t.Errorf("BODY without raw: err = %v, want ErrNeedRaw", err)
	}
}

// A header too long to keep is read from the raw message.
func TestMatchLongHeader(t *testing.T) {
	raw := "Subject: needle here\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("p", 70)+"\r\n", 2000) + "\r\nbody\r\n"
	s := parse(t, raw)
	if _, ok := s.Header(); ok {
		t.Fatal("header unexpectedly kept")
	}
	k := Key{Op: OpHeader, Field: "SUBJECT", Value: "NEEDLE"}
	if !NeedsRawFor(k, s) {
		t.Error("NeedsRawFor = false for a header search on an unkept header")
	}
	if _, err := Match(Context{}, k, &Message{Structure: s}); !errors.Is(err, ErrNeedRaw) {
		t.Errorf("err = %v, want ErrNeedRaw", err)
	}
	ok, err := Match(Context{}, k, &Message{Structure: s, Raw: strings.NewReader(raw)})
	if err != nil || !ok {
		t.Errorf("Match = %v, %v; want true", ok, err)
	}
}

// Matches spanning the matcher's internal chunks, including a multi-byte
// rune split by a chunk edge, are found.
func TestMatchReaderChunks(t *testing.T) {
	for _, off := range []int{0, 1, 2, 32<<10 - 3, 32<<10 - 2, 32<<10 - 1, 32 << 10, 64<<10 - 1} {
		text := strings.Repeat("a", off) + "ÄÖÜ needle" + strings.Repeat("b", 1000)
		ok, err := newMatcher("äöü NEEDLE").matchReader(strings.NewReader(text))
		if err != nil || !ok {
			t.Errorf("offset %d: = %v, %v; want true", off, ok, err)
		}
	}
	ok, _ := newMatcher("zzz").matchReader(strings.NewReader(strings.Repeat("zz y", 50000)))
	if ok {
		t.Error("false match")
	}
}

// appendLower lowers as strings.ToLower does, bytes that are not UTF-8
// and runes whose lower case is longer or shorter included.
func TestAppendLower(t *testing.T) {
	for _, s := range []string{"", "ABC xyz", "ÄÖÜ", "\u023a\u0130K", "a\xffb\xe2\x82", "\xed\xa0\x80", "\ufffd", "ΣΑΣ"} {
		if got, want := string(appendLower([]byte("pre"), []byte(s))), "pre"+strings.ToLower(s); got != want {
			t.Errorf("appendLower(%q) = %q, want %q", s, got, want)
		}
	}
}

// matchReader finds what lowering the whole text and looking in it finds,
// wherever the chunk edges fall; pad moves the text across the first edge.
func FuzzMatchReader(f *testing.F) {
	f.Add(uint16(matchChunk-3), "ÄÖÜ needle", "äöü NEEDLE")
	f.Add(uint16(matchChunk-2), "a\xe2\x82\xacb", "\u20acB") // the euro sign split by the edge
	f.Add(uint16(0), "zz y", "zzz")
	f.Add(uint16(matchChunk-2), "\u023a\u023a", "\u2c65")
	f.Fuzz(func(t *testing.T, pad uint16, text, needle string) {
		body := strings.Repeat("x", int(pad)%(matchChunk+8)) + text
		m := newMatcher(needle)
		want := strings.Contains(strings.ToLower(body), m.needle)
		for i := 0; i < 2; i++ { // the second call may get the buffer the first gave back
			got, err := m.matchReader(strings.NewReader(body))
			if err != nil || got != want {
				t.Fatalf("pad %d, text %q, needle %q: = %v, %v; want %v", pad, text, needle, got, err, want)
			}
		}
	})
}

// The fixture messages of the project answer searches too.
func TestMatchFixtures(t *testing.T) {
	tests := []struct {
		file string
		key  Key
		want bool
	}{
		{"10-quoted-printable.eml", Key{Op: OpBody, Value: "coupée par"}, true},
		{"10-quoted-printable.eml", Key{Op: OpHeader, Field: "SUBJECT", Value: "café crème"}, true},
		{"10-quoted-printable.eml", Key{Op: OpHeader, Field: "FROM", Value: "françois"}, true},
		{"04-encoded-words.eml", Key{Op: OpHeader, Field: "TO", Value: "山田太郎"}, true},
		{"04-encoded-words.eml", Key{Op: OpHeader, Field: "TO", Value: "keld jørn"}, true},
		{"05-8bit.eml", Key{Op: OpBody, Value: "GRÜSSE"}, false},
		{"05-8bit.eml", Key{Op: OpBody, Value: "GRÜẞE"}, true}, // capital sharp s lowers to ß
		{"05-8bit.eml", Key{Op: OpBody, Value: "KÖLN!"}, true},
		{"05-8bit.eml", Key{Op: OpHeader, Field: "SUBJECT", Value: "grüße"}, true},
		{"03-rfc822-attachment.eml", Key{Op: OpBody, Value: "<B>ORIGINAL"}, true},
		{"02-nested-alternative.eml", Key{Op: OpBody, Value: "JVBERi0"}, false},
		{"02-nested-alternative.eml", Key{Op: OpText, Value: "quarterly"}, true},
		{"12-digest.eml", Key{Op: OpBody, Value: "digest two"}, true},
	}
	for _, tc := range tests {
		raw, err := os.ReadFile("../../test/testdata/messages/" + tc.file)
		if err != nil {
			t.Fatal(err)
		}
		m := &Message{Structure: parse(t, string(raw)), Raw: bytes.NewReader(raw), Size: int64(len(raw))}
		got, err := Match(Context{}, tc.key, m)
		if err != nil || got != tc.want {
			t.Errorf("%s %+v: = %v, %v; want %v", tc.file, tc.key, got, err, tc.want)
		}
	}
}

func BenchmarkMatchText(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("From: a@example.com\r\nSubject: bench\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	for sb.Len() < 1<<20 {
		sb.WriteString("The quick brown fox jumps over the lazy dog, encore une fois.\r\n")
	}
	raw := sb.String()
	m := &Message{Structure: parse(b, raw), Raw: strings.NewReader(raw), Size: int64(len(raw))}
	k := Key{Op: OpText, Value: "not present anywhere"}
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	for b.Loop() {
		if ok, err := Match(Context{}, k, m); ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// Address keys (FROM, TO, CC, BCC) match the addresses with comments and
// folding removed (RFC 5322 3.2.2, 3.4) as well as the header text.
func TestMatchAddresses(t *testing.T) {
	tests := []struct {
		name, field, value, search string
		want                       bool
	}{
		{"comments in angle addr", "From", "<user-from (comment)@ (comment) domain.org>", "user-from@domain.org", true},
		{"comments in bare addr-spec", "From", "user-from(c1) @ (c2)domain.org", "user-from@domain.org", true},
		{"comment inside local part", "To", "john(x).doe@example.com", "john.doe@example.com", true},
		{"nested comment", "From", "<a (b (c) d)@e.example>", "a@e.example", true},
		{"raw text still matches", "From", "<user-from (comment)@ (comment) domain.org>", "(comment)", true},
		{"case-insensitive", "From", "<User-From (x)@Domain.ORG>", "user-from@DOMAIN.org", true},
		{"folded", "Cc", "Carol\r\n <carol (home)@\r\n example.net>", "carol@example.net", true},
		{"display name and address", "From", "Alice (the first) Smith <alice@example.com>", "alice smith <alice@example.com>", true},
		{"group member", "To", "undisclosed: a(x)@b.example, c@d.example;", "a@b.example", true},
		{"group second member", "To", "undisclosed: a@b.example, c (y) @d.example;", "c@d.example", true},
		{"group name", "To", "undisclosed (list): a@b.example;", "undisclosed", true},
		{"encoded display name", "From", "=?UTF-8?Q?J=C3=B6rg?= <j@x.example>", "Jörg", true},
		{"encoded display name with address", "From", "=?UTF-8?Q?J=C3=B6rg?= (c) <j@x.example>", "jörg <j@x.example>", true},
		{"quoted display name", "From", `"Doe, John" <jd@example.com>`, "doe, john", true},
		{"obsolete route", "From", "<@relay1.example,@relay2.example:joe (c)@example.org>", "joe@example.org", true},
		{"quoted local part", "To", `"john doe" (c) @example.com`, `"john doe"@example.com`, true},
		{"quoted local part unquoted", "To", `"john doe" (c) @example.com`, "john doe@example.com", true},
		{"comment as name", "Bcc", "user@example.com (Jörg Zwei)", "jörg zwei", true},
		{"other field untouched", "Subject", "<user-from (comment)@ (comment) domain.org>", "user-from@domain.org", false},
		{"no false match", "From", "<user-from (comment)@ (comment) domain.org>", "user-from@domain.com", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.field + ": " + tc.value + "\r\nSubject: s\r\n\r\nbody\r\n"
			m := &Message{Structure: parse(t, raw), Raw: strings.NewReader(raw)}
			got, err := Match(Context{}, Key{Op: OpHeader, Field: strings.ToUpper(tc.field), Value: tc.search}, m)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("%s %q in %q: %v, want %v", tc.field, tc.search, tc.value, got, tc.want)
			}
		})
	}
}

// A message given by its header alone (no Structure) answers header keys
// as it does with its whole structure; NeedsStructure names the keys that
// need more.
func TestMatchHeaderOnly(t *testing.T) {
	raw := "From: Carol <carol@example.net>\r\nSubject: Quarterly report\r\nX-Foo: frobnicate 1\r\n\r\nbody zanzibar\r\n"
	s := parse(t, raw)
	hdr, _ := s.Header()
	for _, tc := range []struct {
		k         Key
		structure bool
	}{
		{Key{Op: OpHeader, Field: "SUBJECT", Value: "quarterly"}, false},
		{Key{Op: OpHeader, Field: "FROM", Value: "carol@example"}, false},
		{Key{Op: OpHeader, Field: "X-FOO", Value: "FROBNICATE"}, false},
		{Key{Op: OpHeader, Field: "X-FOO", Value: "absent"}, false},
		{Key{Op: OpNot, Sub: []Key{{Op: OpHeader, Field: "TO", Value: ""}}}, false},
		{Key{Op: OpLarger, Size: 10}, false},
		{Key{Op: OpOr, Sub: []Key{{Op: OpHeader, Field: "SUBJECT", Value: "x"}, {Op: OpBody, Value: "zanzibar"}}}, true},
		{Key{Op: OpText, Value: "zanzibar"}, true},
		{Key{Op: OpNot, Sub: []Key{{Op: OpSentOn, Date: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}}}, true},
	} {
		if got := NeedsStructure(tc.k); got != tc.structure {
			t.Errorf("NeedsStructure(%v) = %v", tc.k, got)
		}
		if tc.structure {
			continue
		}
		want, err := Match(Context{}, tc.k, &Message{Structure: s, Size: int64(len(raw))})
		if err != nil {
			t.Fatal(err)
		}
		got, err := Match(Context{}, tc.k, &Message{Header: hdr, Size: int64(len(raw))})
		if err != nil || got != want {
			t.Errorf("%v: header only: %v, %v; with structure: %v", tc.k, got, err, want)
		}
	}
}

// The matcher's shortcuts (ASCII text compared in place, a one-line value
// matched without unfolding, field names compared without a copy) answer
// as the plain definitions do: strings.ToLower on both sides,
// decodeHeader(unfold(v)), strings.EqualFold.
func TestMatcherShortcuts(t *testing.T) {
	values := []string{
		" Quarterly report\r\n", "quarterly\r\n", " QUARTERLY\r\n\t report\r\n", "\r\n quarterly\r\n",
		" =?utf-8?q?Quarterly_r=C3=A9sum=C3=A9?=\r\n", " caf\u00e9 cr\u00e8me\r\n", " \u212aelvin\r\n",
		" \u0130stanbul\r\n", " x\xffy\r\n", " \u00a0quarterly\u00a0\r\n", " a\r\n\r\n", "", " \r\n",
		" quarter\r\n ly\r\n", " \xc2\r\n\xa0q\r\n", " frobnicate 12\r\n", " FrObNiCaTe\r\n",
	}
	needles := []string{"quarterly", "QUARTERLY", "quarterly r", "résumé", "CAFÉ", "kelvin", "k", "\u212a",
		"i", "istanbul", "x", "\xff", "a", "", " ", "frobnicate 1", "ly", "arter"}
	for _, v := range values {
		for _, n := range needles {
			mt := newMatcher(n)
			want := strings.Contains(strings.ToLower(decodeHeader(unfold(v))), strings.ToLower(n))
			if got := mt.matchValue([]byte(v)); got != want {
				t.Errorf("matchValue(%q) for %q = %v, want %v", v, n, got, want)
			}
			want = strings.Contains(strings.ToLower(v), strings.ToLower(n))
			if got := mt.matchString(v); got != want {
				t.Errorf("matchString(%q) for %q = %v, want %v", v, n, got, want)
			}
		}
	}
	names := []string{"Subject", "SUBJECT", "subject", "Subjec", "X-Foo", "x-foo", "X-F\u00f6o", "X-F\u00d6O", "\u212a", "k", "K", ""}
	for _, a := range names {
		for _, b := range names {
			if got, want := fieldIs([]byte(a), b), strings.EqualFold(a, b); got != want {
				t.Errorf("fieldIs(%q, %q) = %v, want %v", a, b, got, want)
			}
		}
	}
}

// mayMatchAddresses never rules out a value whose parsed addresses match,
// and rules out a plain one that cannot.
func TestMayMatchAddresses(t *testing.T) {
	values := []string{
		" Carol Jones <carol.jones@example.net>\r\n", " car ol@example.net\r\n", " car\r\n ol@example.net\r\n",
		" Carol Jones <carol . jones @ example . net>\r\n", " Friends: carol@x, bob@y;\r\n", " Friends:;\r\n",
		" carol@[192.0. 2.1]\r\n", " <@a.example,@b.example:carol@x>\r\n", " Ca rol <x@y>\r\n", " \"Car\"ol <x@y>\r\n",
		" car(comment)ol@x\r\n", " x@y (Carol)\r\n", " =?utf-8?q?Carol?= <x@y>\r\n", " \"c\\arol\"@x\r\n",
		" bob@example.org\r\n", " Bob <bob@example.org>, Dave <dave@example.com>\r\n", " carol@\r\n", " @carol\r\n",
		" Caröl <x@y>\r\n", " \u212arol <x@y>\r\n", " group: ;, carol\r\n", " a <b@c> carol\r\n", " ) carol\r\n",
	}
	needles := []string{"carol", "CAROL", "caroljones", "jones", "ol", "example", "192", "2", "x", "comment",
		"carol.jones", "carol jones", "carol@x", "friends", "krol", "k", "bob", "car", "dave", "y", "a"}
	ruled := 0
	for _, v := range values {
		for _, n := range needles {
			mt := newMatcher(n)
			may := mt.mayMatchAddresses([]byte(v))
			if !may {
				ruled++
			}
			if mt.matchAddresses(unfold(v)) && !may {
				t.Errorf("%q in %q: matchAddresses is true, mayMatchAddresses false", n, v)
			}
		}
	}
	if newMatcher("carol").mayMatchAddresses([]byte(" Bob <bob@example.org>\r\n")) {
		t.Error("a value without the needle is not ruled out")
	}
	if ruled == 0 {
		t.Error("nothing ruled out")
	}
}

// eachFieldNamed finds the fields eachField and fieldIs (strings.EqualFold)
// find, including names that fold to ASCII from other letters: the long s
// to s, the Kelvin sign to k.
func TestEachFieldNamed(t *testing.T) {
	hdr := []byte("Subject: one\r\nsubject : two\r\n\u017fubject: three\r\n SUBJECT: four\r\nSubjects: five\r\n" +
		"Key: six\r\n\u212aey: seven\r\nno colon\r\nSUBJECT:eight\r\n\tfolded\r\n: nine\r\nX-\u00c9t\u00e9: ten\r\nx-\u00e9t\u00e9: eleven")
	for _, field := range []string{"Subject", "SUBJECT", "subjects", "key", "KEY", "\u212aEY", "", "x-\u00c9T\u00c9", "nope"} {
		var want, got []string
		eachField(hdr, func(name, val []byte) bool {
			if strings.EqualFold(string(name), field) {
				want = append(want, string(val))
			}
			return true
		})
		eachFieldNamed(hdr, field, func(val []byte) bool {
			got = append(got, string(val))
			return true
		})
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%q: got %q, want %q", field, got, want)
		}
	}
}
