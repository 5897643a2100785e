package grammar

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/domain/message"
)

// catMsg is what a CATENATE message's parts read as: "T:" text or "U:" url.
func readCatMessages(t *testing.T, h *harness) [][]string {
	t.Helper()
	cmd, err := h.p.Next()
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	a := cmd.Args.(*AppendArgs)
	m := &AppendMessage{Catenate: a.Catenate, Body: a.Body}
	var out [][]string
	for m != nil {
		var parts []string
		if !m.Catenate {
			b, _ := io.ReadAll(m.Body)
			parts = append(parts, "L:"+string(b))
		}
		for m.Catenate {
			part, err := h.p.NextCatPart()
			if err != nil {
				t.Fatalf("NextCatPart: %v", err)
			}
			if part == nil {
				break
			}
			if part.URL != "" {
				parts = append(parts, "U:"+part.URL)
				continue
			}
			b, _ := io.ReadAll(part.Body)
			if part.Binary {
				parts = append(parts, "B:"+string(b))
			} else {
				parts = append(parts, "T:"+string(b))
			}
		}
		out = append(out, parts)
		if m, err = h.p.NextAppend(); err != nil {
			t.Fatalf("NextAppend: %v", err)
		}
	}
	return out
}

func TestCatenate(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  [][]string
		conts int
	}{
		// RFC 4469 section 6, the first example (shortened literals).
		{"rfc4469", "A003 APPEND Drafts (\\Seen \\Draft $MDNSent) CATENATE (URL \"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER\" TEXT {6}\r\n\r\n--\r\n URL \"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1\" TEXT {2}\r\n--)\r\n",
			[][]string{{"U:/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER", "T:\r\n--\r\n", "U:/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1", "T:--"}}, 2},
		{"text only", "a APPEND x CATENATE (TEXT {5+}\r\nhello)\r\n", [][]string{{"T:hello"}}, 0},
		{"binary text", "a APPEND x CATENATE (TEXT ~{3}\r\na\x00b)\r\n", [][]string{{"B:a\x00b"}}, 1},
		{"url literal", "a APPEND x catenate (url {7}\r\n;UID=1/ TEXT {1+}\r\nz)\r\n", [][]string{{"U:;UID=1/", "T:z"}}, 1},
		{"multiappend", "a APPEND x CATENATE (URL /a;UID=1) {2+}\r\nhi CATENATE (TEXT {1+}\r\nq URL \"/b/;UID=2\")\r\n",
			[][]string{{"U:/a;UID=1"}, {"L:hi"}, {"T:q", "U:/b/;UID=2"}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(tt.in+"Z NOOP\r\n", Limits{MaxAppend: 100})
			got := readCatMessages(t, h)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			if h.conts != tt.conts {
				t.Errorf("continuations = %d, want %d", h.conts, tt.conts)
			}
			h.expectNoop(t)
		})
	}
}

func TestCatenateErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		status string
		code   string
	}{
		{"empty list", "a APPEND x CATENATE ()\r\n", "BAD", ""},
		{"no paren", "a APPEND x CATENATE TEXT {1+}\r\na\r\n", "BAD", ""},
		{"unknown part", "a APPEND x CATENATE (FOO bar)\r\n", "BAD", ""},
		{"missing url", "a APPEND x CATENATE (URL)\r\n", "BAD", ""},
		{"empty url", "a APPEND x CATENATE (URL \"\")\r\n", "BAD", ""},
		{"text without literal", "a APPEND x CATENATE (TEXT \"abc\")\r\n", "BAD", ""},
		{"no space between parts", "a APPEND x CATENATE (URL /a;UID=1URL /b)\r\n", "BAD", ""},
		{"unclosed", "a APPEND x CATENATE (URL /a;UID=1\r\n", "BAD", ""},
		{"text too big (sync)", "a APPEND x CATENATE (URL /a;UID=1 TEXT {999}\r\n", "NO", "TOOBIG"},
		{"junk after text", "a APPEND x CATENATE (TEXT {1+}\r\nzjunk)\r\n", "BAD", ""},
		{"after non-sync literal", "a APPEND x CATENATE (FOO {3+}\r\nabc)\r\n", "BAD", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(tt.in+"Z NOOP\r\n", Limits{MaxAppend: 100})
			cmd, err := h.p.Next()
			if err == nil {
				for {
					var part *CatPart
					if part, err = h.p.NextCatPart(); err != nil || part == nil {
						break
					}
					if part.Body != nil {
						io.ReadAll(part.Body)
					}
				}
				if err == nil {
					_, err = h.p.NextAppend()
				}
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != tt.status || e.Code != tt.code || e.Tag != "a" {
				t.Fatalf("got %+v %v (%+v), want %s [%s]", cmd, err, e, tt.status, tt.code)
			}
			h.expectNoop(t)
		})
	}
}

// A handler that refuses a CATENATE message part-way (a bad URL) drops the
// rest of the command; a synchronizing literal still to come is never
// continued.
func TestCatenateDiscard(t *testing.T) {
	for _, in := range []string{
		"a APPEND x CATENATE (URL /a;UID=1 TEXT {5}\r\n",
		"a APPEND x CATENATE (URL /a;UID=1 TEXT {5+}\r\nhello)\r\n",
		"a APPEND x CATENATE (TEXT {5+}\r\nhello URL /b;UID=1 TEXT {2+}\r\nhi) {3+}\r\nabc\r\n",
	} {
		h := newHarness(in+"Z NOOP\r\n", Limits{MaxAppend: 100})
		if _, err := h.p.Next(); err != nil {
			t.Fatal(err)
		}
		if _, err := h.p.NextCatPart(); err != nil {
			t.Fatal(err)
		}
		if err := h.p.DiscardCommand(); err != nil {
			t.Fatalf("%q: DiscardCommand: %v", in, err)
		}
		if h.conts != 0 {
			t.Errorf("%q: %d continuations", in, h.conts)
		}
		h.expectNoop(t)
	}
	// Next ends an unfinished CATENATE itself.
	h := newHarness("a APPEND x CATENATE (URL /a;UID=1 TEXT {5+}\r\nhello)\r\nZ NOOP\r\n", Limits{})
	if _, err := h.p.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := h.p.Next(); err == nil {
		t.Fatal("Next after an unfinished CATENATE: no error")
	}
	h.expectNoop(t)
}

func TestURLAuthCommands(t *testing.T) {
	u := "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred"
	tests := []struct {
		in   string
		want any
	}{
		{`a GENURLAUTH "` + u + `" INTERNAL`, &GenURLAuthArgs{Items: []GenURLAuthItem{{u, "INTERNAL"}}}},
		{`a GENURLAUTH "` + u + `" internal "/x" x-m.1`, &GenURLAuthArgs{Items: []GenURLAuthItem{{u, "INTERNAL"}, {"/x", "X-M.1"}}}},
		{`a RESETKEY`, &ResetKeyArgs{}},
		{`a RESETKEY inbox`, &ResetKeyArgs{Mailbox: "INBOX"}},
		{`a RESETKEY INBOX INTERNAL XSAMPLE`, &ResetKeyArgs{Mailbox: "INBOX", Mechanisms: []string{"INTERNAL", "XSAMPLE"}}},
		{`a URLFETCH "` + u + `:internal:91354a473744909de610943775f92038"`, &URLFetchArgs{Items: []URLFetchItem{{URL: u + ":internal:91354a473744909de610943775f92038"}}}},
		{`a URLFETCH "/a" ("/b" BODYPARTSTRUCTURE binary)`, &URLFetchArgs{Items: []URLFetchItem{{URL: "/a"}, {URL: "/b", Extended: true, BodyPartStructure: true, Binary: true}}}},
		{`a URLFETCH ("/b" BODY)`, &URLFetchArgs{Items: []URLFetchItem{{URL: "/b", Extended: true, Body: true}}}},
	}
	for _, tt := range tests {
		h := newHarness(tt.in+"\r\nZ NOOP\r\n", Limits{})
		cmd, err := h.p.Next()
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(cmd.Args, tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.in, cmd.Args, tt.want)
		}
		h.expectNoop(t)
	}
	for _, in := range []string{
		`a GENURLAUTH`, `a GENURLAUTH "/x"`, `a GENURLAUTH "/x" INT@RNAL`, `a GENURLAUTH "/x" INTERNAL `,
		`a RESETKEY INBOX INTERNAL!`, `a RESETKEY `,
		`a URLFETCH`, `a URLFETCH ("/b")`, `a URLFETCH ("/b" BODY BINARY)`, `a URLFETCH ("/b" BODY BODY)`,
		`a URLFETCH ("/b" FOO)`, `a URLFETCH ("/b" BODY`, `a URLFETCH "/a"  "/b"`,
	} {
		h := newHarness(in+"\r\nZ NOOP\r\n", Limits{})
		var e *Error
		if cmd, err := h.p.Next(); !errors.As(err, &e) || e.Status != "BAD" {
			t.Errorf("%s: got %+v, %v; want BAD", in, cmd, err)
		}
		h.expectNoop(t)
	}
}

func TestParseSection(t *testing.T) {
	for in, want := range map[string]message.Section{
		"":                        {},
		"1.2":                     {Path: []int{1, 2}},
		"header":                  {Specifier: "HEADER"},
		"1.MIME":                  {Path: []int{1}, Specifier: "MIME"},
		"HEADER.FIELDS (FROM to)": {Specifier: "HEADER.FIELDS", Fields: []string{"FROM", "TO"}},
	} {
		got, ok := ParseSection(in)
		if !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseSection(%q) = %+v, %v", in, got, ok)
		}
	}
	for _, in := range []string{"0", "MIME", "1.", "FOO", "1]", "HEADER.FIELDS ({3}", strings.Repeat("1.", 3) + "X"} {
		if got, ok := ParseSection(in); ok {
			t.Errorf("ParseSection(%q) = %+v, ok", in, got)
		}
	}
}
