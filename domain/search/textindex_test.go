package search

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/imapd-go/imapd/domain/message"
)

func TestNarrowing(t *testing.T) {
	hdr := func(f, v string) Key { return Key{Op: OpHeader, Field: f, Value: v} }
	body := func(v string) Key { return Key{Op: OpBody, Value: v} }
	and := func(ks ...Key) Key { return Key{Op: OpAnd, Sub: ks} }
	or := func(a, b Key) Key { return Key{Op: OpOr, Sub: []Key{a, b}} }
	not := func(k Key) Key { return Key{Op: OpNot, Sub: []Key{k}} }
	seen := Key{Op: OpFlag, Value: `\Seen`}
	term := func(v string, fs ...TextField) TextQuery { return TextQuery{Op: TextTerm, Term: v, Fields: fs} }
	tests := []struct {
		name string
		key  Key
		want TextQuery
		ok   bool
	}{
		{"subject", hdr("SUBJECT", "Quarterly"), term("quarterly", FieldSubject), true},
		{"from", hdr("from", "Carol"), term("carol", FieldFrom), true},
		{"to cc bcc", and(hdr("To", "bob"), hdr("CC", "eve"), hdr("Bcc", "ann")),
			TextQuery{Op: TextAnd, Sub: []TextQuery{term("bob", FieldTo), term("eve", FieldCc), term("ann", FieldBcc)}}, true},
		{"other header", hdr("X-Foo", "Frob"), term("frob", FieldHeader), true},
		{"body", body("Zanzibar"), term("zanzibar", FieldBody), true},
		{"text", Key{Op: OpText, Value: "ZANZIBAR"}, term("zanzibar", FieldHeader, FieldBody), true},
		{"unicode lowered", body("GRÜẞE"), term("grüße", FieldBody), true},
		{"three runes", body("äöü"), term("äöü", FieldBody), true},
		{"short term", body("ab"), TextQuery{}, false},
		{"two runes of four bytes", body("ßß"), TextQuery{}, false},
		{"field present", hdr("X-Foo", ""), TextQuery{}, false},
		{"invalid UTF-8", body("ab\xff"), TextQuery{}, false},
		{"flag", seen, TextQuery{}, false},
		{"and keeps the narrowing child", and(seen, body("zanzibar")), term("zanzibar", FieldBody), true},
		{"and of short terms", and(body("ab"), seen), TextQuery{}, false},
		{"or of two", or(body("zanzibar"), hdr("Subject", "lunch")),
			TextQuery{Op: TextOr, Sub: []TextQuery{term("zanzibar", FieldBody), term("lunch", FieldSubject)}}, true},
		{"or with a side that does not narrow", or(body("zanzibar"), seen), TextQuery{}, false},
		{"or with a short side", or(body("ab"), body("zanzibar")), TextQuery{}, false},
		{"not", not(body("zanzibar")), TextQuery{}, false},
		{"and with a not", and(not(body("zanzibar")), hdr("Subject", "lunch")), term("lunch", FieldSubject), true},
		{"nested", and(or(body("zanzibar"), body("timbuktu")), seen),
			TextQuery{Op: TextOr, Sub: []TextQuery{term("zanzibar", FieldBody), term("timbuktu", FieldBody)}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Narrowing(tc.key)
			if ok != tc.ok || ok && !sameQuery(got, tc.want) {
				t.Errorf("Narrowing = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func sameQuery(a, b TextQuery) bool {
	if a.Op != b.Op || a.Term != b.Term || len(a.Fields) != len(b.Fields) || len(a.Sub) != len(b.Sub) {
		return false
	}
	for i := range a.Fields {
		if a.Fields[i] != b.Fields[i] {
			return false
		}
	}
	for i := range a.Sub {
		if !sameQuery(a.Sub[i], b.Sub[i]) {
			return false
		}
	}
	return true
}

// TestDocHoldsEveryMatch is the index's promise: for every search key
// Match finds in a message, the message's Doc satisfies the key's
// Narrowing. Search strings are cut from the message's raw bytes and from
// its decoded header and text parts, in both cases, at many places.
func TestDocHoldsEveryMatch(t *testing.T) {
	files, err := filepath.Glob("../../test/testdata/messages/*.eml")
	if err != nil {
		t.Fatal(err)
	}
	raws := map[string]string{"sample": sample}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		raws[filepath.Base(f)] = string(b)
	}
	// Address fields in the forms matchAddresses parses.
	for i, v := range []string{
		"Alice (the first) Smith <alice@example.com>",
		`"john q. public"@example.com, "Doe, Jane" <jane@x.example>`,
		"undisclosed (list): a(x)@b.example, c@d.example;",
		"=?UTF-8?Q?J=C3=B6rg?= (c) <j@x.example>",
		"Carol\r\n <carol (home)@\r\n example.net>",
	} {
		raws["address"+string(rune('0'+i))] = "From: " + v + "\r\nTo: " + v + "\r\nCc: " + v + "\r\nSubject: s\r\n\r\nbody\r\n"
	}
	positives := 0
	for name, raw := range raws {
		s, err := message.Parse(strings.NewReader(raw))
		if err != nil {
			t.Fatal(name, err)
		}
		doc, err := MakeDoc(s, strings.NewReader(raw))
		if err != nil {
			t.Fatal(name, err)
		}
		hdr, ok := s.Header()
		if !ok {
			t.Fatalf("%s: no header", name)
		}
		var fields []string
		eachField(hdr, func(n, _ []byte) bool {
			fields = append(fields, string(n), strings.ToUpper(string(n)))
			return true
		})
		sources := []string{raw, headerText(hdr)}
		s.TextParts(func(tp message.TextPart) bool {
			r, _, err := s.Section(strings.NewReader(raw), message.Section{Path: tp.Path})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(decodeBody(r, tp.Encoding, tp.Charset))
			sources = append(sources, string(b))
			return true
		})
		eachField(hdr, func(n, v []byte) bool {
			eachAddressForm(unfold(v), func(a string) bool {
				sources = append(sources, a)
				return true
			})
			return true
		})
		for _, src := range sources {
			for _, term := range windows(src) {
				for _, v := range []string{term, strings.ToUpper(term)} {
					keys := []Key{{Op: OpText, Value: v}, {Op: OpBody, Value: v}}
					for _, f := range fields {
						keys = append(keys, Key{Op: OpHeader, Field: f, Value: v})
					}
					for _, k := range keys {
						m := &Message{Structure: s, Raw: strings.NewReader(raw), Size: int64(len(raw))}
						ok, err := Match(Context{}, k, m)
						if err != nil || !ok {
							continue
						}
						q, narrows := Narrowing(k)
						if !narrows {
							continue
						}
						positives++
						if !q.Contains(&doc) {
							t.Errorf("%s: %+v matches, but its Doc does not hold %+v", name, k, q)
						}
					}
				}
			}
		}
	}
	if positives < 1000 {
		t.Errorf("only %d matching keys tried", positives)
	}
}

// windows cuts search strings of 3 to 12 runes from s, at every 13th
// rune, each valid UTF-8.
func windows(s string) []string {
	r := []rune(s)
	var out []string
	for i := 0; i < len(r); i += 13 {
		for _, n := range []int{3, 5, 12} {
			if i+n <= len(r) {
				if w := string(r[i : i+n]); utf8.ValidString(w) {
					out = append(out, w)
				}
			}
		}
	}
	return out
}

// TestMakeDocLongHeader reads the header from the raw message when the
// structure did not keep it.
func TestMakeDocLongHeader(t *testing.T) {
	raw := "Subject: Quarterly report\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("p", 70)+"\r\n", 2000) + "\r\nZanzibar\r\n"
	s := parse(t, raw)
	if _, ok := s.Header(); ok {
		t.Fatal("header unexpectedly kept")
	}
	d, err := MakeDoc(s, bytes.NewReader([]byte(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if d[FieldSubject] != "quarterly report" || d[FieldBody] != "zanzibar\r\n" {
		t.Errorf("Doc = subject %q, body %q", d[FieldSubject], d[FieldBody])
	}
}
