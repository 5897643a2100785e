package e2e

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/auth/sasl"
	"github.com/imapd-go/imapd/adapters/telemetry/filelog"
	"github.com/imapd-go/imapd/app"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/sortkey"
	"github.com/imapd-go/imapd/ports"
)

// restarted is e's store served by a new process: the same files, none
// of the first server's caches.
func (e *env) restarted() *env {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	auth := sasl.New(sasl.Options{MechList: []string{"PLAIN", "LOGIN"}, AllowPlaintext: true}, sasl.Open(e.dir))
	next := *e
	next.srv = app.New(app.Options{ConfigDir: e.dir, ServerName: "test.example", MultiSession: e2eMode() == "multi"},
		e.store, auth, filelog.New(e.dir, "imap", logger), logger)
	next.multi = nil // in the multi-session mode, the new server listens on its own socket
	return &next
}

// storedSortRecords decodes the list the store keeps for alice's INBOX.
func storedSortRecords(t *testing.T, e *env, want []imap.UID) ([]imap.UID, []sortkey.Record) {
	t.Helper()
	sr, ok := e.store.(ports.SortRecords)
	if !ok {
		t.Fatal("the store keeps no sort records")
	}
	// The server saves the list after it has answered the SORT: wait a
	// little for the list wanted before taking what there is.
	// A list it finds unreadable may be one the test damaged, not yet
	// replaced.
	var uids []imap.UID
	var recs []sortkey.Record
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, data, err := sr.LoadSortRecords(e.ctx, "alice", "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		var decodeErr error
		uids, recs = nil, nil
		if data != nil {
			uids, recs, decodeErr = sortkey.DecodeRecords(data)
		}
		if decodeErr == nil && slices.Equal(uids, want) {
			return uids, recs
		}
		if time.Now().After(deadline) {
			if decodeErr != nil {
				t.Fatalf("the stored list: %v", decodeErr)
			}
			return uids, recs
		}
	}
}

// TestSortRecordsStored: the first SORT of a mailbox saves its sort
// records in the store, and a new process sorts from them without
// reading the messages' structures again; records of messages that came
// later are computed and added, those of expunged ones dropped, and a
// list that cannot be read is computed again.
func TestSortRecordsStored(t *testing.T) {
	// Messages stored before each kept its record: through a store that
	// drops the records APPEND gives.
	e := newEnv(t)
	e.store = withoutMessageRecords{e.store, e.store.(ports.SortRecords)}
	e = e.restarted()
	tc := sortMailboxOn(e)
	sorts := []struct{ cmd, want string }{
		{"a SORT (ARRIVAL) UTF-8 ALL", "* SORT 4 1 3 2 5"},
		{"a SORT (DATE) UTF-8 ALL", "* SORT 5 2 4 3 1"},
		{"a SORT (SUBJECT) UTF-8 ALL", "* SORT 2 4 1 3 5"},
		{"a SORT (FROM) UTF-8 ALL", "* SORT 1 3 2 4 5"},
		{"a SORT (DISPLAYTO) UTF-8 ALL", "* SORT 4 3 5 1 2"},
		{"a SORT (CC SUBJECT) UTF-8 ALL", "* SORT 4 1 3 5 2"},
		{"a SORT (SIZE) UTF-8 ALL", "* SORT 4 2 1 3 5"},
		{"a THREAD REFERENCES UTF-8 ALL", "* THREAD (5)(2 4)(3 1)"},
		{"a THREAD ORDEREDSUBJECT UTF-8 ALL", "* THREAD (5)(2 4)(3 1)"},
	}
	check := func(tc *transcript, when string) {
		t.Helper()
		for _, c := range sorts {
			tc.ok(c.cmd)
			prefix := c.want[:6]
			if got := tc.withPrefix(prefix); len(got) != 1 || got[0] != c.want {
				t.Errorf("%s: %s: got %q, want %q", when, c.cmd, got, c.want)
			}
		}
	}
	check(tc, "first process")
	uids, recs := storedSortRecords(t, e, []imap.UID{2, 3, 4, 5, 6})
	if !slices.Equal(uids, []imap.UID{2, 3, 4, 5, 6}) {
		t.Fatalf("stored list of UIDs %v, want 2:6", uids)
	}

	// A new process sorts from the list as stored: a record changed in
	// it shows in the answer (the message's Subject is "Re: banana").
	e2 := e.restarted()
	tc2 := e2.rawLogin("alice")
	tc2.ok("b1 SELECT INBOX")
	check(tc2, "second process")
	ptrs := make([]*sortkey.Record, len(recs))
	for i := range recs {
		ptrs[i] = &recs[i]
	}
	changed := recs[0]
	changed.Subject = sortkey.Collate("zzz")
	ptrs[0] = &changed
	sr := e.store.(ports.SortRecords)
	if err := sr.SaveSortRecords(e.ctx, "alice", "INBOX", statusOf(t, e).UIDValidity, sortkey.AppendRecords(nil, uids, ptrs)); err != nil {
		t.Fatal(err)
	}
	tc3 := e.restarted().rawLogin("alice")
	tc3.ok("c1 SELECT INBOX")
	tc3.ok("c2 SORT (SUBJECT) UTF-8 ALL")
	tc3.mustHave("* SORT 2 4 3 5 1")

	// Later messages are computed from their structures; expunged ones
	// leave the list when it is saved again. A damaged list is computed
	// again.
	if err := sr.SaveSortRecords(e.ctx, "alice", "INBOX", statusOf(t, e).UIDValidity, []byte{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	tc4 := e.restarted().rawLogin("alice")
	tc4.ok(`d1 APPEND INBOX "06-Feb-2024 10:00:00 +0000" ` + literal(sortMail("Re: apple", "gil@x.example", "", "",
		"Tue, 2 Jan 2024 10:00:00 +0000", "<a3@x>", "", 5)))
	tc4.ok("d2 SELECT INBOX")
	tc4.ok("d3 STORE 3 +FLAGS (\\Deleted)")
	tc4.ok("d4 EXPUNGE")
	// Now: 1 Re: banana, 2 apple, 3 [list] Re: apple, 4 éclair, 5 Re: apple (new).
	tc4.ok("d5 SORT (SUBJECT) UTF-8 ALL")
	tc4.mustHave("* SORT 2 3 5 1 4")
	uids, _ = storedSortRecords(t, e, []imap.UID{2, 3, 5, 6, 7})
	if !slices.Equal(uids, []imap.UID{2, 3, 5, 6, 7}) {
		t.Errorf("list saved again holds UIDs %v, want 2 3 5 6 7", uids)
	}
	tc5 := e.restarted().rawLogin("alice")
	tc5.ok("e1 SELECT INBOX")
	tc5.ok("e2 THREAD REFERENCES UTF-8 ALL")
	tc5.mustHave("* THREAD (4)(2 (5)(3))(1)")
}

// withoutMessageRecords is a store as it was before messages kept their
// sort records: it drops them at APPEND (and offers no other optional
// interface than the saved lists).
type withoutMessageRecords struct {
	ports.Store
	ports.SortRecords
}

func (w withoutMessageRecords) Append(ctx context.Context, user, name string, msg ports.NewMessage) (ports.AppendResult, error) {
	msg.SortRecord = nil
	return w.Store.Append(ctx, user, name, msg)
}

func (w withoutMessageRecords) AppendAll(ctx context.Context, user, name string, msgs []ports.NewMessage) ([]ports.AppendResult, error) {
	for i := range msgs {
		msgs[i].SortRecord = nil
	}
	return w.Store.AppendAll(ctx, user, name, msgs)
}

// TestSortRecordsAtAppend: APPEND gives the store each message's sort
// record, so that the first SORT or THREAD of a process reads them and
// computes none (and saves them as the mailbox's list); COPY and MOVE
// carry them.
func TestSortRecordsAtAppend(t *testing.T) {
	e, tc := sortMailbox(t)
	perMsg, ok := e.store.(ports.MessageSortRecords)
	if !ok {
		t.Fatal("the store keeps no records per message")
	}
	_, uids, recs, err := perMsg.MessageSortRecords(e.ctx, "alice", "INBOX", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(uids, []imap.UID{2, 3, 4, 5, 6}) {
		t.Fatalf("records kept of UIDs %v, want 2:6", uids)
	}
	for i, data := range recs {
		var r sortkey.Record
		if _, err := sortkey.DecodeRecord(data, &r, nil); err != nil {
			t.Errorf("record of UID %d: %v", uids[i], err)
		}
	}
	tc.ok("c1 CREATE other")
	tc.ok("c2 COPY 1:2 other")
	tc.ok("c3 MOVE 3 other")
	// A new process answers as the first, which had every record at
	// hand, and as the messages say: in INBOX 1 banana, 2 and 3 apple,
	// 4 éclair; in other 1 and 3 banana, 2 apple.
	answers := func(tc *transcript, box string) []string {
		tc.ok("a1 SELECT " + box)
		tc.ok("a2 SORT (SUBJECT) UTF-8 ALL")
		got := tc.withPrefix("* SORT")
		tc.ok("a3 THREAD REFERENCES UTF-8 ALL")
		return append(got, tc.withPrefix("* THREAD")...)
	}
	wantSort := map[string]string{"INBOX": "* SORT 2 3 1 4", "other": "* SORT 2 1 3"}
	for _, box := range []string{"INBOX", "other"} {
		first := answers(tc, box)
		again := answers(e.restarted().rawLogin("alice"), box)
		if !slices.Equal(first, again) || len(again) != 2 || again[0] != wantSort[box] {
			t.Errorf("%s: a new process answers %q, the first %q (SORT wanted %q)", box, again, first, wantSort[box])
		}
	}
	// The first SORT of each mailbox saved its list, with every record
	// read per message, so that the next process reads the list alone.
	// The save follows the answer (saveStoredSortRecords): wait for it.
	for _, box := range []string{"INBOX", "other"} {
		var data []byte
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			var err error
			if _, data, err = e.store.(ports.SortRecords).LoadSortRecords(e.ctx, "alice", box); err != nil {
				t.Fatal(err)
			}
			if data != nil || time.Now().After(deadline) {
				break
			}
		}
		listed, _, err := sortkey.DecodeRecords(data)
		_, kept, _, err2 := perMsg.MessageSortRecords(e.ctx, "alice", box, 0)
		if err != nil || err2 != nil || !slices.Equal(listed, kept) {
			t.Errorf("%s: list of UIDs %v (%v), kept per message %v (%v)", box, listed, err, kept, err2)
		}
	}
	if _, uids, _, err := perMsg.MessageSortRecords(e.ctx, "alice", "other", 0); err != nil || len(uids) != 3 {
		t.Errorf("records kept in other: %v, %v", uids, err)
	}
}

func statusOf(t *testing.T, e *env) ports.MailboxStatus {
	t.Helper()
	st, err := e.store.Status(e.ctx, "alice", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return st
}
