package conformance

import (
	"strings"
	"testing"
)

func TestMatchLine(t *testing.T) {
	tests := []struct {
		pattern string
		strict  bool
		line    string
		want    bool
	}{
		{`* {num} EXISTS`, false, `* 23 EXISTS`, true},
		{`* {num} EXISTS`, false, `* x EXISTS`, false},
		{`a1 OK [READ-WRITE] SELECT completed`, false, `a1 OK [READ-WRITE] Completed`, true},
		{`a1 OK [READ-WRITE] SELECT completed`, true, `a1 OK [READ-WRITE] Completed`, false},
		{`a1 OK [READ-WRITE] SELECT completed`, false, `a1 OK [READ-ONLY] done`, false},
		{`a1 NO Mailbox does not exist`, false, `a1 NO [NONEXISTENT] No such mailbox`, false},
		{`a1 NO Mailbox does not exist`, false, `a1 NO`, true},
		{`a1 NO [NONEXISTENT] x`, false, `a1 NO No such mailbox`, false},
		{`a1 NO [CANNOT]? x`, false, `a1 NO No`, true},
		{`a1 NO [CANNOT]? x`, false, `a1 NO [CANNOT] No`, true},
		{`a1 NO [CANNOT]? x`, false, `a1 NO [LIMIT] No`, false},
		{`+`, false, `+ go ahead`, true},
		{`* OK [UIDVALIDITY {num}] UIDs valid`, false, `* OK [UIDVALIDITY 42] Ok`, true},
		{`* OK [{any}]`, false, `* OK [URLMECH INTERNAL] Ok`, true},
		// Flags and attributes are sets; atoms may be quoted.
		{`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft)`, false, `* FLAGS (\Answered \Flagged \Draft \Deleted \Seen)`, true},
		{`* LIST (\HasNoChildren) "/" INBOX`, false, `* LIST (\HasNoChildren) "/" "INBOX"`, true},
		{`* LIST (\HasNoChildren) "/" "Grüße"`, false, `* LIST (\HasNoChildren) "/" "Grüße"`, true},
		// STATUS items and FETCH items come in any order.
		{`* STATUS INBOX (UIDNEXT 3 MESSAGES {num})`, false, `* STATUS INBOX (MESSAGES 2 UIDNEXT 3)`, true},
		{`* ESEARCH (TAG "a1") UID MIN 1 COUNT {num}`, false, `* ESEARCH (TAG "a1") UID COUNT 3 MIN 1`, true},
		{`* 1 FETCH (UID 3 FLAGS (\Seen))`, false, `* 1 FETCH (FLAGS (\Seen) UID 3)`, true},
		{`* 1 FETCH (BODY[TEXT] {3}\r\nabc FLAGS (\Seen))`, false, `* 1 FETCH (FLAGS (\Seen) BODY[TEXT] {3}\r\nabc)`, true},
		{`* 1 FETCH (BODY[] {{num}}\r\n{nonul})`, false, `* 1 FETCH (BODY[] {3}\r\na\0b)`, false},
		{`* 1 FETCH (BODY[] {{num}}\r\n{nonul})`, false, `* 1 FETCH (BODY[] {3}\r\nabc)`, true},
		{`S {closed}`, false, `S {closed}`, true},
	}
	for _, tt := range tests {
		e := Expect{Kind: ' ', Pattern: tt.pattern, Strict: tt.strict}
		if err := e.compile(); err != nil {
			t.Errorf("%q: %v", tt.pattern, err)
			continue
		}
		if _, got := e.Match(tt.line, nil); got != tt.want {
			t.Errorf("%q (strict %v) against %q: %v, want %v", tt.pattern, tt.strict, tt.line, got, tt.want)
		}
	}
}

func TestCaptures(t *testing.T) {
	set := Expect{Kind: ' ', Pattern: `* OK [UIDVALIDITY {$uidv=num}] x`}
	use := Expect{Kind: ' ', Pattern: `* STATUS INBOX (UIDVALIDITY {$uidv})`}
	vars, ok := set.Match(`* OK [UIDVALIDITY 77] Ok`, map[string]string{})
	if !ok || vars["uidv"] != "77" {
		t.Fatalf("capture: %v %v", vars, ok)
	}
	if _, ok := use.Match(`* STATUS INBOX (UIDVALIDITY 77)`, vars); !ok {
		t.Error("the captured value does not match itself")
	}
	if _, ok := use.Match(`* STATUS INBOX (UIDVALIDITY 78)`, vars); ok {
		t.Error("another value matches the captured one")
	}
}

func TestMatchBlock(t *testing.T) {
	exps := func(lines ...string) []Expect {
		var out []Expect
		for _, l := range lines {
			kind, pattern, _ := strings.Cut(l, "|")
			out = append(out, Expect{Kind: kind[0], Pattern: pattern})
		}
		return out
	}
	tests := []struct {
		name    string
		exps    []Expect
		lines   []string
		ordered bool
		want    bool
	}{
		{"any order", exps(" |* 1 EXISTS", " |* 0 RECENT", " |a OK"), []string{"* 0 RECENT", "* 1 EXISTS", "a OK"}, false, true},
		{"ordered", exps(" |* 1 EXISTS", " |* 0 RECENT", " |a OK"), []string{"* 0 RECENT", "* 1 EXISTS", "a OK"}, true, false},
		{"missing", exps(" |* 1 EXISTS", " |a OK"), []string{"a OK"}, false, false},
		{"extra", exps(" |a OK"), []string{"* 1 EXISTS", "a OK"}, false, false},
		{"optional absent", exps("?|* 1 RECENT", " |a OK"), []string{"a OK"}, false, true},
		{"optional twice", exps("?|* 1 RECENT", " |a OK"), []string{"* 1 RECENT", "* 1 RECENT", "a OK"}, false, false},
		{"star", exps("*|* {any}", " |a OK"), []string{"* 1 RECENT", "* 2 EXISTS", "a OK"}, false, true},
		{"star ordered", exps(" |* 1 EXISTS", "*|* {num} FETCH {any}", " |a OK"), []string{"* 1 EXISTS", "* 1 FETCH (UID 1)", "* 2 FETCH (UID 2)", "a OK"}, true, true},
	}
	for _, tt := range tests {
		if _, got := MatchBlock(tt.exps, tt.lines, tt.ordered, map[string]string{}); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	const text = `# comment
rfc: RFC 3501 6.3.11
login: no
C: a1 APPEND INBOX (\Seen) {#}
L: Subject: one
L:
C+:  ~{#+}
L\: NUL\0\r\n
S: a1 OK [APPENDUID {num} 1:2] done
C2: b1 IDLE
S2: +
C2: DONE
S2: b1 OK done
`
	s, err := Parse(strings.NewReader(text), "x.imap")
	if err != nil {
		t.Fatal(err)
	}
	if s.Login || s.Source != "RFC 3501 6.3.11" || len(s.Blocks) != 6 {
		t.Fatalf("header or blocks: %+v", s)
	}
	c := s.Blocks[0]
	if len(c.Sends) != 2 || c.Sends[0].Literal == nil || !c.Sends[1].Continue || !c.Sends[1].Literal.NonSync || c.Sends[1].Literal.Prefix != "~" {
		t.Errorf("client block: %+v", c.Sends)
	}
	if b := s.Blocks[1]; b.Tag != "a1" || !b.Final || b.Index != 1 {
		t.Errorf("server block: %+v", b)
	}
	// DONE answers the continuation: the last block still belongs to b1.
	if b := s.Blocks[5]; b.Tag != "b1" || b.Index != 2 || !b.Final {
		t.Errorf("IDLE's last block: %+v", b)
	}
	if got := s.Commands(); strings.Join(got, ",") != "APPEND,IDLE" {
		t.Errorf("commands: %v", got)
	}
	for _, bad := range []string{
		"C: a1 NOOP\nS: a1 OK {nosuch}\n",
		"L: data\n",
		"C: a1 LOGIN {#}\nS: a1 OK\n",
		"frobnicate: yes\n",
		"C: a1 NOOP\nS: a1 OK\nC2: a1 NOOP\nS2: a1 OK\n",
	} {
		if _, err := Parse(strings.NewReader(bad), "bad.imap"); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
