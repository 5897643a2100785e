package imap

import (
	"errors"
	"strings"
	"testing"
)

func TestMatchList(t *testing.T) {
	tests := []struct {
		name, pattern string
		want          bool
	}{
		{"INBOX", "*", true},
		{"INBOX", "%", true},
		{"a/b", "%", false},
		{"a/b", "*", true},
		{"a/b", "a/%", true},
		{"a/b/c", "a/%", false},
		{"a/b/c", "a/*", true},
		{"a", "a/*", false},
		{"abc", "a%c", true},
		{"a/c", "a%c", false},
		{"abc", "abd", false},
		{"", "", true},
		{"x", "", false},
		{"Sent", "S*t", true},
		{"Sent", "%e%", true},
	}
	for _, tt := range tests {
		if got := MatchList(tt.name, tt.pattern); got != tt.want {
			t.Errorf("MatchList(%q, %q) = %v, want %v", tt.name, tt.pattern, got, tt.want)
		}
	}
}

func TestMatchListHostilePattern(t *testing.T) {
	// Exponential backtracking would never finish on this input.
	name := strings.Repeat("a", 2000)
	pattern := strings.Repeat("*a", 200) + "b"
	if MatchList(name, pattern) {
		t.Fatal("unexpected match")
	}
}

func TestListPattern(t *testing.T) {
	tests := []struct{ ref, pat, want string }{
		{"", "*", "*"},
		{"", "inbox", "INBOX"},
		{"", "inbox/%", "INBOX/%"},
		{"", "inboxes", "inboxes"},
		{"a", "%", "a%"},
		{"a/", "%", "a/%"},
	}
	for _, tt := range tests {
		if got := ListPattern(tt.ref, tt.pat); got != tt.want {
			t.Errorf("ListPattern(%q, %q) = %q, want %q", tt.ref, tt.pat, got, tt.want)
		}
	}
}

func TestNumSet(t *testing.T) {
	s := NumSet{{1, 3}, {7, 0}}
	if !s.Contains(2, 10) || s.Contains(5, 10) || !s.Contains(10, 10) {
		t.Fatal("Contains")
	}
	if got := s.String(); got != "1:3,7:*" {
		t.Fatalf("String = %q", got)
	}
	if got := SetOfUIDs([]UID{1, 2, 3, 5, 7, 8}); got != "1:3,5,7:8" {
		t.Fatalf("SetOfUIDs = %q", got)
	}
}

// RFC 5258 5, example 9, and the pattern lists of RECURSIVEMATCH.
func TestRecursiveMatch(t *testing.T) {
	subscribed := []string{"foo2/bar1", "foo2/bar2", "baz2/bar2", "baz2/bar22", "baz2/bar222", "eps2", "eps2/mamba", "qux2/bar2", "a/b/c"}
	isSub := map[string]bool{}
	for _, n := range subscribed {
		isSub[n] = true
	}
	tests := []struct {
		patterns []string
		name     string
		listed   bool
		info     bool
	}{
		{[]string{"*2"}, "foo2", true, true},       // foo2/bar1 is not matched
		{[]string{"*2"}, "baz2", false, false},     // every subscribed child is listed
		{[]string{"*2"}, "qux2", false, false},     // likewise
		{[]string{"*2"}, "eps2", true, true},       // subscribed, with a subscribed child
		{[]string{"*2"}, "foo2/bar2", true, false}, // subscribed, no child
		{[]string{"*"}, "foo2", false, false},      // all listed
		{[]string{"*"}, "eps2", true, true},        // subscribed: CHILDINFO even so
		{[]string{"%"}, "foo2", true, true},        //
		{[]string{"%"}, "INBOX", false, false},     // no subscribed child
		{[]string{"a/b", "a/b/c"}, "a/b", false, false},
		{[]string{"a/b", "a/b/c"}, "a/b/c", true, false},
		{[]string{"a/b", "a/b/d"}, "a/b", true, true},
		{[]string{"a", "a/b/*"}, "a", false, false},
		{[]string{"a", "a/b"}, "a", true, true},
	}
	for _, tt := range tests {
		matched := func(n string) bool {
			for _, p := range tt.patterns {
				if MatchList(n, p) {
					return true
				}
			}
			return false
		}
		d := DescendantsOf(subscribed, matched)[tt.name]
		listed, info := d.Recursive(isSub[tt.name])
		if listed != tt.listed || info != tt.info {
			t.Errorf("%q under %q: listed %v CHILDINFO %v, want %v %v", tt.name, tt.patterns, listed, info, tt.listed, tt.info)
		}
	}
}

func TestCheckMailboxName(t *testing.T) {
	good := []string{"INBOX", "a", "a/b", "Entwürfe", "&-", ".hidden", "a.", "...", "a/.../b", "x..y",
		"with space", strings.Repeat("y", MaxMailboxName)}
	for _, n := range good {
		if err := CheckMailboxName("t", n); err != nil {
			t.Errorf("CheckMailboxName(%q) = %v, want nil", n, err)
		}
	}
	bad := []string{"", "/", "a//b", "/a", "a/", ".", "..", "INBOX/..", "INBOX/.", "../bob", "a/./b", "a/../b",
		"a/..", "./a", "a\x00b", "a\rb", "a\tb", "a\x7fb", "a\u0085b", "x\xffy", strings.Repeat("x", MaxMailboxName+1)}
	for _, n := range bad {
		if err := CheckMailboxName("t", n); !errors.Is(err, ErrInvalidName) {
			t.Errorf("CheckMailboxName(%q) = %v, want ErrInvalidName", n, err)
		}
	}
}
