// Package storetest is the contract suite for ports.Store: every promise the
// port documents, checked against any adapter. A third party proves its
// backend conforms by calling Run from its own tests with a function that
// opens the backend; see the example. The suite uses only the port and the
// domain vocabulary, so it never depends on a particular adapter.
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// Opener opens the store kept in dir, creating it empty if dir holds none.
// Every call on the same dir must open the same data, as a second process
// would. Run closes every store it opens.
type Opener func(t testing.TB, dir string) ports.Store

// Run checks every promise of ports.Store against the stores open returns,
// one subtest per promise.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"EnsureUser", testEnsureUser},
		{"DeleteUser", testDeleteUser},
		{"CreateListDelete", testCreateListDelete},
		{"InvalidNames", testInvalidNames},
		{"Rename", testRename},
		{"RenameInbox", testRenameInbox},
		{"Subscriptions", testSubscriptions},
		{"SpecialUse", testSpecialUse},
		{"SaveDate", testSaveDate},
		{"AppendAll", testAppendAll},
		{"AppendAndRead", testAppendAndRead},
		{"FetchRecordsStay", testFetchRecordsStay},
		{"FetchStructures", testFetchStructures},
		{"AppendSizeMismatch", testAppendSizeMismatch},
		{"RandomAccess", testRandomAccess},
		{"UIDsNeverReused", testUIDsNeverReused},
		{"UIDValidity", testUIDValidity},
		{"ModSeqRises", testModSeqRises},
		{"UpdateFlags", testUpdateFlags},
		{"KeywordLimit", testKeywordLimit},
		{"KeywordLimitRace", testKeywordLimitRace},
		{"Expunge", testExpunge},
		{"Copy", testCopy},
		{"Move", testMove},
		{"Watch", testWatch},
		{"WatchUser", testWatchUser},
		{"ChangesSinceOtherHandle", testChangesSince},
		{"CountersOtherHandle", testCountersOtherHandle},
		{"CountersRandom", testCountersRandom},
		{"FetchAfterOtherHandle", testFetchAfterOtherHandle},
		{"FetchPieces", testFetchPieces},
		{"ClaimRecent", testClaimRecent},
		{"LargeMessage", testLargeMessage},
		{"Concurrency", testConcurrency},
		{"ContextCanceled", testContextCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &env{t: t, open: open, dir: t.TempDir(), ctx: context.Background()}
			e.s = e.handle()
			tt.fn(t, e)
		})
	}
}

// env is one subtest's store directory and its first handle.
type env struct {
	t    *testing.T
	open Opener
	dir  string
	ctx  context.Context
	s    ports.Store
}

// handle opens another handle on the same directory (another process's
// view of the same data).
func (e *env) handle() ports.Store {
	e.t.Helper()
	s := e.open(e.t, e.dir)
	if s == nil {
		e.t.Fatal("Opener returned a nil store")
	}
	e.t.Cleanup(func() { s.Close() })
	return s
}

func (e *env) user(name string) {
	e.t.Helper()
	if err := e.s.EnsureUser(e.ctx, name); err != nil {
		e.t.Fatalf("EnsureUser(%q): %v", name, err)
	}
}

func (e *env) create(user string, names ...string) {
	e.t.Helper()
	for _, n := range names {
		if err := e.s.CreateMailbox(e.ctx, user, n); err != nil {
			e.t.Fatalf("CreateMailbox(%q): %v", n, err)
		}
	}
}

// date is a fixed internal date with a zone, as APPEND gives them.
var date = time.Date(2024, 3, 9, 17, 4, 5, 0, time.FixedZone("", 2*3600))

func newMessage(body string, flags ...string) ports.NewMessage {
	return ports.NewMessage{
		Flags:        flags,
		InternalDate: date,
		Size:         int64(len(body)),
		Body:         strings.NewReader(body),
		Structure:    []byte("structure of " + body),
	}
}

func (e *env) appendTo(s ports.Store, user, box, body string, flags ...string) ports.AppendResult {
	e.t.Helper()
	r, err := s.Append(e.ctx, user, box, newMessage(body, flags...))
	if err != nil {
		e.t.Fatalf("Append to %q: %v", box, err)
	}
	return r
}

func (e *env) append(user, box, body string, flags ...string) ports.AppendResult {
	e.t.Helper()
	return e.appendTo(e.s, user, box, body, flags...)
}

func (e *env) status(user, box string) ports.MailboxStatus {
	e.t.Helper()
	st, err := e.s.Status(e.ctx, user, box)
	if err != nil {
		e.t.Fatalf("Status(%q): %v", box, err)
	}
	return st
}

func (e *env) snapshot(user, box string) (ports.MailboxStatus, []ports.MessageMeta) {
	e.t.Helper()
	st, metas, err := e.s.Snapshot(e.ctx, user, box)
	if err != nil {
		e.t.Fatalf("Snapshot(%q): %v", box, err)
	}
	return st, metas
}

func (e *env) list(user string) []string {
	e.t.Helper()
	infos, err := e.s.ListMailboxes(e.ctx, user)
	if err != nil {
		e.t.Fatalf("ListMailboxes: %v", err)
	}
	names := []string{}
	for _, i := range infos {
		names = append(names, i.Name)
	}
	return names
}

// read returns a message's bytes through Open.
func (e *env) read(s ports.Store, user, box string, uid imap.UID) string {
	e.t.Helper()
	b, err := s.Open(e.ctx, user, box, uid)
	if err != nil {
		e.t.Fatalf("Open(%q, %d): %v", box, uid, err)
	}
	defer b.Close()
	data, err := io.ReadAll(io.NewSectionReader(b, 0, b.Size()))
	if err != nil {
		e.t.Fatalf("reading %q %d: %v", box, uid, err)
	}
	return string(data)
}

func (e *env) setFlags(user, box string, op ports.FlagOp, flags []string, uids ...imap.UID) []ports.MessageMeta {
	e.t.Helper()
	metas, err := e.s.UpdateFlags(e.ctx, user, box, uids, op, flags)
	if err != nil {
		e.t.Fatalf("UpdateFlags: %v", err)
	}
	return metas
}

func uidsOf(metas []ports.MessageMeta) []imap.UID {
	out := []imap.UID{}
	for _, m := range metas {
		out = append(out, m.UID)
	}
	return out
}

func wantKind(t *testing.T, what string, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Errorf("%s: error %v, want kind %q", what, err, kind)
	}
}

// sameSet compares flag lists without regard to order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func testEnsureUser(t *testing.T, e *env) {
	e.user("alice")
	st := e.status("alice", "INBOX")
	if st.Messages != 0 || st.UIDValidity == 0 || st.UIDNext == 0 {
		t.Errorf("new INBOX status = %+v", st)
	}
	e.append("alice", "INBOX", "hello\r\n")
	e.user("alice") // idempotent: nothing lost, nothing renewed
	if got := e.list("alice"); !slices.Equal(got, []string{"INBOX"}) {
		t.Errorf("mailboxes = %q, want [INBOX]", got)
	}
	st2 := e.status("alice", "INBOX")
	if st2.Messages != 1 || st2.UIDValidity != st.UIDValidity {
		t.Errorf("after second EnsureUser: %+v, was %+v", st2, st)
	}
	// Users are independent.
	e.user("bob")
	e.create("alice", "Private")
	if got := e.list("bob"); !slices.Equal(got, []string{"INBOX"}) {
		t.Errorf("bob's mailboxes = %q", got)
	}
	if st := e.status("bob", "INBOX"); st.Messages != 0 {
		t.Errorf("bob's INBOX has %d messages", st.Messages)
	}
}

func testDeleteUser(t *testing.T, e *env) {
	e.user("alice")
	e.create("alice", "a/b")
	e.append("alice", "INBOX", "x\r\n")
	if err := e.s.SetSubscribed(e.ctx, "alice", "a", true); err != nil {
		t.Fatal(err)
	}
	v := e.status("alice", "INBOX").UIDValidity
	if err := e.s.DeleteUser(e.ctx, "alice"); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if got := e.list("alice"); len(got) != 0 {
		t.Errorf("mailboxes after DeleteUser = %q", got)
	}
	subs, err := e.s.Subscriptions(e.ctx, "alice")
	if err != nil || len(subs) != 0 {
		t.Errorf("subscriptions after DeleteUser = %q, %v", subs, err)
	}
	if err := e.s.DeleteUser(e.ctx, "nobody"); err != nil {
		t.Errorf("DeleteUser of a missing user: %v", err)
	}
	e.user("alice")
	st := e.status("alice", "INBOX")
	if st.Messages != 0 || st.UIDValidity == v {
		t.Errorf("recreated INBOX: %+v (old UIDVALIDITY %d)", st, v)
	}
}

func testCreateListDelete(t *testing.T, e *env) {
	e.user("u")
	e.create("u", "b/c/d", "a", "Zeta", "a.b")
	want := []string{"INBOX", "Zeta", "a", "a.b", "b", "b/c", "b/c/d"}
	if got := e.list("u"); !slices.Equal(got, want) {
		t.Fatalf("list = %q, want %q", got, want)
	}
	for _, n := range []string{"a", "b/c", "INBOX"} {
		wantKind(t, "create existing "+n, e.s.CreateMailbox(e.ctx, "u", n), imap.ErrAlreadyExists)
	}
	// Deleting a parent leaves its children.
	if err := e.s.DeleteMailbox(e.ctx, "u", "b/c"); err != nil {
		t.Fatalf("DeleteMailbox: %v", err)
	}
	want = []string{"INBOX", "Zeta", "a", "a.b", "b", "b/c/d"}
	if got := e.list("u"); !slices.Equal(got, want) {
		t.Fatalf("after delete: %q, want %q", got, want)
	}
	wantKind(t, "delete missing", e.s.DeleteMailbox(e.ctx, "u", "b/c"), imap.ErrNonexistent)
	wantKind(t, "delete INBOX", e.s.DeleteMailbox(e.ctx, "u", "INBOX"), imap.ErrCannot)
	wantKind(t, "status missing", func() error { _, err := e.s.Status(e.ctx, "u", "nope"); return err }(), imap.ErrNonexistent)
	// A deleted mailbox takes its messages with it.
	e.append("u", "a", "one\r\n")
	if err := e.s.DeleteMailbox(e.ctx, "u", "a"); err != nil {
		t.Fatal(err)
	}
	e.create("u", "a")
	if st := e.status("u", "a"); st.Messages != 0 {
		t.Errorf("recreated mailbox has %d messages", st.Messages)
	}
	// Names are case-sensitive (apart from INBOX, which callers normalise).
	e.create("u", "zeta")
	if got := e.list("u"); !slices.Contains(got, "zeta") || !slices.Contains(got, "Zeta") {
		t.Errorf("list = %q, want both Zeta and zeta", got)
	}
}

func testInvalidNames(t *testing.T, e *env) {
	e.user("u")
	e.create("u", "ok")
	// Every store holds the same names (imap.CheckMailboxName), so that
	// mailboxes move between stores: no "." or ".." level either, even
	// where a level is no file name.
	bad := []string{"", "/", "a//b", "/a", "a/", "a\x00b", "a\rb", "a\nb", "a\tb", "a\x7fb",
		strings.Repeat("x", 1025), ".", "..", "INBOX/..", "INBOX/.", "../u", "a/./b", "a/../b", "ok/..", "./ok"}
	for _, n := range bad {
		wantKind(t, fmt.Sprintf("create %q", n), e.s.CreateMailbox(e.ctx, "u", n), imap.ErrInvalidName)
		wantKind(t, fmt.Sprintf("rename to %q", n), e.s.RenameMailbox(e.ctx, "u", "ok", n), imap.ErrInvalidName)
		wantKind(t, fmt.Sprintf("subscribe %q", n), e.s.SetSubscribed(e.ctx, "u", n, true), imap.ErrInvalidName)
		// A name no mailbox can have is found nowhere.
		_, err := e.s.Status(e.ctx, "u", n)
		wantKind(t, fmt.Sprintf("status %q", n), err, imap.ErrNonexistent)
		_, _, err = e.s.Snapshot(e.ctx, "u", n)
		wantKind(t, fmt.Sprintf("snapshot %q", n), err, imap.ErrNonexistent)
		wantKind(t, fmt.Sprintf("delete %q", n), e.s.DeleteMailbox(e.ctx, "u", n), imap.ErrNonexistent)
		wantKind(t, fmt.Sprintf("rename %q", n), e.s.RenameMailbox(e.ctx, "u", n, "fresh"), imap.ErrNonexistent)
	}
	if subs, err := e.s.Subscriptions(e.ctx, "u"); err != nil || len(subs) != 0 {
		t.Errorf("subscriptions = %q, %v; want none", subs, err)
	}
	if got := e.list("u"); !slices.Equal(got, []string{"INBOX", "ok"}) {
		t.Errorf("invalid names left mailboxes behind: %q", got)
	}
	good := []string{"Entwürfe", "with space", "[Gmail]/Sent Mail", "&-", strings.Repeat("y", 1024), "INBOX/child",
		".hidden", "...", "a./.b", "x..y/%2E"}
	for _, n := range good {
		if err := e.s.CreateMailbox(e.ctx, "u", n); err != nil {
			t.Errorf("create %q: %v", n, err)
		}
	}
}

func testRename(t *testing.T, e *env) {
	e.user("u")
	e.create("u", "a/b/c", "ab", "other")
	e.append("u", "a/b", "first\r\n", `\Flagged`, "$Work")
	r2 := e.append("u", "a/b", "second\r\n")
	before := e.status("u", "a/b")
	if err := e.s.RenameMailbox(e.ctx, "u", "a", "x/y"); err != nil {
		t.Fatalf("RenameMailbox: %v", err)
	}
	want := []string{"INBOX", "ab", "other", "x", "x/y", "x/y/b", "x/y/b/c"}
	if got := e.list("u"); !slices.Equal(got, want) {
		t.Fatalf("list = %q, want %q", got, want)
	}
	after, metas := e.snapshot("u", "x/y/b")
	if after.UIDValidity != before.UIDValidity || after.UIDNext != before.UIDNext || after.Messages != 2 {
		t.Errorf("renamed status = %+v, was %+v", after, before)
	}
	if len(metas) != 2 || !sameSet(metas[0].Flags, []string{`\Flagged`, "$Work"}) {
		t.Errorf("renamed messages = %+v", metas)
	}
	if got := e.read(e.s, "u", "x/y/b", r2.UID); got != "second\r\n" {
		t.Errorf("renamed message = %q", got)
	}
	wantKind(t, "old name", func() error { _, err := e.s.Status(e.ctx, "u", "a/b"); return err }(), imap.ErrNonexistent)
	wantKind(t, "rename missing", e.s.RenameMailbox(e.ctx, "u", "nope", "z"), imap.ErrNonexistent)
	wantKind(t, "rename onto existing", e.s.RenameMailbox(e.ctx, "u", "ab", "other"), imap.ErrAlreadyExists)
	wantKind(t, "rename onto INBOX", e.s.RenameMailbox(e.ctx, "u", "ab", "INBOX"), imap.ErrAlreadyExists)
	// The next UID after a rename still follows every earlier one.
	if r := e.append("u", "x/y/b", "third\r\n"); r.UID <= r2.UID || r.UIDValidity != before.UIDValidity {
		t.Errorf("append after rename = %+v, previous UID %d", r, r2.UID)
	}
}

func testRenameInbox(t *testing.T, e *env) {
	e.user("u")
	e.create("u", "INBOX/kept")
	e.append("u", "INBOX", "one\r\n", `\Seen`)
	e.append("u", "INBOX", "two\r\n", "$Later")
	before := e.status("u", "INBOX")
	if err := e.s.RenameMailbox(e.ctx, "u", "INBOX", "Old/Mail"); err != nil {
		t.Fatalf("RenameMailbox(INBOX): %v", err)
	}
	want := []string{"INBOX", "INBOX/kept", "Old", "Old/Mail"}
	if got := e.list("u"); !slices.Equal(got, want) {
		t.Fatalf("list = %q, want %q", got, want)
	}
	in := e.status("u", "INBOX")
	if in.Messages != 0 || in.UIDValidity != before.UIDValidity || in.UIDNext != before.UIDNext {
		t.Errorf("INBOX after rename = %+v, before %+v", in, before)
	}
	st, metas := e.snapshot("u", "Old/Mail")
	if st.Messages != 2 || len(metas) != 2 {
		t.Fatalf("Old/Mail has %d messages", st.Messages)
	}
	if !sameSet(metas[0].Flags, []string{`\Seen`}) || !sameSet(metas[1].Flags, []string{"$Later"}) {
		t.Errorf("moved flags = %+v", metas)
	}
	if a, b := e.read(e.s, "u", "Old/Mail", metas[0].UID), e.read(e.s, "u", "Old/Mail", metas[1].UID); a != "one\r\n" || b != "two\r\n" {
		t.Errorf("moved messages = %q, %q", a, b)
	}
	if r := e.append("u", "INBOX", "three\r\n"); r.UID < before.UIDNext {
		t.Errorf("INBOX reused UID %d (UIDNEXT was %d)", r.UID, before.UIDNext)
	}
}

func testSubscriptions(t *testing.T, e *env) {
	e.user("u")
	e.create("u", "a")
	for _, n := range []string{"b", "a", "does/not/exist", "a"} {
		if err := e.s.SetSubscribed(e.ctx, "u", n, true); err != nil {
			t.Fatalf("subscribe %q: %v", n, err)
		}
	}
	subs, err := e.s.Subscriptions(e.ctx, "u")
	if err != nil || !slices.Equal(subs, []string{"a", "b", "does/not/exist"}) {
		t.Fatalf("Subscriptions = %q, %v", subs, err)
	}
	for _, n := range []string{"a", "never"} {
		if err := e.s.SetSubscribed(e.ctx, "u", n, false); err != nil {
			t.Fatalf("unsubscribe %q: %v", n, err)
		}
	}
	subs, err = e.s.Subscriptions(e.ctx, "u")
	if err != nil || !slices.Equal(subs, []string{"b", "does/not/exist"}) {
		t.Fatalf("Subscriptions = %q, %v", subs, err)
	}
	other, err := e.s.Subscriptions(e.ctx, "someone-else")
	if err != nil || len(other) != 0 {
		t.Errorf("another user's subscriptions = %q, %v", other, err)
	}
}

// specialUseOf returns the special-use attributes ListMailboxes reports.
func (e *env) specialUseOf(s ports.Store, user, name string) []string {
	e.t.Helper()
	infos, err := s.ListMailboxes(e.ctx, user)
	if err != nil {
		e.t.Fatalf("ListMailboxes: %v", err)
	}
	for _, i := range infos {
		if i.Name == name {
			return i.SpecialUse
		}
	}
	e.t.Fatalf("%q not listed", name)
	return nil
}

func testSpecialUse(t *testing.T, e *env) {
	e.user("u")
	e.create("u", "Sent")
	e.create("u", "Old/Stuff")
	if err := e.s.SetSpecialUse(e.ctx, "u", "Sent", []string{`\Sent`}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.SetSpecialUse(e.ctx, "u", "Old/Stuff", []string{`\Archive`, `\Flagged`}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "SetSpecialUse on a missing mailbox", e.s.SetSpecialUse(e.ctx, "u", "nope", []string{`\Trash`}), imap.ErrNonexistent)
	if got := e.specialUseOf(e.s, "u", "Sent"); !slices.Equal(got, []string{`\Sent`}) {
		t.Errorf("Sent: %q", got)
	}
	if got := e.specialUseOf(e.s, "u", "INBOX"); len(got) != 0 {
		t.Errorf("INBOX: %q", got)
	}
	// The attributes follow RENAME (children too) and are seen by another handle.
	if err := e.s.RenameMailbox(e.ctx, "u", "Old", "New"); err != nil {
		t.Fatal(err)
	}
	if got := e.specialUseOf(e.handle(), "u", "New/Stuff"); !sameSet(got, []string{`\Archive`, `\Flagged`}) {
		t.Errorf("after RENAME: %q", got)
	}
	// Cleared with nil; gone with DELETE (a new mailbox of that name has none).
	if err := e.s.SetSpecialUse(e.ctx, "u", "New/Stuff", nil); err != nil {
		t.Fatal(err)
	}
	if got := e.specialUseOf(e.s, "u", "New/Stuff"); len(got) != 0 {
		t.Errorf("after clearing: %q", got)
	}
	if err := e.s.DeleteMailbox(e.ctx, "u", "Sent"); err != nil {
		t.Fatal(err)
	}
	e.create("u", "Sent")
	if got := e.specialUseOf(e.s, "u", "Sent"); len(got) != 0 {
		t.Errorf("recreated mailbox kept %q", got)
	}
}

// testAppendAll: several messages as one operation, all or none.
func testAppendAll(t *testing.T, e *env) {
	e.user("u")
	msg := func(s string) ports.NewMessage {
		body := "Subject: " + s + "\r\n\r\n" + s + "\r\n"
		return ports.NewMessage{Flags: []string{"$" + s}, InternalDate: date, Size: int64(len(body)), Body: strings.NewReader(body)}
	}
	res, err := e.s.AppendAll(e.ctx, "u", "INBOX", []ports.NewMessage{msg("one"), msg("two"), msg("three")})
	if err != nil || len(res) != 3 {
		t.Fatalf("AppendAll = %v, %v", res, err)
	}
	for i := 1; i < len(res); i++ {
		if res[i].UID <= res[i-1].UID || res[i].UIDValidity != res[0].UIDValidity {
			t.Fatalf("results %+v: UIDs must rise in the order given", res)
		}
	}
	if got := e.read(e.s, "u", "INBOX", res[1].UID); !strings.Contains(got, "Subject: two") {
		t.Errorf("second message reads %q", got)
	}
	// A broken message in the middle: nothing of the three is stored.
	bad := msg("bad")
	bad.Size += 10
	if _, err := e.s.AppendAll(e.ctx, "u", "INBOX", []ports.NewMessage{msg("four"), bad, msg("five")}); err == nil {
		t.Fatal("AppendAll with a short body succeeded")
	}
	st, _ := e.snapshot("u", "INBOX")
	if st.Messages != 3 {
		t.Errorf("after a failed AppendAll the mailbox holds %d messages, want 3", st.Messages)
	}
	_, err = e.s.AppendAll(e.ctx, "u", "nope", []ports.NewMessage{msg("x")})
	wantKind(t, "AppendAll to a missing mailbox", err, imap.ErrTryCreate)
}

// testSaveDate: RFC 8514 save dates: the time of APPEND, of the COPY or
// MOVE for the copies (not the original's), and a given one kept.
func testSaveDate(t *testing.T, e *env) {
	e.user("u")
	e.create("u", "dst")
	before := time.Now().Add(-2 * time.Second)
	body := "Subject: saved\r\n\r\nx\r\n"
	res, err := e.s.Append(e.ctx, "u", "INBOX", ports.NewMessage{InternalDate: date, Size: int64(len(body)), Body: strings.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	given := time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)
	res2, err := e.s.Append(e.ctx, "u", "INBOX", ports.NewMessage{InternalDate: date, Size: int64(len(body)), Body: strings.NewReader(body), SaveDate: given})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := e.s.Fetch(e.ctx, "u", "INBOX", []imap.UID{res.UID, res2.UID})
	if err != nil || len(recs) != 2 {
		t.Fatalf("Fetch = %v, %v", recs, err)
	}
	after := time.Now().Add(2 * time.Second)
	if sd := recs[0].SaveDate; sd.Before(before) || sd.After(after) {
		t.Errorf("save date of an APPEND = %v, want about now", sd)
	}
	if sd := recs[1].SaveDate; !sd.Equal(given) {
		t.Errorf("given save date = %v, want %v", sd, given)
	}
	cp, err := e.s.Copy(e.ctx, "u", "INBOX", []imap.UID{res2.UID}, "dst")
	if err != nil {
		t.Fatal(err)
	}
	recs, err = e.s.Fetch(e.ctx, "u", "dst", cp.Dest)
	if err != nil || len(recs) != 1 {
		t.Fatalf("Fetch copy = %v, %v", recs, err)
	}
	if sd := recs[0].SaveDate; sd.Before(before) || sd.After(after) {
		t.Errorf("save date of a COPY = %v, want the time of the copy", sd)
	}
}

func testAppendAndRead(t *testing.T, e *env) {
	e.user("u")
	body := "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"
	msg := newMessage(body, `\seen`, "$Label", `\Recent`, "$Label", `\SEEN`)
	r, err := e.s.Append(e.ctx, "u", "INBOX", msg)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	st, metas := e.snapshot("u", "INBOX")
	if r.UIDValidity != st.UIDValidity || r.UID == 0 || st.UIDNext <= r.UID {
		t.Errorf("AppendResult %+v, status %+v", r, st)
	}
	if st.Messages != 1 || st.Unseen != 0 || st.Size != int64(len(body)) {
		t.Errorf("snapshot status = %+v", st)
	}
	if len(metas) != 1 || metas[0].UID != r.UID || !sameSet(metas[0].Flags, []string{`\Seen`, "$Label"}) {
		t.Fatalf("snapshot = %+v", metas)
	}
	if metas[0].ModSeq == 0 || metas[0].ModSeq > st.HighestModSeq {
		t.Errorf("modseq %d, highest %d", metas[0].ModSeq, st.HighestModSeq)
	}
	if st2 := e.status("u", "INBOX"); st2 != st {
		t.Errorf("Status = %+v, Snapshot's = %+v", st2, st)
	}
	recs, err := e.s.Fetch(e.ctx, "u", "INBOX", []imap.UID{r.UID + 100, r.UID, r.UID})
	if err != nil || len(recs) != 1 {
		t.Fatalf("Fetch = %+v, %v", recs, err)
	}
	rec := recs[0]
	if rec.UID != r.UID || !rec.InternalDate.Equal(date) || rec.Size != int64(len(body)) ||
		!bytes.Equal(rec.Structure, msg.Structure) || !sameSet(rec.Flags, metas[0].Flags) || rec.ModSeq != metas[0].ModSeq {
		t.Errorf("Fetch record = %+v", rec)
	}
	if _, off := rec.InternalDate.Zone(); off != 2*3600 {
		t.Errorf("internal date zone offset = %d, want 7200", off)
	}
	if got := e.read(e.s, "u", "INBOX", r.UID); got != body {
		t.Errorf("Open read %q", got)
	}
	// Unseen and size add up over several messages.
	e.append("u", "INBOX", "x\r\n")
	e.append("u", "INBOX", "")
	if st := e.status("u", "INBOX"); st.Messages != 3 || st.Unseen != 2 || st.Size != int64(len(body)+3) {
		t.Errorf("status = %+v", st)
	}
	if recs, err := e.s.Fetch(e.ctx, "u", "INBOX", nil); err != nil || len(recs) != 0 {
		t.Errorf("Fetch(nil) = %+v, %v", recs, err)
	}
	_, err = e.s.Open(e.ctx, "u", "INBOX", r.UID+100)
	wantKind(t, "Open missing UID", err, imap.ErrNonexistent)
	_, err = e.s.Open(e.ctx, "u", "nope", r.UID)
	wantKind(t, "Open in missing mailbox", err, imap.ErrNonexistent)
	_, err = e.s.Append(e.ctx, "u", "nope", newMessage("x"))
	wantKind(t, "Append to missing mailbox", err, imap.ErrTryCreate)
	_, _, err = e.s.Snapshot(e.ctx, "u", "nope")
	wantKind(t, "Snapshot of missing mailbox", err, imap.ErrNonexistent)
}

// testFetchStructures: Fetch of many messages returns each one's structure
// as appended, after expunges and copies in between, and each record's
// structure is its own: appending to one changes no other.
func testFetchStructures(t *testing.T, e *env) {
	e.user("u")
	e.create("u", "other")
	want := map[imap.UID][]byte{}
	var uids []imap.UID
	add := func(box, body string) {
		msg := newMessage(body)
		r, err := e.s.Append(e.ctx, "u", box, msg)
		if err != nil {
			t.Fatal(err)
		}
		if box == "INBOX" {
			want[r.UID] = msg.Structure
			uids = append(uids, r.UID)
		}
	}
	for i := range 40 {
		add("INBOX", fmt.Sprintf("Subject: %d\r\n\r\n%s\r\n", i, strings.Repeat("x", i*37)))
		if i%7 == 0 {
			add("other", fmt.Sprintf("Subject: other %d\r\n\r\n", i))
		}
	}
	e.setFlags("u", "INBOX", ports.FlagsAdd, []string{`\Deleted`}, uids[3], uids[20])
	gone, err := e.s.Expunge(e.ctx, "u", "INBOX", []imap.UID{uids[3], uids[20]})
	if err != nil || len(gone) != 2 {
		t.Fatalf("Expunge = %v, %v", gone, err)
	}
	delete(want, uids[3])
	delete(want, uids[20])
	_, others := e.snapshot("u", "other")
	cp, err := e.s.Copy(e.ctx, "u", "other", uidsOf(others), "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	for i, u := range cp.Dest {
		want[u] = []byte(fmt.Sprintf("structure of Subject: other %d\r\n\r\n", 7*i))
		uids = append(uids, u)
	}
	recs, err := e.s.Fetch(e.ctx, "u", "INBOX", uids)
	if err != nil || len(recs) != len(want) {
		t.Fatalf("Fetch: %d records, %v; want %d", len(recs), err, len(want))
	}
	for i := range recs {
		if w := want[recs[i].UID]; !bytes.Equal(recs[i].Structure, w) {
			t.Errorf("UID %d: structure %q, want %q", recs[i].UID, recs[i].Structure, w)
		}
		if i > 0 {
			_ = append(recs[i-1].Structure, "overwritten"...)
		}
	}
	for _, r := range recs {
		if w := want[r.UID]; !bytes.Equal(r.Structure, w) {
			t.Errorf("UID %d after appending to another record: structure %q, want %q", r.UID, r.Structure, w)
		}
	}
}

func testAppendSizeMismatch(t *testing.T, e *env) {
	e.user("u")
	before := e.status("u", "INBOX")
	for _, tt := range []struct {
		name string
		size int64
		body string
	}{
		{"short", 10, "12345"},
		{"long", 3, "12345"},
		{"short large", 200000, strings.Repeat("z", 150000)},
	} {
		msg := newMessage(tt.body)
		msg.Size = tt.size
		if _, err := e.s.Append(e.ctx, "u", "INBOX", msg); err == nil {
			t.Errorf("%s: Append accepted %d bytes as %d", tt.name, len(tt.body), tt.size)
		}
	}
	if after := e.status("u", "INBOX"); after.Messages != before.Messages {
		t.Errorf("a failed Append stored a message: %+v", after)
	}
}

// pattern returns n bytes that differ at every offset modulo a large prime,
// so a read from a wrong offset shows.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

func testRandomAccess(t *testing.T, e *env) {
	e.user("u")
	data := pattern(3*65536 + 12345)
	r := e.append("u", "INBOX", string(data))
	b, err := e.s.Open(e.ctx, "u", "INBOX", r.UID)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Size() != int64(len(data)) {
		t.Fatalf("Size = %d, want %d", b.Size(), len(data))
	}
	size := int64(len(data))
	tests := []struct {
		off   int64
		n     int
		wantN int
		eof   bool
	}{
		{0, 10, 10, false},
		{4095, 2, 2, false},
		{32767, 2, 2, false},
		{65535, 1, 1, false},
		{65535, 2, 2, false},
		{65536, 1, 1, false},
		{131071, 3, 3, false},
		{1000, 200000, 200000, false}, // spans several 64 KiB chunks
		{0, len(data), len(data), false},
		{size - 5, 10, 5, true},
		{size, 1, 0, true},
		{size + 100, 1, 0, true},
		{196607, 12000, 12000, false},
	}
	for _, tt := range tests {
		p := make([]byte, tt.n)
		n, err := b.ReadAt(p, tt.off)
		if n != tt.wantN {
			t.Errorf("ReadAt(%d bytes at %d) = %d bytes, want %d", tt.n, tt.off, n, tt.wantN)
			continue
		}
		if tt.eof && err != io.EOF {
			t.Errorf("ReadAt(%d bytes at %d) error %v, want EOF", tt.n, tt.off, err)
		}
		if !tt.eof && err != nil {
			t.Errorf("ReadAt(%d bytes at %d) error %v", tt.n, tt.off, err)
		}
		if tt.off < size && !bytes.Equal(p[:n], data[tt.off:tt.off+int64(n)]) {
			t.Errorf("ReadAt(%d bytes at %d): wrong bytes", tt.n, tt.off)
		}
	}
	// io.ReaderAt allows parallel calls on one source.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 50 {
				off := rng.Int64N(size)
				n := 1 + rng.IntN(100000)
				p := make([]byte, n)
				got, err := b.ReadAt(p, off)
				if err != nil && err != io.EOF {
					errs <- err
					return
				}
				if !bytes.Equal(p[:got], data[off:off+int64(got)]) {
					errs <- fmt.Errorf("parallel ReadAt at %d: wrong bytes", off)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testUIDsNeverReused(t *testing.T, e *env) {
	e.user("u")
	e.create("u", "box")
	var last imap.UID
	next := func(s ports.Store, box string) imap.UID {
		t.Helper()
		r := e.appendTo(s, "u", box, fmt.Sprintf("message after %d\r\n", last))
		if r.UID <= last {
			t.Fatalf("UID %d after %d", r.UID, last)
		}
		last = r.UID
		return r.UID
	}
	for range 3 {
		next(e.s, "box")
	}
	// Expunging the highest UID must not let it come back.
	e.setFlags("u", "box", ports.FlagsAdd, []string{imap.FlagDeleted}, last)
	if gone, err := e.s.Expunge(e.ctx, "u", "box", nil); err != nil || !slices.Equal(gone, []imap.UID{last}) {
		t.Fatalf("Expunge = %v, %v", gone, err)
	}
	next(e.s, "box")
	// Nor after closing every handle and opening again.
	validity := e.status("u", "box").UIDValidity
	e.s.Close()
	e.s = e.handle()
	if v := e.status("u", "box").UIDValidity; v != validity {
		t.Fatalf("UIDVALIDITY changed across reopen: %d -> %d", validity, v)
	}
	next(e.s, "box")
	// Nor through a rename.
	if err := e.s.RenameMailbox(e.ctx, "u", "box", "moved"); err != nil {
		t.Fatal(err)
	}
	next(e.s, "moved")
	// A second handle sees the same counter.
	next(e.handle(), "moved")
	next(e.s, "moved")
	// UIDNEXT stays above every UID handed out, expunged or not.
	_, metas := e.snapshot("u", "moved")
	e.setFlags("u", "moved", ports.FlagsReplace, []string{imap.FlagDeleted}, uidsOf(metas)...)
	if _, err := e.s.Expunge(e.ctx, "u", "moved", nil); err != nil {
		t.Fatal(err)
	}
	if st := e.status("u", "moved"); st.Messages != 0 || st.UIDNext <= last {
		t.Errorf("status after expunging all = %+v, last UID %d", st, last)
	}
}

func testUIDValidity(t *testing.T, e *env) {
	e.user("u")
	seen := map[uint32]bool{}
	for i := range 4 {
		e.create("u", "box")
		v := e.status("u", "box").UIDValidity
		if v == 0 || seen[v] {
			t.Fatalf("incarnation %d of box got UIDVALIDITY %d, already used or zero", i, v)
		}
		seen[v] = true
		e.append("u", "box", "x\r\n")
		if err := e.s.DeleteMailbox(e.ctx, "u", "box"); err != nil {
			t.Fatal(err)
		}
	}
	// A name freed by a rename is a new mailbox when created again.
	e.create("u", "a")
	va := e.status("u", "a").UIDValidity
	if err := e.s.RenameMailbox(e.ctx, "u", "a", "b"); err != nil {
		t.Fatal(err)
	}
	e.create("u", "a")
	if v := e.status("u", "a").UIDValidity; v == va || seen[v] {
		t.Errorf("recreated a got UIDVALIDITY %d (old %d)", v, va)
	}
	// Stable across handles.
	other := e.handle()
	st, err := other.Status(e.ctx, "u", "b")
	if err != nil || st.UIDValidity != va {
		t.Errorf("second handle sees UIDVALIDITY %d, %v; want %d", st.UIDValidity, err, va)
	}
}

func testModSeqRises(t *testing.T, e *env) {
	e.user("u")
	e.create("u", "dest")
	last := e.status("u", "INBOX").HighestModSeq
	rise := func(box, what string) uint64 {
		t.Helper()
		h := e.status("u", box).HighestModSeq
		if h <= last {
			t.Errorf("%s: HIGHESTMODSEQ %d, was %d", what, h, last)
		}
		last = h
		return h
	}
	r1 := e.append("u", "INBOX", "one\r\n")
	h := rise("INBOX", "append")
	r2 := e.append("u", "INBOX", "two\r\n")
	rise("INBOX", "second append")
	metas := e.setFlags("u", "INBOX", ports.FlagsAdd, []string{`\Flagged`}, r1.UID)
	h2 := rise("INBOX", "flag change")
	if len(metas) != 1 || metas[0].ModSeq != h2 || metas[0].ModSeq <= h {
		t.Errorf("changed message modseq = %+v, highest %d", metas, h2)
	}
	e.setFlags("u", "INBOX", ports.FlagsRemove, []string{`\Flagged`}, r1.UID)
	rise("INBOX", "flag removal")
	e.setFlags("u", "INBOX", ports.FlagsAdd, []string{`\Deleted`}, r2.UID)
	rise("INBOX", "deleted flag")
	if _, err := e.s.Expunge(e.ctx, "u", "INBOX", nil); err != nil {
		t.Fatal(err)
	}
	rise("INBOX", "expunge")
	last = e.status("u", "dest").HighestModSeq
	if _, err := e.s.Copy(e.ctx, "u", "INBOX", []imap.UID{r1.UID}, "dest"); err != nil {
		t.Fatal(err)
	}
	rise("dest", "copy into")
	// Every message's modseq is at most the mailbox's highest.
	st, metas := e.snapshot("u", "INBOX")
	for _, m := range metas {
		if m.ModSeq == 0 || m.ModSeq > st.HighestModSeq {
			t.Errorf("message %d modseq %d, highest %d", m.UID, m.ModSeq, st.HighestModSeq)
		}
	}
}

func testUpdateFlags(t *testing.T, e *env) {
	e.user("u")
	tests := []struct {
		name  string
		start []string
		op    ports.FlagOp
		flags []string
		want  []string
	}{
		{"add system flag any case", nil, ports.FlagsAdd, []string{`\SEEN`}, []string{`\Seen`}},
		{"add keeps keyword case", []string{`\Seen`}, ports.FlagsAdd, []string{"$MyKeyword"}, []string{`\Seen`, "$MyKeyword"}},
		{"add present flag", []string{`\Seen`}, ports.FlagsAdd, []string{`\seen`}, []string{`\Seen`}},
		{"add several", nil, ports.FlagsAdd, []string{`\answered`, `\Draft`, "Work", `\Flagged`},
			[]string{`\Answered`, `\Draft`, "Work", `\Flagged`}},
		{"remove any case", []string{`\Seen`, `\Flagged`}, ports.FlagsRemove, []string{`\SEEN`}, []string{`\Flagged`}},
		{"remove keyword", []string{"Work", "Home"}, ports.FlagsRemove, []string{"Work"}, []string{"Home"}},
		{"remove absent", []string{"Home"}, ports.FlagsRemove, []string{`\Deleted`}, []string{"Home"}},
		{"replace", []string{`\Seen`, "Old"}, ports.FlagsReplace, []string{`\flagged`, "New"}, []string{`\Flagged`, "New"}},
		{"replace with nothing", []string{`\Seen`, "Old"}, ports.FlagsReplace, nil, nil},
		{"recent is never stored", nil, ports.FlagsAdd, []string{`\Recent`, `\Seen`}, []string{`\Seen`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.append("u", "INBOX", tt.name, tt.start...)
			before := e.status("u", "INBOX").HighestModSeq
			metas := e.setFlags("u", "INBOX", tt.op, tt.flags, r.UID)
			if len(metas) != 1 || metas[0].UID != r.UID {
				t.Fatalf("UpdateFlags returned %+v", metas)
			}
			if !sameSet(metas[0].Flags, tt.want) {
				t.Errorf("flags = %q, want %q", metas[0].Flags, tt.want)
			}
			recs, err := e.s.Fetch(e.ctx, "u", "INBOX", []imap.UID{r.UID})
			if err != nil || len(recs) != 1 || !sameSet(recs[0].Flags, tt.want) {
				t.Errorf("stored flags = %+v, %v; want %q", recs, err, tt.want)
			}
			if changed := !sameSet(tt.want, normalised(tt.start)); changed && metas[0].ModSeq <= before {
				t.Errorf("changed message modseq %d, highest before %d", metas[0].ModSeq, before)
			}
		})
	}
	// Several UIDs, one missing: the touched ones come back in UID order,
	// the unchanged one too.
	a := e.append("u", "INBOX", "a", `\Seen`)
	b := e.append("u", "INBOX", "b")
	metas := e.setFlags("u", "INBOX", ports.FlagsAdd, []string{`\Seen`}, b.UID, b.UID+50, a.UID)
	if got := uidsOf(metas); !slices.Equal(got, []imap.UID{a.UID, b.UID}) {
		t.Errorf("touched UIDs = %v, want [%d %d]", got, a.UID, b.UID)
	}
	for _, m := range metas {
		if !sameSet(m.Flags, []string{`\Seen`}) {
			t.Errorf("UID %d flags %q", m.UID, m.Flags)
		}
	}
	if _, err := e.s.UpdateFlags(e.ctx, "u", "nope", []imap.UID{1}, ports.FlagsAdd, []string{`\Seen`}); !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("UpdateFlags on missing mailbox: %v", err)
	}
}

// normalised is the stored form of a client's flag list as a set.
func normalised(flags []string) []string {
	var out []string
	for _, f := range flags {
		f = imap.CanonicalFlag(f)
		if f != imap.FlagRecent && !imap.HasFlag(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func testExpunge(t *testing.T, e *env) {
	e.user("u")
	var uids []imap.UID
	for i := range 6 {
		var flags []string
		if i%2 == 0 {
			flags = []string{`\Deleted`}
		}
		uids = append(uids, e.append("u", "INBOX", fmt.Sprintf("m%d", i), flags...).UID)
	}
	// Only \Deleted messages among the given UIDs go.
	gone, err := e.s.Expunge(e.ctx, "u", "INBOX", []imap.UID{uids[3], uids[2], uids[1], uids[0]})
	if err != nil || !slices.Equal(gone, []imap.UID{uids[0], uids[2]}) {
		t.Fatalf("Expunge(subset) = %v, %v; want [%d %d]", gone, err, uids[0], uids[2])
	}
	if gone, err := e.s.Expunge(e.ctx, "u", "INBOX", []imap.UID{}); err != nil || len(gone) != 0 {
		t.Errorf("Expunge(empty set) = %v, %v", gone, err)
	}
	gone, err = e.s.Expunge(e.ctx, "u", "INBOX", nil)
	if err != nil || !slices.Equal(gone, []imap.UID{uids[4]}) {
		t.Fatalf("Expunge(all) = %v, %v; want [%d]", gone, err, uids[4])
	}
	if gone, err := e.s.Expunge(e.ctx, "u", "INBOX", nil); err != nil || len(gone) != 0 {
		t.Errorf("second Expunge = %v, %v", gone, err)
	}
	_, metas := e.snapshot("u", "INBOX")
	if got := uidsOf(metas); !slices.Equal(got, []imap.UID{uids[1], uids[3], uids[5]}) {
		t.Errorf("left = %v", got)
	}
	if _, err := e.s.Open(e.ctx, "u", "INBOX", uids[0]); !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("Open of an expunged message: %v", err)
	}
	if _, err := e.s.Expunge(e.ctx, "u", "nope", nil); !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("Expunge on missing mailbox: %v", err)
	}
}

func testCopy(t *testing.T, e *env) {
	e.user("u")
	e.create("u", "dest")
	e.append("u", "dest", "already there")
	r1 := e.append("u", "INBOX", "one\r\n", `\Seen`, "$Keep")
	r2 := e.append("u", "INBOX", "two\r\n")
	r3 := e.append("u", "INBOX", "three\r\n", `\Flagged`)
	destBefore := e.status("u", "dest")
	res, err := e.s.Copy(e.ctx, "u", "INBOX", []imap.UID{r3.UID, r1.UID, r3.UID + 100}, "dest")
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	if res.UIDValidity != destBefore.UIDValidity || !slices.Equal(res.Source, []imap.UID{r1.UID, r3.UID}) ||
		len(res.Dest) != 2 || res.Dest[0] < destBefore.UIDNext || res.Dest[1] <= res.Dest[0] {
		t.Fatalf("CopyResult = %+v (dest before %+v)", res, destBefore)
	}
	recs, err := e.s.Fetch(e.ctx, "u", "dest", res.Dest)
	if err != nil || len(recs) != 2 {
		t.Fatalf("Fetch copies = %+v, %v", recs, err)
	}
	if !sameSet(recs[0].Flags, []string{`\Seen`, "$Keep"}) || !sameSet(recs[1].Flags, []string{`\Flagged`}) {
		t.Errorf("copied flags = %q, %q", recs[0].Flags, recs[1].Flags)
	}
	for _, r := range recs {
		if !r.InternalDate.Equal(date) {
			t.Errorf("copy %d internal date %v, want %v", r.UID, r.InternalDate, date)
		}
	}
	if !bytes.Equal(recs[0].Structure, []byte("structure of one\r\n")) {
		t.Errorf("copied structure = %q", recs[0].Structure)
	}
	// The copy outlives its original and the original's mailbox.
	e.setFlags("u", "INBOX", ports.FlagsAdd, []string{`\Deleted`}, r1.UID)
	if _, err := e.s.Expunge(e.ctx, "u", "INBOX", nil); err != nil {
		t.Fatal(err)
	}
	if got := e.read(e.s, "u", "dest", res.Dest[0]); got != "one\r\n" {
		t.Errorf("copy after expunge of original = %q", got)
	}
	e.create("u", "tmp")
	cp, err := e.s.Copy(e.ctx, "u", "INBOX", []imap.UID{r2.UID}, "tmp")
	if err != nil || len(cp.Dest) != 1 {
		t.Fatalf("Copy to tmp: %+v, %v", cp, err)
	}
	if err := e.s.DeleteMailbox(e.ctx, "u", "tmp"); err != nil {
		t.Fatal(err)
	}
	if got := e.read(e.s, "u", "INBOX", r2.UID); got != "two\r\n" {
		t.Errorf("original after deleting its copy's mailbox = %q", got)
	}
	// Copy into the same mailbox.
	self, err := e.s.Copy(e.ctx, "u", "INBOX", []imap.UID{r2.UID}, "INBOX")
	if err != nil || len(self.Dest) != 1 || self.Dest[0] <= r3.UID {
		t.Fatalf("Copy to self: %+v, %v", self, err)
	}
	if got := e.read(e.s, "u", "INBOX", self.Dest[0]); got != "two\r\n" {
		t.Errorf("self copy = %q", got)
	}
	// A missing destination: TRYCREATE and nothing changes.
	before := e.status("u", "INBOX")
	_, err = e.s.Copy(e.ctx, "u", "INBOX", []imap.UID{r2.UID}, "missing")
	wantKind(t, "Copy to missing", err, imap.ErrTryCreate)
	if after := e.status("u", "INBOX"); after != before {
		t.Errorf("failed Copy changed the source: %+v -> %+v", before, after)
	}
	if got := e.list("u"); slices.Contains(got, "missing") {
		t.Errorf("failed Copy created the destination")
	}
	// Nothing to copy.
	if res, err := e.s.Copy(e.ctx, "u", "INBOX", []imap.UID{9999}, "dest"); err != nil || len(res.Dest) != 0 {
		t.Errorf("Copy of missing UIDs = %+v, %v", res, err)
	}
}

func testChangesSince(t *testing.T, e *env) {
	e.user("u")
	a := e.append("u", "INBOX", "a")
	b := e.append("u", "INBOX", "b")
	c := e.append("u", "INBOX", "c")
	other := e.handle() // another process's view
	st, _, err := other.Snapshot(e.ctx, "u", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	mark := st.HighestModSeq
	// Changes made through the first handle...
	e.setFlags("u", "INBOX", ports.FlagsAdd, []string{`\Answered`, "$Seen2"}, a.UID)
	e.setFlags("u", "INBOX", ports.FlagsAdd, []string{`\Deleted`}, b.UID)
	if _, err := e.s.Expunge(e.ctx, "u", "INBOX", nil); err != nil {
		t.Fatal(err)
	}
	d := e.append("u", "INBOX", "d", `\Draft`)
	// ...are seen through the second.
	ch, err := other.ChangesSince(e.ctx, "u", "INBOX", mark)
	if err != nil {
		t.Fatalf("ChangesSince: %v", err)
	}
	if got := uidsOf(ch.Updated); !slices.Equal(got, []imap.UID{a.UID, d.UID}) {
		t.Errorf("updated = %v, want [%d %d] (not %d)", got, a.UID, d.UID, c.UID)
	}
	if len(ch.Updated) == 2 {
		if !sameSet(ch.Updated[0].Flags, []string{`\Answered`, "$Seen2"}) || !sameSet(ch.Updated[1].Flags, []string{`\Draft`}) {
			t.Errorf("updated flags = %+v", ch.Updated)
		}
		for _, m := range ch.Updated {
			if m.ModSeq <= mark || m.ModSeq > ch.Status.HighestModSeq {
				t.Errorf("updated UID %d modseq %d outside (%d, %d]", m.UID, m.ModSeq, mark, ch.Status.HighestModSeq)
			}
		}
	}
	if !slices.Equal(ch.Expunged, []imap.UID{b.UID}) {
		t.Errorf("expunged = %v, want [%d]", ch.Expunged, b.UID)
	}
	if ch.Status.Messages != 3 || ch.Status.HighestModSeq <= mark || ch.Status.UIDNext <= d.UID {
		t.Errorf("status = %+v", ch.Status)
	}
	// Nothing newer than the current HIGHESTMODSEQ.
	ch2, err := other.ChangesSince(e.ctx, "u", "INBOX", ch.Status.HighestModSeq)
	if err != nil || len(ch2.Updated) != 0 || len(ch2.Expunged) != 0 || ch2.Status != ch.Status {
		t.Errorf("ChangesSince(highest) = %+v, %v", ch2, err)
	}
	// From the start: every message, and every expunge.
	ch3, err := other.ChangesSince(e.ctx, "u", "INBOX", 0)
	if err != nil || !slices.Equal(uidsOf(ch3.Updated), []imap.UID{a.UID, c.UID, d.UID}) || !slices.Equal(ch3.Expunged, []imap.UID{b.UID}) {
		t.Errorf("ChangesSince(0) = %+v, %v", ch3, err)
	}
	e.create("u", "gone")
	if err := e.s.DeleteMailbox(e.ctx, "u", "gone"); err != nil {
		t.Fatal(err)
	}
	_, err = other.ChangesSince(e.ctx, "u", "gone", 0)
	wantKind(t, "ChangesSince on a deleted mailbox", err, imap.ErrNonexistent)
}

func testClaimRecent(t *testing.T, e *env) {
	e.user("u")
	a := e.append("u", "INBOX", "a")
	b := e.append("u", "INBOX", "b")
	if st := e.status("u", "INBOX"); st.Recent != 2 || st.RecentUID > a.UID {
		t.Errorf("status before claim = %+v", st)
	}
	from, to, err := e.s.ClaimRecent(e.ctx, "u", "INBOX")
	if err != nil || from > a.UID || to != b.UID+1 {
		t.Fatalf("ClaimRecent = [%d, %d), %v; want up to %d", from, to, err, b.UID+1)
	}
	other := e.handle()
	from2, to2, err := other.ClaimRecent(e.ctx, "u", "INBOX")
	if err != nil || from2 != to2 || to2 != to {
		t.Errorf("second claim = [%d, %d), %v; want empty at %d", from2, to2, err, to)
	}
	if st := e.status("u", "INBOX"); st.Recent != 0 || st.RecentUID != to {
		t.Errorf("status after claim = %+v", st)
	}
	c := e.append("u", "INBOX", "c")
	if st := e.status("u", "INBOX"); st.Recent != 1 {
		t.Errorf("status after new message = %+v", st)
	}
	from3, to3, err := other.ClaimRecent(e.ctx, "u", "INBOX")
	if err != nil || from3 != to || to3 != c.UID+1 {
		t.Errorf("third claim = [%d, %d), %v; want [%d, %d)", from3, to3, err, to, c.UID+1)
	}
	// Many claimers at once: every UID is claimed exactly once.
	for range 5 {
		e.append("u", "INBOX", "more")
	}
	var mu sync.Mutex
	claimed := map[imap.UID]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := other
			f, t2, err := s.ClaimRecent(e.ctx, "u", "INBOX")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			for u := f; u < t2; u++ {
				claimed[u]++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(claimed) != 5 {
		t.Errorf("claimed %d UIDs, want 5", len(claimed))
	}
	for u, n := range claimed {
		if n != 1 {
			t.Errorf("UID %d claimed %d times", u, n)
		}
	}
	_, _, err = e.s.ClaimRecent(e.ctx, "u", "nope")
	wantKind(t, "ClaimRecent on missing mailbox", err, imap.ErrNonexistent)
}

// patternReader yields n pattern bytes without holding them all.
type patternReader struct{ off, n int64 }

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n-r.off)]
	for i := range p {
		p[i] = byte((r.off + int64(i)) % 251)
	}
	r.off += int64(len(p))
	return len(p), nil
}

func testLargeMessage(t *testing.T, e *env) {
	e.user("u")
	const size = 5 << 20
	r, err := e.s.Append(e.ctx, "u", "INBOX", ports.NewMessage{
		InternalDate: date, Size: size, Body: &patternReader{n: size},
	})
	if err != nil {
		t.Fatalf("Append 5 MB: %v", err)
	}
	b, err := e.s.Open(e.ctx, "u", "INBOX", r.UID)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Size() != size {
		t.Fatalf("Size = %d", b.Size())
	}
	want := sha256.New()
	io.Copy(want, &patternReader{n: size})
	got := sha256.New()
	// Read in pieces, as a FETCH of BODY[] streams it.
	if n, err := io.CopyBuffer(got, io.NewSectionReader(b, 0, size), make([]byte, 16<<10)); err != nil || n != size {
		t.Fatalf("read %d bytes, %v", n, err)
	}
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Error("large message bytes differ")
	}
	if st := e.status("u", "INBOX"); st.Size != size {
		t.Errorf("status size = %d", st.Size)
	}
}

func testConcurrency(t *testing.T, e *env) {
	e.user("u")
	const workers, each = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		s := e.handle()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				body := fmt.Sprintf("Subject: %d-%d\r\n\r\nbody\r\n", w, i)
				r, err := s.Append(e.ctx, "u", "INBOX", newMessage(body))
				if err != nil {
					errs <- fmt.Errorf("worker %d append %d: %w", w, i, err)
					return
				}
				if _, err := s.UpdateFlags(e.ctx, "u", "INBOX", []imap.UID{r.UID}, ports.FlagsAdd, []string{`\Flagged`}); err != nil {
					errs <- fmt.Errorf("worker %d flag %d: %w", w, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st, metas := e.snapshot("u", "INBOX")
	if st.Messages != workers*each || len(metas) != workers*each {
		t.Fatalf("%d messages, want %d", st.Messages, workers*each)
	}
	for i, m := range metas {
		if i > 0 && m.UID <= metas[i-1].UID {
			t.Fatalf("UIDs not strictly increasing at %d: %d after %d", i, m.UID, metas[i-1].UID)
		}
		if !sameSet(m.Flags, []string{`\Flagged`}) {
			t.Errorf("UID %d flags %q", m.UID, m.Flags)
		}
	}
	bodies := map[string]bool{}
	for _, m := range metas {
		bodies[e.read(e.s, "u", "INBOX", m.UID)] = true
	}
	if len(bodies) != workers*each {
		t.Errorf("%d distinct bodies, want %d", len(bodies), workers*each)
	}
}

func testContextCanceled(t *testing.T, e *env) {
	e.user("u")
	e.append("u", "INBOX", "x")
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	if _, _, err := e.s.Snapshot(ctx, "u", "INBOX"); err == nil {
		t.Error("Snapshot with a canceled context succeeded")
	}
	if _, err := e.s.Append(ctx, "u", "INBOX", newMessage("y")); err == nil {
		t.Error("Append with a canceled context succeeded")
	}
	if st := e.status("u", "INBOX"); st.Messages != 1 {
		t.Errorf("messages = %d after a canceled Append", st.Messages)
	}
}

// testFetchRecordsStay: the records Fetch returns, with what they point
// to (Flags, Structure), stay as they were handed out through later calls
// that change the mailbox: flags set, messages expunged and appended, the
// same records fetched again (message.Unmarshal keeps references into
// Structure instead of copying); appending to the slice changes nothing
// another caller sees.
func testFetchRecordsStay(t *testing.T, e *env) {
	e.user("u")
	var uids []imap.UID
	for _, body := range []string{"one\r\n", "two\r\n", "three\r\n"} {
		uids = append(uids, e.append("u", "INBOX", body).UID)
	}
	first, err := e.s.Fetch(e.ctx, "u", "INBOX", uids)
	if err != nil || len(first) != 3 {
		t.Fatalf("Fetch = %+v, %v", first, err)
	}
	type kept struct {
		uid       imap.UID
		flags     string
		structure string
	}
	snap := func(recs []ports.MessageRecord) []kept {
		var out []kept
		for _, r := range recs {
			out = append(out, kept{r.UID, strings.Join(r.Flags, " "), string(r.Structure)})
		}
		return out
	}
	want := snap(first)
	// Appending to the slice is the caller's right.
	_ = append(first, ports.MessageRecord{MessageMeta: ports.MessageMeta{UID: 999}})
	again, err := e.s.Fetch(e.ctx, "u", "INBOX", uids)
	if err != nil {
		t.Fatal(err)
	}
	if got := snap(again); !slices.Equal(got, want) {
		t.Errorf("second Fetch = %v, want %v", got, want)
	}
	e.setFlags("u", "INBOX", ports.FlagsAdd, []string{`\Deleted`, "$later"}, uids[1])
	if gone, err := e.s.Expunge(e.ctx, "u", "INBOX", []imap.UID{uids[1]}); err != nil || len(gone) != 1 {
		t.Fatalf("Expunge = %v, %v", gone, err)
	}
	e.setFlags("u", "INBOX", ports.FlagsAdd, []string{`\Flagged`}, uids[0], uids[2])
	e.append("u", "INBOX", "four\r\n")
	third, err := e.s.Fetch(e.ctx, "u", "INBOX", uids)
	if err != nil || len(third) != 2 || !imap.HasFlag(third[0].Flags, `\Flagged`) {
		t.Fatalf("third Fetch = %+v, %v", third, err)
	}
	for _, recs := range [][]ports.MessageRecord{first, again} {
		if got := snap(recs); !slices.Equal(got, want) {
			t.Errorf("records handed out before are now %v, want %v", got, want)
		}
	}
}
