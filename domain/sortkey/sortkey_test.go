package sortkey

import (
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/message"
)

func TestCollate(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"abc", "ABC"},
		{"ABC", "ABC"},
		{"MiXeD 123 !", "MIXED 123 !"},
		{"é", "E\u0301"},       // titlecase, then canonical decomposition
		{"É", "E\u0301"},       // same key as the lower case
		{"E\u0301", "E\u0301"}, // already decomposed
		{"straße", "STRAßE"},   // no simple titlecase mapping for ß
		{"ǆemal", "ǅEMAL"},     // titlecase, not uppercase (U+01C4)
		{"ǅemal", "ǅEMAL"},
		{"Ǆemal", "ǅEMAL"},
		{"\xff\xfeab", "\xff\xfeAB"}, // invalid UTF-8 is kept
		{"ÅNGSTRÖM", "A\u030aNGSTRO\u0308M"},
		{"Ωmega", "ΩMEGA"},
		{"ωmega", "ΩMEGA"},
	} {
		if got := Collate(tc.in); got != tc.want {
			t.Errorf("Collate(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if Collate("café") != Collate("CAFE\u0301") {
		t.Error("precomposed and decomposed forms differ")
	}
	if !(Collate("apple") < Collate("Banana") && Collate("banana") < Collate("Cherry")) {
		t.Error("order is not case-insensitive")
	}
}

func TestBaseSubject(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		reply    bool
	}{
		{"", "", false},
		{"test", "test", false},
		{"Re: test", "test", true},
		{"RE: test", "test", true},
		{"re:test", "test", true},
		{"Re: Re: re: test", "test", true},
		{"Re:Re: test", "test", true},
		{"Fwd: test", "test", true},
		{"Fw: test", "test", true},
		{"FWD : test", "test", true}, // *WSP before the colon
		{"Re[2]: test", "test", true},
		{"Re [2]: test", "test", true},
		{"[SEC] Re: test", "test", true},
		{"[a][b] Re: test", "test", true},
		{"[SEC] test", "test", false}, // step 4: a blob before a base
		{"[SEC]", "[SEC]", false},     // step 4: nothing would remain
		{"[SEC]   ", "[SEC]", false},  // trailers first, then the same
		{"Re: [SEC]", "[SEC]", true},  // the blob stays: it is all that is left
		{"test (fwd)", "test", true},  // step 2
		{"test (FWD) (fwd)  ", "test", true},
		{"[fwd: test]", "test", true}, // step 6
		{"[Fwd: Re: test (fwd)]", "test", true},
		{"Re: [fwd: [SEC] Re: test]", "test", true},
		{"Ref: test", "Ref: test", false}, // "re" must be followed by ":" or a blob
		{"Reply to all", "Reply to all", false},
		{"  spaced \t  out  ", "spaced out", false},
		{"folded\r\n subject", "folded subject", false},
		{"[x] [y]", "[y]", false}, // one blob goes, leaving a base
		{"Re:", "", true},
		{"[fwd: ]", "", true},
		{"[unclosed Re: test", "[unclosed Re: test", false},
	} {
		got, reply := BaseSubject(tc.in)
		if got != tc.want || reply != tc.reply {
			t.Errorf("BaseSubject(%q) = %q, %v; want %q, %v", tc.in, got, reply, tc.want, tc.reply)
		}
	}
}

func TestFromFields(t *testing.T) {
	internal := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name string
		f    message.SortFields
		want func(r Record) bool
	}{
		{"encoded subject", message.SortFields{Subject: "=?UTF-8?B?UmU6IGNhZsOp?="},
			func(r Record) bool { return r.Subject == Collate("café") && r.Reply }},
		{"encoded words across a marker", message.SortFields{Subject: "=?ISO-8859-1?Q?Fwd=3A_Caf=E9?= (fwd)"},
			func(r Record) bool { return r.Subject == "CAFE\u0301" && r.Reply }},
		{"undecodable stays", message.SortFields{Subject: "=?X-UNKNOWN?Q?abc?="},
			func(r Record) bool { return r.Subject == "=?X-UNKNOWN?Q?ABC?=" }},
		{"missing date is internal", message.SortFields{},
			func(r Record) bool { return r.Sent == internal.Unix() && r.Arrival == internal.Unix() }},
		{"bad date is internal", message.SortFields{Date: "yesterday", HasDate: true},
			func(r Record) bool { return r.Sent == internal.Unix() }},
		{"date in UTC", message.SortFields{Date: "Mon, 1 Jan 2024 10:00:00 +0200", HasDate: true},
			func(r Record) bool { return r.Sent == time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC).Unix() }},
		{"from mailbox and display", message.SortFields{From: `"Zed Q" <alice@example.com>, bob@example.com`},
			func(r Record) bool { return r.From == "ALICE" && r.DisplayFrom == "ZED Q" }},
		{"display falls back to addr-spec", message.SortFields{To: "carol@example.com"},
			func(r Record) bool { return r.To == "CAROL" && r.DisplayTo == "CAROL@EXAMPLE.COM" }},
		{"encoded display name", message.SortFields{From: "=?UTF-8?Q?=C3=89mile?= <e@example.com>"},
			func(r Record) bool { return r.DisplayFrom == "E\u0301MILE" }},
		{"empty group", message.SortFields{Cc: "undisclosed-recipients:;"},
			func(r Record) bool { return r.Cc == "" }},
		{"quoted local part", message.SortFields{From: `"a b"@example.com`},
			func(r Record) bool { return r.From == "A B" }},
		{"references", message.SortFields{MessageID: "<m@x>", References: "<a@x> <b\r\n @x>", InReplyTo: "<c@x>"},
			func(r Record) bool { return r.MessageID == "m@x" && len(r.Refs) == 2 && r.Refs[1] == "b@x" }},
		{"in-reply-to without references", message.SortFields{InReplyTo: "<c@x> <d@x>"},
			func(r Record) bool { return len(r.Refs) == 1 && r.Refs[0] == "c@x" }},
	} {
		r := FromFields(tc.f, internal, 10)
		if !tc.want(r) {
			t.Errorf("%s: got %+v", tc.name, r)
		}
	}
}

// msg builds an item: sequence number, sent minute, subject, Message-ID
// and references.
func msg(seq uint32, minute int, subject, id string, refs ...string) Item {
	base, reply := BaseSubject(subject)
	t := time.Date(2024, 1, 1, 0, minute, 0, 0, time.UTC).Unix()
	return Item{Seq: seq, Rec: &Record{Sent: t, Arrival: t, Subject: Collate(base), Reply: reply, MessageID: id, Refs: refs}}
}

func threads(f func([]Item) []*Thread, items ...Item) string {
	return string(AppendThreads(nil, f(items), func(it *Item) uint32 { return it.Seq }))
}

func TestSortKeys(t *testing.T) {
	mk := func(seq uint32, r Record) Item { return Item{Seq: seq, Rec: &r} }
	items := []Item{
		mk(1, Record{Arrival: 3, Sent: 2, Size: 30, Subject: "B", From: "X", To: "B", Cc: "", DisplayFrom: "Z", DisplayTo: "A"}),
		mk(2, Record{Arrival: 1, Sent: 2, Size: 10, Subject: "A", From: "Y", To: "A", Cc: "C", DisplayFrom: "Y", DisplayTo: "B"}),
		mk(3, Record{Arrival: 2, Sent: 1, Size: 20, Subject: "B", From: "X", To: "C", Cc: "A", DisplayFrom: "X", DisplayTo: "C"}),
	}
	order := func(crit ...Criterion) []uint32 {
		s := append([]Item(nil), items...)
		Sort(s, crit)
		var out []uint32
		for _, it := range s {
			out = append(out, it.Seq)
		}
		return out
	}
	for _, tc := range []struct {
		crit []Criterion
		want []uint32
	}{
		{[]Criterion{{Key: Arrival}}, []uint32{2, 3, 1}},
		{[]Criterion{{Key: Arrival, Reverse: true}}, []uint32{1, 3, 2}},
		{[]Criterion{{Key: Date}}, []uint32{3, 1, 2}}, // 1 and 2 tie: sequence order
		{[]Criterion{{Key: Date, Reverse: true}}, []uint32{1, 2, 3}},
		{[]Criterion{{Key: Size}}, []uint32{2, 3, 1}},
		{[]Criterion{{Key: Subject}}, []uint32{2, 1, 3}},
		{[]Criterion{{Key: Subject}, {Key: Date}}, []uint32{2, 3, 1}},
		{[]Criterion{{Key: Subject, Reverse: true}, {Key: Size, Reverse: true}}, []uint32{1, 3, 2}},
		{[]Criterion{{Key: From}}, []uint32{1, 3, 2}},
		{[]Criterion{{Key: From}, {Key: Arrival}}, []uint32{3, 1, 2}},
		{[]Criterion{{Key: To}}, []uint32{2, 1, 3}},
		{[]Criterion{{Key: Cc}}, []uint32{1, 3, 2}},
		{[]Criterion{{Key: DisplayFrom}}, []uint32{3, 2, 1}},
		{[]Criterion{{Key: DisplayTo, Reverse: true}}, []uint32{3, 2, 1}},
	} {
		if got := order(tc.crit...); !equal(got, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.crit, got, tc.want)
		}
	}
}

func equal(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestOrderedSubject(t *testing.T) {
	got := threads(OrderedSubject,
		msg(1, 5, "beta", "1"),
		msg(2, 1, "Re: alpha", "2"),
		msg(3, 2, "alpha", "3"),
		msg(4, 3, "Re: beta", "4"),
		msg(5, 4, "alpha", "5"),
		msg(6, 0, "gamma", "6"),
	)
	// alpha: 2 (min 1), 3, 5; beta: 4 (min 3), 1; gamma: 6 (min 0).
	if want := "(6)(2 (3)(5))(4 1)"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestReferences(t *testing.T) {
	for _, tc := range []struct {
		name  string
		items []Item
		want  string
	}{
		{"chain and branches", []Item{
			msg(1, 0, "a", "a"),
			msg(2, 1, "Re: a", "b", "a"),
			msg(3, 2, "Re: a", "c", "a", "b"),
			msg(4, 3, "Re: a", "d", "a"),
		}, "(1 (2 3)(4))"},
		{"dummy parent with two children stays at the root", []Item{
			msg(1, 0, "x", "b", "missing"),
			msg(2, 1, "y", "c", "missing"),
		}, "((1)(2))"},
		{"dummy parent with one child gives way", []Item{
			msg(1, 0, "x", "b", "missing"),
		}, "(1)"},
		{"dummy in the middle gives way", []Item{
			msg(1, 0, "a", "a"),
			msg(2, 1, "z", "c", "a", "missing"),
		}, "(1 2)"},
		{"existing links are kept (step 1.A)", []Item{
			msg(1, 0, "a", "a"),
			msg(2, 1, "b", "b", "a"),
			msg(3, 2, "c", "c", "a"), // says its parent is a
			msg(4, 3, "d", "d", "a", "b", "c"),
		}, "(1 (2)(3 4))"},
		{"a truncated reference gives way to the message's own (step 1.B)", []Item{
			msg(1, 0, "a", "a"),
			msg(2, 1, "b", "b", "a"),
			msg(3, 2, "d", "d", "a", "c"), // links c under a
			msg(4, 3, "c", "c", "a", "b"),
		}, "(1 2 4 3)"},
		{"children before parents in the mailbox", []Item{
			msg(1, 2, "Re: p", "c", "p"),
			msg(2, 1, "p", "p"),
		}, "(2 1)"},
		{"subject grouping: reply under the original", []Item{
			msg(1, 0, "hello", "a"),
			msg(2, 1, "Re: hello", "b"),
		}, "(1 2)"},
		{"subject grouping: original found later", []Item{
			msg(1, 0, "Re: hello", "a"),
			msg(2, 1, "hello", "b"),
		}, "(2 1)"},
		{"subject grouping: two originals under a dummy", []Item{
			msg(1, 0, "hello", "a"),
			msg(2, 1, "hello", "b"),
			msg(3, 2, "other", "c"),
		}, "((1)(2))(3)"},
		{"subject grouping joins a dummy", []Item{
			msg(1, 0, "topic", "b", "gone"),
			msg(2, 1, "topic", "c", "gone"),
			msg(3, 2, "Re: topic", "d"),
		}, "((1)(2)(3))"},
		{"empty subjects are not grouped", []Item{
			msg(1, 0, "", "a"),
			msg(2, 1, "", "b"),
		}, "(1)(2)"},
		{"duplicate Message-ID and no Message-ID", []Item{
			msg(1, 0, "a", "same"),
			msg(2, 1, "b", "same"),
			msg(3, 2, "c", ""),
			msg(4, 3, "d", "x", "same"),
		}, "(1 4)(2)(3)"},
		{"loop", []Item{
			msg(1, 0, "a", "a", "b"),
			msg(2, 1, "b", "b", "a"),
		}, "(2 1)"},
		{"sorted by sent date at every level", []Item{
			msg(1, 9, "root", "r"),
			msg(2, 8, "Re: root", "x", "r"),
			msg(3, 7, "Re: root", "y", "r"),
			msg(4, 0, "early", "e"),
		}, "(4)(1 (3)(2))"},
	} {
		if got := threads(References, tc.items...); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestRefs(t *testing.T) {
	at := func(it Item, arrival int) Item {
		it.Rec.Arrival = time.Date(2024, 1, 1, 0, arrival, 0, 0, time.UTC).Unix()
		return it
	}
	got := threads(Refs,
		at(msg(1, 0, "old thread", "a"), 0),
		at(msg(2, 1, "middle", "b"), 1),
		at(msg(3, 2, "Re: old thread", "c", "a"), 5),
		at(msg(4, 3, "middle", "d"), 2), // same subject: not grouped by REFS
	)
	if want := "(2)(4)(1 3)"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// FuzzBaseSubject: any subject gives a base, no longer than itself,
// without panicking; so does collating it.
func FuzzBaseSubject(f *testing.F) {
	for _, s := range []string{"Re: test", "[fwd: [x] Re: y (fwd)]", "[", "]", "re[", "Fw : [a]:", "(fwd)(fwd)", "\t\r\n "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		base, _ := BaseSubject(s)
		if len(base) > len(s) {
			t.Errorf("%q: base %q is longer", s, base)
		}
		Collate(base)
	})
}

// BenchmarkReferences threads 100,000 messages: threads of a few replies
// each, as in app's BenchmarkSort corpus.
func BenchmarkReferences(b *testing.B) {
	const n = 100000
	items := make([]Item, n)
	roots := []int{}
	for i := range items {
		var refs []string
		subject := "topic " + string(rune('a'+i%26)) + string(rune('a'+(i/26)%26))
		if i%4 != 0 && len(roots) > 0 {
			root := roots[len(roots)-1-i%min(len(roots), 50)]
			refs = []string{"m" + itoaTest(root)}
			subject = "Re: " + subject
		} else {
			roots = append(roots, i)
		}
		items[i] = msg(uint32(i+1), i%5000, subject, "m"+itoaTest(i), refs...)
	}
	b.ResetTimer()
	for range b.N {
		References(items)
	}
}

func itoaTest(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
