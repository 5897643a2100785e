package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// RunACLs checks the promises of ports.ACLs and ports.SeenStates, and
// that ports.SharedOwner is an ordinary owner to the store; it skips a
// store without them.
func RunACLs(t *testing.T, open Opener) {
	for _, tt := range []struct {
		name string
		fn   func(*testing.T, *env, ports.ACLs)
	}{
		{"SetGet", testACLSetGet},
		{"Missing", testACLMissing},
		{"Inherit", testACLInherit},
		{"RenameDelete", testACLRenameDelete},
		{"Atomic", testACLAtomic},
		{"SharedOwner", testACLSharedOwner},
		{"Owners", testACLOwners},
		{"NoSuchUser", testACLNoSuchUser},
		{"Grantors", testACLGrantors},
		{"Seen", testSeen},
		{"SeenAtomic", testSeenAtomic},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := &env{t: t, open: open, dir: t.TempDir(), ctx: t.Context()}
			e.s = e.handle()
			a, ok := e.s.(ports.ACLs)
			if !ok {
				t.Skip("the store keeps no ACLs")
			}
			tt.fn(t, e, a)
		})
	}
}

func (e *env) acl(a ports.ACLs, user, name string) (string, bool) {
	e.t.Helper()
	acl, set, err := a.MailboxACL(e.ctx, user, name)
	if err != nil {
		e.t.Fatalf("MailboxACL(%s, %q): %v", user, name, err)
	}
	return acl.String(), set
}

func (e *env) setACL(a ports.ACLs, user, name, id string, op imap.ACLOp, rights string) {
	e.t.Helper()
	r, _ := imap.ParseRights(rights)
	_, err := a.ModifyACL(e.ctx, user, name, func(cur imap.ACL, _ bool) (imap.ACL, error) {
		return cur.With(id, op, r), nil
	})
	if err != nil {
		e.t.Fatalf("ModifyACL(%s, %q): %v", user, name, err)
	}
}

// A mailbox's ACL is unset until one is stored; what is stored is what
// every handle reads, in its order, per mailbox and per user; an error from
// the function changes nothing.
func testACLSetGet(t *testing.T, e *env, a ports.ACLs) {
	e.user("u")
	e.user("v")
	e.create("u", "a")
	if acl, set := e.acl(a, "u", "a"); set || acl != "" {
		t.Fatalf("new mailbox: %q set=%v, want unset", acl, set)
	}
	e.setACL(a, "u", "a", "u", imap.ACLReplace, "lrswipkxtecdan")
	e.setACL(a, "u", "a", "bob", imap.ACLReplace, "lr")
	e.setACL(a, "u", "a", "anyone", imap.ACLAdd, "l")
	e.setACL(a, "u", "a", "bob", imap.ACLAdd, "s")
	other := e.handle().(ports.ACLs)
	want := "u\tlrswipkxtecdan\tbob\tlrs\tanyone\tl\t"
	if acl, set := e.acl(other, "u", "a"); !set || acl != want {
		t.Errorf("u a: %q set=%v, want %q", acl, set, want)
	}
	if acl, set := e.acl(other, "u", "INBOX"); set || acl != "" {
		t.Errorf("u INBOX has %q set=%v", acl, set)
	}
	if acl, set := e.acl(other, "v", "INBOX"); set || acl != "" {
		t.Errorf("v INBOX has %q set=%v", acl, set)
	}
	// Removing every right removes the entry; an empty ACL stays set.
	e.setACL(a, "u", "a", "anyone", imap.ACLRemove, "l")
	e.setACL(a, "u", "a", "bob", imap.ACLReplace, "")
	e.setACL(a, "u", "a", "u", imap.ACLReplace, "")
	if acl, set := e.acl(other, "u", "a"); !set || acl != "" {
		t.Errorf("emptied: %q set=%v, want empty and set", acl, set)
	}
	boom := errors.New("boom")
	_, err := a.ModifyACL(e.ctx, "u", "a", func(cur imap.ACL, _ bool) (imap.ACL, error) {
		return cur.With("x", imap.ACLReplace, "l"), boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("ModifyACL with a failing function: %v, want it", err)
	}
	if acl, _ := e.acl(other, "u", "a"); acl != "" {
		t.Errorf("a failed ModifyACL stored %q", acl)
	}
}

func testACLMissing(t *testing.T, e *env, a ports.ACLs) {
	e.user("u")
	if _, _, err := a.MailboxACL(e.ctx, "u", "nope"); !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("MailboxACL of a missing mailbox: %v", err)
	}
	_, err := a.ModifyACL(e.ctx, "u", "nope", func(cur imap.ACL, _ bool) (imap.ACL, error) { return cur, nil })
	if !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("ModifyACL of a missing mailbox: %v", err)
	}
	_, err = a.ModifyACL(e.ctx, "nobody", "x", func(cur imap.ACL, _ bool) (imap.ACL, error) { return cur, nil })
	if !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("ModifyACL of a missing user's mailbox: %v", err)
	}
}

// A new mailbox, and each superior level CREATE adds, copies the ACL of
// its nearest existing superior; a top-level one copies INBOX's.
func testACLInherit(t *testing.T, e *env, a ports.ACLs) {
	e.user("u")
	e.create("u", "plain")
	e.create("u", "plain/child")
	if _, set := e.acl(a, "u", "plain/child"); set {
		t.Errorf("child of a mailbox without an ACL has one")
	}
	e.setACL(a, "u", "INBOX", "bob", imap.ACLReplace, "lr")
	e.create("u", "top")
	if acl, _ := e.acl(a, "u", "top"); acl != "bob\tlr\t" {
		t.Errorf("top-level mailbox: %q, want INBOX's", acl)
	}
	e.create("u", "a")
	e.setACL(a, "u", "a", "carol", imap.ACLReplace, "lrs")
	e.create("u", "a/b/c")
	for _, n := range []string{"a/b", "a/b/c"} {
		if acl, _ := e.acl(a, "u", n); acl != "bob\tlr\tcarol\tlrs\t" {
			t.Errorf("%s: %q, want a's", n, acl)
		}
	}
	// A copy, not a link.
	e.setACL(a, "u", "a", "dave", imap.ACLReplace, "l")
	if acl, _ := e.acl(a, "u", "a/b"); acl != "bob\tlr\tcarol\tlrs\t" {
		t.Errorf("a/b after a changed: %q", acl)
	}
}

// The ACL moves with RENAME (children's too) and goes with DELETE.
func testACLRenameDelete(t *testing.T, e *env, a ports.ACLs) {
	e.user("u")
	e.create("u", "a", "a/b", "p")
	e.setACL(a, "u", "a", "bob", imap.ACLReplace, "lr")
	e.setACL(a, "u", "a/b", "carol", imap.ACLReplace, "l")
	if err := e.s.RenameMailbox(e.ctx, "u", "a", "p/z"); err != nil {
		t.Fatal(err)
	}
	other := e.handle().(ports.ACLs)
	if acl, _ := e.acl(other, "u", "p/z"); acl != "bob\tlr\t" {
		t.Errorf("renamed: %q", acl)
	}
	if acl, _ := e.acl(other, "u", "p/z/b"); acl != "carol\tl\t" {
		t.Errorf("renamed child: %q", acl)
	}
	if err := e.s.DeleteMailbox(e.ctx, "u", "p/z/b"); err != nil {
		t.Fatal(err)
	}
	e.create("u", "p/z/b")
	if acl, _ := e.acl(other, "u", "p/z/b"); acl != "bob\tlr\t" {
		t.Errorf("created again: %q, want its parent's", acl)
	}
	// RENAME of INBOX leaves INBOX's ACL in place.
	e.setACL(a, "u", "INBOX", "dave", imap.ACLReplace, "lr")
	e.append("u", "INBOX", "Subject: x\r\n\r\nx\r\n")
	if err := e.s.RenameMailbox(e.ctx, "u", "INBOX", "old"); err != nil {
		t.Fatal(err)
	}
	if acl, _ := e.acl(other, "u", "INBOX"); acl != "dave\tlr\t" {
		t.Errorf("INBOX after its RENAME: %q", acl)
	}
}

// Concurrent changes through separate handles all land.
func testACLAtomic(t *testing.T, e *env, a ports.ACLs) {
	e.user("u")
	e.create("u", "a")
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := e.handle().(ports.ACLs)
			_, err := h.ModifyACL(e.ctx, "u", "a", func(cur imap.ACL, _ bool) (imap.ACL, error) {
				return cur.With(fmt.Sprintf("user%d", i), imap.ACLReplace, "lr"), nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	acl, _, err := a.MailboxACL(e.ctx, "u", "a")
	if err != nil || len(acl) != n {
		t.Errorf("after %d concurrent changes: %v %v", n, acl, err)
	}
}

// Shared mailboxes live under ports.SharedOwner, which has no INBOX.
func testACLSharedOwner(t *testing.T, e *env, a ports.ACLs) {
	if err := e.s.CreateMailbox(e.ctx, ports.SharedOwner, "team"); err != nil {
		t.Fatal(err)
	}
	e.create(ports.SharedOwner, "team/inbound")
	if got := e.list(ports.SharedOwner); !slices.Equal(got, []string{"team", "team/inbound"}) {
		t.Errorf("shared mailboxes: %q", got)
	}
	e.setACL(a, ports.SharedOwner, "team", "anyone", imap.ACLReplace, "lrs")
	e.create(ports.SharedOwner, "team/x")
	if acl, _ := e.acl(a, ports.SharedOwner, "team/x"); acl != "anyone\tlrs\t" {
		t.Errorf("shared child: %q", acl)
	}
	e.append(ports.SharedOwner, "team", "Subject: s\r\n\r\nx\r\n")
	if st := e.status(ports.SharedOwner, "team"); st.Messages != 1 {
		t.Errorf("shared mailbox holds %d messages", st.Messages)
	}
}

func (e *env) seen(s ports.SeenStates, reader, key string) ([]imap.UID, uint64) {
	e.t.Helper()
	uids, v, err := s.LoadSeen(e.ctx, reader, key)
	if err != nil {
		e.t.Fatalf("LoadSeen(%s, %s): %v", reader, key, err)
	}
	return uids, v
}

// A reader's seen sets, per key, as every handle reads them, with a
// version that rises at each change; gone with the reader.
func testSeen(t *testing.T, e *env, _ ports.ACLs) {
	ss, ok := e.s.(ports.SeenStates)
	if !ok {
		t.Skip("the store keeps no seen states")
	}
	e.user("bob")
	if uids, v := e.seen(ss, "bob", "alice/M1"); uids != nil || v != 0 {
		t.Fatalf("before any: %v %d", uids, v)
	}
	v1, err := ss.UpdateSeen(e.ctx, "bob", "alice/M1", []imap.UID{3, 1, 2, 7}, true)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := ss.UpdateSeen(e.ctx, "bob", "alice/M1", []imap.UID{2, 9}, false)
	if err != nil {
		t.Fatal(err)
	}
	if v2 <= v1 || v1 == 0 {
		t.Errorf("versions %d then %d", v1, v2)
	}
	other := e.handle().(ports.SeenStates)
	if uids, v := e.seen(other, "bob", "alice/M1"); !slices.Equal(uids, []imap.UID{1, 3, 7}) || v != v2 {
		t.Errorf("after changes: %v %d, want [1 3 7] %d", uids, v, v2)
	}
	if uids, _ := e.seen(other, "bob", "alice/M2"); uids != nil {
		t.Errorf("another key: %v", uids)
	}
	e.user("carol")
	if uids, _ := e.seen(other, "carol", "alice/M1"); uids != nil {
		t.Errorf("another reader: %v", uids)
	}
	var keys []string
	if err := other.SeenKeys(e.ctx, "bob", func(k string) error { keys = append(keys, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{"alice/M1"}) {
		t.Errorf("SeenKeys: %q", keys)
	}
	if err := e.s.DeleteUser(e.ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	e.user("bob")
	if uids, _ := e.seen(other, "bob", "alice/M1"); uids != nil {
		t.Errorf("after DeleteUser: %v", uids)
	}
}

func testSeenAtomic(t *testing.T, e *env, _ ports.ACLs) {
	ss, ok := e.s.(ports.SeenStates)
	if !ok {
		t.Skip("the store keeps no seen states")
	}
	e.user("bob")
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := e.handle().(ports.SeenStates)
			if _, err := h.UpdateSeen(e.ctx, "bob", "k", []imap.UID{imap.UID(i + 1)}, true); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if uids, v := e.seen(ss, "bob", "k"); len(uids) != n || v != n {
		t.Errorf("after %d concurrent changes: %v version %d", n, uids, v)
	}
}

// Owners lists every user with mailboxes, the shared owner included.
func testACLOwners(t *testing.T, e *env, a ports.ACLs) {
	e.user("alice")
	e.user("b.o b%é")
	e.user(".dot")
	if err := e.s.CreateMailbox(e.ctx, ports.SharedOwner, "team"); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := e.handle().(ports.ACLs).Owners(e.ctx, func(u string) error { got = append(got, u); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	want := []string{".dot", ports.SharedOwner, "alice", "b.o b%é"}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Owners: %q, want %q", got, want)
	}
}

// Asking about a user the store does not hold creates nothing.
func testACLNoSuchUser(t *testing.T, e *env, a ports.ACLs) {
	e.user("alice")
	if _, _, err := a.MailboxACL(e.ctx, "nobody", "INBOX"); !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("MailboxACL of a missing user: %v", err)
	}
	var got []string
	if err := a.Owners(e.ctx, func(u string) error { got = append(got, u); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"alice"}) {
		t.Errorf("Owners after asking about a missing user: %q", got)
	}
}

// Grantors finds the owners who gave an identifier (or anyone) rights.
func testACLGrantors(t *testing.T, e *env, a ports.ACLs) {
	e.user("alice")
	e.user("dave")
	e.create("alice", "Team")
	e.create("dave", "Dave")
	if err := e.s.CreateMailbox(e.ctx, ports.SharedOwner, "news"); err != nil {
		t.Fatal(err)
	}
	e.setACL(a, "alice", "Team", "bob", imap.ACLReplace, "lr")
	e.setACL(a, "dave", "Dave", "-bob", imap.ACLReplace, "lr")
	e.setACL(a, ports.SharedOwner, "news", "anyone", imap.ACLReplace, "lrs")
	grantors := func(ids ...string) []string {
		var got []string
		err := e.handle().(ports.ACLs).Grantors(e.ctx, ids, func(o string) error { got = append(got, o); return nil })
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		return got
	}
	if got := grantors("bob", "anyone"); !slices.Contains(got, "alice") || !slices.Contains(got, ports.SharedOwner) || len(got) != 2 {
		t.Errorf("Grantors(bob, anyone) = %q, want alice and the shared owner", got)
	}
	if got := grantors("bob"); !slices.Equal(got, []string{"alice"}) {
		t.Errorf("Grantors(bob) = %q", got)
	}
}
