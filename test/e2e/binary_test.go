package e2e

import (
	"strings"
	"testing"
)

// binaryMsg is a multipart message with a quoted-printable part, a base64
// part and an encapsulated message whose own part is base64.
const binaryMsg = "Subject: bin\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n" +
	"--x\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9\r\n" +
	"--x\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n" +
	"--x\r\nContent-Type: message/rfc822\r\n\r\n" +
	"Subject: inner\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=y\r\n\r\n" +
	"--y\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naW5uZXI=\r\n--y--\r\n" +
	"\r\n--x--\r\n"

// The inner message of binaryMsg (part 3), decoded.
const binaryInner = "Subject: inner\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=y\r\n\r\n" +
	"--y\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n\r\ninner\r\n--y--\r\n"

// binaryWhole is BINARY[] of binaryMsg: the header and the structure kept,
// every part's content decoded and labelled binary.
const binaryWhole = "Subject: bin\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n" +
	"--x\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: binary\r\n\r\ncafé\r\n" +
	"--x\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\nhello\r\n" +
	"--x\r\nContent-Type: message/rfc822\r\n\r\n" + binaryInner +
	"\r\n--x--\r\n"

func lit8(s string) string { return "~{" + itoa(len(s)) + "}\r\n" + s }

// TestBinaryWholeMessage: RFC 3516 BINARY[] is the whole message, header
// included, and every section form addresses the decoded data.
func TestBinaryWholeMessage(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("a1 APPEND INBOX " + literal(binaryMsg))
	single := "Subject: single\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQ=\r\n"
	tc.ok("a2 APPEND INBOX " + literal(single))
	tc.ok("a3 SELECT INBOX")

	tc.ok("b1 FETCH 1 (BINARY.SIZE[] BINARY.PEEK[])")
	tc.mustHave("* 1 FETCH (BINARY.SIZE[] " + itoa(len(binaryWhole)) + " BINARY[] " + lit8(binaryWhole) + ")")
	tc.ok("b2 FETCH 1 (BINARY.PEEK[]<0.12> BINARY.PEEK[]<" + itoa(len(binaryWhole)-9) + ".100>)")
	tc.mustHave("* 1 FETCH (BINARY[]<0> ~{12}\r\nSubject: bin BINARY[]<" + itoa(len(binaryWhole)-9) + "> ~{9}\r\n\r\n--x--\r\n)")
	tc.ok("b3 FETCH 1 (BINARY.PEEK[1] BINARY.PEEK[2] BINARY.SIZE[2])")
	tc.mustHave("* 1 FETCH (BINARY[1] ~{5}\r\ncafé BINARY[2] ~{5}\r\nhello BINARY.SIZE[2] 5)")
	tc.ok("b4 FETCH 1 (BINARY.SIZE[3] BINARY.PEEK[3] BINARY.PEEK[3.1] BINARY.PEEK[3.1]<2.2>)")
	tc.mustHave("* 1 FETCH (BINARY.SIZE[3] " + itoa(len(binaryInner)) + " BINARY[3] " + lit8(binaryInner) +
		" BINARY[3.1] ~{5}\r\ninner BINARY[3.1]<2> ~{2}\r\nne)")
	// A part that does not exist is empty, as for BODY[].
	tc.ok("b5 FETCH 1 (BINARY.SIZE[9])")
	tc.mustHave("* 1 FETCH (BINARY.SIZE[9] 0)")

	wholeSingle := "Subject: single\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n\r\nhello world"
	tc.ok("c1 FETCH 2 (BINARY.SIZE[] BINARY.PEEK[] BINARY.PEEK[1] BINARY.SIZE[1])")
	tc.mustHave("* 2 FETCH (BINARY.SIZE[] " + itoa(len(wholeSingle)) + " BINARY[] " + lit8(wholeSingle) +
		" BINARY[1] ~{11}\r\nhello world BINARY.SIZE[1] 11)")
	// BODY[] is untouched by BINARY's decoding.
	tc.ok("c2 FETCH 2 (BODY.PEEK[])")
	tc.mustHave("* 2 FETCH (BODY[] " + literal(single) + ")")
}

// TestBinaryUnknownCTE: a part in an encoding the server cannot decode
// fails BINARY of any section holding it with NO [UNKNOWN-CTE]; the
// other parts still decode.
func TestBinaryUnknownCTE(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	msg := "Subject: u\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n" +
		"--x\r\nContent-Transfer-Encoding: base64\r\n\r\naGk=\r\n" +
		"--x\r\nContent-Transfer-Encoding: x-unknown\r\n\r\nzz\r\n--x--\r\n"
	tc.ok("u1 APPEND INBOX " + literal(msg))
	tc.ok("u2 SELECT INBOX")
	tc.no("u3 FETCH 1 BINARY.PEEK[]", "UNKNOWN-CTE")
	tc.no("u4 FETCH 1 BINARY.SIZE[]", "UNKNOWN-CTE")
	tc.no("u5 FETCH 1 BINARY.PEEK[2]", "UNKNOWN-CTE")
	tc.ok("u6 FETCH 1 BINARY.PEEK[1]")
	tc.mustHave("* 1 FETCH (BINARY[1] ~{2}\r\nhi)")
}

// noNULOutsideBinary fails if a response holds a NUL byte anywhere but in
// the literal8 of a BINARY item (RFC 3501: a literal is CHAR8, no NUL).
func noNULOutsideBinary(t *testing.T, resps []string) {
	t.Helper()
	for _, r := range resps {
		rest := r
		for {
			i := strings.Index(rest, "~{")
			if i < 0 {
				break
			}
			// Skip the literal8's bytes.
			j := strings.Index(rest[i:], "}\r\n")
			n := 0
			for _, c := range rest[i+2 : i+j] {
				n = n*10 + int(c-'0')
			}
			if !strings.Contains(rest[:i], "BINARY[") {
				t.Errorf("literal8 outside BINARY in %q", r)
			}
			if strings.Contains(rest[:i], "\x00") {
				t.Errorf("NUL outside a literal8 in %q", r)
			}
			rest = rest[i+j+3+n:]
		}
		if strings.Contains(rest, "\x00") {
			t.Errorf("NUL outside a literal8 in %q", r)
		}
	}
}

// TestBinaryNULStoredEncoded: a message appended as a literal8 whose part
// is binary with NUL bytes is stored base64-encoded (RFC 3516 4.3), so
// that BODY[], BODY[1], RFC822 and friends never send NUL in a literal,
// while BINARY[1] still returns the original bytes.
func TestBinaryNULStoredEncoded(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	single := "Subject: nul\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n" +
		"Content-Transfer-Encoding: binary\r\n\r\na\x00b\r\n"
	multi := "Subject: nul2\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n" +
		"--x\r\nContent-Type: text/plain\r\n\r\nfirst\r\n" +
		"--x\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x01\x02\xff\r\n--x--\r\n"
	tc.ok("n1 APPEND INBOX ~{" + itoa(len(single)) + "+}\r\n" + single)
	tc.ok("n2 APPEND INBOX " + lit8(multi))
	tc.ok("n3 SELECT INBOX")

	tc.ok("f1 FETCH 1:2 (BODY.PEEK[] BODY.PEEK[1] BODY.PEEK[2] BODY.PEEK[TEXT] BODY.PEEK[HEADER] RFC822.SIZE BODYSTRUCTURE)")
	noNULOutsideBinary(t, tc.untagged)
	for _, r := range tc.untagged {
		if !strings.Contains(r, `"BASE64"`) {
			t.Errorf("binary part not stored base64: %q", r)
		}
	}
	tc.ok("f2 FETCH 1:2 (RFC822 RFC822.TEXT BODY[1])")
	noNULOutsideBinary(t, tc.untagged)
	// Byte for byte what Cyrus 3.6 stores for this APPEND.
	tc.ok("f2b FETCH 1 (BODY.PEEK[])")
	tc.mustHave("* 1 FETCH (BODY[] " + literal("Subject: nul\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"+
		"Content-Transfer-Encoding: base64\r\n\r\nYQBiDQo=\r\n") + ")")
	tc.ok("f3 FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])")
	tc.mustHave("* 1 FETCH (BINARY[1] ~{5}\r\na\x00b\r\n BINARY.SIZE[1] 5)")
	tc.ok("f4 FETCH 2 (BINARY.PEEK[2] BINARY.PEEK[1])")
	tc.mustHave("* 2 FETCH (BINARY[2] ~{4}\r\n\x00\x01\x02\xff BINARY[1] ~{5}\r\nfirst)")
	noNULOutsideBinary(t, tc.untagged)

	// RFC822.SIZE is the size of what BODY[] sends.
	tc.ok("f5 FETCH 1:2 (RFC822.SIZE BODY.PEEK[])")
	for _, r := range tc.untagged {
		i := strings.Index(r, "RFC822.SIZE ")
		j := strings.Index(r, "BODY[] {")
		if i < 0 || j < 0 {
			t.Fatalf("FETCH response %q", r)
		}
		size := r[i+len("RFC822.SIZE")+1:]
		size = size[:strings.IndexByte(size, ' ')]
		lit := r[j+len("BODY[] {"):]
		lit = lit[:strings.IndexByte(lit, '}')]
		if size != lit {
			t.Errorf("RFC822.SIZE %s, BODY[] {%s}", size, lit)
		}
	}

	// NUL in a header cannot be encoded away: the message is refused.
	hdr := "Subject: a\x00b\r\n\r\nbody\r\n"
	tc.no("n4 APPEND INBOX ~{"+itoa(len(hdr))+"+}\r\n"+hdr, "")
	tc.ok("n5 STATUS INBOX (MESSAGES)")
	tc.mustHave(`* STATUS INBOX (MESSAGES 2)`)
}
