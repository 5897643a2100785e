package e2e

import (
	"strconv"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/app"
)

// capabilityProbe uses one capability the way a client that saw it
// advertised would, and fails the test unless the server does what the
// capability promises. tc is logged in as alice with INBOX selected,
// holding two messages; probes of what comes before login open their own
// session.
type capabilityProbe func(t *testing.T, e *env, tc *transcript, arg string)

// capabilityProbes has a probe for every capability imapd may advertise,
// keyed by the capability, or by its name up to "=" for those with a
// parameter that varies (AUTH=, APPENDLIMIT=). A capability advertised
// without a probe here fails TestEveryCapabilityWorks: nothing is
// advertised before it works.
var capabilityProbes = map[string]capabilityProbe{
	"IMAP4rev1": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 FETCH 1 (ENVELOPE)")
	},
	"IMAP4rev2": func(t *testing.T, e *env, _ *transcript, _ string) {
		tc := e.rawLogin("alice")
		tc.ok("p1 ENABLE IMAP4rev2")
		tc.mustHave("* ENABLED IMAP4rev2")
	},
	"SASL-IR": func(t *testing.T, e *env, _ *transcript, _ string) {
		tc := e.raw()
		tc.ok("p1 AUTHENTICATE PLAIN " + b64("\x00alice\x00secret"))
	},
	"ID": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok(`p1 ID ("name" "probe")`)
		if len(tc.withPrefix("* ID ")) != 1 {
			t.Errorf("ID: %q", tc.untagged)
		}
	},
	"ENABLE": func(t *testing.T, e *env, _ *transcript, _ string) {
		tc := e.rawLogin("alice")
		tc.ok("p1 ENABLE CONDSTORE")
		tc.mustHave("* ENABLED CONDSTORE")
	},
	"LITERAL+": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 APPEND INBOX " + literalPlus(testMessage("literal plus", "x")))
	},
	"LITERAL-": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 APPEND INBOX " + literalPlus(testMessage("literal minus", "x")))
	},
	"STARTTLS": func(t *testing.T, e *env, _ *transcript, _ string) {
		tc := e.raw()
		tc.ok("p1 STARTTLS")
	},
	"LOGINDISABLED": func(t *testing.T, e *env, _ *transcript, _ string) {
		tc := e.raw()
		tc.no("p1 LOGIN alice secret", "")
	},
	"AUTH=": func(t *testing.T, e *env, _ *transcript, mech string) {
		// A mechanism the server has starts its exchange; the client's
		// "*" cancels it (RFC 9051 section 6.2.2).
		tc := e.raw()
		tc.send("p1 AUTHENTICATE " + mech + "\r\n")
		if s := tc.next(); !strings.HasPrefix(s, "+") {
			t.Fatalf("AUTHENTICATE %s: got %q, want a continuation", mech, s)
		}
		tc.send("*\r\n")
		if s := tc.finish("p1"); !strings.HasPrefix(s, "p1 BAD") {
			t.Errorf("AUTHENTICATE %s cancelled: %q", mech, s)
		}
	},
	"BINARY": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 FETCH 1 (BINARY.SIZE[1])")
		if len(tc.withPrefix("* 1 FETCH (BINARY.SIZE[1] ")) != 1 {
			t.Errorf("BINARY.SIZE: %q", tc.untagged)
		}
	},
	"CHILDREN": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 CREATE kids/one")
		tc.ok(`p2 LIST "" kids`)
		if l := tc.withPrefix("* LIST "); len(l) != 1 || !strings.Contains(l[0], `\HasChildren`) {
			t.Errorf("LIST: %q", tc.untagged)
		}
	},
	"CONDSTORE": func(t *testing.T, e *env, _ *transcript, _ string) {
		tc := e.rawLogin("alice")
		tc.ok("p1 SELECT INBOX (CONDSTORE)")
		if len(tc.withPrefix("* OK [HIGHESTMODSEQ ")) != 1 {
			t.Errorf("SELECT (CONDSTORE): %q", tc.untagged)
		}
	},
	"CREATE-SPECIAL-USE": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok(`p1 CREATE Archived (USE (\Archive))`)
		tc.ok(`p2 LIST "" Archived RETURN (SPECIAL-USE)`)
		if l := tc.withPrefix("* LIST "); len(l) != 1 || !strings.Contains(l[0], `\Archive`) {
			t.Errorf("LIST: %q", tc.untagged)
		}
	},
	"SPECIAL-USE": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok(`p1 CREATE Junked (USE (\Junk))`)
		tc.ok(`p2 LIST (SPECIAL-USE) "" *`)
		if l := tc.withPrefix("* LIST "); len(l) != 1 || !strings.Contains(l[0], `\Junk`) {
			t.Errorf("LIST (SPECIAL-USE): %q", tc.untagged)
		}
	},
	"ESEARCH": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 SEARCH RETURN (COUNT) ALL")
		tc.mustHave(`* ESEARCH (TAG "p1") COUNT 2`)
	},
	"IDLE": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.send("p1 IDLE\r\n")
		tc.expect("+ ")
		tc.send("DONE\r\n")
		if s := tc.finish("p1"); !strings.HasPrefix(s, "p1 OK") {
			t.Errorf("IDLE: %q", s)
		}
	},
	"LIST-EXTENDED": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok(`p1 SUBSCRIBE INBOX`)
		tc.ok(`p2 LIST (SUBSCRIBED) "" *`)
		if l := tc.withPrefix("* LIST "); len(l) != 1 || !strings.Contains(l[0], `\Subscribed`) {
			t.Errorf("LIST (SUBSCRIBED): %q", tc.untagged)
		}
	},
	"LIST-STATUS": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok(`p1 LIST "" INBOX RETURN (STATUS (MESSAGES))`)
		tc.mustHave("* STATUS INBOX (MESSAGES 2)")
	},
	"MOVE": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 CREATE Moved")
		tc.ok("p2 MOVE 2 Moved")
		tc.mustHave("* 2 EXPUNGE")
	},
	"MULTIAPPEND": func(t *testing.T, e *env, tc *transcript, _ string) {
		s := tc.ok("p1 APPEND INBOX " + literalPlus(testMessage("multi 1", "x")) + " " + literalPlus(testMessage("multi 2", "x")))
		if !strings.Contains(s, "[APPENDUID ") || !strings.Contains(s, ":") {
			t.Errorf("MULTIAPPEND: %q", s)
		}
	},
	"NAMESPACE": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 NAMESPACE")
		if len(tc.withPrefix("* NAMESPACE ")) != 1 {
			t.Errorf("NAMESPACE: %q", tc.untagged)
		}
	},
	"QRESYNC": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 STATUS INBOX (UIDVALIDITY)")
		f := strings.Fields(strings.Trim(tc.withPrefix("* STATUS ")[0], "()"))
		q := e.rawLogin("alice")
		q.ok("p2 ENABLE QRESYNC")
		q.ok("p3 SELECT INBOX (QRESYNC (" + strings.TrimSuffix(f[len(f)-1], ")") + " 1))")
		if len(q.withPrefix("* 1 FETCH (")) == 0 {
			t.Errorf("SELECT (QRESYNC): %q", q.untagged)
		}
	},
	"SEARCHRES": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 SEARCH RETURN (SAVE) ALL")
		tc.ok("p2 FETCH $ (UID)")
		if n := len(tc.withPrefix("* ")); n != 2 {
			t.Errorf("FETCH $: %q", tc.untagged)
		}
	},
	"STATUS=SIZE": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 STATUS INBOX (SIZE)")
		if s := tc.withPrefix("* STATUS "); len(s) != 1 || !strings.Contains(s[0], "(SIZE ") {
			t.Errorf("STATUS SIZE: %q", tc.untagged)
		}
	},
	"SAVEDATE": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 FETCH 1 (SAVEDATE)")
		if len(tc.withPrefix(`* 1 FETCH (SAVEDATE "`)) != 1 {
			t.Errorf("SAVEDATE: %q", tc.untagged)
		}
	},
	"UIDPLUS": func(t *testing.T, e *env, tc *transcript, _ string) {
		if s := tc.ok("p1 APPEND INBOX " + literalPlus(testMessage("uidplus", "x"))); !strings.Contains(s, "[APPENDUID ") {
			t.Errorf("APPEND: %q", s)
		}
	},
	"UNSELECT": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 STORE 1 +FLAGS (\\Deleted)")
		tc.ok("p2 UNSELECT")
		tc.ok("p3 SELECT INBOX")
		tc.mustHave("* 2 EXISTS") // UNSELECT does not expunge
	},
	"UTF8=ACCEPT": func(t *testing.T, e *env, _ *transcript, _ string) {
		tc := e.rawLogin("alice")
		tc.ok("p1 ENABLE UTF8=ACCEPT")
		tc.mustHave("* ENABLED UTF8=ACCEPT")
		tc.ok("p2 CREATE \"caf\xc3\xa9\"")
	},
	"WITHIN": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 SEARCH YOUNGER 3600")
		tc.mustHave("* SEARCH 1 2")
	},
	"PARTIAL": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 SEARCH RETURN (PARTIAL -1:-1) ALL")
		tc.mustHave(`* ESEARCH (TAG "p1") PARTIAL (-1:-1 2)`)
		tc.ok("p2 FETCH 1:* (UID) (PARTIAL 1:1)")
		if n := len(tc.withPrefix("* ")); n != 1 {
			t.Errorf("FETCH (PARTIAL 1:1): %q", tc.untagged)
		}
	},
	"CONTEXT=SEARCH": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 SEARCH RETURN (UPDATE) UNSEEN")
		other := e.rawLogin("alice")
		other.ok("p2 APPEND INBOX " + literalPlus(testMessage("context", "x")))
		tc.ok("p3 NOOP")
		tc.mustHave(`* ESEARCH (TAG "p1") ADDTO (0 3)`)
		tc.ok(`p4 CANCELUPDATE "p1"`)
	},
	"CATENATE": func(t *testing.T, e *env, tc *transcript, _ string) {
		s := tc.ok(`p1 APPEND INBOX CATENATE (URL "/INBOX/;UID=1/;SECTION=HEADER" TEXT ` + literalPlus("joined\r\n") + ")")
		if !strings.Contains(s, "[APPENDUID ") {
			t.Fatalf("APPEND CATENATE: %q", s)
		}
		tc.ok("p2 NOOP")
		tc.ok("p3 FETCH 3 (BODY.PEEK[])")
		if f := tc.withPrefix("* 3 FETCH "); len(f) != 1 || !strings.Contains(f[0], "Subject: first") || !strings.HasSuffix(f[0], "joined\r\n)") {
			t.Errorf("the joined message: %q", tc.untagged)
		}
	},
	"URLAUTH": func(t *testing.T, e *env, tc *transcript, _ string) {
		url := genurlauth(t, tc, "p1", "imap://alice@test.example/INBOX/;UID=1;URLAUTH=authuser")
		if got := urlfetch(t, tc, "p2", `"`+url+`"`, url); !strings.Contains(got, "Subject: first") {
			t.Errorf("URLFETCH: %q", got)
		}
		tc.ok("p3 RESETKEY")
		if got := urlfetch(t, tc, "p4", `"`+url+`"`, url); got != "NIL" {
			t.Errorf("URLFETCH after RESETKEY: %q", got)
		}
	},
	"URLAUTH=BINARY": func(t *testing.T, e *env, tc *transcript, _ string) {
		url := genurlauth(t, tc, "p1", "imap://alice@test.example/INBOX/;UID=1;URLAUTH=authuser")
		if got := urlfetch(t, tc, "p2", `("`+url+`" BODYPARTSTRUCTURE)`, url); !strings.Contains(got, "BODYPARTSTRUCTURE") {
			t.Errorf("URLFETCH BODYPARTSTRUCTURE: %q", got)
		}
	},
	"COMPRESS=DEFLATE": func(t *testing.T, e *env, tc *transcript, _ string) {
		z, _ := compressed(t, tc, tc.w)
		z.ok("p1 FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
		if f := z.withPrefix("* 1 FETCH "); len(f) != 1 || !strings.Contains(f[0], "Subject: first") {
			t.Errorf("FETCH through COMPRESS: %q", z.untagged)
		}
	},
	"UNAUTHENTICATE": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 UNAUTHENTICATE")
		tc.bad("p2 SELECT INBOX")
		tc.ok("p3 LOGIN bob secret")
		tc.ok("p4 SELECT INBOX")
		tc.mustHave("* 0 EXISTS")
	},
	"REPLACE": func(t *testing.T, e *env, tc *transcript, _ string) {
		s := tc.ok("p1 REPLACE 1 INBOX " + literalPlus(testMessage("replaced", "x")))
		if !strings.Contains(strings.Join(tc.untagged, "\n"), "APPENDUID ") || !tc.has("* 1 EXPUNGE") {
			t.Errorf("REPLACE: %q %q", tc.untagged, s)
		}
		tc.ok("p2 SEARCH ALL")
		tc.mustHave("* SEARCH 1 2")
	},
	"NOTIFY": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 CREATE Lists")
		v := uidValidity(tc, "Lists")
		tc.ok("p2 NOTIFY SET STATUS (selected (MessageNew (UID) MessageExpunge)) (subtree Lists (MessageNew MessageExpunge))")
		tc.mustHave("* STATUS Lists (MESSAGES 0 UIDNEXT 1 UIDVALIDITY " + v + " UNSEEN 0)")
		other := e.rawLogin("alice")
		other.ok("o1 APPEND Lists " + literalPlus(testMessage("list mail", "x")))
		other.ok("o2 APPEND INBOX " + literalPlus(testMessage("third", "y")))
		waitNotify(tc, "p3 NOOP", "* STATUS Lists (MESSAGES 1 UIDNEXT 2 UNSEEN 1)", "* 3 EXISTS", "* 3 FETCH (UID 3)")
	},
	"ACL": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 CREATE Shared")
		tc.ok("p2 SETACL Shared bob lr")
		tc.ok("p3 GETACL Shared")
		tc.mustHave("* ACL Shared alice lrswipkxtecdan bob lr")
		bob := e.rawLogin("bob")
		bob.ok(`b1 EXAMINE "Other Users/alice/Shared"`)
		bob.no(`b2 SETACL "Other Users/alice/Shared" bob lrw`, "NOPERM")
	},
	"RIGHTS=kxten": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 CREATE Shared")
		tc.ok("p2 SETACL Shared bob kxten")
		tc.ok("p3 GETACL Shared")
		tc.mustHave("* ACL Shared alice lrswipkxtecdan bob kxtecdn")
		tc.ok("p4 MYRIGHTS Shared")
		tc.mustHave("* MYRIGHTS Shared lrswipkxtecdan")
	},
	"LIST-MYRIGHTS": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok(`p1 LIST "" INBOX RETURN (MYRIGHTS)`)
		tc.mustHave(`* LIST (\HasNoChildren) "/" INBOX`, "* MYRIGHTS INBOX lrswipkxtecdan")
	},
	"METADATA": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok(`p1 SETMETADATA INBOX (/private/comment "probe" /shared/comment {5+}` + "\r\nshare)")
		tc.ok("p2 GETMETADATA INBOX (/private/comment /shared/comment)")
		tc.mustHave(`* METADATA INBOX ("/private/comment" "probe" "/shared/comment" "share")`)
	},
	"METADATA-SERVER": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok(`p1 SETMETADATA "" (/private/comment "server probe")`)
		tc.ok(`p2 GETMETADATA "" (DEPTH 1) /private`)
		tc.mustHave(`* METADATA "" ("/private" NIL "/private/comment" "server probe")`)
	},
	"LIST-METADATA": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok(`p1 SETMETADATA INBOX (/shared/comment "listed")`)
		tc.ok(`p2 LIST "" INBOX RETURN (METADATA (/shared/comment))`)
		tc.mustHave(`* LIST (\HasNoChildren) "/" INBOX`, `* METADATA INBOX ("/shared/comment" "listed")`)
	},
	"OBJECTID": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 STATUS INBOX (MAILBOXID)")
		if st := tc.withPrefix("* STATUS "); len(st) != 1 || !strings.Contains(st[0], "(MAILBOXID (") {
			t.Errorf("STATUS MAILBOXID: %q", tc.untagged)
		}
		// A reply, put in by REPLACE, joins its parent's thread.
		reply := strings.Replace(testMessage("reply", "x"), "\r\n\r\n", "\r\nIn-Reply-To: <first@example.com>\r\n\r\n", 1)
		tc.ok("p2 REPLACE 2 INBOX " + literalPlus(reply))
		tc.ok("p3 FETCH 1:* (EMAILID THREADID)")
		f := tc.withPrefix("* ")
		threads := map[string]bool{}
		for _, l := range f {
			_, th, ok := strings.Cut(l, "THREADID (")
			if !ok || !strings.Contains(l, "EMAILID (") {
				t.Fatalf("FETCH EMAILID THREADID: %q", f)
			}
			threads[th] = true
		}
		if len(f) != 2 || len(threads) != 1 {
			t.Errorf("a reply and its parent: %q", f)
		}
	},
	"PREVIEW": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 FETCH 1 (PREVIEW)")
		tc.mustHave(`* 1 FETCH (PREVIEW "one")`)
	},
	"SORT": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 SORT (REVERSE SUBJECT) UTF-8 ALL")
		tc.mustHave("* SORT 2 1") // "second" after "first", reversed
	},
	"ESORT": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 SORT RETURN (MIN MAX ALL COUNT) (REVERSE SUBJECT) UTF-8 ALL")
		tc.mustHave(`* ESEARCH (TAG "p1") MIN 2 MAX 1 ALL 2,1 COUNT 2`)
	},
	"CONTEXT=SORT": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 SORT RETURN (UPDATE) (SUBJECT) UTF-8 ALL")
		other := e.rawLogin("alice")
		other.ok("p2 APPEND INBOX " + literalPlus(testMessage("context", "x")))
		tc.ok("p3 NOOP")
		tc.mustHave(`* ESEARCH (TAG "p1") ADDTO (1 3)`) // "context" sorts first
		tc.ok(`p4 CANCELUPDATE "p1"`)
	},
	"SORT=DISPLAY": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 UID SORT (DISPLAYFROM) UTF-8 ALL")
		if len(tc.withPrefix("* SORT ")) != 1 {
			t.Errorf("SORT DISPLAYFROM: %q", tc.untagged)
		}
	},
	"THREAD=": func(t *testing.T, e *env, tc *transcript, alg string) {
		tc.ok("p1 THREAD " + alg + " UTF-8 ALL")
		if th := tc.withPrefix("* THREAD "); len(th) != 1 || !strings.Contains(th[0], "(1)") || !strings.Contains(th[0], "(2)") {
			t.Errorf("THREAD %s: %q", alg, tc.untagged)
		}
	},
	// RFC 9208 (quota_test.go has the rest).
	"QUOTA": func(t *testing.T, e *env, tc *transcript, _ string) {
		tc.ok("p1 GETQUOTAROOT INBOX")
		tc.mustHave("* QUOTAROOT INBOX INBOX", "* QUOTA INBOX ()")
	},
	"QUOTA=": func(t *testing.T, _ *env, _ *transcript, res string) {
		e := newQuotaEnv(t, app.Options{})
		bob := e.rawLogin("bob")
		// A limit of 1, then what GETQUOTAROOT says after 1000 bytes in
		// INBOX, the one mailbox.
		probe := map[string][2]string{
			"RES-STORAGE": {"STORAGE 1", "STORAGE 0 1"},
			"RES-MESSAGE": {"MESSAGE 1", "MESSAGE 1 1"},
			"RES-MAILBOX": {"MAILBOX 1", "MAILBOX 1 1"},
		}[res]
		if probe[0] == "" {
			t.Fatalf("QUOTA=%s: no probe for the resource", res)
		}
		e.rawLogin("alice").ok("p1 SETQUOTA user/bob (" + probe[0] + ")")
		bob.ok("p2 APPEND INBOX " + literalPlus(sized(1000)))
		if res == "RES-MAILBOX" {
			bob.no("p3 CREATE more", "OVERQUOTA")
		} else {
			bob.no("p3 APPEND INBOX "+literalPlus(sized(100)), "OVERQUOTA")
		}
		bob.ok("p4 GETQUOTAROOT INBOX")
		bob.mustHave("* QUOTA INBOX (" + probe[1] + ")")
	},
	"QUOTASET": func(t *testing.T, _ *env, _ *transcript, _ string) {
		e := newQuotaEnv(t, app.Options{})
		e.rawLogin("bob").no("p1 SETQUOTA INBOX (STORAGE 5)", "NOPERM")
		admin := e.rawLogin("alice")
		admin.ok("p2 SETQUOTA user/bob (STORAGE 5)")
		admin.ok("p3 GETQUOTA user/bob")
		admin.mustHave("* QUOTA user/bob (STORAGE 0 5)")
	},
	"APPENDLIMIT=": func(t *testing.T, e *env, tc *transcript, limit string) {
		n, err := strconv.ParseInt(limit, 10, 64)
		if err != nil {
			t.Fatalf("APPENDLIMIT=%s", limit)
		}
		tc.send("p1 APPEND INBOX {" + strconv.FormatInt(n+1, 10) + "}\r\n")
		if s := tc.finish("p1"); !strings.HasPrefix(s, "p1 NO [TOOBIG]") {
			t.Errorf("APPEND over APPENDLIMIT: %q", s)
		}
	},
}

// probeKey is the key of capability c in capabilityProbes, and its
// parameter.
func probeKey(c string) (key, arg string) {
	if _, ok := capabilityProbes[c]; ok {
		return c, ""
	}
	if name, param, ok := strings.Cut(c, "="); ok {
		return name + "=", param
	}
	return c, ""
}

// Every capability imapd advertises, before and after login, works as a
// client that believes it expects; one it advertises with no probe fails.
func TestEveryCapabilityWorks(t *testing.T) {
	e := newEnv(t)
	pre := e.raw()
	pre.ok("c1 CAPABILITY")
	before := strings.Fields(strings.TrimPrefix(pre.withPrefix("* CAPABILITY ")[0], "* CAPABILITY "))
	tc := e.rawLogin("alice")
	tc.ok("c2 CAPABILITY")
	after := strings.Fields(strings.TrimPrefix(tc.withPrefix("* CAPABILITY ")[0], "* CAPABILITY "))
	seen := map[string]bool{}
	for _, c := range append(before, after...) {
		if seen[c] {
			continue
		}
		seen[c] = true
		key, arg := probeKey(c)
		probe := capabilityProbes[key]
		if probe == nil {
			t.Errorf("%s is advertised but has no probe in capabilityProbes", c)
			continue
		}
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			tc := e.rawLogin("alice")
			tc.ok("s1 APPEND INBOX " + literalPlus(testMessage("first", "one")))
			tc.ok("s2 APPEND INBOX " + literalPlus(testMessage("second", "two")))
			tc.ok("s3 SELECT INBOX")
			probe(t, e, tc, arg)
		})
	}
	for _, must := range []string{"IMAP4rev1", "IMAP4rev2", "AUTH=PLAIN", "IDLE"} {
		if !seen[must] {
			t.Errorf("%s is not advertised", must)
		}
	}
}
