package e2e

import (
	"strconv"
	"strings"
	"testing"
)

// A session waits for its client with a small read and then takes a
// pooled buffer (app/buffers.go): what arrives beyond the first bytes, in
// the same write or later, must read as it always did.
func TestRawInputAcrossTheWait(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("x1 SELECT INBOX")
	// A command line far longer than the first read.
	long := strings.Repeat("x", 3000)
	tc.ok(`s1 SEARCH SUBJECT "` + long + `"`)
	// Many commands in one write: the later ones are buffered when the
	// first is done, and answered in order.
	var b strings.Builder
	for i := range 200 {
		b.WriteString("n" + strconv.Itoa(i) + " NOOP\r\n")
	}
	tc.send(b.String())
	for i := range 200 {
		tc.expect("n" + strconv.Itoa(i) + " OK")
	}
	// A synchronizing literal, whose bytes come after the continuation,
	// and a non-synchronizing one in the same write as its command.
	msg := testMessage("across the wait", strings.Repeat("body ", 400))
	tc.ok("a1 APPEND INBOX " + literal(msg))
	tc.ok("a2 APPEND INBOX " + literalPlus(msg))
	tc.mustHave("* 2 EXISTS")
	tc.ok("f1 FETCH 2 BODY[]")
	if got := strings.Join(tc.untagged, "\n"); !strings.Contains(got, msg) {
		t.Fatalf("FETCH after the waits: %q", got)
	}
	// IDLE waits the same way for DONE.
	tc.send("i1 IDLE\r\n")
	tc.expect("+ ")
	tc.send("DONE\r\n")
	tc.expect("i1 OK")
	tc.ok("z1 LOGOUT")
}
