package e2e

import (
	"strings"
	"testing"
)

// TestSearchHeaderFields: header keys answer the same whether the header is
// read from the stored structure alone (a search of header fields only),
// with the rest of the structure (with SENTON), or from the message when
// it is too long to keep: ASCII and non-ASCII text, folded values, field
// names in any case, and addresses whose parsed form differs from the text.
func TestSearchHeaderFields(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	long := strings.Repeat("X-Pad: "+strings.Repeat("p", 70)+"\n", 1000)
	msgs := []string{
		// 1: a bare address whose local part has white space in it.
		addressMessage("From: car ol@example.net\nX-Foo: frob\n nicate 1", "Quarterly report"),
		// 2: a folded display name; a field name in other case.
		addressMessage("From: Carol\n Jones <cj@example.org>\nx-FOO: other", "monthly"),
		// 3: 8-bit text: the Kelvin sign lowers to k (Unicode lower case).
		addressMessage("From: bob@example.com", "\u212aelvin QUARTERLY"),
		// 4: a header too long to keep with the structure.
		addressMessage("From: Dave <dave@example.com>\n"+long+"X-Foo: frobnicate 4", "quarterly too"),
	}
	for _, m := range msgs {
		tc.ok("h1 APPEND INBOX " + literal(m))
	}
	tc.ok("h2 SELECT INBOX")
	tests := []struct{ search, want string }{
		{`SUBJECT quarterly`, "* SEARCH 1 3 4"},
		{`SUBJECT QUARTERLY`, "* SEARCH 1 3 4"},
		{`SUBJECT kelvin`, "* SEARCH 3"},
		{`SUBJECT "t QUAR"`, "* SEARCH"},
		{`SUBJECT "n QUAR"`, "* SEARCH 3"},
		{`FROM carol`, "* SEARCH 1 2"},
		{`FROM carol@example.net`, "* SEARCH 1"},
		{`FROM "carol jones"`, "* SEARCH 2"},
		{`FROM "carol jones <cj@example.org>"`, "* SEARCH 2"},
		{`FROM dave`, "* SEARCH 4"},
		{`FROM ave@example`, "* SEARCH 4"},
		{`HEADER X-Foo frobnicate`, "* SEARCH 4"},
		{`HEADER X-FOO "frob nicate"`, "* SEARCH 1"},
		{`HEADER x-foo ""`, "* SEARCH 1 2 4"},
		{`HEADER X-Fo ""`, "* SEARCH"},
		{`HEADER X-Pad pppp`, "* SEARCH 4"},
		{`SUBJECT quarterly SENTON 4-Jun-2024`, "* SEARCH 1 3 4"},
		{`SUBJECT quarterly NOT SENTON 4-Jun-2024`, "* SEARCH"},
		{`OR FROM carol SUBJECT kelvin`, "* SEARCH 1 2 3"},
	}
	for _, tt := range tests {
		tc.ok("h3 SEARCH " + tt.search)
		if !tc.has(tt.want) {
			t.Errorf("SEARCH %s: %q, want %q", tt.search, tc.untagged, tt.want)
		}
	}
}
