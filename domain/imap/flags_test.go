package imap

import (
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
