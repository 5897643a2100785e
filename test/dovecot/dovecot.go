// Package dovecot finds Debian's Dovecot 2.3 for the tests and benchmarks
// that run it beside imapd. Its packages conflict with cyrus-imapd in apt
// (both provide imap-server), so where it is not installed it is unpacked
// from Debian's packages into a folder of its own (apt-get download, then
// dpkg -x) and run from there, never installed.
package dovecot

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Dovecot is one copy of Dovecot: Root is "/" when it is installed, or
// the folder it was unpacked into.
type Dovecot struct {
	Root string
}

// Unpack returns the copy unpacked into cache/root, unpacking Debian's
// dovecot-core and dovecot-imapd there first if it is not. Later calls
// reuse the folder.
func Unpack(cache string) (*Dovecot, error) {
	root := filepath.Join(cache, "root")
	d := &Dovecot{Root: root}
	if d.complete() {
		return d, nil
	}
	dl := filepath.Join(cache, "dl")
	if err := os.MkdirAll(dl, 0o755); err != nil {
		return nil, err
	}
	get := exec.Command("apt-get", "download", "dovecot-core", "dovecot-imapd")
	get.Dir = dl
	if out, err := get.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("apt-get download dovecot-core dovecot-imapd: %v: %s", err, lastLine(out))
	}
	debs, _ := filepath.Glob(filepath.Join(dl, "*.deb"))
	if len(debs) == 0 {
		return nil, errors.New("apt-get download left no .deb")
	}
	tmp := root + ".tmp"
	os.RemoveAll(tmp)
	for _, deb := range debs {
		if out, err := exec.Command("dpkg", "-x", deb, tmp).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("dpkg -x %s: %v: %s", filepath.Base(deb), err, lastLine(out))
		}
	}
	// Readable by the unprivileged user Dovecot runs as.
	os.Chmod(cache, 0o755)
	os.RemoveAll(root)
	if err := os.Rename(tmp, root); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Dovecot) complete() bool {
	for _, p := range []string{"usr/sbin/dovecot", "usr/bin/doveconf", "usr/lib/dovecot/imap"} {
		if _, err := os.Stat(filepath.Join(d.Root, p)); err != nil {
			return false
		}
	}
	return true
}

func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

// Find returns the installed Dovecot, else the copy unpacked under the
// folder IMAPD_DOVECOT_CACHE names (by default imapd-dovecot in the
// temporary folder), unpacking it if need be.
func Find() (*Dovecot, error) {
	inst := &Dovecot{Root: "/"}
	if inst.complete() {
		return inst, nil
	}
	cache := os.Getenv("IMAPD_DOVECOT_CACHE")
	if cache == "" {
		cache = filepath.Join(os.TempDir(), "imapd-dovecot")
	}
	return Unpack(cache)
}

// ForTest is Find for a test: without Dovecot the test is skipped, or
// failed when IMAPD_REQUIRE_DOVECOT is set.
func ForTest(t testing.TB) *Dovecot {
	t.Helper()
	d, err := Find()
	if err != nil {
		if os.Getenv("IMAPD_REQUIRE_DOVECOT") != "" {
			t.Fatalf("Dovecot: %v (IMAPD_REQUIRE_DOVECOT is set)", err)
		}
		t.Skipf("Dovecot is not available: %v", err)
	}
	return d
}

// Path returns p (an absolute path of Debian's layout) in this copy.
func (d *Dovecot) Path(p string) string { return filepath.Join(d.Root, p) }

// LibraryEnv is the environment entry that makes this copy's programs
// load its own libraries (their RUNPATH names /usr/lib/dovecot).
func (d *Dovecot) LibraryEnv() string {
	return "LD_LIBRARY_PATH=" + d.Path("/usr/lib/dovecot")
}

// IMAPCommand returns the command line that runs Dovecot's imap, one
// pre-authenticated session on standard input and output, with the
// configuration file conf and the environment entries env (USER, HOME):
// doveconf reads conf and runs imap with the settings in its environment,
// as the installed imap would ask /usr/bin/doveconf to.
func (d *Dovecot) IMAPCommand(conf string, env ...string) []string {
	args := append([]string{"env"}, env...)
	return append(args, d.LibraryEnv(), d.Path("/usr/bin/doveconf"), "-c", conf, "-e", d.Path("/usr/lib/dovecot/imap"))
}
