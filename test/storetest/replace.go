package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// RunReplace checks the promises of ports.Replacer (RFC 8508 REPLACE);
// it skips a store without it. RunReplaceCrash checks them across kills.
func RunReplace(t *testing.T, open Opener) {
	for _, tt := range []struct {
		name string
		fn   func(*testing.T, *env, ports.Replacer)
	}{
		{"SameMailbox", testReplaceSame},
		{"OtherMailbox", testReplaceOther},
		{"Failures", testReplaceFailures},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := &env{t: t, open: open, dir: t.TempDir(), ctx: t.Context()}
			e.s = e.handle()
			r, ok := e.s.(ports.Replacer)
			if !ok {
				t.Skip("the store does not replace")
			}
			tt.fn(t, e, r)
		})
	}
}

// A replacement in one mailbox: the result is as if the new message was
// appended and the old one expunged, seen so by another process too.
func testReplaceSame(t *testing.T, e *env, r ports.Replacer) {
	e.user("u")
	a := e.append("u", "INBOX", "a\r\n", `\Seen`)
	old := e.append("u", "INBOX", "draft 1\r\n", `\Draft`, "$Kept")
	c := e.append("u", "INBOX", "c\r\n", imap.FlagDeleted)
	other := e.handle()
	st0, _, err := other.Snapshot(e.ctx, "u", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Replace(e.ctx, "u", "INBOX", old.UID, "INBOX", newMessage("draft 2\r\n", `\Draft`, `\Seen`, "$New"))
	if err != nil {
		t.Fatalf("Replace: %v", err)
	}
	if res.UIDValidity != st0.UIDValidity || res.UID < st0.UIDNext {
		t.Errorf("Replace = %+v; mailbox had %+v", res, st0)
	}
	// The other \Deleted message stays: only the old one is expunged.
	_, metas := e.snapshot("u", "INBOX")
	if got := uidsOf(metas); !slices.Equal(got, []imap.UID{a.UID, c.UID, res.UID}) {
		t.Fatalf("after Replace: %v, want [%d %d %d]", got, a.UID, c.UID, res.UID)
	}
	if !sameSet(metas[2].Flags, []string{`\Draft`, `\Seen`, "$New"}) {
		t.Errorf("new message's flags = %q", metas[2].Flags)
	}
	if got := e.read(other, "u", "INBOX", res.UID); got != "draft 2\r\n" {
		t.Errorf("new message = %q", got)
	}
	if _, err := other.Open(e.ctx, "u", "INBOX", old.UID); err == nil {
		t.Error("the old message can still be opened")
	}
	recs, err := other.Fetch(e.ctx, "u", "INBOX", []imap.UID{res.UID})
	if err != nil || len(recs) != 1 || !recs[0].InternalDate.Equal(date) || string(recs[0].Structure) != "structure of draft 2\r\n" {
		t.Errorf("Fetch of the new message = %+v, %v", recs, err)
	}
	ch, err := other.ChangesSince(e.ctx, "u", "INBOX", st0.HighestModSeq)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ch.Expunged, []imap.UID{old.UID}) || !slices.Equal(uidsOf(ch.Updated), []imap.UID{res.UID}) ||
		ch.Status.Messages != 3 || ch.Status.UIDNext <= res.UID || ch.Status.HighestModSeq <= st0.HighestModSeq {
		t.Errorf("ChangesSince after Replace = %+v", ch)
	}
	// The old UID is gone for good: replacing it again fails.
	_, err = r.Replace(e.ctx, "u", "INBOX", old.UID, "INBOX", newMessage("draft 3\r\n"))
	wantKind(t, "Replace of a replaced message", err, imap.ErrNoMessage)
}

// A replacement into another mailbox (a draft that becomes a sent
// message): the new message is in dest, the old one gone from the source.
func testReplaceOther(t *testing.T, e *env, r ports.Replacer) {
	e.user("u")
	e.create("u", "Drafts", "Sent")
	e.append("u", "Sent", "earlier\r\n")
	old := e.append("u", "Drafts", "draft\r\n", `\Draft`)
	keep := e.append("u", "Drafts", "another draft\r\n", `\Draft`)
	sent0 := e.status("u", "Sent")
	res, err := r.Replace(e.ctx, "u", "Drafts", old.UID, "Sent", newMessage("sent\r\n", `\Seen`))
	if err != nil {
		t.Fatalf("Replace: %v", err)
	}
	if res.UIDValidity != sent0.UIDValidity || res.UID != sent0.UIDNext {
		t.Errorf("Replace = %+v; Sent had %+v", res, sent0)
	}
	other := e.handle()
	_, drafts, err := other.Snapshot(e.ctx, "u", "Drafts")
	if err != nil || !slices.Equal(uidsOf(drafts), []imap.UID{keep.UID}) {
		t.Errorf("Drafts after Replace = %v, %v; want [%d]", uidsOf(drafts), err, keep.UID)
	}
	_, sent, err := other.Snapshot(e.ctx, "u", "Sent")
	if err != nil || len(sent) != 2 || sent[1].UID != res.UID || !sameSet(sent[1].Flags, []string{`\Seen`}) {
		t.Errorf("Sent after Replace = %+v, %v", sent, err)
	}
	if got := e.read(other, "u", "Sent", res.UID); got != "sent\r\n" {
		t.Errorf("new message = %q", got)
	}
}

// A replacement that fails changes nothing, in either mailbox.
func testReplaceFailures(t *testing.T, e *env, r ports.Replacer) {
	e.user("u")
	e.create("u", "full")
	full := keywordsUpTo(imap.MaxKeywords)
	e.append("u", "full", "x\r\n", full...)
	old := e.append("u", "INBOX", "old\r\n", `\Seen`)
	gone := e.append("u", "INBOX", "gone\r\n", imap.FlagDeleted)
	if _, err := e.s.Expunge(e.ctx, "u", "INBOX", []imap.UID{gone.UID}); err != nil {
		t.Fatal(err)
	}
	before := func() string {
		var b []byte
		for _, box := range []string{"INBOX", "full"} {
			st, metas := e.snapshot("u", box)
			b = fmt.Appendf(b, "%s %+v %v; ", box, st, metas)
		}
		return string(b)
	}
	want := before()
	for _, tt := range []struct {
		what       string
		name, dest string
		old        imap.UID
		msg        ports.NewMessage
		kind       error
	}{
		{"a new keyword at dest's limit", "INBOX", "full", old.UID, newMessage("new\r\n", "$over"), imap.ErrLimit},
		{"a missing destination", "INBOX", "missing", old.UID, newMessage("new\r\n"), imap.ErrTryCreate},
		{"an expunged message", "INBOX", "INBOX", gone.UID, newMessage("new\r\n"), imap.ErrNoMessage},
		{"an expunged message to another mailbox", "INBOX", "full", gone.UID, newMessage("new\r\n"), imap.ErrNoMessage},
		{"a UID never used", "INBOX", "INBOX", old.UID + 100, newMessage("new\r\n"), imap.ErrNoMessage},
		{"a missing source", "missing", "INBOX", old.UID, newMessage("new\r\n"), imap.ErrNonexistent},
	} {
		_, err := r.Replace(e.ctx, "u", tt.name, tt.old, tt.dest, tt.msg)
		wantKind(t, "Replace with "+tt.what, err, tt.kind)
		if got := before(); got != want {
			t.Errorf("Replace with %s changed the store:\n%s\nwas\n%s", tt.what, got, want)
		}
	}
	if slices.Contains(e.list("u"), "missing") {
		t.Error("a failed Replace created its destination")
	}
	if got := e.read(e.s, "u", "INBOX", old.UID); got != "old\r\n" {
		t.Errorf("old message after the failures = %q", got)
	}
}
