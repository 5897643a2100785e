package e2e

import (
	"os/exec"
	"strings"
	"testing"
)

// runImaplib runs testdata/script with Python's imaplib, which drives the
// imapd binary over a stdio pipe and asserts every step; the script
// prints done once every check passed.
func runImaplib(t *testing.T, script, done string) {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	bins := buildBinaries(t)
	conf := newProcessConfig(t, nil)
	out, err := exec.Command(python, "testdata/"+script, bins.imapd, conf).CombinedOutput()
	if err != nil || !strings.Contains(string(out), done) {
		t.Fatalf("%s failed: %v\n%s", script, err, out)
	}
}

// TestImaplib runs testdata/imaplib_session.py through a whole session.
func TestImaplib(t *testing.T) {
	runImaplib(t, "imaplib_session.py", "imaplib session passed")
}

// TestImaplibCompress runs testdata/imaplib_compress.py: imaplib, given
// zlib's raw DEFLATE around its stream, through COMPRESS=DEFLATE, then
// REPLACE and UNAUTHENTICATE sent with its command machinery.
func TestImaplibCompress(t *testing.T) {
	runImaplib(t, "imaplib_compress.py", "imaplib compress session passed")
}
