package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// RunMessageSortRecords checks the promises of ports.MessageSortRecords;
// it skips a store without them.
func RunMessageSortRecords(t *testing.T, open Opener) {
	for _, tt := range []struct {
		name string
		fn   func(*testing.T, *env, ports.MessageSortRecords)
	}{
		{"Append", testMsgSortAppend},
		{"CopyMove", testMsgSortCopyMove},
		{"Expunge", testMsgSortExpunge},
		{"RenameDelete", testMsgSortRenameDelete},
		{"Import", testMsgSortImport},
		{"From", testMsgSortFrom},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := &env{t: t, open: open, dir: t.TempDir(), ctx: t.Context()}
			e.s = e.handle()
			sr, ok := e.s.(ports.MessageSortRecords)
			if !ok {
				t.Skip("the store keeps no records per message")
			}
			tt.fn(t, e, sr)
		})
	}
}

// withRecord is a message carrying the sort record "rec:"+body.
func withRecord(body string) ports.NewMessage {
	m := newMessage(body)
	m.SortRecord = []byte("rec:" + body)
	return m
}

// msgSorts returns what another handle of the store reads of the
// mailbox's records, as "uid=record" strings.
func (e *env) msgSorts(user, name string) (uint32, string) {
	e.t.Helper()
	h := e.handle()
	defer h.Close()
	v, uids, recs, err := h.(ports.MessageSortRecords).MessageSortRecords(e.ctx, user, name, 0)
	if err != nil {
		e.t.Fatalf("MessageSortRecords(%q): %v", name, err)
	}
	if len(uids) != len(recs) {
		e.t.Fatalf("MessageSortRecords(%q): %d UIDs, %d records", name, len(uids), len(recs))
	}
	var out []string
	for i, u := range uids {
		if i > 0 && u <= uids[i-1] {
			e.t.Errorf("UIDs not ascending: %v", uids)
		}
		out = append(out, fmt.Sprintf("%d=%s", u, recs[i]))
	}
	return v, strings.Join(out, " ")
}

// A record given at APPEND (Append or AppendAll) is read back under the
// message's UID; a message without one is left out.
func testMsgSortAppend(t *testing.T, e *env, sr ports.MessageSortRecords) {
	e.user("u")
	if _, err := e.s.Append(e.ctx, "u", "INBOX", withRecord("a\r\n")); err != nil {
		t.Fatal(err)
	}
	e.append("u", "INBOX", "b\r\n")
	if _, err := e.s.AppendAll(e.ctx, "u", "INBOX", []ports.NewMessage{withRecord("c\r\n"), withRecord("d\r\n")}); err != nil {
		t.Fatal(err)
	}
	v, got := e.msgSorts("u", "INBOX")
	if want := "1=rec:a\r\n 3=rec:c\r\n 4=rec:d\r\n"; got != want {
		t.Errorf("records %q, want %q", got, want)
	}
	if st := e.status("u", "INBOX"); v != st.UIDValidity {
		t.Errorf("UIDVALIDITY %d, want %d", v, st.UIDValidity)
	}
	if _, _, _, err := sr.MessageSortRecords(e.ctx, "u", "nope", 0); !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("missing mailbox: %v", err)
	}
}

// COPY and MOVE give the copies their originals' records; a moved
// message's record leaves the source with it.
func testMsgSortCopyMove(t *testing.T, e *env, sr ports.MessageSortRecords) {
	e.user("u")
	e.create("u", "dst")
	if _, err := e.s.AppendAll(e.ctx, "u", "INBOX", []ports.NewMessage{withRecord("a\r\n"), withRecord("b\r\n"), newMessage("c\r\n")}); err != nil {
		t.Fatal(err)
	}
	e.append("u", "dst", "x\r\n")
	if _, err := e.s.Copy(e.ctx, "u", "INBOX", []imap.UID{1, 3}, "dst"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Move(e.ctx, "u", "INBOX", []imap.UID{2}, "dst"); err != nil {
		t.Fatal(err)
	}
	if _, got := e.msgSorts("u", "dst"); got != "2=rec:a\r\n 4=rec:b\r\n" {
		t.Errorf("dst records %q", got)
	}
	if _, got := e.msgSorts("u", "INBOX"); got != "1=rec:a\r\n" {
		t.Errorf("INBOX records %q", got)
	}
}

// An expunged message's record is not returned.
func testMsgSortExpunge(t *testing.T, e *env, sr ports.MessageSortRecords) {
	e.user("u")
	if _, err := e.s.AppendAll(e.ctx, "u", "INBOX", []ports.NewMessage{withRecord("a\r\n"), withRecord("b\r\n")}); err != nil {
		t.Fatal(err)
	}
	e.setFlags("u", "INBOX", ports.FlagsAdd, []string{imap.FlagDeleted}, 1)
	if _, err := e.s.Expunge(e.ctx, "u", "INBOX", nil); err != nil {
		t.Fatal(err)
	}
	if _, got := e.msgSorts("u", "INBOX"); got != "2=rec:b\r\n" {
		t.Errorf("records %q", got)
	}
}

// Records stay with a renamed mailbox and go with a deleted one: a
// mailbox made again under the name has none.
func testMsgSortRenameDelete(t *testing.T, e *env, sr ports.MessageSortRecords) {
	e.user("u")
	e.create("u", "a")
	if _, err := e.s.Append(e.ctx, "u", "a", withRecord("a\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := e.s.RenameMailbox(e.ctx, "u", "a", "b"); err != nil {
		t.Fatal(err)
	}
	if _, got := e.msgSorts("u", "b"); got != "1=rec:a\r\n" {
		t.Errorf("renamed: records %q", got)
	}
	if err := e.s.DeleteMailbox(e.ctx, "u", "b"); err != nil {
		t.Fatal(err)
	}
	e.create("u", "b")
	e.append("u", "b", "other\r\n")
	if _, got := e.msgSorts("u", "b"); got != "" {
		t.Errorf("made again: records %q", got)
	}
}

// A message imported under a given UID (migration) keeps its record.
func testMsgSortImport(t *testing.T, e *env, sr ports.MessageSortRecords) {
	im, ok := e.s.(ports.Importer)
	if !ok {
		t.Skip("no importer")
	}
	e.user("u")
	if err := im.ImportMailbox(e.ctx, "u", "m", 77, 5); err != nil {
		t.Fatal(err)
	}
	if err := im.ImportMessage(e.ctx, "u", "m", 9, withRecord("a\r\n")); err != nil {
		t.Fatal(err)
	}
	if v, got := e.msgSorts("u", "m"); v != 77 || got != "9=rec:a\r\n" {
		t.Errorf("records %d %q", v, got)
	}
}

// With a lower bound, only the records of messages whose UID is at
// least that bound are returned (0 and 1 ask for all): a process that
// read the mailbox's saved list asks for those of newer messages only.
func testMsgSortFrom(t *testing.T, e *env, sr ports.MessageSortRecords) {
	e.user("u")
	if _, err := e.s.AppendAll(e.ctx, "u", "INBOX", []ports.NewMessage{withRecord("a\r\n"), withRecord("b\r\n"), newMessage("c\r\n"), withRecord("d\r\n"), withRecord("e\r\n")}); err != nil {
		t.Fatal(err)
	}
	e.setFlags("u", "INBOX", ports.FlagsAdd, []string{imap.FlagDeleted}, 4)
	if _, err := e.s.Expunge(e.ctx, "u", "INBOX", nil); err != nil {
		t.Fatal(err)
	}
	st := e.status("u", "INBOX")
	for _, tt := range []struct {
		from imap.UID
		want string
	}{
		{0, "1=rec:a\r\n 2=rec:b\r\n 5=rec:e\r\n"},
		{1, "1=rec:a\r\n 2=rec:b\r\n 5=rec:e\r\n"},
		{2, "2=rec:b\r\n 5=rec:e\r\n"},
		{3, "5=rec:e\r\n"},
		{5, "5=rec:e\r\n"},
		{6, ""},
		{4000000000, ""},
	} {
		v, uids, recs, err := sr.MessageSortRecords(e.ctx, "u", "INBOX", tt.from)
		if err != nil {
			t.Fatalf("from %d: %v", tt.from, err)
		}
		var got []string
		for i, u := range uids {
			got = append(got, fmt.Sprintf("%d=%s", u, recs[i]))
		}
		if g := strings.Join(got, " "); g != tt.want || v != st.UIDValidity {
			t.Errorf("from %d: records %q (UIDVALIDITY %d), want %q (%d)", tt.from, g, v, tt.want, st.UIDValidity)
		}
	}
	if _, _, _, err := sr.MessageSortRecords(e.ctx, "u", "nope", 3); !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("missing mailbox: %v", err)
	}
}
