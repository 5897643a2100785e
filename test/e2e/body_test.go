package e2e

import (
	"strings"
	"testing"
)

// sizedMessage returns a message of exactly n bytes whose lines number
// themselves, so that a misplaced byte range shows.
func sizedMessage(subject string, n int) string {
	var b strings.Builder
	b.WriteString("Subject: " + subject + "\r\n\r\n")
	for i := 0; b.Len() < n; i++ {
		b.WriteString("line " + itoa(i) + " of the body, padded to some length.\r\n")
	}
	return b.String()[:n]
}

// TestBodyAroundChunkSizes: whole bodies and byte ranges of messages just
// under, at and over 64 KiB (the sqlite store's chunk size) and of several
// chunks come back byte for byte, in one FETCH 1:* as one at a time.
func TestBodyAroundChunkSizes(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	sizes := []int{40, 65535, 65536, 65537, 200000}
	msgs := make([]string, len(sizes))
	for i, n := range sizes {
		msgs[i] = sizedMessage("size "+itoa(n), n)
		tc.ok("a" + itoa(i) + " APPEND INBOX " + literal(msgs[i]))
	}
	tc.ok("s EXAMINE INBOX")
	tc.ok("f1 FETCH 1:* BODY.PEEK[]")
	for i, m := range msgs {
		tc.mustHave("* " + itoa(i+1) + " FETCH (BODY[] " + literal(m) + ")")
	}
	for i, m := range msgs {
		tc.ok("f2 FETCH " + itoa(i+1) + " (RFC822.SIZE BODY.PEEK[])")
		tc.mustHave("* " + itoa(i+1) + " FETCH (RFC822.SIZE " + itoa(len(m)) + " BODY[] " + literal(m) + ")")
	}
	// Ranges across chunk boundaries, and the text after the header.
	big := msgs[4]
	for _, r := range [][2]int{{65530, 12}, {65536, 1}, {131070, 70000}, {199990, 100}} {
		tc.ok("f3 FETCH 5 BODY.PEEK[]<" + itoa(r[0]) + "." + itoa(r[1]) + ">")
		tc.mustHave("* 5 FETCH (BODY[]<" + itoa(r[0]) + "> " + literal(big[r[0]:min(r[0]+r[1], len(big))]) + ")")
	}
	tc.ok("f4 FETCH 5 BODY.PEEK[TEXT]")
	tc.mustHave("* 5 FETCH (BODY[TEXT] " + literal(big[strings.Index(big, "\r\n\r\n")+4:]) + ")")
}
