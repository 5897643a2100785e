package maildir_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
	"github.com/imapd-go/imapd/test/dovecot"
)

// runDovecot runs one Dovecot IMAP session on the user's maildir under
// dir (the store's partition) with the commands of script, and returns
// its output: Debian's imap binary on its own, pre-authenticated on
// standard input and output, no daemon. Dovecot refuses to serve mail as root: a test running as
// root hands the tree to nobody first and runs Dovecot as nobody. Its configuration names that
// owner as Dovecot's login and internal users too: their defaults, dovenull and dovecot, exist only
// where Dovecot's package was installed, and doveconf stops (status 89) when they are missing.
func runDovecot(t *testing.T, dc *dovecot.Dovecot, dir, login, script string) string {
	t.Helper()
	conf := t.TempDir()
	owner, group, run := "", "", []string{}
	if os.Geteuid() == 0 {
		owner, group = "nobody", "nogroup"
		if _, err := exec.LookPath("setpriv"); err != nil {
			t.Skip("Dovecot needs a user other than root: no setpriv")
		}
		run = []string{"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"}
		nobody := lookupID(t, owner, group)
		for _, d := range []string{dir, conf} {
			// The parents t.TempDir made are private to root.
			for p := d; p != os.TempDir() && p != "/"; p = filepath.Dir(p) {
				os.Chmod(p, 0o755)
			}
			filepath.Walk(d, func(p string, _ os.FileInfo, err error) error {
				if err == nil {
					err = os.Lchown(p, nobody[0], nobody[1])
				}
				return err
			})
		}
	} else {
		u, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		g, err := user.LookupGroupId(u.Gid)
		if err != nil {
			t.Fatal(err)
		}
		owner, group = u.Username, g.Name
	}
	cfg := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
ssl = no
first_valid_uid = 0
first_valid_gid = 0
mail_uid = %[3]s
mail_gid = %[4]s
mail_location = maildir:%[2]s/%%u
default_login_user = %[3]s
default_internal_user = %[3]s
`, conf, dir, owner, group)
	if err := os.WriteFile(filepath.Join(conf, "dovecot.conf"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"run", "state"} {
		os.Mkdir(filepath.Join(conf, d), 0o755)
		if owner == "nobody" {
			ids := lookupID(t, owner, group)
			os.Lchown(filepath.Join(conf, d), ids[0], ids[1])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append(run, dc.IMAPCommand(filepath.Join(conf, "dovecot.conf"), "USER="+login, "HOME="+filepath.Join(dir, login))...)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdin = strings.NewReader(strings.ReplaceAll(script, "\n", "\r\n"))
	out, err := cmd.Output()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(conf, "dovecot.log"))
		t.Fatalf("dovecot imap: %v\n%s\n%s", err, out, log)
	}
	return string(out)
}

func lookupID(t *testing.T, owner, group string) [2]int {
	t.Helper()
	u, err := user.Lookup(owner)
	if err != nil {
		t.Skipf("no user %s: %v", owner, err)
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		t.Skipf("no group %s: %v", group, err)
	}
	var ids [2]int
	fmt.Sscan(u.Uid, &ids[0])
	fmt.Sscan(g.Gid, &ids[1])
	return ids
}

// TestDovecotSeesOurKeywords runs Dovecot's own IMAP server on a tree the
// store wrote: it shows our keywords, and the keywords it sets and removes
// (by renaming files and through dovecot-keywords) are the store's at its
// next look, for messages it appends too.
func TestDovecotSeesOurKeywords(t *testing.T) {
	dc := dovecot.ForTest(t)
	dir, s := setup(t)
	ctx := context.Background()
	a := put(t, s, "INBOX", "Subject: a\r\n\r\nx\r\n", `\Seen`, "$Label1", "Ours")
	b := put(t, s, "INBOX", "Subject: b\r\n\r\nx\r\n")
	out := runDovecot(t, dc, dir, "u", `d1 SELECT INBOX
d2 SEARCH RETURN (SAVE) SUBJECT a
d3 FETCH $ (FLAGS)
d4 STORE $ -FLAGS.SILENT ($Label1)
d5 SEARCH RETURN (SAVE) SUBJECT b
d6 STORE $ +FLAGS.SILENT (Junk $label1)
d7 APPEND INBOX (\Flagged Theirs) {15+}
Subject: c

x
d8 LOGOUT
`)
	if !strings.Contains(out, "d7 OK") {
		t.Fatalf("Dovecot's session:\n%s", out)
	}
	var fetched string
	for _, l := range strings.Split(out, "\r\n") {
		if strings.Contains(l, " FETCH (") && strings.Contains(l, "FLAGS") && fetched == "" {
			fetched = l
		}
	}
	for _, f := range []string{`\Seen`, "$Label1", "Ours"} {
		if !strings.Contains(fetched, f) {
			t.Errorf("Dovecot's FETCH %q lacks %s", fetched, f)
		}
	}
	// Our store, at its next look.
	if got := flagsOf(t, s, "INBOX", a.UID); !imap.SameFlags(got, []string{`\Seen`, "Ours"}) {
		t.Errorf("a after Dovecot's STORE -FLAGS ($Label1): %q", got)
	}
	if got := flagsOf(t, s, "INBOX", b.UID); !imap.SameFlags(got, []string{"Junk", "$Label1"}) {
		t.Errorf("b after Dovecot's STORE +FLAGS (Junk $label1): %q", got)
	}
	_, metas, err := s.Snapshot(ctx, "u", "INBOX")
	if err != nil || len(metas) != 3 || !imap.SameFlags(metas[2].Flags, []string{`\Flagged`, "Theirs"}) {
		t.Errorf("after Dovecot's APPEND: %+v, %v", metas, err)
	}
	// And Dovecot sees what we change next.
	if _, err := s.UpdateFlags(ctx, "u", "INBOX", []imap.UID{b.UID}, ports.FlagsRemove, []string{"Junk"}); err != nil {
		t.Fatal(err)
	}
	out = runDovecot(t, dc, dir, "u", `e1 SELECT INBOX
e2 SEARCH KEYWORD Junk
e3 SEARCH KEYWORD $Label1
e4 LOGOUT
`)
	if !strings.Contains(out, "* SEARCH\r\n") || !strings.Contains(out, "* SEARCH 2\r\n") {
		t.Errorf("Dovecot after our STORE -FLAGS (Junk):\n%s", out)
	}
}
