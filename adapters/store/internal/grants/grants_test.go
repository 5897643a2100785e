package grants

import (
	"context"
	"slices"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
)

func aclOf(ids ...string) imap.ACL {
	var a imap.ACL
	for _, id := range ids {
		a = append(a, imap.ACLEntry{Identifier: id, Rights: "lr"})
	}
	return a
}

func TestRecordGrantors(t *testing.T) {
	dir := t.TempDir()
	if err := Record(dir, "alice", aclOf("bob", "anyone", "-carol", "alice", "../x y")); err != nil {
		t.Fatal(err)
	}
	if err := Record(dir, ".dave", aclOf("bob")); err != nil {
		t.Fatal(err)
	}
	if err := Record(dir, "alice", aclOf("bob")); err != nil { // again: nothing new
		t.Fatal(err)
	}
	for _, tt := range []struct {
		ids  []string
		want []string
	}{
		{[]string{"bob"}, []string{".dave", "alice"}},
		{[]string{"anyone"}, []string{"alice"}},
		{[]string{"-carol"}, nil},
		{[]string{"carol"}, nil},
		{[]string{"alice"}, nil},
		{[]string{"../x y"}, []string{"alice"}},
		{[]string{"bob", "anyone"}, []string{".dave", "alice"}}, // each owner once
	} {
		var got []string
		if err := Grantors(context.Background(), dir, tt.ids, func(o string) error { got = append(got, o); return nil }); err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("Grantors(%q) = %q, want %q", tt.ids, got, tt.want)
		}
	}
}
