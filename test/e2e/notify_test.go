package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// uidValidity returns the mailbox's UIDVALIDITY, asked with STATUS.
func uidValidity(tc *transcript, box string) string {
	tc.t.Helper()
	tc.ok("uv STATUS " + box + " (UIDVALIDITY)")
	for _, u := range tc.untagged {
		if m := regexp.MustCompile(`UIDVALIDITY (\d+)`).FindStringSubmatch(u); m != nil {
			return m[1]
		}
	}
	tc.t.Fatalf("no UIDVALIDITY in %q", tc.untagged)
	return ""
}

// waitNotify runs cmd (a NOOP, usually) until its untagged responses,
// gathered over the runs, hold each of want: what another session or
// process did reaches this one's watch within moments, not at once. It
// returns every untagged response seen.
func waitNotify(tc *transcript, cmd string, want ...string) []string {
	tc.t.Helper()
	var seen []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		tc.ok(cmd)
		seen = append(seen, tc.untagged...)
		tc.untagged = seen
		missing := false
		for _, w := range want {
			if !tc.has(w) {
				missing = true
			}
		}
		if !missing {
			return seen
		}
		if time.Now().After(deadline) {
			tc.t.Fatalf("%s: untagged responses %q lack some of %q", cmd, seen, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// idleUntil waits, in IDLE, for each of want, in any order, and returns
// the lines seen.
func idleUntil(tc *transcript, want ...string) []string {
	tc.t.Helper()
	var seen []string
	left := map[string]bool{}
	for _, w := range want {
		left[unquoteAtoms(w)] = true
	}
	for len(left) > 0 {
		line := tc.next()
		if !strings.HasPrefix(line, "* ") {
			tc.t.Fatalf("got %q in IDLE while waiting for %q", line, want)
		}
		seen = append(seen, line)
		delete(left, unquoteAtoms(line))
	}
	return seen
}

// TestNotifyRFCExample follows RFC 5465 section 3.1's example: NOTIFY
// SET STATUS with the selected mailbox (MessageNew with fetch
// attributes, MessageExpunge) and a SUBTREE; then what another session
// does arrives, between commands and in IDLE.
func TestNotifyRFCExample(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	other := e.rawLogin("alice")
	tc.ok("a1 CREATE Lists/Lemonade")
	tc.ok("a2 CREATE Lists/Other")
	tc.ok("a3 CREATE Elsewhere")
	other.ok("o1 APPEND Lists/Lemonade " + literalPlus(testMessage("one", "x")))
	tc.ok("a4 SELECT INBOX")
	v := uidValidity(tc, "Lists/Lemonade")
	vo := uidValidity(tc, "Lists/Other")
	tc.ok("A02 NOTIFY SET STATUS (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)) (subtree Lists (MessageNew MessageExpunge))")
	tc.mustHave(
		"* STATUS Lists/Lemonade (MESSAGES 1 UIDNEXT 2 UIDVALIDITY "+v+" UNSEEN 1)",
		"* STATUS Lists/Other (MESSAGES 0 UIDNEXT 1 UIDVALIDITY "+vo+" UNSEEN 0)",
	)
	tc.mustNotContain("Elsewhere")
	tc.mustNotContain("STATUS INBOX")

	// Between commands: STATUS for the subtree, EXISTS then the fetch
	// attributes for the selected mailbox, nothing for Elsewhere.
	other.ok("o2 APPEND Lists/Lemonade " + literalPlus(testMessage("two", "x")))
	other.ok("o3 APPEND Elsewhere " + literalPlus(testMessage("three", "x")))
	other.ok("o4 APPEND INBOX " + literalPlus("From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n"))
	seen := waitNotify(tc, "a5 NOOP", "* STATUS Lists/Lemonade (MESSAGES 2 UIDNEXT 3 UNSEEN 2)", "* 1 EXISTS")
	joined := strings.Join(seen, "\n")
	if strings.Contains(joined, "Elsewhere") {
		t.Errorf("a mailbox outside the NOTIFY got a notification: %q", seen)
	}
	if !strings.Contains(joined, "* 1 FETCH (UID 1 BODY[HEADER.FIELDS (FROM TO SUBJECT)] {") {
		t.Errorf("MessageNew's fetch attributes missing: %q", seen)
	}

	// In IDLE: an expunge in the subtree, and one in the selected
	// mailbox, sent at once.
	tc.send("a6 IDLE\r\n")
	tc.expect("+ ")
	other.ok("o5 SELECT Lists/Lemonade")
	other.ok("o6 STORE 1 +FLAGS (\\Deleted)")
	other.ok("o7 EXPUNGE")
	idleUntil(tc, "* STATUS Lists/Lemonade (MESSAGES 1 UIDNEXT 3 UNSEEN 1)")
	other.ok("o8 SELECT INBOX")
	other.ok("o9 STORE 1 +FLAGS (\\Deleted)")
	other.ok("o10 EXPUNGE")
	idleUntil(tc, "* 1 EXPUNGE")
	tc.send("DONE\r\n")
	tc.expect("a6 OK")

	// The session's own APPEND: EXISTS, as RFC 3501 has it, but no
	// FETCH (RFC 5465 5.2: the client knows what it stored).
	tc.ok("a6b APPEND INBOX " + literalPlus("Subject: mine\r\n\r\nx\r\n"))
	tc.mustHave("* 1 EXISTS")
	tc.mustNotContain("FETCH")

	// NOTIFY NONE: nothing more, except what RFC 3501 itself requires
	// for the selected mailbox.
	tc.ok("a7 NOTIFY NONE")
	other.ok("o11 APPEND Lists/Lemonade " + literalPlus(testMessage("four", "x")))
	time.Sleep(300 * time.Millisecond)
	tc.ok("a8 NOOP")
	tc.mustNotContain("STATUS")
}

// TestNotifyMailboxNameAndSubscription: MailboxName (create, rename
// with OLDNAME, delete as \NonExistent) and SubscriptionChange (RFC 5465
// 5.4, 5.5), made by another session; the session's own changes are not
// reported (section 5).
func TestNotifyMailboxNameAndSubscription(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	other := e.rawLogin("alice")
	tc.ok("a1 NOTIFY SET (personal (MailboxName SubscriptionChange))")
	if len(tc.untagged) != 0 {
		t.Errorf("NOTIFY SET without STATUS sent %q", tc.untagged)
	}
	other.ok("o1 CREATE Work")
	waitNotify(tc, "a2 NOOP", `* LIST (\HasNoChildren) "/" Work`)
	other.ok("o2 CREATE Work/Sub")
	waitNotify(tc, "a2 NOOP", `* LIST (\HasNoChildren) "/" Work/Sub`)
	other.ok("o3 RENAME Work Job")
	waitNotify(tc, "a3 NOOP", `* LIST (\HasChildren) "/" Job ("OLDNAME" (Work))`, `* LIST (\HasNoChildren) "/" Job/Sub ("OLDNAME" (Work/Sub))`)
	other.ok("o4 SUBSCRIBE Job")
	waitNotify(tc, "a4 NOOP", `* LIST (\Subscribed) "/" Job`)
	other.ok("o5 UNSUBSCRIBE Job")
	waitNotify(tc, "a5 NOOP", `* LIST () "/" Job`)
	other.ok("o6 DELETE Job/Sub")
	waitNotify(tc, "a6 NOOP", `* LIST (\NonExistent) "/" Job/Sub`)

	// Names travel as everywhere else: modified UTF-7.
	other.ok("o6b CREATE Entw&APw-rfe")
	waitNotify(tc, "a6b NOOP", `* LIST (\HasNoChildren) "/" Entw&APw-rfe`)

	// The session's own changes: no notification.
	tc.ok("a7 CREATE Mine")
	tc.ok("a8 SUBSCRIBE Mine")
	tc.ok("a9 RENAME Mine Ours")
	time.Sleep(300 * time.Millisecond)
	tc.ok("a10 NOOP")
	tc.mustNotContain("LIST")

	// In IDLE.
	tc.send("a11 IDLE\r\n")
	tc.expect("+ ")
	other.ok("o7 CREATE Fresh")
	idleUntil(tc, `* LIST (\HasNoChildren) "/" Fresh`)
	tc.send("DONE\r\n")
	tc.expect("a11 OK")
}

// TestNotifyFlagChange: FlagChange on the selected mailbox carries the
// UID (RFC 5465 5.1), and on another one is a STATUS with the
// mod-sequence; SELECTED lets expunges come even after FETCH (6.1),
// SELECTED-DELAYED does not.
func TestNotifyFlagChange(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	other := e.rawLogin("alice")
	tc.ok("a1 CREATE Box")
	for i := 0; i < 3; i++ {
		other.ok("o1 APPEND INBOX " + literalPlus(testMessage("m", "x")))
	}
	other.ok("o2 APPEND Box " + literalPlus(testMessage("b", "x")))
	tc.ok("a2 SELECT INBOX")
	tc.ok("a3 NOTIFY SET (selected (MessageNew MessageExpunge FlagChange)) (mailboxes Box (MessageNew MessageExpunge FlagChange))")
	other.ok("o3 SELECT INBOX")
	other.ok("o4 STORE 2 +FLAGS (\\Flagged)")
	waitNotify(tc, "a4 NOOP", `* 2 FETCH (UID 2 FLAGS (\Flagged \Recent))`)

	other.ok("o5 SELECT Box")
	other.ok("o6 STORE 1 +FLAGS (\\Seen)")
	other.ok("o6 STATUS Box (HIGHESTMODSEQ)")
	modseq := regexp.MustCompile(`HIGHESTMODSEQ (\d+)`).FindStringSubmatch(other.untagged[0])[1]
	waitNotify(tc, "a5 NOOP", "* STATUS Box (UIDVALIDITY "+uidValidity(other, "Box")+" UNSEEN 0 HIGHESTMODSEQ "+modseq+")")

	// SELECTED: an expunge comes even at the end of FETCH.
	other.ok("o7 SELECT INBOX")
	other.ok("o8 STORE 3 +FLAGS (\\Deleted)")
	other.ok("o9 EXPUNGE")
	waitNotify(tc, "a7 FETCH 1 (FLAGS)", "* 3 EXPUNGE")

	// SELECTED-DELAYED: not at the end of FETCH, at the NOOP.
	tc.ok("a8 NOTIFY SET (selected-delayed (MessageNew MessageExpunge FlagChange))")
	other.ok("o10 STORE 2 +FLAGS (\\Deleted)")
	other.ok("o11 EXPUNGE")
	time.Sleep(300 * time.Millisecond)
	tc.ok("a9 FETCH 1 (FLAGS)")
	tc.mustNotContain("EXPUNGE")
	tc.ok("a10 NOOP")
	tc.mustHave("* 2 EXPUNGE")
}

// TestNotifyErrors: BAD for what the grammar or section 5's rules
// refuse, NO [BADEVENT] listing what we support for events we do not
// report (RFC 5465 3.1), and NOTIFY before login.
func TestNotifyErrors(t *testing.T) {
	e := newEnv(t)
	pre := e.raw()
	pre.bad("n0 NOTIFY NONE")
	tc := e.rawLogin("alice")
	for _, cmd := range []string{
		"n1 NOTIFY",
		"n2 NOTIFY SET",
		"n3 NOTIFY SET (selected)",
		"n4 NOTIFY SET (personal (MessageNew))",
		"n5 NOTIFY SET (personal (FlagChange))",
		"n6 NOTIFY SET (selected (MailboxName))",
		"n7 NOTIFY SET (selected NONE) (selected-delayed NONE)",
		"n8 NOTIFY SET (elsewhere (MessageNew MessageExpunge))",
		"n9 NOTIFY SET (subtree (MessageNew MessageExpunge))",
		"n10 NOTIFY SET (personal NONE) garbage",
		"n11 NOTIFY SET (personal (MessageNew (UID) MessageExpunge))",
	} {
		tc.bad(cmd)
	}
	for _, cmd := range []string{
		"m1 NOTIFY SET (personal (MailboxMetadataChange))",
		"m2 NOTIFY SET (selected (MessageNew MessageExpunge AnnotationChange))",
		"m3 NOTIFY SET (personal (SomeVendorEvent))",
	} {
		s := tc.no(cmd, "BADEVENT")
		if !strings.Contains(s, "[BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)]") {
			t.Errorf("%s: %q", cmd, s)
		}
	}
	tc.ok("o1 NOTIFY SET (selected NONE) (inboxes NONE)")
	tc.ok("o2 NOTIFY NONE")
	tc.ok("o3 NOTIFY NONE")
}

// TestNotifyAcrossProcesses: what a session of another imapd process
// does reaches a NOTIFY session in IDLE, on each store: STATUS for a new
// message in another mailbox, LIST for a new mailbox and a subscription.
func TestNotifyAcrossProcesses(t *testing.T) {
	bins := buildBinaries(t)
	store := e2eStore()
	conf := newProcessConfig(t, []string{"store: " + store})
	a := startImapd(t, bins, conf)
	b := startImapd(t, bins, conf)
	a.ok("a1 LOGIN alice secret")
	b.ok("b1 LOGIN alice secret")
	a.ok("a2 CREATE Archive")
	a.ok("a3 SELECT INBOX")
	a.ok("a4 NOTIFY SET (selected (MessageNew MessageExpunge)) (personal (MessageNew MessageExpunge MailboxName SubscriptionChange))")
	a.send("a5 IDLE\r\n")
	a.expect("+ ")
	start := time.Now()
	b.ok("b2 APPEND Archive " + literal(testMessage("archived", "x")))
	idleUntil(a.transcript, "* STATUS Archive (MESSAGES 1 UIDNEXT 2 UNSEEN 1)")
	t.Logf("%s: STATUS seen %v after the APPEND answered", store, time.Since(start))
	b.ok("b3 CREATE Projects")
	idleUntil(a.transcript, `* LIST (\HasNoChildren) "/" Projects`)
	b.ok("b4 SUBSCRIBE Projects")
	idleUntil(a.transcript, `* LIST (\Subscribed) "/" Projects`)
	// A mailbox created after NOTIFY SET is watched too.
	b.ok("b5 APPEND Projects " + literal(testMessage("plan", "x")))
	idleUntil(a.transcript, "* STATUS Projects (MESSAGES 1 UIDNEXT 2 UNSEEN 1)")
	b.ok("b6 APPEND INBOX " + literal(testMessage("hello", "x")))
	idleUntil(a.transcript, "* 1 EXISTS")
	a.send("DONE\r\n")
	if s := a.transcript.finish("a5"); !strings.HasPrefix(s, "a5 OK") {
		t.Fatalf("IDLE ended with %q", s)
	}
	a.ok("a6 LOGOUT")
	b.ok("b7 LOGOUT")
}

// TestNotifyCondstoreAndOwnChanges: once CONDSTORE is on, the STATUS
// notifications carry HIGHESTMODSEQ (RFC 5465 5.2, 5.3); what the
// session itself appends or copies to a watched mailbox is not notified
// (section 5), and a mailbox the session selected and left does not get
// a STATUS for what the session saw while it was selected.
func TestNotifyCondstoreAndOwnChanges(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	other := e.rawLogin("alice")
	tc.ok("a1 CREATE Box")
	tc.ok("a2 ENABLE CONDSTORE")
	v := uidValidity(tc, "Box")
	tc.ok("a3 NOTIFY SET STATUS (personal (MessageNew MessageExpunge FlagChange))")
	if !strings.Contains(unquoteAtoms(strings.Join(tc.untagged, "\n")), "* STATUS Box (MESSAGES 0 UIDNEXT 1 UIDVALIDITY "+v+" UNSEEN 0 HIGHESTMODSEQ ") {
		t.Errorf("NOTIFY SET STATUS with CONDSTORE: %q", tc.untagged)
	}
	other.ok("o1 APPEND Box " + literalPlus(testMessage("one", "x")))
	other.ok("o2 STATUS Box (HIGHESTMODSEQ)")
	modseq := regexp.MustCompile(`HIGHESTMODSEQ (\d+)`).FindStringSubmatch(other.untagged[0])[1]
	waitNotify(tc, "a4 NOOP", "* STATUS Box (MESSAGES 1 UIDNEXT 2 UNSEEN 1 HIGHESTMODSEQ "+modseq+")")

	// The session's own APPEND and COPY: no STATUS.
	tc.ok("a5 APPEND Box " + literalPlus(testMessage("mine", "x")))
	tc.ok("a6 SELECT INBOX")
	tc.ok("a7 APPEND INBOX " + literalPlus(testMessage("in", "x")))
	tc.ok("a8 COPY 1 Box")
	time.Sleep(300 * time.Millisecond)
	tc.ok("a9 NOOP")
	tc.mustNotContain("STATUS Box")

	// Selected, then left: what it saw while selected is not told again.
	tc.ok("b1 SELECT Box")
	other.ok("o3 APPEND Box " + literalPlus(testMessage("two", "x")))
	waitNotify(tc, "b2 NOOP", "* 4 EXISTS")
	tc.ok("b3 UNSELECT")
	time.Sleep(300 * time.Millisecond)
	tc.ok("b4 NOOP")
	tc.mustNotContain("STATUS Box")
	other.ok("o4 APPEND Box " + literalPlus(testMessage("three", "x")))
	other.ok("o5 STATUS Box (HIGHESTMODSEQ)")
	modseq = regexp.MustCompile(`HIGHESTMODSEQ (\d+)`).FindStringSubmatch(other.untagged[0])[1]
	waitNotify(tc, "b5 NOOP", "* STATUS Box (MESSAGES 5 UIDNEXT 6 UNSEEN 5 HIGHESTMODSEQ "+modseq+")")
}

// TestNotifySubscribedAndSelectedNone: SUBSCRIBED follows the
// subscriptions as they change (RFC 5465 6.4); without a SELECTED group
// (the same as SELECTED NONE, 3.1) IDLE says nothing of the selected
// mailbox (4: IDLE sends exactly the events NOTIFY asked for), and the
// next command reports it as RFC 3501 requires.
func TestNotifySubscribedAndSelectedNone(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	other := e.rawLogin("alice")
	tc.ok("a1 CREATE News")
	tc.ok("a2 CREATE Later")
	tc.ok("a3 SUBSCRIBE News")
	tc.ok("a4 SELECT INBOX")
	tc.ok("a5 NOTIFY SET STATUS (subscribed (MessageNew MessageExpunge))")
	if got := strings.Join(tc.untagged, "\n"); !strings.Contains(unquoteAtoms(got), "* STATUS News ") || strings.Contains(got, "Later") {
		t.Errorf("NOTIFY SET STATUS over SUBSCRIBED: %q", tc.untagged)
	}
	tc.send("a6 IDLE\r\n")
	tc.expect("+ ")
	other.ok("o1 APPEND INBOX " + literalPlus(testMessage("in", "x")))
	other.ok("o2 APPEND Later " + literalPlus(testMessage("later", "x")))
	other.ok("o3 APPEND News " + literalPlus(testMessage("news", "x")))
	// Only News: the line after it is IDLE's end, so nothing came
	// before it of INBOX or Later.
	if l := tc.next(); unquoteAtoms(l) != "* STATUS News (MESSAGES 1 UIDNEXT 2 UNSEEN 1)" {
		t.Fatalf("in IDLE: %q", l)
	}
	tc.send("DONE\r\n")
	tc.finish("a6")
	tc.mustHave("* 1 EXISTS")
	tc.mustNotContain("Later")

	// Subscribing to Later brings it in.
	other.ok("o4 SUBSCRIBE Later")
	time.Sleep(300 * time.Millisecond)
	tc.ok("a7 NOOP")
	other.ok("o5 APPEND Later " + literalPlus(testMessage("later", "y")))
	waitNotify(tc, "a8 NOOP", "* STATUS Later (MESSAGES 2 UIDNEXT 3 UNSEEN 2)")
}
