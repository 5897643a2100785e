package e2e

import (
	"strings"
	"testing"
)

// TestESearchAndSearchRes: RFC 4731 RETURN options and RFC 5182 "$".
func TestESearchAndSearchRes(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	for _, s := range []string{"apple", "banana", "apple pie", "cherry"} {
		tc.ok("s1 APPEND INBOX " + literal(testMessage(s, s)))
	}
	tc.ok("s2 SELECT INBOX")
	tc.ok("s3 SEARCH RETURN (MIN MAX COUNT ALL) SUBJECT apple")
	tc.mustHave(`* ESEARCH (TAG "s3") MIN 1 MAX 3 ALL 1,3 COUNT 2`)
	tc.ok("s4 UID SEARCH RETURN () ALL")
	tc.mustHave(`* ESEARCH (TAG "s4") UID ALL 1:4`)
	tc.ok("s5 SEARCH RETURN (COUNT) SUBJECT nothing")
	tc.mustHave(`* ESEARCH (TAG "s5") COUNT 0`)

	// SAVE alone answers nothing but the tagged OK.
	tc.ok("s6 SEARCH RETURN (SAVE) SUBJECT apple")
	if len(tc.untagged) != 0 {
		t.Errorf("SEARCH RETURN (SAVE) sent %q", tc.untagged)
	}
	tc.ok("s7 FETCH $ (UID)")
	if got := tc.withPrefix("* "); len(got) != 2 || !strings.HasPrefix(got[0], "* 1 FETCH") || !strings.HasPrefix(got[1], "* 3 FETCH") {
		t.Errorf("FETCH $: %q", tc.untagged)
	}
	tc.ok("s8 STORE $ +FLAGS (\\Flagged)")
	tc.ok("s9 SEARCH FLAGGED NOT $")
	tc.mustHave("* SEARCH")
	tc.ok("s10 UID SEARCH UID $")
	tc.mustHave("* SEARCH 1 3")
	tc.ok("s11 SEARCH RETURN (SAVE MIN) SUBJECT apple")
	tc.ok("s12 UID SEARCH $")
	tc.mustHave("* SEARCH 1")
	tc.ok("s13 UNSELECT")
	tc.ok("s14 SELECT INBOX")
	tc.ok("s15 SEARCH $")
	tc.mustHave("* SEARCH")
}

// TestWithin: RFC 5032 OLDER and YOUNGER.
func TestWithin(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok(`w1 APPEND INBOX "01-Jan-2001 00:00:00 +0000" ` + literal(testMessage("old", "old")))
	tc.ok("w2 APPEND INBOX " + literal(testMessage("new", "new")))
	tc.ok("w3 SELECT INBOX")
	tc.ok("w4 SEARCH YOUNGER 3600")
	tc.mustHave("* SEARCH 2")
	tc.ok("w5 SEARCH OLDER 3600")
	tc.mustHave("* SEARCH 1")
}

// TestBinary: RFC 3516 FETCH BINARY, BINARY.SIZE and a literal8 APPEND.
func TestBinary(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	msg := "Subject: bin\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n" +
		"--x\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9\r\n" +
		"--x\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n" +
		"--x\r\nContent-Type: application/x\r\nContent-Transfer-Encoding: x-unknown\r\n\r\nzz\r\n--x--\r\n"
	tc.ok("b1 APPEND INBOX " + literal(msg))
	tc.ok("b2 SELECT INBOX")
	tc.ok("b3 FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[2] BINARY.PEEK[2]<1.3>)")
	tc.mustHave("* 1 FETCH (BINARY[1] ~{5}\r\ncafé BINARY.SIZE[2] 5 BINARY[2]<1> ~{3}\r\nell)")
	tc.no("b4 FETCH 1 BINARY.PEEK[3]", "UNKNOWN-CTE")
	tc.ok("b5 FETCH 1 (FLAGS)")
	tc.mustHave("* 1 FETCH (FLAGS (\\Recent))")
	bin := "Subject: nul\r\n\r\na\x00b\r\n"
	tc.send("b6 APPEND INBOX ~{" + itoa(len(bin)) + "+}\r\n" + bin + "\r\n")
	tc.expect("* 2 EXISTS")
	tc.expect("* 2 RECENT")
	tc.expect("b6 OK [APPENDUID ")
}

// TestMultiAppend: RFC 3502, all the messages or none.
func TestMultiAppend(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	a, b := testMessage("one", "1"), testMessage("two", "2")
	out := tc.ok("m1 APPEND INBOX (\\Seen) " + literal(a) + " (\\Flagged) " + literal(b))
	if !strings.Contains(out, "[APPENDUID ") || !strings.Contains(out, " 1:2]") {
		t.Errorf("MULTIAPPEND answer %q", out)
	}
	tc.bad("m2 APPEND INBOX " + literal(a) + " junk")
	tc.ok("m3 STATUS INBOX (MESSAGES)")
	tc.mustHave(`* STATUS "INBOX" (MESSAGES 2)`)
}

// TestSaveDate: RFC 8514 SAVEDATE in FETCH and the SAVED* search keys: a
// copy's save date is the time of the copy, not the original's internal date.
func TestSaveDate(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok(`d1 APPEND INBOX "01-Jan-2001 00:00:00 +0000" ` + literal(testMessage("old", "old")))
	tc.ok("d2 SELECT INBOX")
	tc.ok("d3 FETCH 1 (SAVEDATE INTERNALDATE)")
	line := tc.withPrefix("* 1 FETCH")[0]
	if !strings.Contains(line, `SAVEDATE "`) || strings.Contains(line, `SAVEDATE "01-Jan-2001`) {
		t.Errorf("SAVEDATE %q: want today's date, not the internal date", line)
	}
	tc.ok("d4 SEARCH SAVEDSINCE 1-Jan-2020")
	tc.mustHave("* SEARCH 1")
	tc.ok("d5 SEARCH SAVEDBEFORE 1-Jan-2020")
	tc.mustHave("* SEARCH")
	tc.ok("d6 SEARCH SINCE 1-Jan-2020")
	tc.mustHave("* SEARCH")
	tc.ok("d7 SEARCH SAVEDATESUPPORTED")
	tc.mustHave("* SEARCH 1")
}
