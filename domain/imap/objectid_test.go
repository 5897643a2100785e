package imap

import (
	"strings"
	"testing"
)

func TestIsObjectID(t *testing.T) {
	for _, tc := range []struct {
		s  string
		ok bool
	}{
		{"a", true}, {"F0123abc", true}, {"M_x-Y", true}, {strings.Repeat("a", 255), true},
		{"", false}, {strings.Repeat("a", 256), false}, {"a b", false}, {"a.b", false},
		{"é", false}, {"a+", false}, {"(x)", false}, {"\"x\"", false},
	} {
		if got := IsObjectID(tc.s); got != tc.ok {
			t.Errorf("IsObjectID(%q) = %v, want %v", tc.s, got, tc.ok)
		}
	}
}

func TestNewObjectID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewObjectID(EmailIDPrefix)
		if !IsObjectID(id) || !strings.HasPrefix(id, "M") || seen[id] {
			t.Fatalf("NewObjectID = %q (seen %v)", id, seen[id])
		}
		seen[id] = true
	}
}
