package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
)

// keywordNames returns n distinct keywords.
func keywordNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("$kw%03d", i)
	}
	return out
}

// TestKeywordLimit: a mailbox takes keywords up to imap.MaxKeywords; a
// command that would add one more answers NO [LIMIT] (RFC 5530) and changes
// nothing, keywords in use still work, PERMANENTFLAGS stops offering \*
// at the limit (RFC 3501 7.1), and the session goes on.
func TestKeywordLimit(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("a1 CREATE other")
	tc.ok("a2 APPEND INBOX " + literalPlus(testMessage("one", "1")))
	tc.ok("a3 APPEND INBOX " + literalPlus(testMessage("two", "2")))
	tc.ok("a4 APPEND other (\\Seen $Foreign) " + literalPlus(testMessage("three", "3")))
	tc.ok("a5 SELECT INBOX")
	if perm := tc.withPrefix("* OK [PERMANENTFLAGS "); len(perm) != 1 || !strings.Contains(perm[0], `\*`) {
		t.Errorf("PERMANENTFLAGS below the limit: %q, want \\*", perm)
	}

	kws := keywordNames(imap.MaxKeywords)
	last := kws[len(kws)-1]
	tc.ok("b1 STORE 1 +FLAGS.SILENT (" + strings.Join(kws[:len(kws)-1], " ") + ")")
	tc.ok("b2 STORE 2 +FLAGS (" + last + ")") // the last place
	if perm := tc.withPrefix("* OK [PERMANENTFLAGS "); len(perm) != 1 || strings.Contains(perm[0], `\*`) || !strings.Contains(perm[0], last) {
		t.Errorf("PERMANENTFLAGS once the limit is reached: %q, want the keywords and no \\*", perm)
	}

	for _, cmd := range []string{
		`c1 STORE 2 +FLAGS (\Seen $new)`,
		`c2 STORE 1:2 +FLAGS.SILENT ($new)`,
		`c3 UID STORE 2 FLAGS ($new)`,
		`c4 STORE 2 (UNCHANGEDSINCE 1000000) +FLAGS ($new $kw001)`,
		`c5 UID STORE 1:* (UNCHANGEDSINCE 1000000) FLAGS ($kw001 $NEW)`,
	} {
		tc.no(cmd, "LIMIT")
		tc.mustNotContain("FETCH")
		tc.mustNotContain("FLAGS (")
	}
	// Neither a STORE that removes keywords nor one that changes no
	// message brings keywords the mailbox lacks into FLAGS.
	tc.ok("c6 STORE 1 -FLAGS.SILENT ($gone $new)")
	tc.mustNotContain("FLAGS (")
	if got := tc.ok("c7 STORE 1 (UNCHANGEDSINCE 1) +FLAGS ($new)"); !strings.Contains(got, "[MODIFIED 1]") {
		t.Errorf("STORE UNCHANGEDSINCE of a changed message: %q", got)
	}
	tc.mustNotContain("FLAGS (")
	tc.ok("c8 FETCH 2 FLAGS")
	if got := tc.fetchFlags(2); got != last+` \Recent` {
		t.Errorf("flags after refused STOREs: %q, want %q", got, last+` \Recent`)
	}

	// Keywords in use can be set, in any case, on any message.
	tc.ok("d1 STORE 2 +FLAGS ($KW005 " + kws[6] + ")")
	if got := tc.fetchFlags(2); got != "$KW005 "+kws[6]+" "+last+` \Recent` {
		t.Errorf("STORE of keywords in use: %q", got)
	}

	// APPEND (one message or several) with a new keyword stores nothing.
	tc.no("e1 APPEND INBOX ($new) "+literalPlus(testMessage("four", "4")), "LIMIT")
	tc.no("e2 APPEND INBOX ("+kws[1]+") "+literal(testMessage("five", "5"))+" ($kw002 $new) "+literal(testMessage("six", "6")), "LIMIT")
	tc.ok(`e3 APPEND INBOX (\Seen ` + kws[3] + ") " + literalPlus(testMessage("seven", "7")))
	tc.ok("e4 STATUS INBOX (MESSAGES UIDNEXT)")
	tc.mustHave(`* STATUS INBOX (MESSAGES 3 UIDNEXT 4)`)

	// Nor do COPY and MOVE bring a new keyword in.
	tc.ok("f1 SELECT other")
	tc.no("f2 COPY 1 INBOX", "LIMIT")
	tc.no("f3 UID MOVE 1 INBOX", "LIMIT")
	tc.ok("f4 STATUS INBOX (MESSAGES)")
	tc.mustHave(`* STATUS INBOX (MESSAGES 3)`)
	tc.ok("f5 NOOP")
	tc.mustNotContain("EXPUNGE")

	// SELECT: FLAGS holds the keywords, no more; PERMANENTFLAGS has no \*.
	tc.ok("g1 SELECT INBOX")
	flags := tc.withPrefix("* FLAGS (")
	if len(flags) != 1 || len(strings.Fields(flags[0]))-2 != len(imap.SystemFlags)+imap.MaxKeywords {
		t.Errorf("FLAGS at the limit: %q", flags)
	}
	if perm := tc.withPrefix("* OK [PERMANENTFLAGS "); len(perm) != 1 || strings.Contains(perm[0], `\*`) || !strings.Contains(perm[0], kws[0]) {
		t.Errorf("PERMANENTFLAGS at the limit: %q", perm)
	}

	// A keyword no message has any more frees its place.
	tc.ok("h1 STORE 1:* -FLAGS.SILENT (" + kws[0] + ")")
	tc.ok("h2 SELECT INBOX")
	if perm := tc.withPrefix("* OK [PERMANENTFLAGS "); len(perm) != 1 || !strings.Contains(perm[0], `\*`) {
		t.Errorf("PERMANENTFLAGS below the limit again: %q", perm)
	}
	tc.ok("h3 STORE 1 +FLAGS ($new)")
	tc.no("h4 STORE 1 +FLAGS ("+kws[0]+")", "LIMIT")
}

// TestKeywordTooLong: a flag name past imap.MaxFlagLength bytes is BAD,
// in STORE and APPEND alike, and the session goes on.
func TestKeywordTooLong(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("a1 APPEND INBOX " + literalPlus(testMessage("one", "1")))
	tc.ok("a2 SELECT INBOX")
	long := strings.Repeat("k", imap.MaxFlagLength+1)
	tc.bad("a3 STORE 1 +FLAGS (" + long + ")")
	tc.bad("a4 APPEND INBOX (" + long + ") " + literalPlus(testMessage("two", "2")))
	tc.ok("a5 STORE 1 +FLAGS (" + long[1:] + ")")
	tc.ok("a6 STATUS INBOX (MESSAGES)")
	tc.mustHave(`* STATUS INBOX (MESSAGES 1)`)
}
