package e2e

import (
	"slices"
	"strings"
	"testing"
)

// The examples of RFC 5258 section 5, on this server: the attributes are
// those this server computes (it always sends \HasChildren or
// \HasNoChildren, INBOX may have children so it is not \NoInferiors, and it
// never sends \Marked), and there are no remote mailboxes, so REMOTE lists
// the local ones only.

// exactly fails unless the last command's untagged responses are want, in
// any order, up to the form of strings that could be atoms.
func (tc *transcript) exactly(want ...string) {
	tc.t.Helper()
	got := make([]string, len(tc.untagged))
	for i, u := range tc.untagged {
		got[i] = unquoteAtoms(u)
	}
	exp := make([]string, len(want))
	for i, w := range want {
		exp[i] = unquoteAtoms(w)
	}
	slices.Sort(got)
	slices.Sort(exp)
	if !slices.Equal(got, exp) {
		tc.t.Errorf("untagged responses\n got %q\nwant %q", tc.untagged, want)
	}
}

// rfc5258Session logs alice in with the given mailboxes, of which
// exactly subscribed are subscribed, then deletes the ones in missing:
// they stay as missing levels of the hierarchy and keep their
// subscriptions.
func rfc5258Session(t *testing.T, create, subscribed, missing []string) *transcript {
	t.Helper()
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.t = t
	for _, m := range create {
		tc.ok("s1 CREATE " + m)
	}
	tc.subscribeOnly(subscribed...)
	for _, m := range missing {
		tc.ok("s2 DELETE " + m)
	}
	return tc
}

// subscribeOnly makes names (existing mailboxes) the only subscribed ones.
func (tc *transcript) subscribeOnly(names ...string) {
	tc.t.Helper()
	tc.ok(`s3 LIST (SUBSCRIBED) "" *`)
	var old []string
	for _, u := range tc.untagged {
		old = append(old, u[strings.LastIndex(u, `"/" `)+4:])
	}
	for _, n := range old {
		tc.ok("s4 UNSUBSCRIBE " + n)
	}
	for _, n := range names {
		tc.ok("s5 SUBSCRIBE " + n)
	}
	tc.ok(`s6 LIST (SUBSCRIBED) "" *`)
	if len(tc.untagged) != len(names) {
		tc.t.Fatalf("subscriptions %q, want %q", tc.untagged, names)
	}
}

// Examples 1 to 6 share one hierarchy and one set of subscriptions.
func TestRFC5258Examples1to6(t *testing.T) {
	tc := rfc5258Session(t,
		[]string{"Fruit", "Fruit/Apple", "Fruit/Banana", "Fruit/Peach", "Tofu", "Vegetable", "Vegetable/Broccoli", "Vegetable/Corn"},
		[]string{"INBOX", "Fruit/Banana", "Fruit/Peach", "Vegetable", "Vegetable/Broccoli"},
		[]string{"Fruit/Peach"}) // deleted while still subscribed

	// 1: the whole local hierarchy.
	tc.ok(`A01 LIST "" "*"`)
	tc.exactly(
		`* LIST (\HasNoChildren) "/" "INBOX"`,
		`* LIST (\HasChildren) "/" "Fruit"`,
		`* LIST (\HasNoChildren) "/" "Fruit/Apple"`,
		`* LIST (\HasNoChildren) "/" "Fruit/Banana"`,
		`* LIST (\HasNoChildren) "/" "Tofu"`,
		`* LIST (\HasChildren) "/" "Vegetable"`,
		`* LIST (\HasNoChildren) "/" "Vegetable/Broccoli"`,
		`* LIST (\HasNoChildren) "/" "Vegetable/Corn"`)

	// 2: the subscribed names, "Fruit/Peach" among them though it does
	// not exist.
	subscribed := []string{
		`* LIST (\HasNoChildren \Subscribed) "/" "INBOX"`,
		`* LIST (\HasNoChildren \Subscribed) "/" "Fruit/Banana"`,
		`* LIST (\NonExistent \HasNoChildren \Subscribed) "/" "Fruit/Peach"`,
		`* LIST (\HasChildren \Subscribed) "/" "Vegetable"`,
		`* LIST (\HasNoChildren \Subscribed) "/" "Vegetable/Broccoli"`,
	}
	tc.ok(`A02 LIST (SUBSCRIBED) "" "*"`)
	tc.exactly(subscribed...)

	// 3: CHILDREN tells which top-level mailboxes have children.
	topLevel := []string{
		`* LIST (\HasNoChildren) "/" "INBOX"`,
		`* LIST (\HasChildren) "/" "Fruit"`,
		`* LIST (\HasNoChildren) "/" "Tofu"`,
		`* LIST (\HasChildren) "/" "Vegetable"`,
	}
	tc.ok(`A03 LIST () "" "%" RETURN (CHILDREN)`)
	tc.exactly(topLevel...)

	// 4: REMOTE adds the remote mailboxes, of which there are none.
	tc.ok(`A04 LIST (REMOTE) "" "%" RETURN (CHILDREN)`)
	tc.exactly(topLevel...)

	// 5: REMOTE with SUBSCRIBED: every subscribed name.
	tc.ok(`A05 LIST (REMOTE SUBSCRIBED) "" "*"`)
	tc.exactly(subscribed...)

	// 6: subscription state of every mailbox; not a superset of 5, as
	// the missing "Fruit/Peach" is not a mailbox.
	tc.ok(`A06 LIST (REMOTE) "" "*" RETURN (SUBSCRIBED)`)
	tc.exactly(
		`* LIST (\HasNoChildren \Subscribed) "/" "INBOX"`,
		`* LIST (\HasChildren) "/" "Fruit"`,
		`* LIST (\HasNoChildren) "/" "Fruit/Apple"`,
		`* LIST (\HasNoChildren \Subscribed) "/" "Fruit/Banana"`,
		`* LIST (\HasNoChildren) "/" "Tofu"`,
		`* LIST (\HasChildren \Subscribed) "/" "Vegetable"`,
		`* LIST (\HasNoChildren \Subscribed) "/" "Vegetable/Broccoli"`,
		`* LIST (\HasNoChildren) "/" "Vegetable/Corn"`)
}

// Example 7: several patterns.
func TestRFC5258Example7(t *testing.T) {
	tc := rfc5258Session(t, []string{"Drafts", "Sent/March2004", "Sent/December2003", "Sent/August2004"}, nil, nil)
	tc.ok(`BBB LIST "" ("INBOX" "Drafts" "Sent/%")`)
	tc.exactly(
		`* LIST (\HasNoChildren) "/" "INBOX"`,
		`* LIST (\HasNoChildren) "/" "Drafts"`,
		`* LIST (\HasNoChildren) "/" "Sent/March2004"`,
		`* LIST (\HasNoChildren) "/" "Sent/December2003"`,
		`* LIST (\HasNoChildren) "/" "Sent/August2004"`)
}

// Example 8: \HasChildren and CHILDINFO are different things.
func TestRFC5258Example8(t *testing.T) {
	tc := rfc5258Session(t, []string{"Foo", "Foo/Bar", "Foo/Baz", "Moo"}, []string{"Foo/Baz"}, nil)
	tc.ok(`C01 LIST "" "*"`)
	tc.exactly(
		`* LIST (\HasNoChildren) "/" "INBOX"`,
		`* LIST (\HasChildren) "/" "Foo"`,
		`* LIST (\HasNoChildren) "/" "Foo/Bar"`,
		`* LIST (\HasNoChildren) "/" "Foo/Baz"`,
		`* LIST (\HasNoChildren) "/" "Moo"`)
	tc.ok(`CA3 LIST "" "%" RETURN (CHILDREN)`)
	tc.exactly(
		`* LIST (\HasNoChildren) "/" "INBOX"`,
		`* LIST (\HasChildren) "/" "Foo"`,
		`* LIST (\HasNoChildren) "/" "Moo"`)

	// A: "Foo/Baz" is the only subscribed mailbox.
	tc.ok(`C02 LIST (SUBSCRIBED) "" "*"`)
	tc.exactly(`* LIST (\HasNoChildren \Subscribed) "/" "Foo/Baz"`)
	tc.ok(`C03 LIST (SUBSCRIBED) "" "%"`)
	tc.exactly()
	tc.ok(`C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"`)
	tc.exactly(`* LIST (\HasChildren) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))`)

	// A1: "Foo" subscribed as well.
	tc.ok("C05 SUBSCRIBE Foo")
	tc.ok(`C06 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"`)
	tc.exactly(`* LIST (\HasChildren \Subscribed) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))`)

	// B: nothing subscribed: no answer, though "Foo" has children.
	tc.subscribeOnly()
	tc.ok(`C07 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"`)
	tc.exactly()

	// C: only "Foo" and "Moo" subscribed: no CHILDINFO, no subscribed
	// child.
	tc.subscribeOnly("Foo", "Moo")
	tc.ok(`C08 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)`)
	tc.exactly(
		`* LIST (\HasChildren \Subscribed) "/" "Foo"`,
		`* LIST (\HasNoChildren \Subscribed) "/" "Moo"`)

	// A2: "Foo" neither exists nor is subscribed; "Foo/Baz" is.
	tc.subscribeOnly("Foo/Baz")
	tc.ok("C09 DELETE Foo")
	tc.ok(`C10 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"`)
	tc.exactly(`* LIST (\NonExistent \HasChildren) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))`)
}

// Example 9: CHILDINFO whether or not the children match the pattern.
func TestRFC5258Example9(t *testing.T) {
	tc := rfc5258Session(t,
		[]string{"foo2", "foo2/bar1", "foo2/bar2", "baz2", "baz2/bar2", "baz2/bar22", "baz2/bar222", "eps2", "eps2/mamba", "qux2/bar2"},
		[]string{"foo2/bar1", "foo2/bar2", "baz2/bar2", "baz2/bar22", "baz2/bar222", "eps2", "eps2/mamba", "qux2/bar2"},
		[]string{"qux2"})
	tc.ok(`D01 LIST "" "*"`)
	tc.exactly(
		`* LIST (\HasNoChildren) "/" "INBOX"`,
		`* LIST (\HasChildren) "/" "foo2"`,
		`* LIST (\HasNoChildren) "/" "foo2/bar1"`,
		`* LIST (\HasNoChildren) "/" "foo2/bar2"`,
		`* LIST (\HasChildren) "/" "baz2"`,
		`* LIST (\HasNoChildren) "/" "baz2/bar2"`,
		`* LIST (\HasNoChildren) "/" "baz2/bar22"`,
		`* LIST (\HasNoChildren) "/" "baz2/bar222"`,
		`* LIST (\HasChildren) "/" "eps2"`,
		`* LIST (\HasNoChildren) "/" "eps2/mamba"`,
		`* LIST (\Noselect \HasChildren) "/" "qux2"`,
		`* LIST (\HasNoChildren) "/" "qux2/bar2"`)
	tc.ok(`D02 LIST (SUBSCRIBED) "" "*"`)
	tc.exactly(
		`* LIST (\HasNoChildren \Subscribed) "/" "foo2/bar1"`,
		`* LIST (\HasNoChildren \Subscribed) "/" "foo2/bar2"`,
		`* LIST (\HasNoChildren \Subscribed) "/" "baz2/bar2"`,
		`* LIST (\HasNoChildren \Subscribed) "/" "baz2/bar22"`,
		`* LIST (\HasNoChildren \Subscribed) "/" "baz2/bar222"`,
		`* LIST (\HasChildren \Subscribed) "/" "eps2"`,
		`* LIST (\HasNoChildren \Subscribed) "/" "eps2/mamba"`,
		`* LIST (\HasNoChildren \Subscribed) "/" "qux2/bar2"`)

	// "foo2" has a subscribed child the pattern does not match; all of
	// "baz2"'s and "qux2"'s subscribed children are listed themselves, so
	// they are not (RFC 5258 3.3 rule 2, 3.5); "eps2" is subscribed, with
	// a subscribed child.
	tc.ok(`D03 LIST (RECURSIVEMATCH SUBSCRIBED) "" "*2"`)
	tc.exactly(
		`* LIST (\HasChildren) "/" "foo2" ("CHILDINFO" ("SUBSCRIBED"))`,
		`* LIST (\HasNoChildren \Subscribed) "/" "foo2/bar2"`,
		`* LIST (\HasNoChildren \Subscribed) "/" "baz2/bar2"`,
		`* LIST (\HasNoChildren \Subscribed) "/" "baz2/bar22"`,
		`* LIST (\HasNoChildren \Subscribed) "/" "baz2/bar222"`,
		`* LIST (\HasChildren \Subscribed) "/" "eps2" ("CHILDINFO" ("SUBSCRIBED"))`,
		`* LIST (\HasNoChildren \Subscribed) "/" "qux2/bar2"`)

	// With "*" every subscribed name is listed itself. The RFC's example
	// also lists the unsubscribed "foo2" and "baz2" with a CHILDINFO it
	// calls redundant; sections 3.3 (rule 2) and 3.5 allow an unsubscribed
	// name only for a subscribed descendant the patterns do not match, so
	// this server leaves them out, as it does "baz2" in D03 (Cyrus imapd
	// 3.6 answers D03 and D04 the same way). "eps2" is subscribed: its
	// CHILDINFO stays.
	tc.ok(`D04 LIST (RECURSIVEMATCH SUBSCRIBED) "" "*"`)
	tc.exactly(
		`* LIST (\HasNoChildren \Subscribed) "/" "foo2/bar1"`,
		`* LIST (\HasNoChildren \Subscribed) "/" "foo2/bar2"`,
		`* LIST (\HasNoChildren \Subscribed) "/" "baz2/bar2"`,
		`* LIST (\HasNoChildren \Subscribed) "/" "baz2/bar22"`,
		`* LIST (\HasNoChildren \Subscribed) "/" "baz2/bar222"`,
		`* LIST (\HasChildren \Subscribed) "/" "eps2" ("CHILDINFO" ("SUBSCRIBED"))`,
		`* LIST (\HasNoChildren \Subscribed) "/" "eps2/mamba"`,
		`* LIST (\HasNoChildren \Subscribed) "/" "qux2/bar2"`)
}

// Example 10: several patterns, and CHILDINFO without \HasChildren.
func TestRFC5258Example10(t *testing.T) {
	tc := rfc5258Session(t, []string{"foo", "foo/bar"}, []string{"foo/bar"}, []string{"foo/bar"})
	tc.ok(`a1 LIST "" ("foo" "foo/*")`)
	tc.exactly(`* LIST (\HasNoChildren) "/" "foo"`)
	tc.ok(`a2 LIST (SUBSCRIBED) "" "foo/*"`)
	tc.exactly(`* LIST (\NonExistent \HasNoChildren \Subscribed) "/" "foo/bar"`)
	tc.ok(`a3 LIST (SUBSCRIBED RECURSIVEMATCH) "" foo RETURN (CHILDREN)`)
	tc.exactly(`* LIST (\HasNoChildren) "/" "foo" ("CHILDINFO" ("SUBSCRIBED"))`)
}

// Example 11: a missing level of the hierarchy is listed \NonExistent
// \HasChildren when a mailbox below it is not itself listed.
func TestRFC5258Example11(t *testing.T) {
	tc := rfc5258Session(t, []string{"music/rock"}, nil, []string{"music"})
	inbox := `* LIST (\HasNoChildren) "/" "INBOX"`
	tc.ok(`a1 LIST (REMOTE) "" *`)
	tc.exactly(inbox, `* LIST (\HasNoChildren) "/" "music/rock"`)
	tc.ok(`a2 LIST () "" %`)
	tc.exactly(inbox, `* LIST (\NonExistent \HasChildren) "/" "music"`)
	tc.ok(`a3 LIST (REMOTE) "" %`)
	tc.exactly(inbox, `* LIST (\NonExistent \HasChildren) "/" "music"`)
	// The RFC lets a server list "music" here or not; this one does not,
	// as "music/rock" is listed itself.
	tc.ok(`a3.1 LIST "" (% music/rock)`)
	tc.exactly(inbox, `* LIST (\HasNoChildren) "/" "music/rock"`)
}

// The case that started it: a pattern list naming a parent and its only
// subscribed child lists the child, and not the parent with CHILDINFO.
func TestListRecursiveMatchPatternList(t *testing.T) {
	tc := rfc5258Session(t, []string{"a/b/c", "a/b/d"}, []string{"a/b/c"}, nil)
	tc.ok(`r1 LIST (SUBSCRIBED RECURSIVEMATCH) "" (a/b a/b/c)`)
	tc.exactly(`* LIST (\HasNoChildren \Subscribed) "/" "a/b/c"`)
	tc.ok(`r2 LIST (SUBSCRIBED RECURSIVEMATCH) "" (a/b a/b/d)`)
	tc.exactly(`* LIST (\HasChildren) "/" "a/b" ("CHILDINFO" ("SUBSCRIBED"))`)
	tc.ok(`r3 LIST (SUBSCRIBED RECURSIVEMATCH) "" (a a/b/*)`)
	tc.exactly(`* LIST (\HasNoChildren \Subscribed) "/" "a/b/c"`)
	tc.ok(`r4 LIST (SUBSCRIBED RECURSIVEMATCH) "" (a %/%)`)
	tc.exactly(
		`* LIST (\HasChildren) "/" "a" ("CHILDINFO" ("SUBSCRIBED"))`,
		`* LIST (\HasChildren) "/" "a/b" ("CHILDINFO" ("SUBSCRIBED"))`)
	// A subscribed parent keeps its CHILDINFO, listed child or not.
	tc.ok("r5 SUBSCRIBE a/b")
	tc.ok(`r6 LIST (SUBSCRIBED RECURSIVEMATCH) "" (a/b a/b/c)`)
	tc.exactly(
		`* LIST (\HasChildren \Subscribed) "/" "a/b" ("CHILDINFO" ("SUBSCRIBED"))`,
		`* LIST (\HasNoChildren \Subscribed) "/" "a/b/c"`)
}

// RECURSIVEMATCH with SPECIAL-USE, another base selection option (RFC 6154
// extends RFC 5258's list-select-base-opt): CHILDINFO names it.
func TestListRecursiveMatchSpecialUse(t *testing.T) {
	tc := rfc5258Session(t, nil, nil, nil)
	tc.ok(`u1 CREATE Mail/Drafts (USE (\Drafts))`)
	tc.ok(`u2 CREATE Mail/Notes`)
	tc.ok(`u3 LIST (SPECIAL-USE RECURSIVEMATCH) "" %`)
	tc.exactly(`* LIST (\HasChildren) "/" "Mail" ("CHILDINFO" ("SPECIAL-USE"))`)
	tc.ok(`u4 LIST (SPECIAL-USE RECURSIVEMATCH) "" *`)
	tc.exactly(`* LIST (\HasNoChildren \Drafts) "/" "Mail/Drafts"`)
	tc.ok(`u5 SUBSCRIBE Mail/Drafts`)
	tc.ok(`u6 LIST (SUBSCRIBED SPECIAL-USE RECURSIVEMATCH) "" %`)
	tc.exactly(`* LIST (\HasChildren) "/" "Mail" ("CHILDINFO" ("SUBSCRIBED" "SPECIAL-USE"))`)
	tc.ok(`u7 LIST (SPECIAL-USE) "" %`)
	tc.exactly()
}
