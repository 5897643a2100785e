package e2e

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sys/unix"

	"github.com/imapd-go/imapd/adapters/auth/sasl"
	"github.com/imapd-go/imapd/test/pgtest"
)

// loginAnswer starts imapd -C conf, sends LOGIN and returns its tagged
// answer without the tag; then it logs out and waits for the process.
func loginAnswer(t testing.TB, bins binaries, conf, user, password string) string {
	t.Helper()
	p := startImapd(t, bins, conf)
	return p.login(user, password)
}

// login sends LOGIN in a process's session and returns the tagged answer
// without its tag, logging out after a success.
func (p *process) login(user, password string) string {
	p.t.Helper()
	p.send("L1 LOGIN " + user + " " + password + "\r\n")
	for {
		line := p.next()
		if rest, ok := strings.CutPrefix(line, "L1 "); ok {
			return rest
		}
	}
}

// TestSQLAuth: imapd with sasl_pwcheck_method: auxprop and
// sasl_auxprop_plugin: sql logs in users whose hashes are in PostgreSQL
// (bcrypt, made by imapctl user add, and argon2id, put there by the site),
// refuses a wrong password and an unknown user with the same answer, takes
// a password imapctl user passwd changed at once, even in a session
// started before, and answers NO [UNAVAILABLE] while the database is down.
func TestSQLAuth(t *testing.T) {
	srv, err := pgtest.Start(pgtest.Options{})
	if err != nil {
		pgtest.Unavailable(t, err)
	}
	t.Cleanup(func() { srv.Kill(); os.RemoveAll(srv.Dir) })
	db, err := srv.CreateDatabase()
	if err != nil {
		t.Fatal(err)
	}
	bins := buildBinaries(t)
	cache := tmpfsDir(t)
	// The first host is not there: the next one in the list is tried.
	conf := newProcessConfig(t, []string{
		"sasl_pwcheck_method: auxprop",
		"sasl_auxprop_plugin: sql",
		"sql_engine: pgsql",
		"sql_hostnames: " + srv.Dir + "/nothing-here:" + strconv.Itoa(srv.Port) + ", " + srv.SocketDir + ":" + strconv.Itoa(srv.Port),
		"sql_user: " + srv.User,
		"sql_database: " + db,
		"logincache_dir: " + cache,
	})

	// The site adds an argon2id user of its own.
	hash, err := sasl.NewArgon2idHash("argon-secret")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := pgx.Connect(ctx, srv.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, `INSERT INTO imapd_users (username, password) VALUES ('carol', $1)`, hash); err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)

	imapctl := func(input string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bins.imapctl, append([]string{"-C", conf}, args...)...)
		cmd.Stdin = strings.NewReader(input)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("imapctl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if got := imapctl("", "user", "list"); got != "alice\nbob\ncarol\ncyrus\n" {
		t.Errorf("imapctl user list:\n%s", got)
	}

	for user, pw := range map[string]string{"alice": "secret", "carol": "argon-secret"} {
		if got := loginAnswer(t, bins, conf, user, pw); !strings.HasPrefix(got, "OK ") {
			t.Errorf("LOGIN %s: %q", user, got)
		}
	}
	wrong := loginAnswer(t, bins, conf, "alice", "Secret")
	unknown := loginAnswer(t, bins, conf, "nobody", "secret")
	if wrong != "NO [AUTHENTICATIONFAILED] Login failed: authentication failure" || unknown != wrong {
		t.Errorf("wrong password: %q; unknown user: %q: want the same refusal", wrong, unknown)
	}

	// Both logins are remembered in the shared login cache (on a
	// tmpfs); imapctl user passwd removes alice's entry at once.
	entries := func(want int) {
		t.Helper()
		var fs unix.Statfs_t
		if unix.Statfs(cache, &fs) != nil || fs.Type != unix.TMPFS_MAGIC {
			return // no shared cache without a tmpfs
		}
		if n := len(cacheEntries(t, cache)); n != want {
			t.Errorf("%d login cache entries, want %d", n, want)
		}
	}
	entries(2)

	// A session started before the change sees the new password.
	before := startImapd(t, bins, conf)
	imapctl("changed\n", "user", "passwd", "alice")
	entries(1)
	if got := before.login("alice", "secret"); !strings.HasPrefix(got, "NO [AUTHENTICATIONFAILED]") {
		t.Errorf("old password after imapctl user passwd: %q", got)
	}
	if got := loginAnswer(t, bins, conf, "alice", "changed"); !strings.HasPrefix(got, "OK ") {
		t.Errorf("new password: %q", got)
	}

	// The database down: a temporary failure, for a known user as for an
	// unknown one, not a refusal; then back.
	srv.Kill()
	for _, u := range []string{"alice", "nobody"} {
		start := time.Now()
		if got := loginAnswer(t, bins, conf, u, "changed"); !strings.HasPrefix(got, "NO [UNAVAILABLE]") {
			t.Errorf("LOGIN %s with the database down: %q", u, got)
		}
		if d := time.Since(start); d > ioTimeout/2 {
			t.Errorf("LOGIN %s with the database down took %v", u, d)
		}
	}
	cmd := exec.Command(bins.imapctl, "-C", conf, "user", "passwd", "alice")
	cmd.Stdin = strings.NewReader("x\n")
	if out, err := cmd.CombinedOutput(); err == nil || cmd.ProcessState.ExitCode() != 75 {
		t.Errorf("imapctl user passwd with the database down: %v (want exit 75, EX_TEMPFAIL)\n%s", err, out)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if got := loginAnswer(t, bins, conf, "alice", "changed"); !strings.HasPrefix(got, "OK ") {
		t.Errorf("LOGIN with the database back: %q", got)
	}
}
