package e2e

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImaplib runs testdata/imaplib_session.py: Python's imaplib drives the
// imapd binary over a stdio pipe and asserts every step.
func TestImaplib(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	bins := buildBinaries(t)
	conf := newProcessConfig(t, nil)
	cmd := exec.Command(python, "testdata/imaplib_session.py", bins.imapd, conf)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib session failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "imaplib session passed") {
		t.Fatalf("imaplib session did not finish:\n%s", out)
	}
}

// TestImaplibCompress runs testdata/imaplib_compress.py: imaplib, given
// zlib's raw DEFLATE around its stream, through COMPRESS=DEFLATE, then
// REPLACE and UNAUTHENTICATE sent with its command machinery.
func TestImaplibCompress(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	bins := buildBinaries(t)
	conf := newProcessConfig(t, nil)
	cmd := exec.Command(python, "testdata/imaplib_compress.py", bins.imapd, conf)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib session failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "imaplib compress session passed") {
		t.Fatalf("imaplib session did not finish:\n%s", out)
	}
}
