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

// TestWholeMessageItems: BODY[], BODY.PEEK[], their partial forms and
// RFC822 send the message as stored whether they come alone or with an
// item that decodes the message's structure, for messages of every
// shape: a header only, no final line break, multipart, a binary part
// stored base64. BODY[] and RFC822 still set \Seen.
func TestWholeMessageItems(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	msgs := []string{
		"Subject: header only\r\n\r\n",
		"Subject: no final break\r\n\r\nlast line",
		"Subject: multi\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n" +
			"--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>two</p>\r\n--b--\r\nepilogue\r\n",
	}
	for i, m := range msgs {
		tc.ok("a" + itoa(i) + " APPEND INBOX " + literal(m))
	}
	nul := "Subject: nul\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n" +
		"Content-Transfer-Encoding: binary\r\n\r\na\x00b\r\n"
	tc.ok("a3 APPEND INBOX " + lit8(nul))
	msgs = append(msgs, "Subject: nul\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"+
		"Content-Transfer-Encoding: base64\r\n\r\nYQBiDQo=\r\n")
	tc.ok("s SELECT INBOX")
	for i, m := range msgs {
		n := itoa(i + 1)
		tc.ok("f1 FETCH " + n + " BODY.PEEK[]")
		tc.mustHave("* " + n + " FETCH (BODY[] " + literal(m) + ")")
		tc.ok("f2 FETCH " + n + " (BODY.PEEK[] BODY.PEEK[1])")
		if got := tc.withPrefix("* " + n + " FETCH (BODY[] " + literal(m) + " BODY[1] "); len(got) != 1 {
			t.Errorf("message %s with BODY[1]: %q", n, tc.untagged)
		}
		tc.ok("f3 FETCH " + n + " BODY.PEEK[]<2.7>")
		tc.mustHave("* " + n + " FETCH (BODY[]<2> " + literal(m[2:9]) + ")")
		tc.ok("f4 FETCH " + n + " BODY.PEEK[]<" + itoa(len(m)) + ".5>")
		tc.mustHave("* " + n + " FETCH (BODY[]<" + itoa(len(m)) + "> {0}\r\n)")
	}
	tc.ok("f5 FETCH 1 RFC822")
	tc.mustHave(`* 1 FETCH (RFC822 ` + literal(msgs[0]) + ` FLAGS (\Seen \Recent))`)
	tc.ok("f6 FETCH 2 BODY[]<0.4>")
	tc.mustHave(`* 2 FETCH (BODY[]<0> ` + literal(msgs[1][:4]) + ` FLAGS (\Seen \Recent))`)
	tc.ok("f7 FETCH 3 BODY[]")
	tc.mustHave(`* 3 FETCH (BODY[] ` + literal(msgs[2]) + ` FLAGS (\Seen \Recent))`)
	tc.ok("f8 UID FETCH 4 BODY.PEEK[]")
	tc.mustHave(`* 4 FETCH (UID 4 BODY[] ` + literal(msgs[3]) + `)`)
}
