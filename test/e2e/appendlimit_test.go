package e2e

import (
	"strings"
	"testing"
)

// TestStatusAppendLimit: STATUS APPENDLIMIT (RFC 7889 4) reports the limit
// CAPABILITY advertises, for STATUS and for LIST-STATUS.
func TestStatusAppendLimit(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("a1 CAPABILITY")
	limit := ""
	for _, f := range strings.Fields(strings.Join(tc.untagged, " ")) {
		if v, ok := strings.CutPrefix(f, "APPENDLIMIT="); ok {
			limit = v
		}
	}
	if limit == "" {
		t.Fatalf("no APPENDLIMIT= in %q", tc.untagged)
	}
	tc.ok("a2 STATUS INBOX (APPENDLIMIT MESSAGES)")
	tc.mustHave("* STATUS INBOX (APPENDLIMIT " + limit + " MESSAGES 0)")
	tc.ok(`a3 LIST "" INBOX RETURN (STATUS (APPENDLIMIT))`)
	tc.mustHave("* STATUS INBOX (APPENDLIMIT " + limit + ")")
}
