package e2e

import (
	"strings"
	"testing"
)

// addressMessage is a small message with the given address fields
// (folded lines written with "\n " in fields), CRLF line ends.
func addressMessage(fields, subject string) string {
	return strings.ReplaceAll(fields+"\n"+
		"Subject: "+subject+"\n"+
		"Date: Tue, 4 Jun 2024 10:00:00 +0000\n"+
		"MIME-Version: 1.0\n"+
		"Content-Type: text/plain; charset=us-ascii\n"+
		"\nbody\n", "\n", "\r\n")
}

// TestSearchAddresses: FROM, TO, CC and BCC match the addresses with
// comments and folding removed (RFC 5322 3.2.2, 3.4), display names with
// their encoded words decoded (RFC 2047), as well as the header text.
func TestSearchAddresses(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	msgs := []string{
		// 1: comments inside the angle address.
		addressMessage("From: <user-from (comment)@ (comment) domain.org>\nTo: bob@example.com", "comments"),
		// 2: a group, its members with comments.
		addressMessage("From: a@example.com\nTo: undisclosed: first (one)@ one.example,\n second@two.example (Two);", "group"),
		// 3: an encoded display name.
		addressMessage("From: =?UTF-8?Q?J=C3=B6rg?= <j@x.example>\nCc: Carol\n <carol (home) @\n example.net>", "encoded"),
		// 4: obsolete route syntax and a quoted local part.
		addressMessage("From: Joe <@relay.example,@relay2.example:joe (c)@example.org>\nBcc: \"john doe\" (c) @example.com", "route"),
	}
	for _, m := range msgs {
		tc.ok("s1 APPEND INBOX " + literal(m))
	}
	tc.ok("s2 SELECT INBOX")
	tests := []struct{ search, want string }{
		{`FROM user-from@domain.org`, "* SEARCH 1"},
		{`FROM "(comment)@ (comment)"`, "* SEARCH 1"}, // the header text still matches
		{`FROM USER-FROM@DOMAIN.ORG`, "* SEARCH 1"},
		{`TO first@one.example`, "* SEARCH 2"},
		{`TO second@two.example`, "* SEARCH 2"},
		{`TO undisclosed`, "* SEARCH 2"},
		{`CHARSET UTF-8 FROM ` + literal("Jörg"), "* SEARCH 3"},
		{`FROM ` + literal("jörg <j@x.example>"), "* SEARCH 3"},
		{`CHARSET UTF-8 FROM "J=C3=B6rg"`, "* SEARCH"}, // the encoded form is not text
		{`CC carol@example.net`, "* SEARCH 3"},
		{`FROM joe@example.org`, "* SEARCH 4"},
		{`FROM "joe <joe@example.org>"`, "* SEARCH 4"},
		{`BCC "\"john doe\"@example.com"`, "* SEARCH 4"},
		{`BCC "john doe@example.com"`, "* SEARCH 4"},
		{`OR FROM user-from@domain.org CC carol@example.net`, "* SEARCH 1 3"},
		{`FROM user-from@domain.com`, "* SEARCH"},
		{`SUBJECT user-from@domain.org`, "* SEARCH"},
	}
	for _, tt := range tests {
		tc.ok("s3 SEARCH " + tt.search)
		if !tc.has(tt.want) {
			t.Errorf("SEARCH %s: %q, want %q", tt.search, tc.untagged, tt.want)
		}
	}
	// The same through UID SEARCH with ESEARCH.
	tc.ok("s4 UID SEARCH RETURN (ALL) FROM user-from@domain.org")
	tc.mustHave(`* ESEARCH (TAG "s4") UID ALL 1`)
}
