package grammar

import (
	"bufio"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/domain/search"
)

// TestSaveDateSyntax: RFC 8514's FETCH item and search keys.
func TestSaveDateSyntax(t *testing.T) {
	p := NewParser(bufio.NewReader(strings.NewReader(
		"a FETCH 1 (SAVEDATE)\r\nb SEARCH SAVEDBEFORE 1-Jan-2020 SAVEDON 2-Feb-2021 SAVEDSINCE 3-Mar-2022 SAVEDATESUPPORTED\r\n")), nil, DefaultLimits())
	cmd, err := p.Next()
	if err != nil || cmd.Args.(*FetchArgs).Items[0].Name != "SAVEDATE" {
		t.Fatalf("FETCH SAVEDATE: %+v, %v", cmd, err)
	}
	cmd, err = p.Next()
	if err != nil {
		t.Fatal(err)
	}
	keys := cmd.Args.(*SearchArgs).Criteria.Sub
	want := []search.Op{search.OpSavedBefore, search.OpSavedOn, search.OpSavedSince, search.OpSaveDateSupported}
	if len(keys) != len(want) {
		t.Fatalf("keys %+v", keys)
	}
	for i, k := range keys {
		if k.Op != want[i] {
			t.Errorf("key %d: op %d, want %d", i, k.Op, want[i])
		}
	}
	if keys[1].Date.Day() != 2 || keys[1].Date.Month() != 2 {
		t.Errorf("SAVEDON date %v", keys[1].Date)
	}
}
