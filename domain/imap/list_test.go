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
