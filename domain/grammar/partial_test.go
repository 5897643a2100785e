package grammar

import (
	"errors"
	"reflect"
	"testing"

	"github.com/imapd-go/imapd/domain/search"
)

// TestParsePartialContext: the PARTIAL return option and fetch modifier
// (RFC 9394 section 4), CONTEXT, UPDATE and CANCELUPDATE (RFC 5267 section
// 5).
func TestParsePartialContext(t *testing.T) {
	undeleted := search.Key{Op: search.OpNoFlag, Value: `\Deleted`}
	pr := func(lo, hi uint32, last bool) *search.PartialRange {
		return &search.PartialRange{Lo: lo, Hi: hi, FromEnd: last}
	}
	tests := []struct {
		in   string
		want *Command
	}{
		{"a UID SEARCH RETURN (PARTIAL 1:500) UNDELETED", &Command{Tag: "a", Name: "SEARCH", UID: true, Args: &SearchArgs{
			Criteria: and(undeleted), ESearch: true, Return: []string{"PARTIAL"}, Partial: pr(1, 500, false)}}},
		{"a SEARCH RETURN (partial -1:-100 COUNT) UNDELETED", &Command{Tag: "a", Name: "SEARCH", Args: &SearchArgs{
			Criteria: and(undeleted), ESearch: true, Return: []string{"PARTIAL", "COUNT"}, Partial: pr(1, 100, true)}}},
		// RFC 9394 section 4: "A range 500:400 is the same as 400:500."
		{"a SEARCH RETURN (PARTIAL 500:400) UNDELETED", &Command{Tag: "a", Name: "SEARCH", Args: &SearchArgs{
			Criteria: and(undeleted), ESearch: true, Return: []string{"PARTIAL"}, Partial: pr(400, 500, false)}}},
		{"a SEARCH RETURN (PARTIAL -500:-400 MIN MAX SAVE) UNDELETED", &Command{Tag: "a", Name: "SEARCH", Args: &SearchArgs{
			Criteria: and(undeleted), ESearch: true, Return: []string{"PARTIAL", "MIN", "MAX", "SAVE"}, Partial: pr(400, 500, true)}}},
		{"a UID SEARCH RETURN (UPDATE COUNT) UNDELETED", &Command{Tag: "a", Name: "SEARCH", UID: true, Args: &SearchArgs{
			Criteria: and(undeleted), ESearch: true, Return: []string{"UPDATE", "COUNT"}}}},
		{"a SEARCH RETURN (UPDATE) UNDELETED", &Command{Tag: "a", Name: "SEARCH", Args: &SearchArgs{
			Criteria: and(undeleted), ESearch: true, Return: []string{"UPDATE"}}}},
		// RFC 5267 section 4.2: CONTEXT is a hint, and asks for nothing.
		{"a SEARCH RETURN (CONTEXT) UNDELETED", &Command{Tag: "a", Name: "SEARCH", Args: &SearchArgs{
			Criteria: and(undeleted), ESearch: true, Return: []string{"CONTEXT", "ALL"}}}},
		{"a SEARCH RETURN (CONTEXT COUNT) UNDELETED", &Command{Tag: "a", Name: "SEARCH", Args: &SearchArgs{
			Criteria: and(undeleted), ESearch: true, Return: []string{"CONTEXT", "COUNT"}}}},
		{"a UID FETCH 25900:26600 (UID FLAGS) (PARTIAL -1:-3)", &Command{Tag: "a", Name: "FETCH", UID: true, Args: &FetchArgs{
			Set: set(r(25900, 26600)), Items: items("UID", "FLAGS"), Partial: pr(1, 3, true)}}},
		{"a FETCH 1:* FLAGS (CHANGEDSINCE 5 PARTIAL 1:10)", &Command{Tag: "a", Name: "FETCH", Args: &FetchArgs{
			Set: set(r(1, 0)), Items: items("FLAGS"), ChangedSince: 5, Partial: pr(1, 10, false)}}},
		{`a CANCELUPDATE "B01"`, &Command{Tag: "a", Name: "CANCELUPDATE", Args: &CancelUpdateArgs{Tags: []string{"B01"}}}},
		{`a CANCELUPDATE "B01" "B02"`, &Command{Tag: "a", Name: "CANCELUPDATE", Args: &CancelUpdateArgs{Tags: []string{"B01", "B02"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			h := newHarness(tt.in+"\r\nZ NOOP\r\n", Limits{})
			got, err := h.p.Next()
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
				t.Errorf("args %+v", got.Args)
			}
			h.expectNoop(t)
		})
	}
}

func TestPartialContextErrors(t *testing.T) {
	for _, tt := range []struct{ name, in string }{
		{"PARTIAL without range", "a SEARCH RETURN (PARTIAL) ALL\r\n"},
		{"PARTIAL with 0", "a SEARCH RETURN (PARTIAL 0:5) ALL\r\n"},
		{"PARTIAL ending with 0", "a SEARCH RETURN (PARTIAL 1:0) ALL\r\n"},
		{"PARTIAL with -0", "a SEARCH RETURN (PARTIAL -0:-5) ALL\r\n"},
		{"PARTIAL mixed signs", "a SEARCH RETURN (PARTIAL -1:5) ALL\r\n"},
		{"PARTIAL mixed signs the other way", "a SEARCH RETURN (PARTIAL 1:-5) ALL\r\n"},
		{"PARTIAL with star", "a SEARCH RETURN (PARTIAL 1:*) ALL\r\n"},
		{"PARTIAL one number", "a SEARCH RETURN (PARTIAL 5) ALL\r\n"},
		{"PARTIAL a list", "a SEARCH RETURN (PARTIAL 1:5,7:9) ALL\r\n"},
		{"PARTIAL quoted", "a SEARCH RETURN (PARTIAL \"1:5\") ALL\r\n"},
		{"PARTIAL over 32 bits", "a SEARCH RETURN (PARTIAL 1:4294967296) ALL\r\n"},
		{"PARTIAL twice", "a SEARCH RETURN (PARTIAL 1:5 PARTIAL 6:9) ALL\r\n"},
		{"PARTIAL with ALL", "a SEARCH RETURN (PARTIAL 1:5 ALL) ALL\r\n"},
		{"ALL with PARTIAL", "a SEARCH RETURN (ALL PARTIAL -1:-5) ALL\r\n"},
		{"PARTIAL modifier twice", "a UID FETCH 1:* FLAGS (PARTIAL 1:5 PARTIAL 1:2)\r\n"},
		{"PARTIAL modifier without range", "a UID FETCH 1:* FLAGS (PARTIAL)\r\n"},
		{"PARTIAL modifier reversed signs", "a UID FETCH 1:* FLAGS (PARTIAL -3:1)\r\n"},
		{"CANCELUPDATE without tag", "a CANCELUPDATE\r\n"},
		{"CANCELUPDATE atom tag", "a CANCELUPDATE B01\r\n"},
		{"CANCELUPDATE trailing space", "a CANCELUPDATE \"B01\" \r\n"},
		{"UID CANCELUPDATE", "a UID CANCELUPDATE \"B01\"\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(tt.in+"Z NOOP\r\n", Limits{})
			cmd, err := h.p.Next()
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %+v, %v; want *Error", cmd, err)
			}
			if e.Status != "BAD" || e.Tag != "a" {
				t.Errorf("got %q %q %q; want BAD", e.Tag, e.Status, e.Text)
			}
			h.expectNoop(t)
		})
	}
}
