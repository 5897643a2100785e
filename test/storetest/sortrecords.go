package storetest

import (
	"bytes"
	"errors"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// RunSortRecords checks the promises of ports.SortRecords; it skips a
// store without them.
func RunSortRecords(t *testing.T, open Opener) {
	for _, tt := range []struct {
		name string
		fn   func(*testing.T, *env, ports.SortRecords)
	}{
		{"SaveLoad", testSortRecordsSaveLoad},
		{"UIDValidity", testSortRecordsUIDValidity},
		{"Rename", testSortRecordsRename},
		{"Missing", testSortRecordsMissing},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := &env{t: t, open: open, dir: t.TempDir(), ctx: t.Context()}
			e.s = e.handle()
			sr, ok := e.s.(ports.SortRecords)
			if !ok {
				t.Skip("the store keeps no sort records")
			}
			tt.fn(t, e, sr)
		})
	}
}

func (e *env) loadSort(sr ports.SortRecords, user, name string) (uint32, []byte) {
	e.t.Helper()
	v, data, err := sr.LoadSortRecords(e.ctx, user, name)
	if err != nil {
		e.t.Fatalf("LoadSortRecords(%q): %v", name, err)
	}
	return v, data
}

func (e *env) saveSort(sr ports.SortRecords, user, name string, v uint32, data []byte) {
	e.t.Helper()
	if err := sr.SaveSortRecords(e.ctx, user, name, v, data); err != nil {
		e.t.Fatalf("SaveSortRecords(%q): %v", name, err)
	}
}

// A mailbox has no list until one is saved; the last one saved is what
// any handle loads, per mailbox and per user.
func testSortRecordsSaveLoad(t *testing.T, e *env, sr ports.SortRecords) {
	e.user("u")
	e.user("v")
	e.create("u", "a")
	e.append("u", "INBOX", "Subject: one\r\n\r\nx\r\n")
	if _, data := e.loadSort(sr, "u", "INBOX"); data != nil {
		t.Fatalf("a list before any was saved: %q", data)
	}
	in := e.status("u", "INBOX").UIDValidity
	e.saveSort(sr, "u", "INBOX", in, []byte("first"))
	e.saveSort(sr, "u", "INBOX", in, []byte("second\x00list"))
	e.saveSort(sr, "u", "a", e.status("u", "a").UIDValidity, []byte("of a"))
	other := e.handle().(ports.SortRecords)
	if v, data := e.loadSort(other, "u", "INBOX"); v != in || !bytes.Equal(data, []byte("second\x00list")) {
		t.Errorf("INBOX: %d %q, want %d %q", v, data, in, "second\x00list")
	}
	if _, data := e.loadSort(other, "u", "a"); string(data) != "of a" {
		t.Errorf("a: %q", data)
	}
	if _, data := e.loadSort(other, "v", "INBOX"); data != nil {
		t.Errorf("v's INBOX has u's list %q", data)
	}
	// Messages arriving, changing flags or going leave the list alone:
	// the app keeps it up to date.
	e.append("u", "INBOX", "Subject: two\r\n\r\ny\r\n")
	e.setFlags("u", "INBOX", ports.FlagsAdd, []string{imap.FlagSeen}, 1)
	if _, err := e.s.Expunge(e.ctx, "u", "INBOX", []imap.UID{1}); err != nil {
		t.Fatal(err)
	}
	if _, data := e.loadSort(e.handle().(ports.SortRecords), "u", "INBOX"); string(data) != "second\x00list" {
		t.Errorf("after APPEND, STORE and EXPUNGE: %q", data)
	}
}

// A list saved with another UIDVALIDITY is not kept; one of a mailbox
// deleted and created again is not loaded.
func testSortRecordsUIDValidity(t *testing.T, e *env, sr ports.SortRecords) {
	e.user("u")
	e.create("u", "a")
	v := e.status("u", "a").UIDValidity
	e.saveSort(sr, "u", "a", v, []byte("list"))
	e.saveSort(sr, "u", "a", v+1, []byte("stale"))
	if got, data := e.loadSort(sr, "u", "a"); got != v || string(data) != "list" {
		t.Errorf("after a save with another UIDVALIDITY: %d %q, want %d %q", got, data, v, "list")
	}
	if err := e.s.DeleteMailbox(e.ctx, "u", "a"); err != nil {
		t.Fatal(err)
	}
	e.create("u", "a")
	if got, data := e.loadSort(sr, "u", "a"); data != nil {
		t.Errorf("a mailbox created again loads %d %q", got, data)
	}
}

// RENAME keeps the lists of the mailbox and its children, with their
// UIDVALIDITY.
func testSortRecordsRename(t *testing.T, e *env, sr ports.SortRecords) {
	e.user("u")
	e.create("u", "a", "a/b")
	va, vb := e.status("u", "a").UIDValidity, e.status("u", "a/b").UIDValidity
	e.saveSort(sr, "u", "a", va, []byte("A"))
	e.saveSort(sr, "u", "a/b", vb, []byte("B"))
	if err := e.s.RenameMailbox(e.ctx, "u", "a", "x/y"); err != nil {
		t.Fatal(err)
	}
	if v, data := e.loadSort(sr, "u", "x/y"); v != va || string(data) != "A" {
		t.Errorf("renamed: %d %q, want %d %q", v, data, va, "A")
	}
	if v, data := e.loadSort(sr, "u", "x/y/b"); v != vb || string(data) != "B" {
		t.Errorf("renamed child: %d %q, want %d %q", v, data, vb, "B")
	}
	e.create("u", "a")
	if _, data := e.loadSort(sr, "u", "a"); data != nil {
		t.Errorf("a new mailbox under the old name loads %q", data)
	}
}

func testSortRecordsMissing(t *testing.T, e *env, sr ports.SortRecords) {
	e.user("u")
	if _, _, err := sr.LoadSortRecords(e.ctx, "u", "nope"); !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("LoadSortRecords(nope): %v, want ErrNonexistent", err)
	}
	if err := sr.SaveSortRecords(e.ctx, "u", "nope", 1, []byte("x")); !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("SaveSortRecords(nope): %v, want ErrNonexistent", err)
	}
}
