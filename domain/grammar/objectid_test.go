package grammar

import (
	"bufio"
	"errors"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/domain/search"
)

func parseOne(t *testing.T, line string) (*Command, error) {
	t.Helper()
	p := NewParser(bufio.NewReader(strings.NewReader(line+"\r\n")), nil, DefaultLimits())
	return p.Next()
}

// TestObjectIDPreviewSyntax: RFC 8474's FETCH items, search keys and
// STATUS item, RFC 8970's FETCH PREVIEW with its modifiers.
func TestObjectIDPreviewSyntax(t *testing.T) {
	long := strings.Repeat("a", 255)
	for _, tc := range []struct {
		line  string
		items []FetchItem // for FETCH
		keys  []search.Key
		bad   string // text of the BAD, when malformed
	}{
		{line: "a FETCH 1 (EMAILID THREADID)", items: []FetchItem{{Name: "EMAILID"}, {Name: "THREADID"}}},
		{line: "a UID FETCH 1:* emailid", items: []FetchItem{{Name: "EMAILID"}}},
		{line: "a FETCH 1 (PREVIEW)", items: []FetchItem{{Name: "PREVIEW"}}},
		{line: "a FETCH 1 PREVIEW", items: []FetchItem{{Name: "PREVIEW"}}},
		{line: "a FETCH 1 (PREVIEW (LAZY))", items: []FetchItem{{Name: "PREVIEW", Lazy: true}}},
		{line: "a FETCH 1 (UID PREVIEW (lazy) FLAGS)", items: []FetchItem{{Name: "UID"}, {Name: "PREVIEW", Lazy: true}, {Name: "FLAGS"}}},
		{line: "a FETCH 1 (PREVIEW (LAZY LAZY))", items: []FetchItem{{Name: "PREVIEW", Lazy: true}}},
		{line: "a FETCH 1 (PREVIEW (FUZZY))", bad: "Unknown PREVIEW modifier FUZZY"},
		{line: "a FETCH 1 (PREVIEW ())", bad: "Missing PREVIEW modifier"},
		{line: "a FETCH 1 (PREVIEW (LAZY)", bad: ""},
		{line: "a SEARCH EMAILID M6d99ac3275bb4e", keys: []search.Key{{Op: search.OpEmailID, Value: "M6d99ac3275bb4e"}}},
		{line: "a UID SEARCH THREADID T64b478a75b7ea9 UNSEEN",
			keys: []search.Key{{Op: search.OpThreadID, Value: "T64b478a75b7ea9"}, {Op: search.OpNoFlag, Value: `\Seen`}}},
		{line: "a SEARCH EMAILID a_b-C9", keys: []search.Key{{Op: search.OpEmailID, Value: "a_b-C9"}}},
		{line: "a SEARCH EMAILID " + long, keys: []search.Key{{Op: search.OpEmailID, Value: long}}},
		{line: "a SEARCH EMAILID " + long + "a", bad: "Object id longer than 255 characters"},
		{line: "a SEARCH EMAILID", bad: ""},
		{line: "a SEARCH EMAILID \"M1\"", bad: "Missing object id"},
		{line: "a SEARCH THREADID M.1", bad: ""},
		{line: "a STATUS INBOX (MAILBOXID MESSAGES)"},
	} {
		t.Run(tc.line[:min(len(tc.line), 60)], func(t *testing.T) {
			cmd, err := parseOne(t, tc.line)
			if tc.bad != "" || (tc.items == nil && tc.keys == nil && !strings.Contains(tc.line, "STATUS")) {
				var ge *Error
				if !errors.As(err, &ge) || ge.Status != "BAD" {
					t.Fatalf("got %+v, %v; want BAD", cmd, err)
				}
				if tc.bad != "" && ge.Text != tc.bad {
					t.Errorf("BAD text %q, want %q", ge.Text, tc.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch a := cmd.Args.(type) {
			case *FetchArgs:
				if len(a.Items) != len(tc.items) {
					t.Fatalf("items %+v, want %+v", a.Items, tc.items)
				}
				for i := range a.Items {
					if a.Items[i].Name != tc.items[i].Name || a.Items[i].Lazy != tc.items[i].Lazy {
						t.Errorf("item %d = %+v, want %+v", i, a.Items[i], tc.items[i])
					}
				}
			case *SearchArgs:
				got := a.Criteria.Sub
				if len(got) != len(tc.keys) {
					t.Fatalf("keys %+v, want %+v", got, tc.keys)
				}
				for i := range got {
					if got[i].Op != tc.keys[i].Op || got[i].Value != tc.keys[i].Value {
						t.Errorf("key %d = %+v, want %+v", i, got[i], tc.keys[i])
					}
				}
			case *StatusArgs:
				if len(a.Items) != 2 || a.Items[0] != "MAILBOXID" {
					t.Errorf("status items %q", a.Items)
				}
			}
		})
	}
}
