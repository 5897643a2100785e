package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// lfMessage is a MIME message with LF line endings, as MTAs, procmail and
// Dovecot write message files; a line of its second part already ends in
// CRLF, as in a file that mixes both.
const lfMessage = "From: Alice <alice@example.com>\n" +
	"To: Bob <bob@example.com>\n" +
	"Subject: delivered with LF\n" +
	"Date: Tue, 4 Jun 2024 10:00:00 +0000\n" +
	"Message-ID: <lf@example.com>\n" +
	"MIME-Version: 1.0\n" +
	"Content-Type: multipart/mixed; boundary=xyz\n" +
	"\n" +
	"--xyz\n" +
	"Content-Type: text/plain; charset=us-ascii\n" +
	"\n" +
	"hello\n" +
	"world\n" +
	"--xyz\n" +
	"Content-Type: text/plain; charset=us-ascii\n" +
	"\n" +
	"second part\r\n" +
	"last line\n" +
	"--xyz--\n"

// fetchItem returns the text after "item " of the FETCH response to tc's
// last command.
func fetchItem(t *testing.T, tc *transcript, item string) string {
	t.Helper()
	for _, s := range tc.withPrefix("* ") {
		if i := strings.Index(s, item+" "); i >= 0 && strings.Contains(s, " FETCH (") {
			return s[i+len(item)+1:]
		}
	}
	t.Fatalf("no %s in %q", item, tc.untagged)
	return ""
}

// A file another program delivers into new/ with LF line endings is served
// as CRLF (RFC 3501 2.3.1, RFC 5322 2.1), and every size and offset is that
// of the CRLF form: the same as for the CRLF message APPENDed.
func TestMaildirLFDeliveryServedAsCRLF(t *testing.T) {
	if e2eStore() != "maildir" {
		t.Skip("files delivered into new/ by other programs: the maildir store's")
	}
	e := newEnv(t)
	tc := e.rawLogin("alice")
	crlf := strings.ReplaceAll(strings.ReplaceAll(lfMessage, "\r\n", "\n"), "\n", "\r\n")
	tc.ok("a1 APPEND INBOX " + literalPlus(crlf))
	tc.ok("a2 CREATE Other")
	tc.ok("a3 SELECT INBOX")

	// Delivered as an MTA does: written to tmp/, renamed into new/.
	root := filepath.Join(e.dir, "spool", "alice")
	tmp := filepath.Join(root, "tmp", "1717495200.M1P42.mta.example")
	if err := os.WriteFile(tmp, []byte(lfMessage), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(root, "new", "1717495200.M1P42.mta.example")); err != nil {
		t.Fatal(err)
	}
	tc.ok("a4 NOOP")
	tc.mustHave("* 2 EXISTS")

	n := strconv.Itoa(len(crlf))
	tc.ok("b1 FETCH 2 (RFC822.SIZE)")
	tc.mustHave("* 2 FETCH (RFC822.SIZE " + n + ")")
	tc.ok("b2 FETCH 2 (BODY.PEEK[])")
	tc.mustHave("* 2 FETCH (BODY[] {" + n + "}\r\n" + crlf + ")")

	text := crlf[strings.Index(crlf, "\r\n\r\n")+4:]
	for _, part := range [][2]int{{0, 10}, {5, 40}, {len("--xyz\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nhello") - 1, 3}, {len(text) - 4, 100}} {
		off, ln := part[0], part[1]
		want := text[off:min(off+ln, len(text))]
		cmd := "FETCH 2 (BODY.PEEK[TEXT]<" + strconv.Itoa(off) + "." + strconv.Itoa(ln) + ">)"
		tc.ok("b3 " + cmd)
		tc.mustHave("* 2 FETCH (BODY[TEXT]<" + strconv.Itoa(off) + "> {" + strconv.Itoa(len(want)) + "}\r\n" + want + ")")
	}

	// The structure, part sizes and line counts are those of the CRLF
	// message appended.
	for _, item := range []string{"BODYSTRUCTURE", "BINARY.SIZE[1]", "BINARY.SIZE[2]", "BODY[2]", "BODY[1.MIME]", "RFC822.SIZE"} {
		fetch := item
		if strings.HasPrefix(item, "BODY[") {
			fetch = "BODY.PEEK" + item[4:]
		}
		tc.ok("c1 FETCH 1 (" + fetch + ")")
		want := fetchItem(t, tc, item)
		tc.ok("c2 FETCH 2 (" + fetch + ")")
		if got := fetchItem(t, tc, item); got != want {
			t.Errorf("%s: delivered with LF %q, appended with CRLF %q", item, got, want)
		}
	}

	// SEARCH sees the CRLF size and the body.
	tc.ok("d1 SEARCH LARGER " + strconv.Itoa(len(crlf)-1))
	tc.mustHave("* SEARCH 1 2")
	tc.ok("d2 SEARCH SMALLER " + strconv.Itoa(len(crlf)))
	tc.mustHave("* SEARCH")
	tc.ok(`d3 SEARCH BODY "last line"`)
	tc.mustHave("* SEARCH 1 2")
	tc.ok(`d4 SEARCH TEXT "world"`)
	tc.mustHave("* SEARCH 1 2")
	tc.ok("d5 STATUS INBOX (SIZE)")
	tc.mustHave("* STATUS INBOX (SIZE " + strconv.Itoa(2*len(crlf)) + ")")

	// A copy is the same message.
	tc.ok("e1 COPY 2 Other")
	tc.ok("e2 SELECT Other")
	tc.ok("e3 FETCH 1 (RFC822.SIZE BODY.PEEK[])")
	tc.mustHave("* 1 FETCH (RFC822.SIZE " + n + " BODY[] {" + n + "}\r\n" + crlf + ")")

	// Dovecot names the file with its size on disk (S=) and its CRLF
	// size (W=), and puts a message it has seen into cur/.
	dovecot := "1717495300.M2P43.dovecot,S=" + strconv.Itoa(len(lfMessage)) + ",W=" + n + ":2,S"
	if err := os.WriteFile(filepath.Join(root, "cur", dovecot), []byte(lfMessage), 0o600); err != nil {
		t.Fatal(err)
	}
	tc.ok("f1 SELECT INBOX")
	tc.mustHave("* 3 EXISTS")
	tc.ok("f2 FETCH 3 (RFC822.SIZE BODY.PEEK[])")
	tc.mustHave("* 3 FETCH (RFC822.SIZE " + n + " BODY[] {" + n + "}\r\n" + crlf + ")")
	tc.ok("f3 FETCH 3 (FLAGS)")
	if flags := fetchItem(t, tc, "FLAGS"); !strings.Contains(flags, `\Seen`) {
		t.Errorf("FLAGS %s: the file name's S is not \\Seen", flags)
	}
}
