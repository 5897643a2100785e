package e2e

import (
	"strings"
	"testing"
)

// TestStartTLSUnavailable: where the server has no TLS to offer, STARTTLS
// is not advertised and the command answers BAD, the only refusal RFC 3501
// 6.2.1 lists for it; the session goes on, before and after login.
func TestStartTLSUnavailable(t *testing.T) {
	e := newEnv(t)
	tc := e.raw()
	tc.ok("c1 CAPABILITY")
	for _, u := range tc.untagged {
		if strings.Contains(u, " STARTTLS") {
			t.Errorf("STARTTLS advertised without TLS: %q", u)
		}
	}
	tc.bad("t1 STARTTLS")
	tc.ok("t2 NOOP")
	tc.ok("t3 LOGIN alice secret")
	tc.bad("t4 STARTTLS")
	tc.ok("t5 NOOP")
}
