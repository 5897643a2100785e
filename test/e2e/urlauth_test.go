package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/app"
)

// The multipart draft the CATENATE and URLAUTH transcripts work on: part 1
// is text, part 2 a base64 attachment.
var urlDraft = strings.ReplaceAll(`From: Alice <alice@example.com>
To: Bob <bob@example.com>
Subject: Draft with attachment
Date: Tue, 4 Jun 2024 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="------------030308070208000400050907"

--------------030308070208000400050907
Content-Type: text/plain; charset=us-ascii

Si vis pacem, para bellum.

--------------030308070208000400050907
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

AAECAwQFBgcICQ==
--------------030308070208000400050907--
`, "\n", "\r\n")

var catAppendUID = regexp.MustCompile(`\[APPENDUID (\d+) (\d+)\]`)

// appendDraft stores msg in mailbox and returns its UIDVALIDITY and UID.
func appendDraft(t *testing.T, tc *transcript, tag, mailbox, msg string) (uidValidity, uid string) {
	t.Helper()
	m := catAppendUID.FindStringSubmatch(tc.ok(tag + " APPEND " + mailbox + " " + literalPlus(msg)))
	if m == nil {
		t.Fatalf("APPEND %s: no APPENDUID", mailbox)
	}
	return m[1], m[2]
}

// fetchBody returns BODY.PEEK[section] of the message uid in the selected
// mailbox.
func fetchBody(t *testing.T, tc *transcript, tag, uid, section string) string {
	t.Helper()
	tc.ok(tag + " UID FETCH " + uid + " BODY.PEEK[" + section + "]")
	for _, u := range tc.untagged {
		if i := strings.Index(u, "}\r\n"); i >= 0 && strings.Contains(u, " FETCH ") {
			return strings.TrimSuffix(u[i+3:], ")")
		}
	}
	t.Fatalf("UID FETCH %s BODY[%s]: %q", uid, section, tc.untagged)
	return ""
}

func messages(t *testing.T, tc *transcript, tag, mailbox string) int {
	t.Helper()
	tc.ok(tag + " STATUS " + mailbox + " (MESSAGES)")
	m := regexp.MustCompile(`MESSAGES (\d+)`).FindStringSubmatch(strings.Join(tc.untagged, " "))
	if m == nil {
		t.Fatalf("STATUS %s: %q", mailbox, tc.untagged)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// RFC 4469 section 6's example: a new draft made of parts of an old one
// (in another mailbox than the one selected) and new text, with relative
// URLs; the parts come out as FETCH BODY[section] gives them.
func TestCatenateRFC4469Example(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("a1 CREATE Drafts")
	uv, uid := appendDraft(t, tc, "a2", "Drafts", urlDraft)
	_, uid2 := appendDraft(t, tc, "a3", "Drafts", testMessage("forwarded", "the forwarded message"))
	tc.ok("a4 SELECT INBOX")

	base := "/Drafts;UIDVALIDITY=" + uv + "/;UID=" + uid
	sep := "\r\n--------------030308070208000400050907\r\n"
	end := "\r\n--------------030308070208000400050907--\r\n"
	got := tc.ok(`A003 APPEND Drafts (\Seen \Draft $MDNSent) CATENATE (URL "` + base + `/;section=HEADER" TEXT ` + literal(sep) +
		` URL "` + base + `/;section=1.MIME" URL "` + base + `/;section=1" TEXT ` + literal(sep) +
		` URL "/Drafts;UIDVALIDITY=` + uv + `/;UID=` + uid2 + `" TEXT ` + literal(end) + `)`)
	m := catAppendUID.FindStringSubmatch(got)
	if m == nil || m[1] != uv {
		t.Fatalf("CATENATE APPEND: %q", got)
	}

	tc.ok("a5 SELECT Drafts")
	want := fetchBody(t, tc, "a6", uid, "HEADER") + sep + fetchBody(t, tc, "a7", uid, "1.MIME") + fetchBody(t, tc, "a8", uid, "1") +
		sep + fetchBody(t, tc, "a9", uid2, "") + end
	if body := fetchBody(t, tc, "a10", m[2], ""); body != want {
		t.Errorf("catenated message:\n%q\nwant\n%q", body, want)
	}
	tc.ok("a11 UID FETCH " + m[2] + " FLAGS")
	if f := strings.Join(tc.untagged, ""); !strings.Contains(f, `\Seen`) || !strings.Contains(f, `$MDNSent`) {
		t.Errorf("flags: %q", f)
	}
	// Reading a URL part does not set \Seen on its message.
	tc.ok("a12 UID FETCH " + uid + " FLAGS")
	if f := strings.Join(tc.untagged, ""); strings.Contains(f, `\Seen`) {
		t.Errorf("source message flags: %q", f)
	}
}

func TestCatenateForms(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("a1 CREATE Drafts")
	uv, uid := appendDraft(t, tc, "a2", "Drafts", urlDraft)
	tc.ok("a3 SELECT Drafts")
	text := fetchBody(t, tc, "a4", uid, "1")

	check := func(tag, cmd, want string) {
		t.Helper()
		m := catAppendUID.FindStringSubmatch(tc.ok(tag + " " + cmd))
		if m == nil {
			t.Fatalf("%s: no APPENDUID", cmd)
		}
		if got := fetchBody(t, tc, tag+"f", m[2], ""); got != want {
			t.Errorf("%s:\n got %q\nwant %q", cmd, got, want)
		}
	}
	hdr := "Subject: x\r\n\r\n"
	// Absolute URL of the user, with ;PARTIAL=.
	check("b1", `APPEND Drafts CATENATE (TEXT `+literalPlus(hdr)+` URL "imap://alice@test.example/Drafts;UIDVALIDITY=`+uv+`/;UID=`+uid+`/;SECTION=1/;PARTIAL=3.5")`,
		hdr+text[3:8])
	// Relative to the selected mailbox, and a URL in a literal.
	check("b2", `APPEND Drafts CATENATE (TEXT `+literal(hdr)+` URL `+literalPlus(";UID="+uid+"/;SECTION=1")+")", hdr+text)
	// MULTIAPPEND with CATENATE and a plain message.
	got := tc.ok(`b3 APPEND Drafts CATENATE (TEXT ` + literalPlus(hdr) + ` URL "/Drafts/;UID=` + uid + `/;SECTION=1") ` + literalPlus(testMessage("plain", "x")) +
		` CATENATE (URL "/Drafts/;UID=` + uid + `")`)
	m := regexp.MustCompile(`\[APPENDUID \d+ (\d+):(\d+)\]`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("MULTIAPPEND CATENATE: %q", got)
	}
	last, _ := strconv.Atoi(m[2])
	if first, _ := strconv.Atoi(m[1]); last-first != 2 {
		t.Fatalf("MULTIAPPEND CATENATE: %q", got)
	}
	if body := fetchBody(t, tc, "b4", m[2], ""); body != urlDraft {
		t.Errorf("third message %q", body)
	}
	// Mailbox names are UTF-8 and percent-encoded in URLs (RFC 5092 3.1),
	// whatever their form on the wire (modified UTF-7 here).
	tc.ok(`b4a CREATE "Entw&APw-rfe 2"`)
	_, uid3 := appendDraft(t, tc, "b4b", `"Entw&APw-rfe 2"`, testMessage("umlaut", "in a mailbox with a non-ASCII name"))
	check("b4c", `APPEND Drafts CATENATE (URL "/Entw%C3%BCrfe%202/;UID=`+uid3+`")`, testMessage("umlaut", "in a mailbox with a non-ASCII name"))
	tc.no(`b4d APPEND Drafts CATENATE (URL "/Entw&APw-rfe 2/;UID=`+uid3+`")`, "BADURL")
	// A binary TEXT literal (RFC 3516 with RFC 4469).
	bin := "Subject: b\r\nContent-Transfer-Encoding: binary\r\n\r\na\x00b\r\n"
	m = catAppendUID.FindStringSubmatch(tc.ok(`b5 APPEND Drafts CATENATE (TEXT ~` + literalPlus(bin) + `)`))
	if m == nil {
		t.Fatal("binary CATENATE: no APPENDUID")
	}
	tc.ok("b6 UID FETCH " + m[2] + " BINARY.PEEK[1]")
	if !strings.Contains(strings.Join(tc.untagged, ""), "a\x00b") {
		t.Errorf("binary part: %q", tc.untagged)
	}
}

// A URL that names nothing (RFC 4469 section 5) fails the APPEND with
// NO [BADURL url] and stores nothing, not even the other messages of a
// MULTIAPPEND.
func TestCatenateBadURL(t *testing.T) {
	e := newEnv(t)
	bob := e.rawLogin("bob")
	bob.ok("c1 CREATE Secret")
	_, bobUID := appendDraft(t, bob, "c2", "Secret", testMessage("bob's", "private"))

	tc := e.rawLogin("alice")
	tc.ok("a1 CREATE Drafts")
	uv, uid := appendDraft(t, tc, "a2", "Drafts", urlDraft)
	wrongUV := strconv.Itoa(func() int { n, _ := strconv.Atoi(uv); return n + 1 }())
	for _, url := range []string{
		"imap://bob@test.example/Secret/;UID=" + bobUID,   // another user
		"/Drafts;UIDVALIDITY=" + wrongUV + "/;UID=" + uid, // wrong UIDVALIDITY
		"/Drafts/;UID=999",                        // no such UID
		"/Drafts/;UID=" + uid + "/;SECTION=3",     // no such part
		"/Drafts/;UID=" + uid + "/;SECTION=1.FOO", // bad section
		"/Nonexistent/;UID=1",                     // no such mailbox
		";UID=" + uid,                             // relative, nothing selected
		"/Drafts",                                 // no UID
		"imap://alice@test.example/Drafts/;UID=" + uid + ";URLAUTH=authuser", // an unsigned rump
		"http://example.com/",
	} {
		before := messages(t, tc, "s1", "Drafts")
		got := tc.no(`a3 APPEND Drafts CATENATE (TEXT `+literalPlus("Subject: x\r\n\r\n")+` URL "`+url+`") `+literalPlus(testMessage("y", "z")), "BADURL")
		if !strings.Contains(got, "[BADURL "+url+"]") {
			t.Errorf("%s: %q", url, got)
		}
		if after := messages(t, tc, "s2", "Drafts"); after != before {
			t.Errorf("%s: %d messages before, %d after", url, before, after)
		}
	}
	// The client waits for "+" before a synchronizing literal after the
	// bad URL; the server answers instead, and the session goes on.
	tc.send(`a4 APPEND Drafts CATENATE (URL "/Drafts/;UID=999" TEXT {5}` + "\r\n")
	if got := tc.expect("a4 NO [BADURL /Drafts/;UID=999]"); got == "" {
		t.Fatal("no answer")
	}
	tc.ok("a5 NOOP")
	// Malformed CATENATE is BAD.
	tc.bad(`a6 APPEND Drafts CATENATE ()`)
	tc.bad(`a7 APPEND Drafts CATENATE (URL)`)
	tc.bad(`a8 APPEND Drafts CATENATE (TEXT "x")`)
	tc.ok("a9 NOOP")
}

// A message CATENATE makes beyond maxmessagesize is refused with
// NO [TOOBIG] and not stored (RFC 4469 section 5).
func TestCatenateTooBig(t *testing.T) {
	e := newEnvOpts(t, app.Options{MaxMessageSize: 900})
	tc := e.rawLogin("alice")
	tc.ok("a1 CREATE Drafts")
	_, uid := appendDraft(t, tc, "a2", "Drafts", urlDraft)
	tc.no(`a3 APPEND Drafts CATENATE (URL "/Drafts/;UID=`+uid+`" URL "/Drafts/;UID=`+uid+`")`, "TOOBIG")
	tc.no(`a4 APPEND Drafts CATENATE (URL "/Drafts/;UID=`+uid+`" TEXT `+literalPlus(strings.Repeat("x", 500))+`)`, "TOOBIG")
	if n := messages(t, tc, "a5", "Drafts"); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
	tc.ok("a6 NOOP")
}

var genURL = regexp.MustCompile(`^\* GENURLAUTH "([^"]+)"$`)

// genurlauth runs GENURLAUTH for one rump and returns the full URL.
func genurlauth(t *testing.T, tc *transcript, tag, rump string) string {
	t.Helper()
	tc.ok(tag + ` GENURLAUTH "` + rump + `" INTERNAL`)
	for _, u := range tc.untagged {
		if m := genURL.FindStringSubmatch(u); m != nil {
			if !strings.HasPrefix(m[1], rump+":internal:") {
				t.Fatalf("GENURLAUTH %s: %q", rump, m[1])
			}
			return m[1]
		}
	}
	t.Fatalf("GENURLAUTH %s: %q", rump, tc.untagged)
	return ""
}

// urlfetch runs URLFETCH of one URL and returns what follows the URL in
// the response ("NIL", a literal, or RFC 5524's parenthesised data).
func urlfetch(t *testing.T, tc *transcript, tag, param, url string) string {
	t.Helper()
	tc.ok(tag + " URLFETCH " + param)
	prefix := `* URLFETCH "` + url + `" `
	for _, u := range tc.untagged {
		if strings.HasPrefix(u, prefix) {
			return u[len(prefix):]
		}
	}
	t.Fatalf("URLFETCH %s: %q", url, tc.untagged)
	return ""
}

// RFC 4467 section 9's example, with this server's names: the user signs
// a URL for her submission server, which fetches it; RESETKEY and expiry
// invalidate URLs; a URL for another access identifier gives NIL.
func TestURLAuthRFC4467Example(t *testing.T) {
	e := newEnvOpts(t, app.Options{SubmitServers: []string{"bob"}})
	alice := e.rawLogin("alice")
	_, uid := appendDraft(t, alice, "a1", "INBOX", urlDraft)
	alice.ok("a2 SELECT INBOX")
	if len(alice.withPrefix("* OK [URLMECH INTERNAL]")) != 1 {
		t.Errorf("SELECT without URLMECH: %q", alice.untagged)
	}
	text := fetchBody(t, alice, "a3", uid, "1")

	rump := "imap://alice@test.example/INBOX/;uid=" + uid + "/;section=1;urlauth=submit+alice"
	full := genurlauth(t, alice, "a4", rump)
	if tok := full[strings.LastIndexByte(full, ':')+1:]; !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(tok) {
		t.Errorf("token %q", tok)
	}
	// The key files are the server's alone.
	keyDir := filepath.Join(e.dir, "urlauth")
	if fi, err := os.Stat(keyDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("key directory: %v %v", fi, err)
	}
	files, _ := os.ReadDir(keyDir)
	for _, f := range files {
		if fi, _ := f.Info(); fi.Mode().Perm() != 0o600 {
			t.Errorf("key file %s: mode %v", f.Name(), fi.Mode())
		}
	}

	// bob is a submit server: he may fetch it.
	bob := e.rawLogin("bob")
	if got := urlfetch(t, bob, "b1", `"`+full+`"`, full); got != "{"+strconv.Itoa(len(text))+"}\r\n"+text {
		t.Errorf("URLFETCH by the submit server: %q", got)
	}
	// alice is not: NIL, and the command still succeeds.
	if got := urlfetch(t, alice, "a5", `"`+full+`"`, full); got != "NIL" {
		t.Errorf("URLFETCH by alice: %q", got)
	}
	// A URL for user+alice is hers alone; authuser is anyone's.
	mine := genurlauth(t, alice, "a6", "imap://alice@test.example/INBOX/;UID="+uid+";URLAUTH=user+alice")
	if got := urlfetch(t, bob, "b2", `"`+mine+`"`, mine); got != "NIL" {
		t.Errorf("user+alice URL fetched by bob: %q", got)
	}
	if got := urlfetch(t, alice, "a7", `"`+mine+`"`, mine); !strings.HasPrefix(got, "{") {
		t.Errorf("user+alice URL fetched by alice: %q", got)
	}
	any := genurlauth(t, alice, "a8", "imap://alice@test.example/INBOX/;UID="+uid+"/;SECTION=HEADER.FIELDS%20(SUBJECT);URLAUTH=authuser")
	if got := urlfetch(t, bob, "b3", `"`+any+`"`, any); got != "{34}\r\nSubject: Draft with attachment\r\n\r\n" {
		t.Errorf("authuser URL: %q", got)
	}
	// Several URLs in one command, one of them wrong: NIL for that one.
	bad := full[:len(full)-1] + map[bool]string{true: "1", false: "0"}[full[len(full)-1] == '0']
	bob.ok(`b4 URLFETCH "` + bad + `" "` + full + `"`)
	if len(bob.withPrefix(`* URLFETCH "`+bad+`" NIL "`+full+`" {`)) != 1 {
		t.Errorf("mixed URLFETCH: %q", bob.untagged)
	}
	// Expiry.
	past := genurlauth(t, alice, "a9", "imap://alice@test.example/INBOX/;UID="+uid+";EXPIRE=2001-02-03T04:05:06Z;URLAUTH=authuser")
	if got := urlfetch(t, bob, "b5", `"`+past+`"`, past); got != "NIL" {
		t.Errorf("expired URL: %q", got)
	}
	future := genurlauth(t, alice, "a10", "imap://alice@test.example/INBOX/;UID="+uid+";EXPIRE=2100-02-03T04:05:06Z;URLAUTH=authuser")
	if got := urlfetch(t, bob, "b6", `"`+future+`"`, future); !strings.HasPrefix(got, "{") {
		t.Errorf("URL that expires in 2100: %q", got)
	}
	// A URL fetched without its token, or changed after signing.
	for _, u := range []string{rump, strings.Replace(full, "section=1", "section=2", 1), "/INBOX/;UID=" + uid, "imap://alice@test.example/INBOX/;UID=" + uid} {
		if got := urlfetch(t, bob, "b7", `"`+u+`"`, u); got != "NIL" {
			t.Errorf("URLFETCH %s: %q", u, got)
		}
	}

	// RESETKEY of the mailbox invalidates every URL signed before.
	if got := alice.ok("a11 RESETKEY INBOX"); !strings.Contains(got, "[URLMECH INTERNAL]") {
		t.Errorf("RESETKEY INBOX: %q", got)
	}
	for _, u := range []string{full, any, future} {
		if got := urlfetch(t, bob, "b8", `"`+u+`"`, u); got != "NIL" {
			t.Errorf("after RESETKEY INBOX, %s: %q", u, got)
		}
	}
	again := genurlauth(t, alice, "a12", rump)
	if again == full {
		t.Error("GENURLAUTH after RESETKEY gave the old token")
	}
	if got := urlfetch(t, bob, "b9", `"`+again+`"`, again); !strings.HasPrefix(got, "{") {
		t.Errorf("new URL after RESETKEY: %q", got)
	}
	// RESETKEY without a mailbox resets them all.
	alice.ok("a13 RESETKEY")
	if got := urlfetch(t, bob, "b10", `"`+again+`"`, again); got != "NIL" {
		t.Errorf("after RESETKEY: %q", got)
	}
	// The keys outlive the session: a new one checks the same URLs.
	newer := genurlauth(t, alice, "a14", rump)
	if got := urlfetch(t, e.rawLogin("bob"), "c1", `"`+newer+`"`, newer); !strings.HasPrefix(got, "{") {
		t.Errorf("URL fetched in a new session: %q", got)
	}
}

func TestGenURLAuthErrors(t *testing.T) {
	e := newEnv(t)
	bob := e.rawLogin("bob")
	_, bobUID := appendDraft(t, bob, "b1", "INBOX", testMessage("b", "b"))
	tc := e.rawLogin("alice")
	_, uid := appendDraft(t, tc, "a1", "INBOX", urlDraft)
	base := "imap://alice@test.example/INBOX/;UID=" + uid
	tc.no(`a2 GENURLAUTH "`+base+`;URLAUTH=authuser" XSAMPLE`, "")
	tc.bad(`a3 GENURLAUTH "` + base + `" INTERNAL`)                                                           // no ;URLAUTH=
	tc.bad(`a4 GENURLAUTH "` + base + `;URLAUTH=authuser:internal:` + strings.Repeat("0", 32) + `" INTERNAL`) // a full URL
	tc.bad(`a5 GENURLAUTH "/INBOX/;UID=` + uid + `;URLAUTH=authuser" INTERNAL`)                               // relative
	tc.no(`a6 GENURLAUTH "imap://bob@test.example/INBOX/;UID=`+bobUID+`;URLAUTH=authuser" INTERNAL`, "BADURL")
	tc.no(`a7 GENURLAUTH "imap://alice@test.example/INBOX/;UID=99;URLAUTH=authuser" INTERNAL`, "BADURL")
	tc.no(`a8 GENURLAUTH "imap://alice@test.example/Nope/;UID=1;URLAUTH=authuser" INTERNAL`, "BADURL")
	tc.bad(`a9 GENURLAUTH`)
	tc.no(`a10 RESETKEY INBOX XSAMPLE`, "")
	tc.no(`a11 RESETKEY Nope`, "NONEXISTENT")
	tc.bad(`a12 URLFETCH ("` + base + `" BODY BINARY)`)
	tc.bad(`a13 URLFETCH`)
	// URLAUTH commands need a login.
	anon := e.raw()
	anon.bad(`n1 URLFETCH "` + base + `"`)
}

// RFC 5524 URLAUTH=BINARY: URLFETCH's BODYPARTSTRUCTURE, BINARY and BODY.
func TestURLFetchBinary(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	_, uid := appendDraft(t, tc, "a1", "INBOX", urlDraft)
	att := genurlauth(t, tc, "a2", "imap://alice@test.example/INBOX/;UID="+uid+"/;SECTION=2;URLAUTH=authuser")
	got := urlfetch(t, tc, "a3", `("`+att+`" BODYPARTSTRUCTURE BINARY)`, att)
	want := `(BODYPARTSTRUCTURE ("APPLICATION" "OCTET-STREAM" NIL NIL NIL "BASE64" 16 NIL NIL NIL NIL)) (BINARY ~{10}` + "\r\n\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09)"
	if got != want {
		t.Errorf("BODYPARTSTRUCTURE BINARY:\n got %q\nwant %q", got, want)
	}
	if got := urlfetch(t, tc, "a4", `("`+att+`" BODY)`, att); got != "(BODY {16}\r\nAAECAwQFBgcICQ==)" {
		t.Errorf("BODY: %q", got)
	}
	if got := urlfetch(t, tc, "a5", `("`+att+`" BODYPARTSTRUCTURE)`, att); !strings.HasPrefix(got, `(BODYPARTSTRUCTURE ("APPLICATION"`) {
		t.Errorf("BODYPARTSTRUCTURE: %q", got)
	}
	// An invalid URL in the extended form is NIL as well.
	bad := att[:len(att)-4] + "0000"
	if bad == att {
		bad = att[:len(att)-4] + "1111"
	}
	if got := urlfetch(t, tc, "a6", `("`+bad+`" BINARY)`, bad); got != "NIL" {
		t.Errorf("bad URL, extended: %q", got)
	}
	// The whole message's structure and a text part's decoded bytes.
	whole := genurlauth(t, tc, "a7", "imap://alice@test.example/INBOX/;UID="+uid+";URLAUTH=anonymous")
	if got := urlfetch(t, tc, "a8", `("`+whole+`" BODYPARTSTRUCTURE)`, whole); !strings.HasPrefix(got, `(BODYPARTSTRUCTURE (("TEXT" "PLAIN"`) {
		t.Errorf("whole message BODYPARTSTRUCTURE: %q", got)
	}
}

// TestURLAuthKeysGoWithTheUser: `imapctl user del` removes the user's
// URLAUTH key file, and only theirs: a deleted user's secrets do not stay
// behind on the server. (A URL signed for the old user already fails for
// a new one of the same name, whose INBOX has another UIDVALIDITY.)
func TestURLAuthKeysGoWithTheUser(t *testing.T) {
	bins := buildBinaries(t)
	conf := newProcessConfig(t, []string{"store: " + e2eStore()})
	imapctl := func(stdin string, args ...string) {
		t.Helper()
		cmd := exec.Command(bins.imapctl, append([]string{"-C", conf}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("imapctl %v: %v\n%s", args, err, out)
		}
	}
	sign := func(p *process, user, tag string) string {
		t.Helper()
		p.ok(tag + "a LOGIN " + user + " secret")
		p.ok(tag + "b APPEND INBOX " + literal(testMessage("signed", "body")))
		return genurlauth(t, p.transcript, tag+"c", "imap://"+user+"@test.example/INBOX/;UID=1;URLAUTH=authuser")
	}
	aliceURL := sign(startImapd(t, bins, conf), "alice", "a")
	bobURL := sign(startImapd(t, bins, conf), "bob", "b")
	keyFiles := func() int {
		t.Helper()
		files, err := os.ReadDir(filepath.Join(filepath.Dir(conf), "urlauth"))
		if err != nil {
			t.Fatal(err)
		}
		return len(files)
	}
	if n := keyFiles(); n != 2 {
		t.Fatalf("%d key files for alice and bob, want 2", n)
	}
	imapctl("", "user", "del", "alice")
	if n := keyFiles(); n != 1 {
		t.Errorf("%d key files after alice's deletion, want bob's alone", n)
	}
	imapctl("secret\n", "user", "add", "alice")

	alice := startImapd(t, bins, conf)
	alice.ok("c1 LOGIN alice secret")
	alice.ok("c2 APPEND INBOX " + literal(testMessage("new alice", "body")))
	if got := urlfetch(t, alice.transcript, "c3", `"`+aliceURL+`"`, aliceURL); got != "NIL" {
		t.Errorf("the old alice's URL, fetched by the new one: %q", got)
	}
	bob := startImapd(t, bins, conf)
	bob.ok("d1 LOGIN bob secret")
	if got := urlfetch(t, bob.transcript, "d2", `"`+bobURL+`"`, bobURL); !strings.Contains(got, "body") {
		t.Errorf("bob's URL after alice's deletion: %q", got)
	}
}
