package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// TestFetchManyBodies: FETCH 1:* BODY.PEEK[] of more messages than a store
// that opens bodies together (postgres) opens at once, one of them larger
// than a piece of its storage, answers every message with its own bytes
// in order.
func TestFetchManyBodies(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	const n = 70
	bodies := make([]string, n)
	for i := range bodies {
		text := strings.Repeat(fmt.Sprintf("line %d of message %d\r\n", i, i), 1+i*7)
		if i == 33 {
			text = strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n", 5000)
		}
		bodies[i] = fmt.Sprintf("Subject: message %d\r\n\r\n%s", i+1, text)
		tc.ok(fmt.Sprintf("a%d APPEND INBOX {%d+}\r\n%s", i, len(bodies[i]), bodies[i]))
	}
	tc.ok("s1 SELECT INBOX")
	tc.ok("f1 FETCH 1:* BODY.PEEK[]")
	got := tc.withPrefix("* ")
	if len(got) != n {
		t.Fatalf("%d FETCH responses, want %d", len(got), n)
	}
	for i, r := range got {
		want := fmt.Sprintf("* %d FETCH (BODY[] {%d}\r\n%s)", i+1, len(bodies[i]), bodies[i])
		if r != want {
			t.Errorf("message %d: got %.80q..., want %.80q...", i+1, r, want)
		}
	}
	tc.ok("f2 FETCH 2,1,69 (BODY.PEEK[] UID)")
	if got := tc.withPrefix("* "); len(got) != 3 {
		t.Errorf("FETCH 2,1,69: %d responses", len(got))
	}
}
