package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// cyradmRunner returns a function that runs a cyradm script (Debian's
// cyrus-admin) as user against e's server over TCP and returns what it
// printed. The test is skipped when cyradm is missing, unless
// IMAPD_REQUIRE_CYRUS says the Cyrus tools must be there.
func cyradmRunner(t *testing.T, e *env) func(user, script string) string {
	t.Helper()
	cyradm, err := exec.LookPath("cyradm")
	if err != nil {
		if os.Getenv("IMAPD_REQUIRE_CYRUS") != "" {
			t.Fatalf("cyradm: %v (IMAPD_REQUIRE_CYRUS is set)", err)
		}
		t.Skip("cyradm is not installed (Debian's cyrus-admin)")
	}
	addr := e.listenTCP()
	host, port, _ := strings.Cut(addr, ":")
	return func(user, script string) string {
		t.Helper()
		cmd := exec.Command(cyradm, "--norc", "--notls", "--user", user, "--password", testUsers[user], "--auth", "PLAIN", "--port", port, host)
		cmd.Stdin = strings.NewReader(script)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("cyradm: %v\n%s", err, out)
		}
		// Drop the echoed commands: what is left is cyradm's answers.
		var answers []string
		for _, l := range strings.Split(string(out), "\n") {
			if !strings.Contains(l, "> ") {
				answers = append(answers, l)
			}
		}
		return strings.Join(answers, "\n")
	}
}

// TestCyradmAdministration: an administrator runs Cyrus's cyradm against
// us as against Cyrus: mailboxes of users and shared ones are created,
// listed, shared, renamed and deleted, and the users see the result.
func TestCyradmAdministration(t *testing.T) {
	e := newEnv(t)
	run := cyradmRunner(t, e)
	// Log both users in once so that their storage exists, as it
	// would on a server they use.
	for _, u := range []string{"alice", "bob"} {
		c := e.rawLogin(u)
		c.ok("a LOGOUT")
	}

	out := run(testAdmin, strings.Join([]string{
		`createmailbox user/alice/Projects`,
		`createmailbox user/alice/Projects/2026`,
		`createmailbox news`,
		`setaclmailbox user/alice/Projects bob lrs`,
		`setaclmailbox news bob lrswi`,
		`renamemailbox user/alice/Projects/2026 user/alice/Projects/Archive`,
		`createmailbox scratch`,
		`deletemailbox scratch`,
		`listmailbox *`,
		`listaclmailbox user/alice/Projects`,
		`listaclmailbox news`,
		``,
	}, "\n"))
	for _, want := range []string{
		"user/alice/Projects ", "user/alice/Projects/Archive ", "news ",
		"bob lrs", "bob lrswi", "alice lrswipkxtecdan",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("cyradm output lacks %q:\n%s", want, out)
		}
	}
	for _, gone := range []string{"scratch", "Projects/2026", "rror"} {
		if strings.Contains(out, gone) {
			t.Errorf("cyradm output has %q:\n%s", gone, out)
		}
	}

	alice := e.rawLogin("alice")
	alice.ok(`a1 LIST "" "Projects*"`)
	alice.mustHave(`* LIST (\HasChildren) "/" Projects`, `* LIST (\HasNoChildren) "/" Projects/Archive`)
	alice.ok(`a2 APPEND Projects {11+}` + "\r\nHello world")

	bob := e.rawLogin("bob")
	bob.ok(`b1 LIST "" "*"`)
	bob.mustHave(`* LIST (\HasNoChildren) "/" "Other Users/alice/Projects"`, `* LIST (\HasNoChildren) "/" "Shared Folders/news"`)
	bob.ok(`b2 EXAMINE "Other Users/alice/Projects"`)
	bob.mustHave(`* 1 EXISTS`)
	bob.no(`b3 APPEND "Other Users/alice/Projects" {2+}`+"\r\nhi", "NOPERM")
	bob.ok(`b4 APPEND "Shared Folders/news" {2+}` + "\r\nhi")

	// A user's own cyradm session: alice shares and unshares herself.
	out = run("alice", "setaclmailbox Projects bob lr\nlistaclmailbox Projects\ndeleteaclmailbox Projects bob\nlistaclmailbox Projects\n")
	if !strings.Contains(out, "bob lr\n") || strings.Count(out, "bob") != 1 {
		t.Errorf("alice's cyradm ACL session:\n%s", out)
	}
	bob.no(`b5 EXAMINE "Other Users/alice/Projects"`, "NONEXISTENT")
}
