package e2e

import (
	"testing"

	"github.com/emersion/go-imap/v2"
)

// go-imap v2's client through the ACL commands: alice shares a folder,
// bob finds it in the other users' namespace and reads his rights.
func TestACLGoIMAP(t *testing.T) {
	e := newEnv(t)
	alice := e.login("alice", nil)
	defer alice.Close()
	if !alice.Caps().Has(imap.CapACL) {
		t.Fatalf("no ACL in %v", alice.Caps())
	}
	if err := alice.Create("Team", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := alice.SetACL("Team", "bob", imap.RightModificationReplace, imap.RightSet("lrs")).Wait(); err != nil {
		t.Fatal(err)
	}
	acl, err := alice.GetACL("Team").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if string(acl.Rights["bob"]) != "lrs" || string(acl.Rights["alice"]) != "lrswipkxtecdan" {
		t.Errorf("GETACL: %v", acl.Rights)
	}

	bob := e.login("bob", nil)
	defer bob.Close()
	ns, err := bob.Namespace().Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(ns.Other) != 1 || ns.Other[0].Prefix != "Other Users/" || len(ns.Shared) != 1 || ns.Shared[0].Prefix != "Shared Folders/" {
		t.Errorf("NAMESPACE: %+v", ns)
	}
	my, err := bob.MyRights("Other Users/alice/Team").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if string(my.Rights) != "lrs" {
		t.Errorf("MYRIGHTS: %q", my.Rights)
	}
	if _, err := bob.Select("Other Users/alice/Team", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := bob.SetACL("Other Users/alice/Team", "bob", imap.RightModificationAdd, imap.RightSet("w")).Wait(); err == nil {
		t.Error("bob changed the ACL of alice's folder")
	}
}
