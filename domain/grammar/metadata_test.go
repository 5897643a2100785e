package grammar

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestParseMetadata: RFC 5464 section 4's examples and the forms around
// them.
func TestParseMetadata(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		// RFC 5464 4.2's examples.
		{`a GETMETADATA "" /shared/comment`, &GetMetadataArgs{MaxSize: -1, Entries: []string{"/shared/comment"}, Wildcard: []string{""}}},
		{`a GETMETADATA INBOX /private/comment`, &GetMetadataArgs{Mailbox: "INBOX", MaxSize: -1, Entries: []string{"/private/comment"}, Wildcard: []string{""}}},
		{`a GETMETADATA INBOX (/shared/comment /private/comment)`, &GetMetadataArgs{Mailbox: "INBOX", MaxSize: -1,
			Entries: []string{"/shared/comment", "/private/comment"}, Wildcard: []string{"", ""}}},
		{`a GETMETADATA (MAXSIZE 1024) INBOX (/shared/comment /private/comment)`, &GetMetadataArgs{Mailbox: "INBOX", MaxSize: 1024,
			Entries: []string{"/shared/comment", "/private/comment"}, Wildcard: []string{"", ""}}},
		{`a GETMETADATA (DEPTH 1) INBOX "/private/filters/values"`, &GetMetadataArgs{Mailbox: "INBOX", MaxSize: -1, Depth: 1,
			Entries: []string{"/private/filters/values"}, Wildcard: []string{""}}},
		{`a getmetadata (depth Infinity maxsize 0) inbox /Shared`, &GetMetadataArgs{Mailbox: "INBOX", MaxSize: 0, Depth: DepthInfinity,
			Entries: []string{"/shared"}, Wildcard: []string{""}}},
		// The RFC's examples put the options after the mailbox.
		{`a GETMETADATA INBOX (MAXSIZE 1024) ("/shared/comment" "/private/comment")`, &GetMetadataArgs{Mailbox: "INBOX", MaxSize: 1024,
			Entries: []string{"/shared/comment", "/private/comment"}, Wildcard: []string{"", ""}}},
		{`a GETMETADATA "" (DEPTH 1) /private`, &GetMetadataArgs{MaxSize: -1, Depth: 1, Entries: []string{"/private"}, Wildcard: []string{""}}},
		// Cyrus's wildcards, which cyradm sends.
		{`a GETMETADATA "" ("/private/*")`, &GetMetadataArgs{MaxSize: -1, Entries: []string{"/private"}, Wildcard: []string{"*"}}},
		{`a GETMETADATA x /shared/vendor/%`, &GetMetadataArgs{Mailbox: "x", MaxSize: -1, Entries: []string{"/shared/vendor"}, Wildcard: []string{"%"}}},
		// RFC 5464 4.3's examples.
		{`a SETMETADATA INBOX (/private/comment {33+}` + "\r\nMy new comment across\r\ntwo lines.)", &SetMetadataArgs{Mailbox: "INBOX",
			Entries: []MetadataValue{{"/private/comment", []byte("My new comment across\r\ntwo lines.")}}}},
		{`a SETMETADATA INBOX (/private/comment NIL)`, &SetMetadataArgs{Mailbox: "INBOX", Entries: []MetadataValue{{"/private/comment", nil}}}},
		{`a SETMETADATA "" (/shared/comment "" /shared/Admin "mailto:a@b")`, &SetMetadataArgs{Entries: []MetadataValue{
			{"/shared/comment", []byte{}}, {"/shared/admin", []byte("mailto:a@b")}}}},
		{"a SETMETADATA x (/private/bin ~{3+}\r\na\x00b)", &SetMetadataArgs{Mailbox: "x", Entries: []MetadataValue{{"/private/bin", []byte("a\x00b")}}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			h := newHarness(tt.in+"\r\nZ NOOP\r\n", DefaultLimits())
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

// TestParseListMetadata: RFC 9590's LIST return option, in the forms
// Cyrus takes.
func TestParseListMetadata(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want *GetMetadataArgs
		bad  string
	}{
		{in: `a LIST "" % RETURN (METADATA ("/shared/comment" "/private/comment"))`,
			want: &GetMetadataArgs{MaxSize: -1, Entries: []string{"/shared/comment", "/private/comment"}, Wildcard: []string{"", ""}}},
		{in: `a LIST "" % RETURN (SPECIAL-USE METADATA /shared/comment)`,
			want: &GetMetadataArgs{MaxSize: -1, Entries: []string{"/shared/comment"}, Wildcard: []string{""}}},
		{in: `a LIST "" * RETURN (METADATA (MAXSIZE 100 DEPTH 1 /private) CHILDREN)`,
			want: &GetMetadataArgs{MaxSize: 100, Depth: 1, Entries: []string{"/private"}, Wildcard: []string{""}}},
		{in: `a LIST "" * RETURN (METADATA (MAXSIZE 1 MAXSIZE 2 /private))`, bad: "Duplicate"},
		{in: `a LIST "" * RETURN (METADATA (MAXSIZE 1))`, bad: "Missing space"},
		{in: `a LIST "" * RETURN (METADATA ())`, bad: "Missing entry"},
		{in: `a LIST "" * RETURN (METADATA (/x))`, bad: "must begin with"},
		{in: `a LIST "" * RETURN (METADATA /shared/a METADATA /shared/b)`, bad: "twice"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			h := newHarness(tc.in+"\r\nZ NOOP\r\n", DefaultLimits())
			got, err := h.p.Next()
			if tc.bad != "" {
				var pe *Error
				if !errors.As(err, &pe) || pe.Status != "BAD" || !strings.Contains(pe.Text, tc.bad) {
					t.Fatalf("got %v, want BAD containing %q", err, tc.bad)
				}
			} else if err != nil {
				t.Fatalf("Next: %v", err)
			} else if md := got.Args.(*ListArgs).Metadata; !reflect.DeepEqual(md, tc.want) {
				t.Errorf("got  %#v\nwant %#v", md, tc.want)
			}
			h.expectNoop(t)
		})
	}
}

// TestParseMetadataErrors: malformed commands and entry names are BAD
// with a text that says why, and the next command parses.
func TestParseMetadataErrors(t *testing.T) {
	for _, tc := range []struct{ in, text string }{
		{`a GETMETADATA INBOX`, "Missing space"},
		{`a GETMETADATA INBOX ()`, "Missing entry"},
		{`a GETMETADATA (DEPTH 2) INBOX /private`, "DEPTH must be"},
		{`a GETMETADATA (MAXSIZE -1) INBOX /private`, "Missing number"},
		{`a GETMETADATA (FOO 1) INBOX /private`, "Unknown GETMETADATA option"},
		{`a GETMETADATA (DEPTH 1 DEPTH 0) INBOX /private`, "Duplicate"},
		{`a GETMETADATA () INBOX /private`, "Missing GETMETADATA option"},
		{`a GETMETADATA (DEPTH 1) INBOX (DEPTH 0) /private`, "must begin with"}, // options once
		{`a GETMETADATA INBOX (foo)`, "Unknown GETMETADATA option FOO"},
		{`a GETMETADATA INBOX /foo`, "must begin with /shared or /private"},
		{`a GETMETADATA INBOX /private/a*b`, "wildcard"},
		{`a GETMETADATA INBOX (/private/a /shared/b`, "Missing space"},
		{`a SETMETADATA INBOX ()`, "Missing entry"},
		{`a SETMETADATA INBOX (/private/comment)`, "Missing space"},
		{`a SETMETADATA INBOX /private/comment "x"`, "Missing ("},
		{`a SETMETADATA INBOX (/private "x")`, "must begin with"},
		{`a SETMETADATA INBOX (/private/comment/ "x")`, "ends with /"},
		{`a SETMETADATA INBOX (/private//comment "x")`, "contains //"},
		{`a SETMETADATA INBOX (/private/c%x "x")`, "wildcard"},
		{`a SETMETADATA INBOX (/private/x "a" )`, "Missing entry"},
		{`a SETMETADATA INBOX (/private/x FOO)`, "Missing value"},
		{"a SETMETADATA INBOX (/private/x {3+}\r\na\x00b)", "NUL in literal"},
		{`a SETMETADATA INBOX (/private/x "a") extra`, "Unexpected extra arguments"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			h := newHarness(tc.in+"\r\nZ NOOP\r\n", DefaultLimits())
			_, err := h.p.Next()
			var pe *Error
			if !errors.As(err, &pe) || pe.Status != "BAD" || !strings.Contains(pe.Text, tc.text) {
				t.Fatalf("got %v, want BAD containing %q", err, tc.text)
			}
			h.expectNoop(t)
		})
	}
}
