package e2e

import "testing"

// TestDeleteWithInferiors: RFC 3501 6.3.4's example. DELETE of a mailbox
// that has inferiors removes the mailbox and keeps the name as \Noselect;
// DELETE of that \Noselect name answers NO [HASCHILDREN] (RFC 5530) while
// it has inferiors, and the name is gone once they are.
func TestDeleteWithInferiors(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("d1 CREATE foo")
	tc.ok("d2 CREATE foo/bar")
	tc.ok("d3 DELETE foo")
	tc.ok(`d4 LIST "" foo`)
	tc.mustHave(`* LIST (\Noselect \HasChildren) "/" foo`)
	tc.no("d5 DELETE foo", "HASCHILDREN")
	tc.no("d6 DELETE nothing", "NONEXISTENT")
	tc.ok("d7 DELETE foo/bar")
	tc.no("d8 DELETE foo", "NONEXISTENT")
	tc.ok(`d9 LIST "" foo*`)
	if len(tc.untagged) != 0 {
		t.Errorf("LIST after deleting both: %q", tc.untagged)
	}
}
