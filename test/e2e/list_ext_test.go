package e2e

import (
	"testing"
)

// TestListExtended: RFC 5258 selection and return options, several
// patterns, and RFC 5819 LIST-STATUS.
func TestListExtended(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("l1 CREATE Work/Projects")
	tc.ok("l2 CREATE Personal")
	tc.ok("l3 SUBSCRIBE Work/Projects")
	tc.ok("l4 SUBSCRIBE INBOX")
	tc.ok("l5 DELETE Work")
	tc.ok("l6 APPEND Personal " + literal(testMessage("p", "p")))

	tc.ok(`l7 LIST "" (INBOX Personal)`)
	tc.mustHave(`* LIST (\HasNoChildren) "/" "INBOX"`, `* LIST (\HasNoChildren) "/" "Personal"`)
	if len(tc.untagged) != 2 {
		t.Errorf("two patterns: %q", tc.untagged)
	}
	tc.ok(`l8 LIST (SUBSCRIBED) "" "*"`)
	tc.mustHave(`* LIST (\HasNoChildren \Subscribed) "/" "INBOX"`, `* LIST (\HasNoChildren \Subscribed) "/" "Work/Projects"`)
	if len(tc.untagged) != 2 {
		t.Errorf("SUBSCRIBED selection: %q", tc.untagged)
	}
	tc.ok(`l9 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"`)
	tc.mustHave(`* LIST (\NonExistent \HasChildren) "/" "Work" ("CHILDINFO" ("SUBSCRIBED"))`)
	tc.ok(`l10 LIST "" "%" RETURN (SUBSCRIBED CHILDREN)`)
	tc.mustHave(`* LIST (\HasNoChildren \Subscribed) "/" "INBOX"`, `* LIST (\NonExistent \HasChildren) "/" "Work"`)
	tc.ok(`l11 LIST "" "Personal" RETURN (STATUS (MESSAGES UNSEEN))`)
	tc.mustHave(`* LIST (\HasNoChildren) "/" "Personal"`, `* STATUS "Personal" (MESSAGES 1 UNSEEN 1)`)
	tc.bad(`l12 LIST (RECURSIVEMATCH) "" "*"`)
	tc.ok(`l13 LIST (SPECIAL-USE) "" "*"`)
}
