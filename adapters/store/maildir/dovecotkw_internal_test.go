package maildir

import (
	"testing"
)

// TestParseLetters: dovecot-keywords as another program may leave it;
// lines that cannot be read are skipped, the rest keep their indexes.
func TestParseLetters(t *testing.T) {
	tests := []struct {
		name, in, out string
	}{
		{"empty", "", ""},
		{"plain", "0 $Label1\n1 Junk\n", "0 $Label1\n1 Junk\n"},
		{"gaps and order", "3 d\n0 a\n", "0 a\n3 d\n"},
		{"no final newline", "0 a\n1 b", "0 a\n1 b\n"},
		{"CRLF", "0 a\r\n", "0 a\n"},
		{"past z", "25 z\n26 beyond\n", "25 z\n"},
		{"bad index", "x a\n-1 b\n 2 c\n", ""},
		{"system flag", "0 \\Seen\n", ""},
		{"not an atom", "0 a b\n1 (x\n2 \n", ""},
		{"same index twice", "0 a\n0 b\n", "0 a\n"},
		{"same keyword twice", "0 a\n1 A\n", "0 a\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(parseLetters([]byte(tt.in)).encode()); got != tt.out {
				t.Errorf("parse %q: %q, want %q", tt.in, got, tt.out)
			}
		})
	}
}

// TestWithLetters: the letters of the keywords with one follow the
// standard flags' letters, sorted, each once.
func TestWithLetters(t *testing.T) {
	l := parseLetters([]byte("0 a0\n1 b1\n25 z25\n"))
	tests := []struct {
		flags []string
		want  string
	}{
		{nil, "u:2,"},
		{[]string{`\Seen`}, "u:2,S"},
		{[]string{"z25", `\Seen`, "A0", "unknown", `\Draft`}, "u:2,DSaz"},
		{[]string{"b1", "B1"}, "u:2,b"},
	}
	for _, tt := range tests {
		if got := withLetters(fileFor("u", tt.flags), tt.flags, l); got != tt.want {
			t.Errorf("%q: %q, want %q", tt.flags, got, tt.want)
		}
	}
	if got := infoLetters("u,S=3:2,FSzab"); got != "abz" {
		t.Errorf("infoLetters: %q", got)
	}
}
