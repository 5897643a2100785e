package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestMaxLoginsAcrossProcesses: maxlogins_per_user counts the sessions of
// every imapd process on the configdirectory (its proc/ folder).
func TestMaxLoginsAcrossProcesses(t *testing.T) {
	bins := buildBinaries(t)
	conf := newProcessConfig(t, []string{"store: " + e2eStore(), "maxlogins_per_user: 1"})
	a := startImapd(t, bins, conf)
	b := startImapd(t, bins, conf)
	a.ok("a1 LOGIN alice secret")
	b.no("b1 LOGIN alice secret", "LIMIT")
	b.ok("b2 LOGIN bob secret") // another user is not limited
	a.ok("a2 LOGOUT")
	a.expectEOF()
	c := startImapd(t, bins, conf)
	c.ok("c1 LOGIN alice secret")
	c.ok("c2 LOGOUT")
	b.ok("b3 LOGOUT")
}

// TestTelemetryBySessionID: with telemetry_bysessionid the protocol log is
// named by the session id LOGIN announced.
func TestTelemetryBySessionID(t *testing.T) {
	bins := buildBinaries(t)
	conf := newProcessConfig(t, []string{"store: " + e2eStore(), "telemetry_bysessionid: yes"})
	logDir := filepath.Join(filepath.Dir(conf), "log", "alice")
	if err := os.MkdirAll(logDir, 0o750); err != nil {
		t.Fatal(err)
	}
	p := startImapd(t, bins, conf)
	out := p.ok("a1 LOGIN alice secret")
	m := regexp.MustCompile(`SESSIONID=<([^>]+)>`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no SESSIONID in %q", out)
	}
	p.ok("a2 NOOP")
	p.ok("a3 LOGOUT")
	p.expectEOF()
	b, err := os.ReadFile(filepath.Join(logDir, m[1]))
	if err != nil {
		t.Fatalf("no log named by the session id: %v", err)
	}
	if !regexp.MustCompile(`(?m)^<\d+<a2 NOOP\r$`).Match(b) {
		t.Errorf("log lacks the NOOP read: %q", b)
	}
}
