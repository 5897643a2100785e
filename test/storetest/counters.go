package storetest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

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

// testFetchAfterOtherHandle checks that the records Fetch gives through
// one handle follow changes made through another, however often the
// first one fetched before: new messages, flags, expunges, and a mailbox
// made again under the same name, whose new messages reuse the old UIDs.
func testFetchAfterOtherHandle(t *testing.T, e *env) {
	e.user("u")
	e.create("u", "box")
	reader := e.handle()
	check := func(step string, want map[imap.UID]string) {
		t.Helper()
		for range 2 { // the second time, from whatever the first kept
			recs, err := reader.Fetch(e.ctx, "u", "box", []imap.UID{1, 2, 3, 4, 5})
			if err != nil {
				t.Fatalf("%s: Fetch: %v", step, err)
			}
			got := map[imap.UID]string{}
			for _, r := range recs {
				got[r.UID] = string(r.Structure)
				if len(r.Flags) > 0 {
					got[r.UID] += " " + strings.Join(r.Flags, " ")
				}
			}
			if !maps.Equal(got, want) {
				t.Errorf("%s: structures %v, want %v", step, got, want)
			}
		}
	}
	a := e.append("u", "box", "a")
	b := e.append("u", "box", "b")
	check("two", map[imap.UID]string{a.UID: "structure of a", b.UID: "structure of b"})
	c := e.append("u", "box", "c")
	check("one more", map[imap.UID]string{a.UID: "structure of a", b.UID: "structure of b", c.UID: "structure of c"})
	e.setFlags("u", "box", ports.FlagsAdd, []string{imap.FlagFlagged}, c.UID)
	check("flagged", map[imap.UID]string{a.UID: "structure of a", b.UID: "structure of b", c.UID: `structure of c \Flagged`})
	e.setFlags("u", "box", ports.FlagsRemove, []string{imap.FlagFlagged}, c.UID)
	e.setFlags("u", "box", ports.FlagsAdd, []string{imap.FlagDeleted}, b.UID)
	if _, err := e.s.Expunge(e.ctx, "u", "box", nil); err != nil {
		t.Fatal(err)
	}
	check("expunge", map[imap.UID]string{a.UID: "structure of a", c.UID: "structure of c"})
	if err := e.s.DeleteMailbox(e.ctx, "u", "box"); err != nil {
		t.Fatal(err)
	}
	e.create("u", "box")
	x := e.append("u", "box", "x")
	y := e.append("u", "box", "y")
	if x.UID != a.UID {
		t.Logf("the new mailbox starts at UID %d, not %d", x.UID, a.UID)
	}
	check("made again", map[imap.UID]string{x.UID: "structure of x", y.UID: "structure of y"})
}

// testFetchPieces checks that records fetched piece by piece through one
// handle, in spans with gaps between them as a FETCH of a big mailbox in
// batches asks, then again in other pieces, are what a fresh handle reads:
// no message left out of a span, none added, flags as they are now.
func testFetchPieces(t *testing.T, e *env) {
	e.user("u")
	var uids []imap.UID
	for i := range 14 {
		uids = append(uids, e.append("u", "INBOX", fmt.Sprintf("message %d", i)).UID)
	}
	e.setFlags("u", "INBOX", ports.FlagsAdd, []string{imap.FlagDeleted}, uids[3], uids[10])
	if _, err := e.s.Expunge(e.ctx, "u", "INBOX", nil); err != nil {
		t.Fatal(err)
	}
	reader := e.handle()
	describe := func(recs []ports.MessageRecord) []string {
		var out []string
		for _, r := range recs {
			out = append(out, fmt.Sprintf("%d %q %d %s %d %s", r.UID, r.Flags, r.ModSeq,
				r.InternalDate.Format(time.RFC3339), r.Size, r.Structure))
		}
		return out
	}
	check := func(step string, want ...imap.UID) {
		t.Helper()
		got, err := reader.Fetch(e.ctx, "u", "INBOX", want)
		if err != nil {
			t.Fatalf("%s: Fetch: %v", step, err)
		}
		fresh, err := e.handle().Fetch(e.ctx, "u", "INBOX", want)
		if err != nil {
			t.Fatalf("%s: Fetch through a fresh handle: %v", step, err)
		}
		if g, w := describe(got), describe(fresh); !slices.Equal(g, w) {
			t.Errorf("%s: Fetch = %q, want %q", step, g, w)
		}
	}
	check("first batch", uids[0], uids[1], uids[2])
	check("far after it", uids[12], uids[13])
	check("between", uids[6])
	check("first batch again", uids[0], uids[1], uids[2])
	check("second batch, a gap before it", uids[5], uids[6], uids[7], uids[8])
	check("the gap", uids[4])
	check("an expunged one", uids[3])
	check("all", uids...)
	check("beyond the end", uids[12], uids[13], uids[13]+1, uids[13]+50)
	check("a few", uids[1], uids[4], uids[11], uids[13])
	e.setFlags("u", "INBOX", ports.FlagsAdd, []string{"$seen-elsewhere"}, uids[4])
	check("flag set elsewhere", uids[4])
	check("all, after", uids...)
	e.append("u", "INBOX", "one more")
	check("one more", append(uids, uids[13]+1)...)
}
