package imap

import (
	"slices"
	"testing"
)

func TestParseRights(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Rights
		ok   bool
	}{
		{"", "", true},
		{"rl", "lr", true},
		{"lrswipkxtea", "lrswipkxtecda", true},
		{"c", "kxc", true},
		{"d", "ted", true},
		{"kx", "kxc", true},
		{"k", "k", true},
		{"lrswipkxtecdan", AllRights, true},
		{"llr", "lr", true},
		{"z", "", false},
		{"L", "", false},
	} {
		got, ok := ParseRights(tt.in)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("ParseRights(%q) = %q %v, want %q %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseRightsChange(t *testing.T) {
	for _, tt := range []struct {
		in   string
		op   ACLOp
		want Rights
		ok   bool
	}{
		{"lr", ACLReplace, "lr", true},
		{"+w", ACLAdd, "w", true},
		{"-rl", ACLRemove, "lr", true},
		{"+", ACLAdd, "", true},
		{"", ACLReplace, "", true},
		{"+z", ACLAdd, "", false},
		{"--r", ACLRemove, "", false},
	} {
		op, got, ok := ParseRightsChange(tt.in)
		if ok != tt.ok || (ok && (op != tt.op || got != tt.want)) {
			t.Errorf("ParseRightsChange(%q) = %v %q %v, want %v %q %v", tt.in, op, got, ok, tt.op, tt.want, tt.ok)
		}
	}
}

func TestACLRights(t *testing.T) {
	acl, ok := ParseDefaultACL("alice lrswipkxtecdan bob lrsw anyone lr -bob w -anyone s")
	if !ok {
		t.Fatal("ParseDefaultACL refused")
	}
	for _, tt := range []struct{ user, owner, want string }{
		{"alice", "alice", "lrwipkxtecdan"}, // -anyone s applies to all
		{"bob", "alice", "lr"},              // w taken by -bob, s by -anyone
		{"carol", "alice", "lr"},            // anyone
		{"carol", "carol", "lrkxcan"},
	} {
		if got := acl.Rights(tt.user, tt.owner); string(got) != tt.want {
			t.Errorf("Rights(%s, owner %s) = %q, want %q", tt.user, tt.owner, got, tt.want)
		}
	}
	a := ACL(nil).With("bob", ACLAdd, "lr").With("bob", ACLRemove, "r").With("amy", ACLReplace, "l")
	if a.String() != "bob\tl\tamy\tl\t" {
		t.Errorf("With: %q", a.String())
	}
	if b := ParseACL(a.String()); b.String() != a.String() {
		t.Errorf("ParseACL(String()) = %q", b.String())
	}
	if a.With("bob", ACLRemove, "l").Get("bob") != "" {
		t.Error("an identifier left with no rights stays")
	}
}

func TestUIDSets(t *testing.T) {
	u, ok := UIDsOfSet("1:3,7,9:10")
	if !ok || !slices.Equal(u, []UID{1, 2, 3, 7, 9, 10}) {
		t.Errorf("UIDsOfSet: %v %v", u, ok)
	}
	for _, bad := range []string{"0", "3:1", "*", "1,,2", "x"} {
		if _, ok := UIDsOfSet(bad); ok {
			t.Errorf("UIDsOfSet(%q) accepted", bad)
		}
	}
	if got := ChangeUIDs([]UID{1, 3}, []UID{2, 3}, true); !slices.Equal(got, []UID{1, 2, 3}) {
		t.Errorf("add: %v", got)
	}
	if got := ChangeUIDs([]UID{1, 2, 3}, []UID{2}, false); !slices.Equal(got, []UID{1, 3}) {
		t.Errorf("remove: %v", got)
	}
}
