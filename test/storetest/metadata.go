package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// RunMetadata checks the promises of ports.Metadata; it skips a store
// without them.
func RunMetadata(t *testing.T, open Opener) {
	for _, tt := range []struct {
		name string
		fn   func(*testing.T, *env, ports.Metadata)
	}{
		{"SetGet", testMetadataSetGet},
		{"PrivatePerUser", testMetadataPrivatePerUser},
		{"Server", testMetadataServer},
		{"Binary", testMetadataBinary},
		{"Limit", testMetadataLimit},
		{"LimitRace", testMetadataLimitRace},
		{"Rename", testMetadataRename},
		{"RenameInbox", testMetadataRenameInbox},
		{"Delete", testMetadataDelete},
		{"DeleteUser", testMetadataDeleteUser},
		{"Nonexistent", testMetadataNonexistent},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := &env{t: t, open: open, dir: t.TempDir(), ctx: t.Context()}
			e.s = e.handle()
			md, ok := e.s.(ports.Metadata)
			if !ok {
				t.Skip("the store keeps no METADATA entries")
			}
			tt.fn(t, e, md)
		})
	}
}

func entry(name, value string) ports.MetadataEntry {
	return ports.MetadataEntry{Name: name, Value: []byte(value)}
}

func removal(name string) ports.MetadataEntry { return ports.MetadataEntry{Name: name} }

func (e *env) setMeta(md ports.Metadata, user, box string, limit int, entries ...ports.MetadataEntry) {
	e.t.Helper()
	if err := md.SetMetadata(e.ctx, user, box, entries, limit); err != nil {
		e.t.Fatalf("SetMetadata(%q, %q): %v", user, box, err)
	}
}

// getMeta returns the entries as "name=value" strings, in the order
// GetMetadata gave them.
func (e *env) getMeta(md ports.Metadata, user, box string) []string {
	e.t.Helper()
	got, err := md.GetMetadata(e.ctx, user, box)
	if err != nil {
		e.t.Fatalf("GetMetadata(%q, %q): %v", user, box, err)
	}
	out := []string{}
	for _, en := range got {
		out = append(out, en.Name+"="+string(en.Value))
	}
	return out
}

func sameList(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (e *env) wantMeta(md ports.Metadata, user, box string, want ...string) {
	e.t.Helper()
	if want == nil {
		want = []string{}
	}
	// Another handle sees the same, as another process would.
	for i, s := range []ports.Store{e.s, e.handle()} {
		if got := e.getMeta(s.(ports.Metadata), user, box); !sameList(got, want) {
			e.t.Errorf("handle %d: GetMetadata(%q, %q) = %q, want %q", i, user, box, got, want)
		}
	}
}

// Entries are set, replaced and removed in one call, come back sorted by
// name, and removing a missing entry is no error.
func testMetadataSetGet(t *testing.T, e *env, md ports.Metadata) {
	e.user("u")
	e.create("u", "a")
	e.wantMeta(md, "u", "a")
	e.setMeta(md, "u", "a", 0, entry("/shared/comment", "one"), entry("/private/comment", "mine"),
		entry("/shared/vendor/x/y", "deep"))
	e.wantMeta(md, "u", "a", "/private/comment=mine", "/shared/comment=one", "/shared/vendor/x/y=deep")
	e.setMeta(md, "u", "a", 0, entry("/shared/comment", "two"), removal("/private/comment"), removal("/private/none"))
	e.wantMeta(md, "u", "a", "/shared/comment=two", "/shared/vendor/x/y=deep")
	e.wantMeta(md, "u", "INBOX")
	// An empty value is a value, not a removal.
	e.setMeta(md, "u", "INBOX", 0, entry("/private/comment", ""))
	e.wantMeta(md, "u", "INBOX", "/private/comment=")
}

// A user's /private entries are the user's; /shared ones are the
// mailbox's. Users' mailboxes are independent.
func testMetadataPrivatePerUser(t *testing.T, e *env, md ports.Metadata) {
	e.user("u")
	e.user("v")
	e.setMeta(md, "u", "INBOX", 0, entry("/private/comment", "u's"), entry("/shared/comment", "u shared"))
	e.setMeta(md, "v", "INBOX", 0, entry("/private/comment", "v's"))
	e.wantMeta(md, "u", "INBOX", "/private/comment=u's", "/shared/comment=u shared")
	e.wantMeta(md, "v", "INBOX", "/private/comment=v's")
}

// The server's /shared entries are everyone's; its /private entries are
// each user's own.
func testMetadataServer(t *testing.T, e *env, md ports.Metadata) {
	e.user("u")
	e.user("v")
	e.wantMeta(md, "u", "")
	e.setMeta(md, "u", "", 0, entry("/shared/admin", "mailto:root@example.org"), entry("/private/comment", "u"))
	e.setMeta(md, "v", "", 0, entry("/private/comment", "v"))
	e.wantMeta(md, "u", "", "/private/comment=u", "/shared/admin=mailto:root@example.org")
	e.wantMeta(md, "v", "", "/private/comment=v", "/shared/admin=mailto:root@example.org")
	e.setMeta(md, "v", "", 0, removal("/shared/admin"))
	e.wantMeta(md, "u", "", "/private/comment=u")
}

// Values are bytes: NUL, CR, LF and 8-bit bytes come back as they went.
func testMetadataBinary(t *testing.T, e *env, md ports.Metadata) {
	e.user("u")
	v := []byte("a\x00b\r\nc\xff\xfe" + string(bytes.Repeat([]byte("z"), 70000)))
	e.setMeta(md, "u", "INBOX", 0, ports.MetadataEntry{Name: "/private/vendor/bin", Value: v})
	for _, s := range []ports.Store{e.s, e.handle()} {
		got, err := s.(ports.Metadata).GetMetadata(e.ctx, "u", "INBOX")
		if err != nil || len(got) != 1 || !bytes.Equal(got[0].Value, v) {
			t.Fatalf("GetMetadata: %d entries, %v; value kept: %v", len(got), err, len(got) == 1 && bytes.Equal(got[0].Value, v))
		}
	}
}

// limit bounds the /shared entries and each user's /private entries
// apart; a change beyond it is refused whole; replacing and removing
// entries is always possible.
func testMetadataLimit(t *testing.T, e *env, md ports.Metadata) {
	e.user("u")
	for _, box := range []string{"INBOX", ""} {
		e.setMeta(md, "u", box, 2, entry("/private/a", "1"), entry("/private/b", "2"), entry("/shared/a", "1"))
		err := md.SetMetadata(e.ctx, "u", box, []ports.MetadataEntry{entry("/shared/b", "2"), entry("/private/c", "3")}, 2)
		wantKind(t, "SetMetadata beyond the limit", err, imap.ErrLimit)
		e.wantMeta(md, "u", box, "/private/a=1", "/private/b=2", "/shared/a=1")
		e.setMeta(md, "u", box, 2, entry("/private/a", "one"), entry("/shared/b", "2"))
		e.setMeta(md, "u", box, 2, removal("/private/a"), entry("/private/c", "3"))
		e.wantMeta(md, "u", box, "/private/b=2", "/private/c=3", "/shared/a=1", "/shared/b=2")
		// 0: no limit.
		e.setMeta(md, "u", box, 0, entry("/private/d", "4"))
	}
}

// Two handles adding entries at once under a limit never go beyond it.
func testMetadataLimitRace(t *testing.T, e *env, md ports.Metadata) {
	e.user("u")
	const limit, writers = 5, 4
	var wg sync.WaitGroup
	for w := range writers {
		s := e.handle().(ports.Metadata)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range limit {
				s.SetMetadata(e.ctx, "u", "INBOX", []ports.MetadataEntry{entry(fmt.Sprintf("/private/w%d-%d", w, i), "x")}, limit)
			}
		}()
	}
	wg.Wait()
	if got := e.getMeta(md, "u", "INBOX"); len(got) != limit {
		t.Errorf("%d entries under a limit of %d: %q", len(got), limit, got)
	}
}

// RENAME keeps the entries of the mailbox and of its children.
func testMetadataRename(t *testing.T, e *env, md ports.Metadata) {
	e.user("u")
	e.create("u", "a", "a/b")
	e.setMeta(md, "u", "a", 0, entry("/shared/comment", "a"), entry("/private/comment", "pa"))
	e.setMeta(md, "u", "a/b", 0, entry("/shared/comment", "b"))
	if err := e.s.RenameMailbox(e.ctx, "u", "a", "x/y"); err != nil {
		t.Fatal(err)
	}
	e.wantMeta(md, "u", "x/y", "/private/comment=pa", "/shared/comment=a")
	e.wantMeta(md, "u", "x/y/b", "/shared/comment=b")
	e.create("u", "a")
	e.wantMeta(md, "u", "a")
}

// Renaming INBOX leaves its entries with INBOX: the new mailbox starts
// without any.
func testMetadataRenameInbox(t *testing.T, e *env, md ports.Metadata) {
	e.user("u")
	e.setMeta(md, "u", "INBOX", 0, entry("/private/comment", "inbox"))
	if err := e.s.RenameMailbox(e.ctx, "u", "INBOX", "old"); err != nil {
		t.Fatal(err)
	}
	e.wantMeta(md, "u", "INBOX", "/private/comment=inbox")
	e.wantMeta(md, "u", "old")
}

// DELETE takes the entries with the mailbox, not its children's.
func testMetadataDelete(t *testing.T, e *env, md ports.Metadata) {
	e.user("u")
	e.create("u", "a", "a/b")
	e.setMeta(md, "u", "a", 0, entry("/shared/comment", "a"), entry("/private/comment", "pa"))
	e.setMeta(md, "u", "a/b", 0, entry("/shared/comment", "b"))
	if err := e.s.DeleteMailbox(e.ctx, "u", "a"); err != nil {
		t.Fatal(err)
	}
	e.create("u", "a")
	e.wantMeta(md, "u", "a")
	e.wantMeta(md, "u", "a/b", "/shared/comment=b")
}

// DeleteUser takes the user's entries, the /private server ones too, but
// not the server's /shared ones.
func testMetadataDeleteUser(t *testing.T, e *env, md ports.Metadata) {
	e.user("u")
	e.setMeta(md, "u", "INBOX", 0, entry("/private/comment", "x"))
	e.setMeta(md, "u", "", 0, entry("/private/comment", "p"), entry("/shared/comment", "s"))
	if err := e.s.DeleteUser(e.ctx, "u"); err != nil {
		t.Fatal(err)
	}
	e.user("u")
	e.wantMeta(md, "u", "INBOX")
	e.wantMeta(md, "u", "", "/shared/comment=s")
}

// A missing mailbox is imap.ErrNonexistent for both calls.
func testMetadataNonexistent(t *testing.T, e *env, md ports.Metadata) {
	e.user("u")
	_, err := md.GetMetadata(e.ctx, "u", "nosuch")
	wantKind(t, "GetMetadata", err, imap.ErrNonexistent)
	err = md.SetMetadata(e.ctx, "u", "nosuch", []ports.MetadataEntry{entry("/private/comment", "x")}, 0)
	wantKind(t, "SetMetadata", err, imap.ErrNonexistent)
}
