package search

import (
	"reflect"
	"slices"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
)

func TestPartialWindow(t *testing.T) {
	for _, tt := range []struct {
		r        PartialRange
		n        int
		from, to int
	}{
		{PartialRange{Lo: 1, Hi: 5}, 10, 0, 5},
		{PartialRange{Lo: 6, Hi: 20}, 10, 5, 10},
		{PartialRange{Lo: 11, Hi: 20}, 10, 10, 10},
		{PartialRange{Lo: 1, Hi: 3, FromEnd: true}, 10, 7, 10},
		{PartialRange{Lo: 3, Hi: 4, FromEnd: true}, 10, 6, 8},
		{PartialRange{Lo: 5, Hi: 100, FromEnd: true}, 10, 0, 6},
		{PartialRange{Lo: 11, Hi: 100, FromEnd: true}, 10, 0, 0},
		{PartialRange{Lo: 1, Hi: 1, FromEnd: true}, 0, 0, 0},
		{PartialRange{Lo: 4294967295, Hi: 4294967295}, 3, 3, 3},
	} {
		from, to := tt.r.Window(tt.n)
		if from != tt.from || to != tt.to {
			t.Errorf("%s of %d: [%d,%d), want [%d,%d)", tt.r, tt.n, from, to, tt.from, tt.to)
		}
	}
}

// TestResultData: the return data items, and what SAVE keeps, by RFC 9394
// section 3.2's table 1.
func TestResultData(t *testing.T) {
	res := Result{IDs: []uint32{2, 3, 4, 7, 9, 10}, ModSeqs: []uint64{5, 9, 1, 2, 8, 3}}
	p := func(lo, hi uint32, last bool) *PartialRange { return &PartialRange{Lo: lo, Hi: hi, FromEnd: last} }
	for _, tt := range []struct {
		ret      Return
		data     string
		returned []int
	}{
		{Return{All: true}, " ALL 2:4,7,9:10 MODSEQ 9", []int{0, 1, 2, 3, 4, 5}},
		{Return{Partial: p(1, 2, false)}, " PARTIAL (1:2 2:3) MODSEQ 9", []int{0, 1}},
		{Return{Partial: p(1, 2, true)}, " PARTIAL (-1:-2 9:10) MODSEQ 8", []int{4, 5}},
		{Return{Partial: p(7, 9, false)}, " PARTIAL (7:9 NIL)", nil},
		{Return{Partial: p(3, 4, false), Min: true}, " MIN 2 PARTIAL (3:4 4,7) MODSEQ 5", []int{0, 2, 3}},
		{Return{Partial: p(3, 4, false), Min: true, Max: true}, " MIN 2 MAX 10 PARTIAL (3:4 4,7) MODSEQ 5", []int{0, 2, 3, 5}},
		{Return{Partial: p(3, 4, false), Count: true}, " PARTIAL (3:4 4,7) COUNT 6 MODSEQ 9", []int{0, 1, 2, 3, 4, 5}},
		{Return{Min: true, Max: true}, " MIN 2 MAX 10 MODSEQ 5", []int{0, 5}},
		{Return{Count: true}, " COUNT 6 MODSEQ 9", []int{0, 1, 2, 3, 4, 5}},
	} {
		if got := string(res.AppendData(nil, tt.ret)); got != tt.data {
			t.Errorf("%+v: data %q, want %q", tt.ret, got, tt.data)
		}
		if got := res.Returned(tt.ret); !reflect.DeepEqual(got, tt.returned) {
			t.Errorf("%+v: returned %v, want %v", tt.ret, got, tt.returned)
		}
	}
	empty := Result{}
	if got := string(empty.AppendData(nil, Return{Min: true, All: true, Count: true})); got != " COUNT 0" {
		t.Errorf("empty: %q", got)
	}
}

func TestAppendOrderedSet(t *testing.T) {
	for _, tt := range []struct {
		in   []uint32
		want string
	}{
		{[]uint32{1, 2, 3, 5}, "1:3,5"},
		{[]uint32{5, 3, 4, 2}, "5,3:4,2"},
		{[]uint32{23765, 23764, 23763, 23761}, "23765,23764,23763,23761"},
		{[]uint32{7}, "7"},
	} {
		if got := string(AppendOrderedSet(nil, tt.in)); got != tt.want {
			t.Errorf("%v: %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUpdateContext(t *testing.T) {
	uids := func(u ...imap.UID) []imap.UID { return u }
	ctx := NewUpdateContext("B01", true, Key{Op: OpAll}, nil, uids(2, 4, 6))
	got, _ := ctx.Apply(uids(4, 8, 9, 5), []bool{false, true, true, true})
	want := []Change{{Add: false, UIDs: uids(4)}, {Add: true, UIDs: uids(5, 8, 9)}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Apply: %+v, want %+v", got, want)
	}
	if m := ctx.Members(); !reflect.DeepEqual(m, uids(2, 5, 6, 8, 9)) {
		t.Errorf("members %v", m)
	}
	if got := ctx.Remove(uids(3, 6, 9)); !reflect.DeepEqual(got, []Change{{UIDs: uids(6, 9)}}) {
		t.Errorf("Remove: %+v", got)
	}
	if got := ctx.Remove(uids(7)); got != nil {
		t.Errorf("Remove of a non-member: %+v", got)
	}
	if !ctx.Has(5) || ctx.Has(6) {
		t.Errorf("Has")
	}

	// A sorted context reports positions (RFC 5267 section 4.3.3's
	// example: 2734:2735 becomes 2731:2735).
	sorted := NewUpdateContext("C01", true, Key{Op: OpAll}, nil, uids(2734, 2735))
	sorted.Positional = true
	got = sorted.Replace(uids(2731, 2732, 2733, 2734, 2735))
	want = []Change{{Add: true, Position: 1, UIDs: uids(2731, 2732, 2733)}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sorted add: %+v", got)
	}
	got = sorted.Replace(uids(2731, 2734, 2733))
	// Whatever pairs come out, applying them in order must give the new
	// result.
	cur := uids(2731, 2732, 2733, 2734, 2735)
	for _, ch := range got {
		i := int(ch.Position) - 1
		if ch.Add {
			cur = append(cur[:i], append(append([]imap.UID{}, ch.UIDs...), cur[i:]...)...)
		} else {
			cur = append(cur[:i], cur[i+len(ch.UIDs):]...)
		}
	}
	if !reflect.DeepEqual(cur, uids(2731, 2734, 2733)) {
		t.Errorf("sorted changes %+v give %v", got, cur)
	}
}

// TestUpdateContextOrder: a sorted context puts what Apply finds in its
// order and reports positions.
func TestUpdateContextOrder(t *testing.T) {
	desc := func(u []imap.UID) ([]imap.UID, error) {
		out := slices.Clone(u)
		slices.Reverse(out)
		return out, nil
	}
	ctx := NewUpdateContext("S01", true, Key{Op: OpAll}, nil, []imap.UID{9, 5, 1})
	ctx.Positional, ctx.Order = true, desc
	got, err := ctx.Apply([]imap.UID{7, 5, 10}, []bool{true, false, true})
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{{Position: 2, UIDs: []imap.UID{5}}, {Add: true, Position: 1, UIDs: []imap.UID{10}}, {Add: true, Position: 3, UIDs: []imap.UID{7}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changes %+v, want %+v", got, want)
	}
	if m := ctx.Members(); !reflect.DeepEqual(m, []imap.UID{10, 9, 7, 1}) {
		t.Errorf("members %v", m)
	}
}
