package e2e

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapd-go/imapd/app"
)

// What Cyrus 3.6 answers to an admin, checked live (the conformance corpus
// logs in as ordinary users only, so these are not transcripts there):
// SETQUOTA user/bob (STORAGE 10 MESSAGE 3) OK, then GETQUOTA user/bob
// "* QUOTA user/bob (STORAGE 0 10 MESSAGE 0 3)", the usage in KB rounded
// down (1514 bytes show as 1); GETQUOTAROOT user/bob/sub "* QUOTAROOT
// user/bob/sub user/bob"; SETQUOTA user/bob () removes every limit
// ("* QUOTA user/bob ()"). We answer the same, with RFC 5530 codes where
// Cyrus 3.6 sends none: GETQUOTA of a missing root is "NO Quota root does
// not exist" there, NO [NONEXISTENT] here; an unknown resource is "NO
// Unsupported quota resource" there, NO [CANNOT] here; over quota it is a
// bare "NO Over quota", NO [OVERQUOTA] here (as RFC 9208 and Cyrus 3.10).
// Cyrus 3.6 advertises QUOTA with the pre-RFC 9208 X-QUOTA=STORAGE,
// X-QUOTA=MESSAGE, X-QUOTA=X-ANNOTATION-STORAGE and X-QUOTA=X-NUM-FOLDERS
// and no QUOTASET; we advertise RFC 9208's names. Its quotawarn alert is
// the first response of SELECT, "* NO [ALERT] Mailbox is at 92% of
// STORAGE quota" (the percent rounded down), also for MESSAGE.

// newQuotaEnv is newEnvAdmins with alice the admin (imapd.conf's
// admins), as GETQUOTA and SETQUOTA need one; bob is an ordinary user.
// opts.QuotaWarn of 0 is taken as Cyrus's default, 90.
func newQuotaEnv(t *testing.T, opts app.Options) *env {
	t.Helper()
	if opts.QuotaWarn == 0 {
		opts.QuotaWarn = 90
	}
	return newEnvAdmins(t, opts, "alice")
}

// sized is a message of exactly n bytes.
func sized(n int) string {
	const head = "Subject: quota\r\n\r\n"
	return head + strings.Repeat("y", n-len(head))
}

// RFC 9208 section 4.1's examples, on Cyrus's root names: a user asks for
// the root of a mailbox, an admin reads and sets a user's limits.
func TestQuotaRFC9208Examples(t *testing.T) {
	e := newQuotaEnv(t, app.Options{})
	bob := e.rawLogin("bob")
	bob.ok("a1 CREATE Sent")
	// 4.1.2: GETQUOTAROOT names the roots, then each root's quota; a root
	// without limits lists no resource (Cyrus: "* QUOTA INBOX ()").
	bob.ok("G0002 GETQUOTAROOT INBOX")
	bob.exactly("* QUOTAROOT INBOX INBOX", "* QUOTA INBOX ()")
	admin := e.rawLogin("alice")
	// 4.1.3: SETQUOTA, then 4.1.1: GETQUOTA.
	admin.ok("S0000 SETQUOTA user/bob (STORAGE 512)")
	admin.ok("G0001 GETQUOTA user/bob")
	admin.exactly("* QUOTA user/bob (STORAGE 0 512)")
	bob.ok("a2 APPEND Sent " + literal(sized(3000)))
	bob.ok("G0003 GETQUOTAROOT Sent")
	bob.exactly("* QUOTAROOT Sent INBOX", "* QUOTA INBOX (STORAGE 2 512)")
	admin.ok("a3 SETQUOTA user/bob (message 7 STORAGE 1000)")
	admin.ok("a4 GETQUOTAROOT user/bob/Sent")
	admin.exactly("* QUOTAROOT user/bob/Sent user/bob", "* QUOTA user/bob (STORAGE 2 1000 MESSAGE 1 7)")
	admin.ok("a5 GETQUOTAROOT user/bob")
	admin.exactly("* QUOTAROOT user/bob user/bob", "* QUOTA user/bob (STORAGE 2 1000 MESSAGE 1 7)")
	// The admin's own tree is INBOX to the admin.
	admin.ok("a6 GETQUOTA INBOX")
	admin.exactly("* QUOTA INBOX ()")
	// An empty list removes every limit.
	admin.ok("a7 SETQUOTA user/bob ()")
	admin.ok("a8 GETQUOTA user/bob")
	admin.exactly("* QUOTA user/bob ()")
}

// Every refusal: BAD for what the ABNF refuses, NO with RFC 5530's codes
// for the rest; GETQUOTA and SETQUOTA are for admins, as in Cyrus.
func TestQuotaErrors(t *testing.T) {
	e := newQuotaEnv(t, app.Options{})
	pre := e.raw()
	pre.bad("p1 GETQUOTAROOT INBOX")
	bob := e.rawLogin("bob")
	bob.no("b1 GETQUOTA INBOX", "NOPERM")
	bob.no("b2 SETQUOTA INBOX (STORAGE 10)", "NOPERM")
	bob.no("b3 GETQUOTA user/bob", "NOPERM")
	bob.no("b4 GETQUOTAROOT nosuch", "NONEXISTENT")
	bob.no("b5 GETQUOTAROOT user/alice", "NONEXISTENT") // not an admin: no admin view
	for _, c := range []string{"b6 GETQUOTA", "b7 GETQUOTAROOT", "b8 SETQUOTA INBOX STORAGE 1", "b9 SETQUOTA INBOX (STORAGE x)",
		"b10 SETQUOTA INBOX (STORAGE -1)", "b11 SETQUOTA INBOX (STORAGE)", "b12 GETQUOTA a b", "b13 SETQUOTA INBOX"} {
		bob.bad(c)
	}
	admin := e.rawLogin("alice")
	admin.no("a1 GETQUOTA user/nobody", "NONEXISTENT")
	admin.no(`a2 GETQUOTA ""`, "NONEXISTENT")
	admin.no("a3 GETQUOTA user/bob/Sent", "NONEXISTENT")
	admin.no("a4 GETQUOTA user/", "NONEXISTENT")
	admin.no("a5 SETQUOTA user/nobody (STORAGE 1)", "NONEXISTENT")
	admin.no("a6 SETQUOTA user/bob (FOO 1)", "CANNOT")
	admin.no("a7 SETQUOTA user/bob (ANNOTATION-STORAGE 1)", "CANNOT")
	admin.no("a8 GETQUOTAROOT user/nobody", "NONEXISTENT")
	admin.no("a9 GETQUOTAROOT user/bob/nosuch", "NONEXISTENT")
	admin.ok("a10 GETQUOTA user/bob")
	admin.exactly("* QUOTA user/bob ()")
}

// Every way in is refused past the limit with NO [OVERQUOTA], storing
// nothing: APPEND, MULTIAPPEND, CATENATE, COPY and REPLACE; MOVE stays in
// the root and goes through; expunging makes room.
func TestQuotaOverQuotaCommands(t *testing.T) {
	e := newQuotaEnv(t, app.Options{})
	bob := e.rawLogin("bob")
	bob.ok("b1 CREATE sub")
	admin := e.rawLogin("alice")
	admin.ok("a1 SETQUOTA user/bob (STORAGE 2 MESSAGE 4)") // 2048 bytes
	bob.ok("b2 APPEND INBOX " + literal(sized(1500)))
	bob.no("b3 APPEND INBOX "+literal(sized(600)), "OVERQUOTA")
	// A synchronizing literal over quota is still refused after its bytes.
	bob.send("b4 APPEND INBOX {549}\r\n")
	bob.expect("+ ")
	bob.send(sized(549) + "\r\n")
	if s := bob.finish("b4"); !strings.HasPrefix(s, "b4 NO [OVERQUOTA]") {
		t.Errorf("APPEND 1 byte over: %q", s)
	}
	// MULTIAPPEND: the first fits, the second does not, none is stored.
	bob.no("b5 APPEND INBOX "+literalPlus(sized(300))+" "+literalPlus(sized(300)), "OVERQUOTA")
	// CATENATE: the whole message counts.
	bob.no("b6 APPEND INBOX CATENATE (URL \"/INBOX/;UID=1\" TEXT "+literalPlus(sized(100))+")", "OVERQUOTA")
	bob.ok("b7 STATUS INBOX (MESSAGES SIZE)")
	bob.mustHave("* STATUS INBOX (MESSAGES 1 SIZE 1500)")
	bob.ok("b8 SELECT INBOX")
	bob.no("b9 COPY 1 sub", "OVERQUOTA")
	bob.no("b10 UID COPY 1:* sub", "OVERQUOTA")
	bob.ok("b11 STATUS sub (MESSAGES)")
	bob.mustHave("* STATUS sub (MESSAGES 0)")
	// REPLACE frees the old message's bytes in the same step: only what
	// it adds beyond them counts (1500 -> 2100 bytes passes 2048).
	bob.no("b12 REPLACE 1 INBOX "+literalPlus(sized(2100)), "OVERQUOTA")
	bob.ok("b13 FETCH 1 (RFC822.SIZE)")
	bob.mustHave("* 1 FETCH (RFC822.SIZE 1500)")
	bob.ok("b14 MOVE 1 sub")
	bob.ok("b15 GETQUOTAROOT sub")
	bob.mustHave("* QUOTA INBOX (STORAGE 1 2 MESSAGE 1 4)")
	// Room again once the message is gone.
	bob.ok("b16 SELECT sub")
	bob.ok("b17 STORE 1 +FLAGS.SILENT (\\Deleted)")
	bob.ok("b18 EXPUNGE")
	bob.ok("b19 APPEND INBOX " + literalPlus(sized(2048)))
	bob.ok("b20 GETQUOTAROOT INBOX")
	bob.mustHave("* QUOTA INBOX (STORAGE 2 2 MESSAGE 1 4)")
	// MESSAGE counts messages.
	admin.ok("a2 SETQUOTA user/bob (MESSAGE 2)")
	bob.ok("b21 APPEND INBOX " + literalPlus(sized(100)))
	bob.no("b22 APPEND INBOX "+literalPlus(sized(100)), "OVERQUOTA")
	bob.ok("b23 DELETE sub")
	bob.ok("b24 GETQUOTAROOT INBOX")
	bob.mustHave("* QUOTA INBOX (MESSAGE 2 2)")
}

// quotawarn: SELECT alerts first, with Cyrus's text, once the root is at
// quotawarn percent of a limit, at most every ten minutes per session.
func TestQuotaWarn(t *testing.T) {
	e := newQuotaEnv(t, app.Options{QuotaWarn: 90})
	bob := e.rawLogin("bob")
	admin := e.rawLogin("alice")
	admin.ok("a1 SETQUOTA user/bob (STORAGE 2 MESSAGE 10)")
	bob.ok("b1 APPEND INBOX " + literalPlus(sized(1800))) // 87%
	bob.ok("b2 SELECT INBOX")
	bob.mustNotContain("ALERT")
	bob.ok("b3 APPEND INBOX " + literalPlus(sized(100))) // 92%
	bob.send("b4 SELECT INBOX\r\n")
	bob.expect("* OK [CLOSED]")
	if got := bob.next(); got != "* NO [ALERT] Mailbox is at 92% of STORAGE quota" {
		t.Errorf("first response of SELECT: %q", got)
	}
	bob.finish("b4")
	bob.ok("b5 EXAMINE INBOX")
	bob.mustNotContain("ALERT")
	admin.ok("a2 SETQUOTA user/bob (MESSAGE 2)")
	other := e.rawLogin("bob")
	other.ok("c1 EXAMINE INBOX")
	other.mustHave("* NO [ALERT] Mailbox is at 100% of MESSAGE quota")

	quiet := newQuotaEnv(t, app.Options{QuotaWarn: -1})
	q := quiet.rawLogin("bob")
	quiet.rawLogin("alice").ok("a1 SETQUOTA user/bob (MESSAGE 1)")
	q.ok("b1 APPEND INBOX " + literalPlus(sized(100)))
	q.ok("b2 SELECT INBOX")
	q.mustNotContain("ALERT")
}

// autocreate_quota gives a new user's root its STORAGE limit at the first
// login, and only then.
func TestQuotaAutocreate(t *testing.T) {
	e := newQuotaEnv(t, app.Options{AutocreateQuota: 100})
	bob := e.rawLogin("bob")
	bob.ok("b1 GETQUOTAROOT INBOX")
	bob.exactly("* QUOTAROOT INBOX INBOX", "* QUOTA INBOX (STORAGE 0 100)")
	e.rawLogin("alice").ok("a1 SETQUOTA user/bob ()")
	again := e.rawLogin("bob")
	again.ok("b2 GETQUOTAROOT INBOX")
	again.exactly("* QUOTAROOT INBOX INBOX", "* QUOTA INBOX ()")
}

// go-imap's client speaks QUOTA: an admin sets and reads bob's limits,
// bob reads his root, and an APPEND over quota fails with OVERQUOTA.
func TestQuotaGoIMAPClient(t *testing.T) {
	e := newQuotaEnv(t, app.Options{})
	bob := e.login("bob", nil)
	defer bob.Close()
	if !bob.Caps().Has(imap.CapQuota) || !slices.Contains(bob.Caps().QuotaResourceTypes(), imap.QuotaResourceStorage) {
		t.Fatalf("capabilities %v", bob.Caps())
	}
	admin := e.login("alice", nil)
	defer admin.Close()
	limits := map[imap.QuotaResourceType]int64{imap.QuotaResourceStorage: 1, imap.QuotaResourceMessage: 5}
	if err := admin.SetQuota("user/bob", limits).Wait(); err != nil {
		t.Fatalf("SETQUOTA: %v", err)
	}
	q, err := admin.GetQuota("user/bob").Wait()
	if err != nil || q.Root != "user/bob" || q.Resources[imap.QuotaResourceStorage] != (imapclient.QuotaResourceData{Usage: 0, Limit: 1}) {
		t.Fatalf("GETQUOTA = %+v, %v", q, err)
	}
	body := sized(900)
	first := bob.Append("INBOX", int64(len(body)), nil)
	first.Write([]byte(body))
	first.Close()
	if _, err := first.Wait(); err != nil {
		t.Fatal(err)
	}
	over := bob.Append("INBOX", int64(len(body)), nil)
	over.Write([]byte(body))
	over.Close()
	var ierr *imap.Error
	if _, err := over.Wait(); !errors.As(err, &ierr) || ierr.Code != imap.ResponseCodeOverQuota {
		t.Errorf("APPEND over quota: %v", err)
	}
	roots, err := bob.GetQuotaRoot("INBOX").Wait()
	if err != nil || len(roots) != 1 || roots[0].Root != "INBOX" ||
		roots[0].Resources[imap.QuotaResourceMessage] != (imapclient.QuotaResourceData{Usage: 1, Limit: 5}) {
		t.Errorf("GETQUOTAROOT = %+v, %v", roots, err)
	}
}

// Python's imaplib speaks QUOTA too (getquota, getquotaroot, setquota),
// each session an imapd process, with admins from imapd.conf.
func TestQuotaImaplib(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	bins := buildBinaries(t)
	conf := newProcessConfig(t, []string{"admins: alice"})
	out, err := exec.Command(python, "testdata/imaplib_quota.py", bins.imapd, conf).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "imaplib quota session passed") {
		t.Fatalf("imaplib_quota.py failed: %v\n%s", err, out)
	}
}

// STATUS DELETED-STORAGE (RFC 9208 4.2.2, with section 4.2.2's example
// command): what EXPUNGE would free, the RFC822.SIZE of the \Deleted
// messages.
func TestQuotaStatusDeletedStorage(t *testing.T) {
	e := newQuotaEnv(t, app.Options{})
	bob := e.rawLogin("bob")
	bob.ok("b1 APPEND INBOX " + literalPlus(sized(1500)))
	bob.ok("b2 APPEND INBOX (\\Deleted) " + literalPlus(sized(700)))
	bob.ok("b3 APPEND INBOX (\\Deleted \\Seen) " + literalPlus(sized(300)))
	bob.ok("S0003 STATUS INBOX (MESSAGES DELETED DELETED-STORAGE)")
	bob.exactly("* STATUS INBOX (MESSAGES 3 DELETED 2 DELETED-STORAGE 1000)")
	bob.ok("b4 CREATE empty")
	bob.ok("b5 STATUS empty (DELETED-STORAGE)")
	bob.exactly("* STATUS empty (DELETED-STORAGE 0)")
	bob.ok("b6 SELECT INBOX")
	bob.ok("b7 EXPUNGE")
	bob.ok("b8 STATUS INBOX (DELETED-STORAGE)")
	bob.exactly("* STATUS INBOX (DELETED-STORAGE 0)")
	bob.ok(`b9 LIST "" "*" RETURN (STATUS (DELETED-STORAGE))`)
	bob.mustHave("* STATUS INBOX (DELETED-STORAGE 0)")
	bob.no("b10 STATUS nosuch (DELETED-STORAGE)", "NONEXISTENT")
}

// MAILBOX (RFC 9208 5.3) counts the root's mailboxes, INBOX included:
// CREATE and RENAME past it get NO [OVERQUOTA] and change nothing.
func TestQuotaMailboxLimit(t *testing.T) {
	e := newQuotaEnv(t, app.Options{})
	bob := e.rawLogin("bob")
	bob.ok("b1 CREATE Sent")
	admin := e.rawLogin("alice")
	admin.ok("a1 SETQUOTA user/bob (MAILBOX 3)")
	bob.no("b2 CREATE a/b", "OVERQUOTA")
	bob.ok("b3 CREATE Trash")
	bob.no("b4 CREATE Junk", "OVERQUOTA")
	bob.no("b5 RENAME Sent x/Sent", "OVERQUOTA")
	bob.no("b6 RENAME INBOX Old", "OVERQUOTA")
	bob.ok("b7 RENAME Sent Archive")
	bob.ok(`b8 LIST "" "*"`)
	if n := len(bob.withPrefix("* LIST ")); n != 3 {
		t.Errorf("%d mailboxes listed, want 3: %q", n, bob.untagged)
	}
	bob.ok("b9 GETQUOTAROOT Archive")
	bob.exactly("* QUOTAROOT Archive INBOX", "* QUOTA INBOX (MAILBOX 3 3)")
	admin.ok("a2 SETQUOTA user/bob (STORAGE 10 MESSAGE 5 MAILBOX 4)")
	admin.ok("a3 GETQUOTA user/bob")
	admin.exactly("* QUOTA user/bob (STORAGE 0 10 MESSAGE 0 5 MAILBOX 3 4)")
	bob.ok("b10 CREATE Junk")
	bob.ok("b11 DELETE Junk")
}

// Cyrus's cyradm (Debian's cyrus-admin) drives QUOTA: setquota,
// listquota and listquotaroot send SETQUOTA, GETQUOTA and GETQUOTAROOT
// on Cyrus's root names (Cyrus::IMAP::Admin in Cyrus 3.6).
func TestCyradmQuota(t *testing.T) {
	cyradm, err := exec.LookPath("cyradm")
	if err != nil {
		t.Skip("cyradm is not installed (Debian's cyrus-admin)")
	}
	e := newQuotaEnv(t, app.Options{})
	bob := e.rawLogin("bob")
	bob.ok("b1 APPEND INBOX " + literalPlus(sized(3000)))
	addr := e.listenTCP()
	host, port, _ := strings.Cut(addr, ":")
	run := func(user, script string) string {
		t.Helper()
		cmd := exec.Command(cyradm, "--norc", "--notls", "--user", user, "--password", testUsers[user], "--auth", "PLAIN", "--port", port, host)
		cmd.Stdin = strings.NewReader(script)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("cyradm: %v\n%s", err, out)
		}
		return string(out)
	}
	// One resource per setquota: cyradm 3.6 writes several as
	// "(MESSAGE 10STORAGE 100 )", which Cyrus 3.6 refuses too.
	out := run("alice", "setquota user/bob 100\nlistquota user/bob\nlistquotaroot user/bob\n")
	for _, want := range []string{" STORAGE 2/100 (2%)", "user/bob STORAGE 2/100"} {
		if !strings.Contains(out, want) {
			t.Errorf("cyradm output lacks %q:\n%s", want, out)
		}
	}
	bob.ok("b2 GETQUOTAROOT INBOX")
	bob.mustHave("* QUOTA INBOX (STORAGE 2 100)")
	if out := run("bob", "setquota INBOX STORAGE 1\n"); !strings.Contains(out, "ermission") {
		t.Errorf("setquota by a user: %q", out)
	}
	run("alice", "setquota user/bob MESSAGE 10\n")
	bob.ok("b3 GETQUOTAROOT INBOX")
	bob.mustHave("* QUOTA INBOX (MESSAGE 1 10)")
	run("alice", "setquota user/bob none\n")
	bob.ok("b4 GETQUOTAROOT INBOX")
	bob.mustHave("* QUOTA INBOX ()")
}
