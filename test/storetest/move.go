package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

func testMove(t *testing.T, e *env) {
	e.user("u")
	e.create("u", "dest")
	e.append("u", "dest", "already there")
	r1 := e.append("u", "INBOX", "one\r\n", `\Seen`, "$Keep")
	r2 := e.append("u", "INBOX", "two\r\n")
	r3 := e.append("u", "INBOX", "three\r\n", `\Flagged`)
	other := e.handle() // a session in another process, on the source
	st, _, err := other.Snapshot(e.ctx, "u", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	mark := st.HighestModSeq
	destBefore := e.status("u", "dest")

	res, err := e.s.Move(e.ctx, "u", "INBOX", []imap.UID{r3.UID, r1.UID, r3.UID + 100}, "dest")
	if err != nil {
		t.Fatalf("Move: %v", err)
	}
	if res.UIDValidity != destBefore.UIDValidity || !slices.Equal(res.Source, []imap.UID{r1.UID, r3.UID}) ||
		len(res.Dest) != 2 || res.Dest[0] < destBefore.UIDNext || res.Dest[1] <= res.Dest[0] {
		t.Fatalf("Move result = %+v (dest before %+v)", res, destBefore)
	}
	recs, err := e.s.Fetch(e.ctx, "u", "dest", res.Dest)
	if err != nil || len(recs) != 2 {
		t.Fatalf("Fetch moved = %+v, %v", recs, err)
	}
	if !sameSet(recs[0].Flags, []string{`\Seen`, "$Keep"}) || !sameSet(recs[1].Flags, []string{`\Flagged`}) {
		t.Errorf("moved flags = %q, %q", recs[0].Flags, recs[1].Flags)
	}
	for _, r := range recs {
		if !r.InternalDate.Equal(date) {
			t.Errorf("moved %d internal date %v, want %v", r.UID, r.InternalDate, date)
		}
	}
	if got := e.read(e.s, "u", "dest", res.Dest[1]); got != "three\r\n" {
		t.Errorf("moved bytes = %q", got)
	}
	// The originals are gone although none had \Deleted.
	_, metas := e.snapshot("u", "INBOX")
	if got := uidsOf(metas); !slices.Equal(got, []imap.UID{r2.UID}) {
		t.Errorf("source after Move = %v, want [%d]", got, r2.UID)
	}
	if _, err := e.s.Open(e.ctx, "u", "INBOX", r1.UID); err == nil {
		t.Error("Open of a moved-away message succeeded")
	}
	if st := e.status("u", "dest"); st.Messages != 3 {
		t.Errorf("dest has %d messages, want 3", st.Messages)
	}
	// The other handle learns of the expunges.
	ch, err := other.ChangesSince(e.ctx, "u", "INBOX", mark)
	if err != nil {
		t.Fatalf("ChangesSince: %v", err)
	}
	if !slices.Equal(ch.Expunged, []imap.UID{r1.UID, r3.UID}) || ch.Status.Messages != 1 || ch.Status.HighestModSeq <= mark {
		t.Errorf("ChangesSince after Move = %+v", ch)
	}
	// A missing destination: TRYCREATE, and the source is untouched.
	before := e.status("u", "INBOX")
	_, err = e.s.Move(e.ctx, "u", "INBOX", []imap.UID{r2.UID}, "missing")
	wantKind(t, "Move to missing", err, imap.ErrTryCreate)
	if after := e.status("u", "INBOX"); after != before {
		t.Errorf("failed Move changed the source: %+v -> %+v", before, after)
	}
	if got := e.list("u"); slices.Contains(got, "missing") {
		t.Error("failed Move created the destination")
	}
	// Nothing to move.
	if res, err := e.s.Move(e.ctx, "u", "INBOX", []imap.UID{9999}, "dest"); err != nil || len(res.Dest) != 0 {
		t.Errorf("Move of missing UIDs = %+v, %v", res, err)
	}
	// Into the same mailbox: a new UID, the old one expunged.
	self, err := e.s.Move(e.ctx, "u", "INBOX", []imap.UID{r2.UID}, "INBOX")
	if err != nil || len(self.Dest) != 1 || self.Dest[0] <= r3.UID {
		t.Fatalf("Move to self = %+v, %v", self, err)
	}
	_, metas = e.snapshot("u", "INBOX")
	if got := uidsOf(metas); !slices.Equal(got, self.Dest) {
		t.Errorf("after Move to self: %v, want %v", got, self.Dest)
	}
	if got := e.read(e.s, "u", "INBOX", self.Dest[0]); got != "two\r\n" {
		t.Errorf("self-moved bytes = %q", got)
	}
	_, err = e.s.Move(e.ctx, "u", "nope", []imap.UID{1}, "dest")
	wantKind(t, "Move from missing", err, imap.ErrNonexistent)
}

// watchWithin is how long a watcher may take to wake after a change: the
// port promises a second; the suite allows some slack for loaded machines.
const watchWithin = 2 * time.Second

func testWatch(t *testing.T, e *env) {
	e.user("u")
	e.create("u", "box")
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	ch, err := e.s.Watch(ctx, "u", "box")
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	// Drain wake-ups caused by setting up; then a change through another
	// handle (another process) must wake the watcher.
	drain(ch, 100*time.Millisecond)
	other := e.handle()
	for i, change := range []func(){
		func() { e.appendTo(other, "u", "box", "new mail\r\n") },
		func() {
			_, metas, err := other.Snapshot(e.ctx, "u", "box")
			if err != nil || len(metas) == 0 {
				t.Fatalf("Snapshot: %v", err)
			}
			if _, err := other.UpdateFlags(e.ctx, "u", "box", []imap.UID{metas[0].UID}, ports.FlagsAdd, []string{imap.FlagSeen}); err != nil {
				t.Fatal(err)
			}
		},
	} {
		drain(ch, 50*time.Millisecond)
		change()
		select {
		case _, ok := <-ch:
			if !ok {
				t.Fatalf("change %d: channel closed before ctx ended", i)
			}
		case <-time.After(watchWithin):
			t.Fatalf("change %d: no wake-up within %v", i, watchWithin)
		}
	}
	_, err = e.s.Watch(ctx, "u", "nope")
	wantKind(t, "Watch of a missing mailbox", err, imap.ErrNonexistent)
	cancel()
	deadline := time.After(watchWithin)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("channel not closed after ctx was canceled")
		}
	}
}

// drain takes wake-ups until none comes for quiet.
func drain(ch <-chan struct{}, quiet time.Duration) {
	for {
		select {
		case <-ch:
		case <-time.After(quiet):
			return
		}
	}
}
