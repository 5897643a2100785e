package storetest

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/ports"
)

// RunObjectIDs checks the promises of ports.ObjectIDs (RFC 8474), and
// that the EMAILID and THREADID a message's structure carries stay with
// it through COPY, MOVE and RENAME of INBOX; it skips a store without
// ObjectIDs.
func RunObjectIDs(t *testing.T, open Opener) {
	for _, tt := range []struct {
		name string
		fn   func(*testing.T, *env, ports.ObjectIDs)
	}{
		{"MailboxIDs", testMailboxIDs},
		{"MailboxIDRename", testMailboxIDRename},
		{"MailboxIDRenameInbox", testMailboxIDRenameInbox},
		{"SetMailboxID", testSetMailboxID},
		{"Threads", testThreads},
		{"StructureKeepsIDs", testStructureKeepsIDs},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := &env{t: t, open: open, dir: t.TempDir(), ctx: t.Context()}
			e.s = e.handle()
			ids, ok := e.s.(ports.ObjectIDs)
			if !ok {
				t.Skip("the store keeps no object ids")
			}
			tt.fn(t, e, ids)
		})
	}
}

func (e *env) mailboxID(ids ports.ObjectIDs, user, name string) string {
	e.t.Helper()
	id, err := ids.MailboxID(e.ctx, user, name)
	if err != nil {
		e.t.Fatalf("MailboxID(%q): %v", name, err)
	}
	if !imap.IsObjectID(id) {
		e.t.Fatalf("MailboxID(%q) = %q: not an RFC 8474 objectid", name, id)
	}
	return id
}

// Every mailbox has its own id, the same seen from any handle and at any
// time; a deleted mailbox's id is never given again.
func testMailboxIDs(t *testing.T, e *env, ids ports.ObjectIDs) {
	e.user("u")
	e.user("v")
	e.create("u", "a", "a/b", "c")
	seen := map[string]string{}
	other := e.handle().(ports.ObjectIDs)
	for _, n := range []string{"INBOX", "a", "a/b", "c"} {
		id := e.mailboxID(ids, "u", n)
		if prev, ok := seen[id]; ok {
			t.Errorf("%q and %q share the id %q", n, prev, id)
		}
		seen[id] = n
		if again := e.mailboxID(other, "u", n); again != id {
			t.Errorf("%q: id %q, another handle says %q", n, id, again)
		}
	}
	if id := e.mailboxID(ids, "v", "INBOX"); seen[id] != "" {
		t.Errorf("v's INBOX has u's %s id", seen[id])
	}
	old := e.mailboxID(ids, "u", "c")
	if err := e.s.DeleteMailbox(e.ctx, "u", "c"); err != nil {
		t.Fatal(err)
	}
	if _, err := ids.MailboxID(e.ctx, "u", "c"); !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("MailboxID of a deleted mailbox: %v, want ErrNonexistent", err)
	}
	e.create("u", "c")
	if id := e.mailboxID(ids, "u", "c"); id == old {
		t.Errorf("a mailbox created again under the same name got the old id %q", id)
	}
	if _, err := ids.MailboxID(e.ctx, "u", "nope"); !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("MailboxID(nope): %v, want ErrNonexistent", err)
	}
}

// RENAME keeps the ids of the mailbox and of its children.
func testMailboxIDRename(t *testing.T, e *env, ids ports.ObjectIDs) {
	e.user("u")
	e.create("u", "a", "a/b")
	a, b := e.mailboxID(ids, "u", "a"), e.mailboxID(ids, "u", "a/b")
	if err := e.s.RenameMailbox(e.ctx, "u", "a", "x/y"); err != nil {
		t.Fatal(err)
	}
	if got := e.mailboxID(ids, "u", "x/y"); got != a {
		t.Errorf("renamed mailbox id %q, was %q", got, a)
	}
	if got := e.mailboxID(ids, "u", "x/y/b"); got != b {
		t.Errorf("renamed child id %q, was %q", got, b)
	}
	if got := e.mailboxID(ids, "u", "x"); got == a || got == b {
		t.Errorf("the new parent took id %q", got)
	}
}

// RFC 8474 section 4.2: renaming INBOX gives the new mailbox INBOX's id
// and INBOX a new one.
func testMailboxIDRenameInbox(t *testing.T, e *env, ids ports.ObjectIDs) {
	e.user("u")
	e.append("u", "INBOX", "one\r\n")
	in := e.mailboxID(ids, "u", "INBOX")
	if err := e.s.RenameMailbox(e.ctx, "u", "INBOX", "old"); err != nil {
		t.Fatal(err)
	}
	if got := e.mailboxID(ids, "u", "old"); got != in {
		t.Errorf("the mailbox INBOX became has id %q, INBOX had %q", got, in)
	}
	if got := e.mailboxID(ids, "u", "INBOX"); got == in {
		t.Errorf("INBOX kept its id %q after RENAME", got)
	}
}

func testSetMailboxID(t *testing.T, e *env, ids ports.ObjectIDs) {
	e.user("u")
	if err := ids.SetMailboxID(e.ctx, "u", "INBOX", "F_migrated-1"); err != nil {
		t.Fatal(err)
	}
	if got := e.mailboxID(e.handle().(ports.ObjectIDs), "u", "INBOX"); got != "F_migrated-1" {
		t.Errorf("MailboxID after SetMailboxID = %q", got)
	}
	if err := ids.SetMailboxID(e.ctx, "u", "nope", "F1"); !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("SetMailboxID(nope): %v, want ErrNonexistent", err)
	}
}

// The thread index answers with the thread of any Message-ID it knows,
// records the others, and is per user.
func testThreads(t *testing.T, e *env, ids ports.ObjectIDs) {
	e.user("u")
	e.user("v")
	assign := func(ids ports.ObjectIDs, user string, fresh string, msgIDs ...string) string {
		t.Helper()
		th, err := ids.AssignThread(e.ctx, user, msgIDs, fresh)
		if err != nil {
			t.Fatalf("AssignThread(%q): %v", msgIDs, err)
		}
		return th
	}
	if got := assign(ids, "u", "T1", "root@x"); got != "T1" {
		t.Errorf("a new Message-ID: thread %q, want the fresh T1", got)
	}
	// A reply: its own id and its parent's; the parent is known.
	if got := assign(ids, "u", "T2", "reply@x", "root@x"); got != "T1" {
		t.Errorf("a reply: thread %q, want T1", got)
	}
	// A reply to the reply, seen by another handle (process).
	other := e.handle().(ports.ObjectIDs)
	if got := assign(other, "u", "T3", "deep@x", "reply@x"); got != "T1" {
		t.Errorf("a reply to the reply: thread %q, want T1", got)
	}
	// Another user's index is another index.
	if got := assign(ids, "v", "T9", "x@x", "root@x"); got != "T9" {
		t.Errorf("v: thread %q, want T9", got)
	}
	if got := assign(ids, "u", "T4"); got != "T4" {
		t.Errorf("no Message-IDs: thread %q, want T4", got)
	}
	entries := map[string]string{}
	if err := ids.Threads(e.ctx, "u", func(m, th string) error { entries[m] = th; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"root@x", "reply@x", "deep@x"} {
		if entries[m] != "T1" {
			t.Errorf("Threads: %q -> %q, want T1 (all: %v)", m, entries[m], entries)
		}
	}
}

// The structure blob, and so the EMAILID and THREADID in it, comes back
// unchanged after COPY, MOVE and RENAME of INBOX.
func testStructureKeepsIDs(t *testing.T, e *env, _ ports.ObjectIDs) {
	e.user("u")
	e.create("u", "copies", "moved")
	raw := "Message-ID: <a@x>\r\nSubject: ids\r\n\r\nbody\r\n"
	st, err := message.Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	st.SetExtras(message.Extras{EmailID: "Mabc", ThreadID: "Tdef", Preview: "body", HasPreview: true})
	blob, err := st.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	msg := ports.NewMessage{InternalDate: date, Size: int64(len(raw)), Body: strings.NewReader(raw), Structure: blob}
	r, err := e.s.Append(e.ctx, "u", "INBOX", msg)
	if err != nil {
		t.Fatal(err)
	}
	check := func(box string, uid imap.UID) {
		t.Helper()
		recs, err := e.handle().Fetch(e.ctx, "u", box, []imap.UID{uid})
		if err != nil || len(recs) != 1 {
			t.Fatalf("Fetch(%s %d) = %d records, %v", box, uid, len(recs), err)
		}
		if !bytes.Equal(recs[0].Structure, blob) {
			t.Errorf("%s: structure changed", box)
		}
		if x, err := message.ExtrasOf(recs[0].Structure); err != nil || x.EmailID != "Mabc" || x.ThreadID != "Tdef" {
			t.Errorf("%s: extras %+v, %v", box, x, err)
		}
	}
	c, err := e.s.Copy(e.ctx, "u", "INBOX", []imap.UID{r.UID}, "copies")
	if err != nil || len(c.Dest) != 1 {
		t.Fatalf("Copy: %+v, %v", c, err)
	}
	check("copies", c.Dest[0])
	m, err := e.s.Move(e.ctx, "u", "copies", c.Dest, "moved")
	if err != nil || len(m.Dest) != 1 {
		t.Fatalf("Move: %+v, %v", m, err)
	}
	check("moved", m.Dest[0])
	if err := e.s.RenameMailbox(e.ctx, "u", "INBOX", "was-inbox"); err != nil {
		t.Fatal(err)
	}
	_, metas := e.snapshot("u", "was-inbox")
	if len(metas) != 1 {
		t.Fatalf("was-inbox holds %d messages", len(metas))
	}
	check("was-inbox", metas[0].UID)
}
