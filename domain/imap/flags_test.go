package imap

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestFlagSets(t *testing.T) {
	got, err := NormalizeFlags([]string{`\seen`, "", `\Recent`, "$Junk", "$junk", `\SEEN`})
	if err != nil || !slices.Equal(got, []string{`\Seen`, "$Junk"}) {
		t.Fatalf("NormalizeFlags = %q, %v", got, err)
	}
	if _, err := NormalizeFlags([]string{"a b"}); err == nil {
		t.Fatal("a flag with a space was accepted")
	}
	if !SameFlags([]string{`\Seen`, "x"}, []string{"X", `\seen`}) || SameFlags([]string{"a"}, []string{"b"}) {
		t.Fatal("SameFlags")
	}
	if got := AddFlags([]string{"a"}, []string{"A", "b"}); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("AddFlags = %q", got)
	}
	if got := RemoveFlags([]string{"a", "b"}, []string{"B"}); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("RemoveFlags = %q", got)
	}
}

func TestNormalizeFlagsTable(t *testing.T) {
	tests := []struct {
		in, want []string
		bad      bool
	}{
		{nil, []string{}, false},
		{[]string{`\seen`, `\SEEN`, "$A", "$a", `\recent`, ""}, []string{`\Seen`, "$A"}, false},
		{[]string{`\Unknown`}, []string{`\Unknown`}, false},
		{[]string{"a b"}, nil, true},
		{[]string{"a\r"}, nil, true},
	}
	for _, tt := range tests {
		got, err := NormalizeFlags(tt.in)
		if tt.bad != (err != nil) || (!tt.bad && !slices.Equal(got, tt.want)) {
			t.Errorf("NormalizeFlags(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestFlagSetsLong: past a few flags the lists are compared through a set;
// the results must not change, case-insensitivity included.
func TestFlagSetsLong(t *testing.T) {
	var many, upper []string
	for i := range 3 * smallFlags {
		many = append(many, fmt.Sprintf("$k%d", i))
		upper = append(upper, fmt.Sprintf("$K%d", i))
	}
	got, err := NormalizeFlags(append(slices.Clone(many), upper...))
	if err != nil || !slices.Equal(got, many) {
		t.Fatalf("NormalizeFlags = %q, %v", got, err)
	}
	if !SameFlags(many, upper) || SameFlags(many, append(upper[1:], "$other")) {
		t.Fatal("SameFlags of long lists")
	}
	if got := AddFlags(many, []string{"$K3", "$new", "$NEW"}); !slices.Equal(got, append(slices.Clone(many), "$new")) {
		t.Fatalf("AddFlags = %q", got)
	}
	if got := RemoveFlags(many, upper[1:]); !slices.Equal(got, many[:1]) {
		t.Fatalf("RemoveFlags = %q", got)
	}
}

func TestAdmitKeywords(t *testing.T) {
	full := make([]string, MaxKeywords)
	for i := range full {
		full[i] = fmt.Sprintf("k%d", i)
	}
	mailbox := func(msgs ...[]string) func(func([]string) bool) {
		return slices.Values(msgs)
	}
	tests := []struct {
		name string
		want []string
		box  [][]string
		ok   bool
	}{
		{"nothing to add", nil, [][]string{full}, true},
		{"up to the limit", full[1:], [][]string{{`\Seen`, full[0]}}, true},
		{"one past the limit", []string{"new"}, [][]string{full[:50], full[50:]}, false},
		{"in use, other case", []string{"K7"}, [][]string{full}, true},
		{"too many at once", append(slices.Clone(full), "new"), nil, false},
		{"system flags do not count", []string{"new"}, [][]string{append([]string{`\Seen`, `\Deleted`}, full[1:]...)}, true},
	}
	for _, tt := range tests {
		err := AdmitKeywords("store", tt.want, mailbox(tt.box...))
		if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrLimit)) {
			t.Errorf("%s: AdmitKeywords = %v", tt.name, err)
		}
	}
	// The search stops once every wanted keyword is found.
	seen := 0
	err := AdmitKeywords("store", []string{"a"}, func(yield func([]string) bool) {
		for _, m := range [][]string{{"a"}, {"b"}, {"c"}} {
			seen++
			if !yield(m) {
				return
			}
		}
	})
	if err != nil || seen != 1 {
		t.Errorf("AdmitKeywords read %d messages, %v; want 1, nil", seen, err)
	}
}

// BenchmarkFlagOps: what a STORE does with the flag list of a message that
// carries N keywords: normalise the command's list (here the same N), add
// one new keyword and compare, write the same list back and compare. Each
// must stay linear in N.
func BenchmarkFlagOps(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			cur := make([]string, n)
			for i := range cur {
				cur[i] = fmt.Sprintf("$Keyword%05d", i)
			}
			for b.Loop() {
				flags, _ := NormalizeFlags(cur)
				next := AddFlags(cur, []string{"$Fresh"})
				_ = SameFlags(cur, next)
				_ = SameFlags(cur, AddFlags(cur, flags))
			}
		})
	}
}
