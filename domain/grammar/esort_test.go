package grammar

import (
	"errors"
	"reflect"
	"testing"

	"github.com/imapd-go/imapd/domain/search"
	"github.com/imapd-go/imapd/domain/sortkey"
)

// TestParseESort: the extended SORT of RFC 5267 section 3 takes SEARCH's
// RETURN options (RFC 4731, RFC 5182's SAVE, RFC 5267's UPDATE, CONTEXT
// and RFC 9394's PARTIAL) between SORT and the sort criteria.
func TestParseESort(t *testing.T) {
	all := search.Key{Op: search.OpAll}
	date := []sortkey.Criterion{{Key: sortkey.Date}}
	undeletedJunk := and(search.Key{Op: search.OpNoFlag, Value: `\Deleted`}, search.Key{Op: search.OpNoFlag, Value: "$Junk"})
	tests := []struct {
		in   string
		want *SortArgs
	}{
		// RFC 5267 section 3.3 and 4.4's examples.
		{"a UID SORT RETURN (ALL COUNT) (DATE) UTF-8 UNDELETED UNKEYWORD $Junk", &SortArgs{ESort: true,
			Return: []string{"ALL", "COUNT"}, Keys: date, Charset: "UTF-8", Criteria: undeletedJunk}},
		{"a UID SORT RETURN (PARTIAL 23500:24000) (DATE) UTF-8 UNDELETED UNKEYWORD $Junk", &SortArgs{ESort: true,
			Return: []string{"PARTIAL"}, Partial: &search.PartialRange{Lo: 23500, Hi: 24000}, Keys: date, Charset: "UTF-8", Criteria: undeletedJunk}},
		// RFC 4731 3.1: RETURN () is RETURN (ALL); CONTEXT alone too.
		{"a SORT RETURN () (DATE) UTF-8 ALL", &SortArgs{ESort: true, Return: []string{"ALL"}, Keys: date, Charset: "UTF-8", Criteria: and(all)}},
		{"a SORT RETURN (CONTEXT) (DATE) UTF-8 ALL", &SortArgs{ESort: true, Return: []string{"CONTEXT", "ALL"}, Keys: date, Charset: "UTF-8", Criteria: and(all)}},
		{"a sort return (update min max save partial -1:-10) (reverse date) utf-8 all", &SortArgs{ESort: true,
			Return: []string{"UPDATE", "MIN", "MAX", "SAVE", "PARTIAL"}, Partial: &search.PartialRange{Lo: 1, Hi: 10, FromEnd: true},
			Keys: []sortkey.Criterion{{Key: sortkey.Date, Reverse: true}}, Charset: "UTF-8", Criteria: and(all)}},
		// Without RETURN, SORT is RFC 5256's.
		{"a SORT (DATE) UTF-8 ALL", &SortArgs{Keys: date, Charset: "UTF-8", Criteria: and(all)}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			h := newHarness(tt.in+"\r\nZ NOOP\r\n", Limits{})
			got, err := h.p.Next()
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if !reflect.DeepEqual(got.Args, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got.Args, tt.want)
			}
			h.expectNoop(t)
		})
	}
}

func TestParseESortErrors(t *testing.T) {
	for _, in := range []string{
		"a SORT RETURN (DATE) UTF-8 ALL",           // the sort criteria taken for options
		"a SORT RETURN (FOO) (DATE) UTF-8 ALL",     // unknown option
		"a SORT RETURN (MIN) UTF-8 ALL",            // no sort criteria
		"a SORT RETURN MIN (DATE) UTF-8 ALL",       // options without parentheses
		"a SORT RETURN (MIN (DATE) UTF-8 ALL",      // unclosed
		"a SORT RETURN (MIN)(DATE) UTF-8 ALL",      // no space
		"a SORT RETURN  (MIN) (DATE) UTF-8 ALL",    // two spaces
		"a SORT RETURN (PARTIAL) (DATE) UTF-8 ALL", // PARTIAL without its range
		"a SORT RETURN (PARTIAL 0:5) (DATE) UTF-8 ALL",
		"a SORT RETURN (PARTIAL 1:-5) (DATE) UTF-8 ALL",
		"a SORT RETURN (PARTIAL 1:5 PARTIAL 6:9) (DATE) UTF-8 ALL",
		"a SORT RETURN (PARTIAL 1:5 ALL) (DATE) UTF-8 ALL", // RFC 9394 3.1
		"a UID SORT RETURN (COUNT) (DATE) UTF-8",
	} {
		t.Run(in, func(t *testing.T) {
			h := newHarness(in+"\r\nZ NOOP\r\n", Limits{})
			cmd, err := h.p.Next()
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %+v, %v; want *Error", cmd, err)
			}
			if e.Status != "BAD" || e.Tag != "a" || e.Text == "" {
				t.Errorf("got %q %q %q; want BAD", e.Tag, e.Status, e.Text)
			}
			h.expectNoop(t)
		})
	}
}
