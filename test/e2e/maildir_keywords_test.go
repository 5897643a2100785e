package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dovecotFile returns the one file of the maildir folder cur whose name
// contains part.
func dovecotFile(t *testing.T, cur, part string) string {
	t.Helper()
	ents, err := os.ReadDir(cur)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, e := range ents {
		if strings.Contains(e.Name(), part) {
			found = append(found, e.Name())
		}
	}
	if len(found) != 1 {
		t.Fatalf("files with %q in %s: %q", part, cur, found)
	}
	return found[0]
}

// Keywords kept the way Dovecot's maildir keeps them (dovecot-keywords
// names the letter of each, 'a' for index 0, and a message file carries
// the letters after ":2,") are the messages' keywords: FETCH FLAGS shows
// them, SEARCH KEYWORD finds them (RFC 3501 6.4.4), and a rename by
// Dovecot that adds or drops a letter is a flag change the next command
// reports (RFC 3501 7.4.2). Keywords set through IMAP are written the same
// way, for Dovecot to see.
func TestMaildirDovecotKeywords(t *testing.T) {
	if e2eStore() != "maildir" {
		t.Skip("Dovecot's keyword letters in maildir file names: the maildir store's")
	}
	e := newEnv(t)
	tc := e.rawLogin("alice")
	root := filepath.Join(e.dir, "spool", "alice")
	cur := filepath.Join(root, "cur")
	tc.ok("a0 SELECT INBOX") // the mailbox exists on disk

	// As Dovecot writes them: dovecot-keywords, and a file in cur/
	// with the standard flags' letters then the keywords'.
	if err := os.WriteFile(filepath.Join(root, "dovecot-keywords"), []byte("0 $Label1\n1 Project\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	msg := "Subject: from Dovecot\n\nhello\n"
	unique := "1717495300.M2P43.dovecot,S=31,W=34"
	if err := os.WriteFile(filepath.Join(cur, unique+":2,Sa"), []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	tc.ok("a1 NOOP")
	tc.mustHave("* 1 EXISTS")
	tc.ok("a2 FETCH 1 (FLAGS)")
	if got := tc.fetchFlags(1); got != `$Label1 \Recent \Seen` {
		t.Errorf("FLAGS of a file with the letters Sa: %s", got)
	}
	tc.ok("a3 SEARCH KEYWORD $label1")
	tc.mustHave("* SEARCH 1")
	tc.ok("a4 SEARCH KEYWORD Project")
	tc.mustHave("* SEARCH")

	// Dovecot adds Project (b), then removes $Label1 (a): each is seen
	// at the next NOOP as a FETCH FLAGS.
	rename := func(from, to string) {
		t.Helper()
		if err := os.Rename(filepath.Join(cur, from), filepath.Join(cur, to)); err != nil {
			t.Fatal(err)
		}
	}
	rename(unique+":2,Sa", unique+":2,Sab")
	tc.ok("b1 NOOP")
	if got := tc.fetchFlags(1); got != `$Label1 Project \Recent \Seen` {
		t.Errorf("after Dovecot added b: FETCH FLAGS %s", got)
	}
	tc.ok("b2 SEARCH KEYWORD Project")
	tc.mustHave("* SEARCH 1")
	rename(unique+":2,Sab", unique+":2,Sb")
	tc.ok("b3 NOOP")
	if got := tc.fetchFlags(1); got != `Project \Recent \Seen` {
		t.Errorf("after Dovecot dropped a: FETCH FLAGS %s", got)
	}
	tc.ok("b4 SEARCH KEYWORD $Label1")
	tc.mustHave("* SEARCH")

	// Ours: a new keyword takes the next free index, and its letter
	// goes into the file name, sorted; a known one takes its letter.
	tc.ok("c1 STORE 1 +FLAGS ($Label2 $LABEL1)")
	if f := dovecotFile(t, cur, unique); f != unique+":2,Sabc" {
		t.Errorf("after STORE +FLAGS ($Label2 $LABEL1): file %s, want %s", f, unique+":2,Sabc")
	}
	kw, err := os.ReadFile(filepath.Join(root, "dovecot-keywords"))
	if err != nil || string(kw) != "0 $Label1\n1 Project\n2 $Label2\n" {
		t.Errorf("dovecot-keywords %q, %v", kw, err)
	}
	tc.ok("c2 STORE 1 -FLAGS (Project \\Seen)")
	if f := dovecotFile(t, cur, unique); f != unique+":2,ac" {
		t.Errorf("after STORE -FLAGS (Project \\Seen): file %s", f)
	}
	tc.ok("c3 APPEND INBOX (\\Flagged $Label2) " + literalPlus("Subject: ours\r\n\r\nx\r\n"))
	tc.ok("c4 NOOP")
	tc.ok("c5 UID SEARCH KEYWORD $Label2")
	tc.mustHave("* SEARCH 1 2")
	tc.ok("c6 FETCH 2 (FLAGS)")
	if got := tc.fetchFlags(2); got != `$Label2 \Flagged \Recent` {
		t.Errorf("appended: FLAGS %s", got)
	}
	ents, _ := os.ReadDir(cur)
	n := 0
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ":2,Fc") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("no file of the APPEND with the letters Fc in %v", ents)
	}
}
