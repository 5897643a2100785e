package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// TestTwoSessionsOneMailbox checks the unsolicited updates a session gets
// when another changes its selected mailbox, and when it may get them.
func TestTwoSessionsOneMailbox(t *testing.T) {
	e := newEnv(t)
	a := e.rawLogin("alice")
	b := e.rawLogin("alice")
	for i := range 3 {
		b.ok("b0 APPEND INBOX " + literalPlus(testMessage("m"+itoa(i), "body")))
	}
	a.ok("a1 SELECT INBOX")
	a.mustHave("* 3 EXISTS", "* 3 RECENT")

	// B appends: A learns it at its next command.
	b.ok("b1 APPEND INBOX " + literalPlus(testMessage("m3", "body")))
	a.ok("a2 NOOP")
	a.mustHave("* 4 EXISTS")
	// The new message is \Recent for A only, which selected first.
	a.ok("a3 FETCH 4 FLAGS")
	if got := a.fetchFlags(4); got != `\Recent` {
		t.Errorf("flags of the new message in A: %q", got)
	}

	// B changes flags: A gets FETCH FLAGS at NOOP.
	b.ok("b2 SELECT INBOX")
	b.ok("b3 STORE 2 +FLAGS.SILENT (\\Flagged Urgent)")
	a.ok("a4 NOOP")
	if got := a.fetchFlags(2); got != `Urgent \Flagged \Recent` {
		t.Errorf("A's update for message 2: %q (%q)", got, a.untagged)
	}

	// B expunges message 2: A must not hear of it while answering FETCH,
	// STORE or SEARCH (RFC 3501 7.4.1), only at the next allowed point.
	b.ok("b4 STORE 2 +FLAGS.SILENT (\\Deleted)")
	b.ok("b5 EXPUNGE")
	b.mustHave("* 2 EXPUNGE")

	a.ok("a5 FETCH 1:4 (UID)")
	a.mustNotContain("EXPUNGE")
	if n := len(a.withPrefix("* ")); n < 3 {
		t.Errorf("FETCH 1:4 after a foreign expunge: %q", a.untagged)
	}
	a.ok("a6 STORE 1 +FLAGS (\\Seen)")
	a.mustNotContain("EXPUNGE")
	a.ok("a7 SEARCH ALL")
	a.mustNotContain("EXPUNGE")
	// Message 2 is gone but still numbered for A: a SEARCH may list it
	// or not.
	if !a.has("* SEARCH 1 2 3 4") && !a.has("* SEARCH 1 3 4") {
		t.Errorf("SEARCH ALL before the EXPUNGE was reported: %q", a.untagged)
	}
	a.ok("a8 NOOP")
	a.mustHave("* 2 EXPUNGE")
	a.ok("a9 SEARCH ALL")
	a.mustHave("* SEARCH 1 2 3")

	// The UID forms may carry EXPUNGE (RFC 3501 7.4.1).
	b.ok("b6 STORE 1 +FLAGS.SILENT (\\Deleted)")
	b.ok("b7 EXPUNGE")
	a.ok("a10 UID FETCH 1:* FLAGS")
	if !a.has("* 1 EXPUNGE") {
		a.ok("a11 NOOP")
		a.mustHave("* 1 EXPUNGE")
	}
	a.ok("a12 SEARCH ALL")
	a.mustHave("* SEARCH 1 2")

	// B's seen flag shows in A (as a flag update), and A's STATUS of the
	// mailbox matches.
	b.ok("b8 FETCH 1 BODY[]")
	a.ok("a13 NOOP")
	if got := a.fetchFlags(1); !strings.Contains(got, `\Seen`) {
		t.Errorf("A's update after B read message 1: %q", a.untagged)
	}
	a.ok("a14 LOGOUT")
	b.ok("b9 LOGOUT")
}

// TestTwoClientsUnilateral uses go-imap's unilateral data handler to see
// the same updates through a real client.
func TestTwoClientsUnilateral(t *testing.T) {
	e := newEnv(t)
	// go-imap calls the handlers from its reader goroutines (the FETCH
	// one from a goroutine of its own): they report on channels.
	exists := make(chan uint32, 16)
	expunged := make(chan uint32, 16)
	fetched := make(chan uint32, 16)
	opts := &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Expunge: func(seq uint32) { expunged <- seq },
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				exists <- *d.NumMessages
			}
		},
		Fetch: func(m *imapclient.FetchMessageData) {
			for m.Next() != nil {
			}
			fetched <- m.SeqNum
		},
	}}
	recv := func(what string, ch chan uint32, want uint32) {
		t.Helper()
		select {
		case got := <-ch:
			if got != want {
				t.Errorf("%s: got %d, want %d", what, got, want)
			}
		case <-time.After(ioTimeout):
			t.Errorf("%s: nothing received", what)
		}
	}
	a := e.login("alice", opts)
	b := e.login("alice", nil)
	appendMsg(t, b, "INBOX", testMessage("one", "1"), nil)
	if _, err := a.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	appendMsg(t, b, "INBOX", testMessage("two", "2"), nil)
	if err := a.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	recv("EXISTS seen by A", exists, 2)
	if _, err := b.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect(); err != nil {
		t.Fatal(err)
	}
	if err := a.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	recv("FETCH update seen by A", fetched, 1)
	if _, err := b.Expunge().Collect(); err != nil {
		t.Fatal(err)
	}
	if err := a.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	recv("EXPUNGE seen by A", expunged, 1)
	if mb := a.Mailbox(); mb == nil || mb.NumMessages != 1 {
		t.Errorf("A's idea of the mailbox: %+v", mb)
	}
}

// TestTwoProcessesOneStore runs two imapd processes on one configuration
// and checks that each sees the other's changes through the store.
func TestTwoProcessesOneStore(t *testing.T) {
	bins := buildBinaries(t)
	conf := newProcessConfig(t, nil)
	a := startImapd(t, bins, conf)
	b := startImapd(t, bins, conf)
	a.ok("a1 LOGIN alice secret")
	b.ok("b1 LOGIN alice secret")
	b.ok("b2 APPEND INBOX " + literal(testMessage("first", "from B")))
	a.ok("a2 SELECT INBOX")
	a.mustHave("* 1 EXISTS", "* 1 RECENT")

	b.ok("b3 APPEND INBOX " + literal(testMessage("second", "from B")))
	a.ok("a3 NOOP")
	a.mustHave("* 2 EXISTS")
	b.ok("b4 SELECT INBOX")
	b.mustHave("* 2 EXISTS", "* 0 RECENT")
	b.ok("b5 STORE 1 +FLAGS.SILENT (\\Deleted \\Seen)")
	a.ok("a4 NOOP")
	if got := a.fetchFlags(1); got != `\Deleted \Recent \Seen` {
		t.Errorf("A's flag update from the other process: %q (%q)", got, a.untagged)
	}
	b.ok("b6 EXPUNGE")
	a.ok("a5 FETCH 2 (BODY.PEEK[TEXT])")
	a.mustNotContain("EXPUNGE")
	if got := a.withPrefix("* 2 FETCH (BODY[TEXT] "); len(got) != 1 || !strings.Contains(got[0], "from B") {
		t.Errorf("FETCH in A: %q", a.untagged)
	}
	a.ok("a6 NOOP")
	a.mustHave("* 1 EXPUNGE")
	a.ok("a7 UID SEARCH ALL")
	a.mustHave("* SEARCH 2")
	a.ok("a8 LOGOUT")
	b.ok("b7 LOGOUT")
	a.expectEOF()
	b.expectEOF()
}

// TestSilentStoreTellsOthersFlags: a STORE .SILENT tells the client
// nothing of its own change, but a change another session made to the
// same message, not yet reported, must still reach the client (RFC 3501
// 5.2 and 7.4.2); it must not vanish behind the silent STORE's new
// mod-sequence. Found by FuzzTwoSessions.
func TestSilentStoreTellsOthersFlags(t *testing.T) {
	e := newEnv(t)
	a := e.rawLogin("alice")
	b := e.rawLogin("alice")
	for i := range 3 {
		b.ok("b0 APPEND INBOX " + literalPlus(testMessage("m"+itoa(i), "body")))
	}
	a.ok("a1 SELECT INBOX")
	b.ok("b1 SELECT INBOX")
	a.ok("a2 FETCH 1:3 (UID FLAGS)")

	// told collects the flags A has been told for message seq, from
	// STORE and NOOP.
	told := func(seq int, cmds ...string) string {
		got := ""
		for _, cmd := range cmds {
			a.ok(cmd)
			for _, u := range a.withPrefix("* " + itoa(seq) + " FETCH (") {
				if strings.Contains(u, "FLAGS (") {
					got = flagsIn(u)
				}
			}
		}
		return got
	}

	b.ok(`b2 STORE 1 +FLAGS.SILENT (\Flagged)`)
	if got := told(1, `a3 STORE 1 +FLAGS.SILENT (\Seen)`, "a4 NOOP"); got != `\Flagged \Recent \Seen` {
		t.Errorf("after B's \\Flagged and A's silent \\Seen, A was told %q", got)
	}
	b.ok(`b3 STORE 2 +FLAGS.SILENT (kw1)`)
	if got := told(2, `a5 UID STORE 2 -FLAGS.SILENT (\Seen)`, "a6 NOOP"); got != `\Recent kw1` {
		t.Errorf("after B's kw1 and A's silent -\\Seen, A was told %q", got)
	}
	// A replacing all flags needs no update: A knows the result.
	b.ok(`b4 STORE 3 +FLAGS.SILENT (\Answered)`)
	if got := told(3, `a7 STORE 3 FLAGS.SILENT (\Draft)`, "a8 NOOP"); got != "" {
		t.Errorf("after A's silent FLAGS (\\Draft), A was told %q", got)
	}
	a.ok("a9 FETCH 1:3 FLAGS")
	for seq, want := range map[int]string{1: `\Flagged \Recent \Seen`, 2: `\Recent kw1`, 3: `\Draft \Recent`} {
		if got := a.fetchFlags(seq); got != want {
			t.Errorf("FETCH %d FLAGS: %q, want %q", seq, got, want)
		}
	}
}
