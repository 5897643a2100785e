package grammar

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

// TestParseCompressUnauthenticateReplace: COMPRESS (RFC 4978 section 5),
// UNAUTHENTICATE (RFC 8437) and REPLACE (RFC 8508 section 6), as their
// ABNF reads; what it rejects is BAD (or NO [TOOBIG] for an oversized
// synchronizing literal), never a panic.
func TestParseCompressUnauthenticateReplace(t *testing.T) {
	tests := []struct {
		in      string
		name    string
		uid     bool
		args    any
		body    string
		bad     string // the refusal's text, "" when the command parses
		status  string // "NO" for a refusal that is not BAD
		conts   int
		literal bool
	}{
		{in: "a COMPRESS DEFLATE", name: "COMPRESS", args: &CompressArgs{Algorithm: "DEFLATE"}},
		{in: "a compress deflate", name: "COMPRESS", args: &CompressArgs{Algorithm: "DEFLATE"}},
		// An unknown algorithm parses; the handler refuses it.
		{in: "a COMPRESS lzw", name: "COMPRESS", args: &CompressArgs{Algorithm: "LZW"}},
		{in: "a COMPRESS", bad: "Missing space"},
		{in: "a COMPRESS ", bad: "Missing compression algorithm"},
		{in: `a COMPRESS "DEFLATE"`, bad: "Missing compression algorithm"},
		{in: "a COMPRESS DEFLATE x", bad: "Unexpected extra arguments"},

		{in: "a UNAUTHENTICATE", name: "UNAUTHENTICATE"},
		{in: "a unauthenticate x", bad: "Unexpected extra arguments"},
		{in: "a UID UNAUTHENTICATE", bad: "Unrecognized UID command"},

		{in: "A003 REPLACE 4 Drafts (\\Seen \\Draft) {5}\r\nhello", name: "REPLACE", conts: 1, body: "hello",
			args: &ReplaceArgs{Message: 4, Mailbox: "Drafts", AppendMessage: AppendMessage{Flags: []string{`\Seen`, `\Draft`}, Size: 5}}},
		{in: "a UID REPLACE 2000 INBOX {3+}\r\nabc", name: "REPLACE", uid: true, body: "abc",
			args: &ReplaceArgs{Message: 2000, Mailbox: "INBOX", AppendMessage: AppendMessage{Size: 3}}},
		{in: "a REPLACE 1 x ~{3}\r\na\x00c", name: "REPLACE", conts: 1, body: "a\x00c",
			args: &ReplaceArgs{Message: 1, Mailbox: "x", AppendMessage: AppendMessage{Size: 3, Binary: true}}},
		{in: "a REPLACE * x {1}", bad: "REPLACE needs a message number, not *"},
		{in: "a REPLACE 0 x {1}", bad: "Invalid message number 0"},
		{in: "a REPLACE 1:2 x {1}", bad: "Missing space"},
		{in: "a REPLACE 1 x", bad: "Missing space"},
		{in: "a REPLACE 1 x (\\Seen)", bad: "Missing space"},
		{in: "a REPLACE 1 x \"01-Jan-2020 00:00:00 +0000\"", bad: "Missing space"},
		{in: "a REPLACE 1 x hello", bad: "Missing message literal"},
		{in: "a REPLACE 1 x {99999999999}", status: "NO", bad: "Message too big"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			h := newHarness(tt.in+"\r\nZ NOOP\r\n", Limits{})
			cmd, err := h.p.Next()
			if tt.bad != "" {
				var e *Error
				status := tt.status
				if status == "" {
					status = "BAD"
				}
				if !errors.As(err, &e) || e.Status != status || e.Text != tt.bad {
					t.Fatalf("got %+v, %v; want %s %q", cmd, err, status, tt.bad)
				}
				if status == "BAD" {
					h.expectNoop(t)
				}
				return
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if cmd.Name != tt.name || cmd.UID != tt.uid {
				t.Fatalf("got %s (UID %v), want %s (UID %v)", cmd.Name, cmd.UID, tt.name, tt.uid)
			}
			if h.conts != tt.conts {
				t.Errorf("continuations = %d, want %d", h.conts, tt.conts)
			}
			if ra, ok := cmd.Args.(*ReplaceArgs); ok {
				b, err := io.ReadAll(ra.Body)
				if err != nil || string(b) != tt.body {
					t.Errorf("body %q, %v; want %q", b, err, tt.body)
				}
				ra.Body = nil
				if next, err := h.p.NextAppend(); next != nil || err != nil {
					t.Fatalf("NextAppend after the message: %+v, %v", next, err)
				}
			}
			if tt.args != nil {
				if got, want := fmtArgs(cmd.Args), fmtArgs(tt.args); got != want {
					t.Errorf("args\n got %s\nwant %s", got, want)
				}
			}
			h.expectNoop(t)
		})
	}
}

func fmtArgs(a any) string { return fmt.Sprintf("%+v", a) }
