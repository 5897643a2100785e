package grammar

import (
	"errors"
	"reflect"
	"testing"

	"github.com/imapd-go/imapd/domain/search"
	"github.com/imapd-go/imapd/domain/sortkey"
)

func TestParseSortThread(t *testing.T) {
	all := search.Key{Op: search.OpAll}
	seen := search.Key{Op: search.OpFlag, Value: `\Seen`}
	tests := []struct {
		in   string
		want *Command
	}{
		// RFC 5256 section 4's examples.
		{"A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994", &Command{Tag: "A282", Name: "SORT", Args: &SortArgs{
			Keys: []sortkey.Criterion{{Key: sortkey.Subject}}, Charset: "UTF-8",
			Criteria: and(search.Key{Op: search.OpSince, Date: day(1994, 2, 1)})}}},
		{"A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL", &Command{Tag: "A283", Name: "SORT", Args: &SortArgs{
			Keys:    []sortkey.Criterion{{Key: sortkey.Subject}, {Key: sortkey.Date, Reverse: true}},
			Charset: "UTF-8", Criteria: and(all)}}},
		{"A284 SORT (SUBJECT) US-ASCII TEXT \"not in mailbox\"", &Command{Tag: "A284", Name: "SORT", Args: &SortArgs{
			Keys: []sortkey.Criterion{{Key: sortkey.Subject}}, Charset: "US-ASCII",
			Criteria: and(search.Key{Op: search.OpText, Value: "not in mailbox"})}}},
		{"a uid sort (reverse arrival cc from size to displayfrom displayto) \"utf-8\" seen all", &Command{Tag: "a", Name: "SORT", UID: true, Args: &SortArgs{
			Keys: []sortkey.Criterion{{Key: sortkey.Arrival, Reverse: true}, {Key: sortkey.Cc}, {Key: sortkey.From},
				{Key: sortkey.Size}, {Key: sortkey.To}, {Key: sortkey.DisplayFrom}, {Key: sortkey.DisplayTo}},
			Charset: "UTF-8", Criteria: and(seen, all)}}},
		{"A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000", &Command{Tag: "A283", Name: "THREAD", Args: &ThreadArgs{
			Algorithm: "ORDEREDSUBJECT", Charset: "UTF-8", Criteria: and(search.Key{Op: search.OpSince, Date: day(2000, 3, 5)})}}},
		{"A284 THREAD ORDEREDSUBJECT US-ASCII TEXT \"gewp\"", &Command{Tag: "A284", Name: "THREAD", Args: &ThreadArgs{
			Algorithm: "ORDEREDSUBJECT", Charset: "US-ASCII", Criteria: and(search.Key{Op: search.OpText, Value: "gewp"})}}},
		{"a UID THREAD references utf-8 (SEEN)", &Command{Tag: "a", Name: "THREAD", UID: true, Args: &ThreadArgs{
			Algorithm: "REFERENCES", Charset: "UTF-8", Criteria: and(and(seen))}}},
		{"a THREAD REFS UTF-8 ALL", &Command{Tag: "a", Name: "THREAD", Args: &ThreadArgs{
			Algorithm: "REFS", Charset: "UTF-8", Criteria: and(all)}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			h := newHarness(tt.in+"\r\nZ NOOP\r\n", Limits{})
			got, err := h.p.Next()
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v %#v\nwant %#v %#v", got, got.Args, tt.want, tt.want.Args)
			}
			h.expectNoop(t)
		})
	}
}

func TestParseSortThreadErrors(t *testing.T) {
	tests := []struct {
		in, status, code string
	}{
		{"a SORT", "BAD", ""},
		{"a SORT (SUBJECT)", "BAD", ""},
		{"a SORT (SUBJECT) UTF-8", "BAD", ""},
		{"a SORT () UTF-8 ALL", "BAD", ""},
		{"a SORT SUBJECT UTF-8 ALL", "BAD", ""},
		{"a SORT (SUBJECT UTF-8 ALL", "BAD", ""},
		{"a SORT (FOO) UTF-8 ALL", "BAD", ""},
		{"a SORT (REVERSE) UTF-8 ALL", "BAD", ""},
		{"a SORT (REVERSE REVERSE DATE) UTF-8 ALL", "BAD", ""},
		{"a SORT (DATE)  UTF-8 ALL", "BAD", ""},
		{"a SORT (DATE) UTF-8 FOO", "BAD", ""},
		{"a SORT (DATE) UTF-8 ALL ", "BAD", ""},
		{"a SORT (DATE) ALL", "NO", "BADCHARSET (UTF-8 US-ASCII)"}, // the charset is required: ALL is taken for one
		{"a SORT (DATE) KOI8-R ALL", "NO", "BADCHARSET (UTF-8 US-ASCII)"},
		{"a UID SORT (DATE) ISO-8859-1 SUBJECT {4+}\r\ntest", "NO", "BADCHARSET (UTF-8 US-ASCII)"},
		{"a THREAD", "BAD", ""},
		{"a THREAD REFERENCES", "BAD", ""},
		{"a THREAD REFERENCES UTF-8", "BAD", ""},
		{"a THREAD FOO UTF-8 ALL", "BAD", ""},
		{"a THREAD (REFERENCES) UTF-8 ALL", "BAD", ""},
		{"a THREAD REFERENCES KOI8-R ALL", "NO", "BADCHARSET (UTF-8 US-ASCII)"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			h := newHarness(tt.in+"\r\nZ NOOP\r\n", Limits{})
			cmd, err := h.p.Next()
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %+v, %v; want *Error", cmd, err)
			}
			if e.Status != tt.status || e.Code != tt.code || e.Tag != "a" || e.Text == "" {
				t.Errorf("got %q %q [%s] %q; want %q [%s]", e.Tag, e.Status, e.Code, e.Text, tt.status, tt.code)
			}
			h.expectNoop(t)
		})
	}
}
