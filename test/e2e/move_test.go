package e2e

import (
	"strings"
	"testing"
)

// TestMove: RFC 6851 MOVE and UID MOVE: COPYUID untagged before the
// EXPUNGE responses, messages gone from the source even without \Deleted,
// flags kept in the target, TRYCREATE for a missing target.
func TestMove(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("m1 CREATE Archive")
	for _, s := range []string{"one", "two", "three"} {
		tc.ok("m2 APPEND INBOX (\\Flagged) " + literal(testMessage(s, s)))
	}
	tc.ok("m3 SELECT INBOX")
	tc.ok("m4 MOVE 2 Archive")
	if len(tc.untagged) != 2 || !strings.HasPrefix(tc.untagged[0], "* OK [COPYUID ") || tc.untagged[1] != "* 2 EXPUNGE" {
		t.Fatalf("MOVE responses %q", tc.untagged)
	}
	if f := strings.Fields(tc.untagged[0]); len(f) < 6 || f[4] != "2" || f[5] != "1]" {
		t.Errorf("COPYUID %q: want source UID 2 moved to UID 1", tc.untagged[0])
	}
	tc.ok("m5 UID MOVE 3 Archive")
	tc.mustHave("* 2 EXPUNGE")
	tc.no("m6 MOVE 1 Nowhere", "TRYCREATE")
	tc.ok("m7 STATUS Archive (MESSAGES)")
	tc.mustHave(`* STATUS "Archive" (MESSAGES 2)`)
	tc.ok("m8 EXAMINE Archive")
	tc.ok("m9 FETCH 1:* (FLAGS)")
	if got := tc.withPrefix("* 1 FETCH (FLAGS (\\Flagged"); len(got) != 1 {
		t.Errorf("flags not kept by MOVE: %q", tc.untagged)
	}
	tc.no("m10 MOVE 1 INBOX", "")
}

// TestEnableAndCapabilities: ENABLE ignores what it does not know (RFC 5161)
// and is refused once a mailbox is selected.
func TestEnable(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("e1 ENABLE X-UNKNOWN")
	tc.mustHave("* ENABLED")
	tc.ok("e2 SELECT INBOX")
	tc.bad("e3 ENABLE X-UNKNOWN")
}
