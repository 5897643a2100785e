package grants

import (
	"slices"
	"testing"
)

func TestRecordOwners(t *testing.T) {
	dir := t.TempDir()
	if err := Record(dir, "alice", []string{"bob", "anyone", "-carol", "alice", "../x y"}); err != nil {
		t.Fatal(err)
	}
	if err := Record(dir, ".dave", []string{"bob"}); err != nil {
		t.Fatal(err)
	}
	if err := Record(dir, "alice", []string{"bob"}); err != nil { // again: nothing new
		t.Fatal(err)
	}
	for id, want := range map[string][]string{
		"bob": {".dave", "alice"}, "anyone": {"alice"}, "-carol": nil, "carol": nil, "alice": nil, "../x y": {"alice"},
	} {
		var got []string
		if err := Owners(dir, id, func(o string) error { got = append(got, o); return nil }); err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("Owners(%q) = %q, want %q", id, got, want)
		}
	}
}
