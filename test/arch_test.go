package test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/imapd-go/imapd"

// deps lists the packages pattern depends on, as the go tool sees them.
func deps(t *testing.T, pattern string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pattern).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pattern, err)
	}
	return strings.Fields(string(out))
}

// TestImportRules proves the arrows of the hexagonal layout: the domain
// depends on nothing of ours outside the domain, ports only on the domain,
// and the app never on an adapter.
func TestImportRules(t *testing.T) {
	rules := []struct {
		pattern   string
		forbidden []string
	}{
		{module + "/domain/...", []string{"/ports", "/app", "/adapters", "/cmd", "/test"}},
		{module + "/ports/...", []string{"/app", "/adapters", "/cmd", "/test"}},
		{module + "/app/...", []string{"/adapters", "/cmd", "/test"}},
		{module + "/adapters/...", []string{"/cmd", "/test"}},
	}
	for _, r := range rules {
		for _, d := range deps(t, r.pattern) {
			for _, f := range r.forbidden {
				if d == module+f || strings.HasPrefix(d, module+f+"/") {
					t.Errorf("%s depends on %s", r.pattern, d)
				}
			}
		}
	}
}

// TestDomainIsPure checks that domain code does no I/O of its own: no
// domain package imports the network, files, processes or a database
// directly (pure parsers such as net/mail may use them internally).
func TestDomainIsPure(t *testing.T) {
	banned := map[string]bool{"net": true, "os": true, "os/exec": true, "database/sql": true, "syscall": true, "io/fs": true}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"/domain/...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			if banned[imp] {
				t.Errorf("%s imports %s", f[0], imp)
			}
		}
	}
}
