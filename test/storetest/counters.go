package storetest

import (
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// testCountersOtherHandle checks that the counters Status and ChangesSince
// give through one handle follow every kind of change made through
// another (another process), however often the first one asked before:
// a store may keep counters between calls, never stale ones.
func testCountersOtherHandle(t *testing.T, e *env) {
	e.user("u")
	e.create("u", "other")
	reader := e.handle()
	check := func(step string, messages, unseen, recent uint32, size int64) {
		t.Helper()
		for range 2 { // the second time, from whatever the first kept
			st, err := reader.Status(e.ctx, "u", "INBOX")
			if err != nil {
				t.Fatalf("%s: Status: %v", step, err)
			}
			ch, err := reader.ChangesSince(e.ctx, "u", "INBOX", st.HighestModSeq)
			if err != nil {
				t.Fatalf("%s: ChangesSince: %v", step, err)
			}
			if st.Messages != messages || st.Unseen != unseen || st.Recent != recent || st.Size != size || ch.Status != st {
				t.Errorf("%s: Status %+v, ChangesSince's %+v; want %d messages, %d unseen, %d recent, size %d",
					step, st, ch.Status, messages, unseen, recent, size)
			}
		}
	}
	check("empty", 0, 0, 0, 0)
	a := e.append("u", "INBOX", "a")
	check("append", 1, 1, 1, 1)
	b := e.append("u", "INBOX", "bb", imap.FlagSeen)
	check("append seen", 2, 1, 2, 3)
	e.setFlags("u", "INBOX", ports.FlagsAdd, []string{imap.FlagSeen}, a.UID)
	check("flag seen", 2, 0, 2, 3)
	e.setFlags("u", "INBOX", ports.FlagsRemove, []string{imap.FlagSeen}, a.UID, b.UID)
	check("flags unseen", 2, 2, 2, 3)
	if _, _, err := e.s.ClaimRecent(e.ctx, "u", "INBOX"); err != nil {
		t.Fatal(err)
	}
	check("claim recent", 2, 2, 0, 3)
	if _, err := e.s.Copy(e.ctx, "u", "INBOX", []imap.UID{a.UID}, "other"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Copy(e.ctx, "u", "other", []imap.UID{1}, "INBOX"); err != nil {
		t.Fatal(err)
	}
	check("copy in", 3, 3, 1, 4)
	if _, err := e.s.Move(e.ctx, "u", "INBOX", []imap.UID{b.UID}, "other"); err != nil {
		t.Fatal(err)
	}
	check("move out", 2, 2, 1, 2)
	e.setFlags("u", "INBOX", ports.FlagsAdd, []string{imap.FlagDeleted}, a.UID)
	if _, err := e.s.Expunge(e.ctx, "u", "INBOX", nil); err != nil {
		t.Fatal(err)
	}
	check("expunge", 1, 1, 1, 1)
	// The mailbox deleted and made again, empty.
	if err := e.s.RenameMailbox(e.ctx, "u", "INBOX", "old"); err != nil {
		t.Fatal(err)
	}
	e.user("u")
	check("INBOX renamed away", 0, 0, 0, 0)
	// A mailbox deleted and made again under the same name is empty.
	if st, err := reader.Status(e.ctx, "u", "other"); err != nil || st.Messages != 2 {
		t.Errorf("other: Status %+v, %v; want 2 messages", st, err)
	}
	for _, name := range []string{"old", "other"} {
		if err := e.s.DeleteMailbox(e.ctx, "u", name); err != nil {
			t.Fatal(err)
		}
	}
	e.create("u", "other")
	if st, err := reader.Status(e.ctx, "u", "other"); err != nil || st.Messages != 0 || st.Size != 0 {
		t.Errorf("other made again: Status %+v, %v; want it empty", st, err)
	}
}
