package grammar

import (
	"bufio"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/domain/search"
)

// harness is a parser over a fixed input that counts continuation requests.
type harness struct {
	p     *Parser
	conts int
}

func newHarness(input string, lim Limits) *harness {
	h := &harness{}
	h.p = NewParser(bufio.NewReaderSize(strings.NewReader(input), 16), func() error { h.conts++; return nil }, lim)
	return h
}

// expectNoop checks that the next command is "Z NOOP" and the input then ends.
func (h *harness) expectNoop(t *testing.T) {
	t.Helper()
	cmd, err := h.p.Next()
	if err != nil || cmd.Tag != "Z" || cmd.Name != "NOOP" {
		t.Fatalf("after the command: got %+v, %v; want Z NOOP", cmd, err)
	}
	if cmd, err := h.p.Next(); err != io.EOF {
		t.Fatalf("at the end: got %+v, %v; want io.EOF", cmd, err)
	}
}

func set(rs ...imap.Range) imap.NumSet { return imap.NumSet(rs) }
func r(a, b uint32) imap.Range         { return imap.Range{Start: a, Stop: b} }
func day(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
func and(k ...search.Key) search.Key { return search.Key{Op: search.OpAnd, Sub: k} }
func items(names ...string) []FetchItem {
	var out []FetchItem
	for _, n := range names {
		out = append(out, FetchItem{Name: n})
	}
	return out
}

var seen = search.Key{Op: search.OpFlag, Value: imap.FlagSeen}

func TestParseCommands(t *testing.T) {
	tests := []struct {
		in    string // one command (without the trailing CRLF when it ends with a literal... see below)
		want  *Command
		conts int
	}{
		{"a CAPABILITY", &Command{Tag: "a", Name: "CAPABILITY"}, 0},
		{"a1 noop", &Command{Tag: "a1", Name: "NOOP"}, 0},
		{"x] LOGOUT", &Command{Tag: "x]", Name: "LOGOUT"}, 0},
		{"a STARTTLS", &Command{Tag: "a", Name: "STARTTLS"}, 0},
		{"a check", &Command{Tag: "a", Name: "CHECK"}, 0},
		{"a Close", &Command{Tag: "a", Name: "CLOSE"}, 0},
		{"a EXPUNGE", &Command{Tag: "a", Name: "EXPUNGE"}, 0},
		{"a UNSELECT", &Command{Tag: "a", Name: "UNSELECT"}, 0},
		{"a IDLE", &Command{Tag: "a", Name: "IDLE"}, 0},
		{"a NAMESPACE", &Command{Tag: "a", Name: "NAMESPACE"}, 0},
		{"a UID EXPUNGE 1:3,7", &Command{Tag: "a", Name: "EXPUNGE", UID: true, Args: &ExpungeArgs{Set: set(r(1, 3), r(7, 7))}}, 0},
		{"a LOGIN fred secret", &Command{Tag: "a", Name: "LOGIN", Args: &LoginArgs{"fred", "secret"}}, 0},
		{`a LOGIN "fr\"ed" "se\\cret"`, &Command{Tag: "a", Name: "LOGIN", Args: &LoginArgs{`fr"ed`, `se\cret`}}, 0},
		{"a LOGIN {4}\r\nfred {6+}\r\nsecret", &Command{Tag: "a", Name: "LOGIN", Args: &LoginArgs{"fred", "secret"}}, 1},
		{"a LOGIN \"\" {0}\r\n", &Command{Tag: "a", Name: "LOGIN", Args: &LoginArgs{"", ""}}, 1},
		{`a LOGIN "jürgen" x`, &Command{Tag: "a", Name: "LOGIN", Args: &LoginArgs{"jürgen", "x"}}, 0},
		{"a AUTHENTICATE plain", &Command{Tag: "a", Name: "AUTHENTICATE", Args: &AuthenticateArgs{Mechanism: "PLAIN"}}, 0},
		{"a AUTHENTICATE PLAIN AGZyZWQAc2VjcmV0", &Command{Tag: "a", Name: "AUTHENTICATE", Args: &AuthenticateArgs{Mechanism: "PLAIN", Initial: []byte("\x00fred\x00secret"), HasInitial: true}}, 0},
		{"a AUTHENTICATE EXTERNAL =", &Command{Tag: "a", Name: "AUTHENTICATE", Args: &AuthenticateArgs{Mechanism: "EXTERNAL", Initial: []byte{}, HasInitial: true}}, 0},
		{"a SELECT inbox", &Command{Tag: "a", Name: "SELECT", Args: &MailboxArgs{Mailbox: "INBOX"}}, 0},
		{"a EXAMINE \"Inbox/Sent\"", &Command{Tag: "a", Name: "EXAMINE", Args: &MailboxArgs{Mailbox: "INBOX/Sent"}}, 0},
		{"a CREATE Entw&APw-rfe", &Command{Tag: "a", Name: "CREATE", Args: &MailboxArgs{Mailbox: "Entwürfe"}}, 0},
		{"a DELETE inboxes", &Command{Tag: "a", Name: "DELETE", Args: &MailboxArgs{Mailbox: "inboxes"}}, 0},
		{"a SUBSCRIBE a]b", &Command{Tag: "a", Name: "SUBSCRIBE", Args: &MailboxArgs{Mailbox: "a]b"}}, 0},
		{"a UNSUBSCRIBE {3}\r\nfoo", &Command{Tag: "a", Name: "UNSUBSCRIBE", Args: &MailboxArgs{Mailbox: "foo"}}, 1},
		{"a RENAME old &ZeVnLIqe-", &Command{Tag: "a", Name: "RENAME", Args: &RenameArgs{From: "old", To: "日本語"}}, 0},
		{`a LIST "" *`, &Command{Tag: "a", Name: "LIST", Args: &ListArgs{Reference: "", Pattern: "*", Patterns: []string{"*"}}}, 0},
		{`a LIST inbox/ %/&APw-*`, &Command{Tag: "a", Name: "LIST", Args: &ListArgs{Reference: "inbox/", Pattern: "%/ü*", Patterns: []string{"%/ü*"}}}, 0},
		{`a LSUB "#news." "comp.mail.*"`, &Command{Tag: "a", Name: "LSUB", Args: &ListArgs{Reference: "#news.", Pattern: "comp.mail.*", Patterns: []string{"comp.mail.*"}}}, 0},
		{`a LIST "" {1+}` + "\r\n%", &Command{Tag: "a", Name: "LIST", Args: &ListArgs{Reference: "", Pattern: "%", Patterns: []string{"%"}}}, 0},
		{"a STATUS inbox (messages UIDNEXT UIDVALIDITY UNSEEN RECENT)", &Command{Tag: "a", Name: "STATUS", Args: &StatusArgs{Mailbox: "INBOX", Items: []string{"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "RECENT"}}}, 0},
		{"a STATUS x (HIGHESTMODSEQ SIZE)", &Command{Tag: "a", Name: "STATUS", Args: &StatusArgs{Mailbox: "x", Items: []string{"HIGHESTMODSEQ", "SIZE"}}}, 0},
		{"a STATUS x (appendlimit)", &Command{Tag: "a", Name: "STATUS", Args: &StatusArgs{Mailbox: "x", Items: []string{"APPENDLIMIT"}}}, 0},
		{"a FETCH 1:* ALL", &Command{Tag: "a", Name: "FETCH", Args: &FetchArgs{Set: set(r(1, 0)), Items: items("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE")}}, 0},
		{"a FETCH 1 fast", &Command{Tag: "a", Name: "FETCH", Args: &FetchArgs{Set: set(r(1, 1)), Items: items("FLAGS", "INTERNALDATE", "RFC822.SIZE")}}, 0},
		{"a FETCH * FULL", &Command{Tag: "a", Name: "FETCH", Args: &FetchArgs{Set: set(r(0, 0)), Items: items("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY")}}, 0},
		{"a FETCH 2,4:6 (uid flags envelope internaldate rfc822 rfc822.header rfc822.size rfc822.text body bodystructure)", &Command{Tag: "a", Name: "FETCH", Args: &FetchArgs{Set: set(r(2, 2), r(4, 6)), Items: items("UID", "FLAGS", "ENVELOPE", "INTERNALDATE", "RFC822", "RFC822.HEADER", "RFC822.SIZE", "RFC822.TEXT", "BODY", "BODYSTRUCTURE")}}, 0},
		{"a UID FETCH 5:* FLAGS", &Command{Tag: "a", Name: "FETCH", UID: true, Args: &FetchArgs{Set: set(r(5, 0)), Items: items("FLAGS")}}, 0},
		{"a FETCH 1 (BODY[] BODY.PEEK[]<0.100>)", &Command{Tag: "a", Name: "FETCH", Args: &FetchArgs{Set: set(r(1, 1)), Items: []FetchItem{
			{Name: "BODY[]", Section: &message.Section{}},
			{Name: "BODY[]", Section: &message.Section{}, Peek: true, Partial: &message.Partial{Offset: 0, Count: 100}},
		}}}, 0},
		{"a FETCH 1 body.peek[header.fields (From to {7}\r\nSubject)]", &Command{Tag: "a", Name: "FETCH", Args: &FetchArgs{Set: set(r(1, 1)), Items: []FetchItem{
			{Name: "BODY[]", Peek: true, Section: &message.Section{Specifier: "HEADER.FIELDS", Fields: []string{"FROM", "TO", "SUBJECT"}}},
		}}}, 1},
		{"a FETCH 1 (BODY[1.2.3.HEADER.FIELDS.NOT (Date)] BODY[2.MIME] BODY[3.TEXT]<10.5> BODY[4] BODY[HEADER] BODY[TEXT] BODY[1.HEADER])", &Command{Tag: "a", Name: "FETCH", Args: &FetchArgs{Set: set(r(1, 1)), Items: []FetchItem{
			{Name: "BODY[]", Section: &message.Section{Path: []int{1, 2, 3}, Specifier: "HEADER.FIELDS.NOT", Fields: []string{"DATE"}}},
			{Name: "BODY[]", Section: &message.Section{Path: []int{2}, Specifier: "MIME"}},
			{Name: "BODY[]", Section: &message.Section{Path: []int{3}, Specifier: "TEXT"}, Partial: &message.Partial{Offset: 10, Count: 5}},
			{Name: "BODY[]", Section: &message.Section{Path: []int{4}}},
			{Name: "BODY[]", Section: &message.Section{Specifier: "HEADER"}},
			{Name: "BODY[]", Section: &message.Section{Specifier: "TEXT"}},
			{Name: "BODY[]", Section: &message.Section{Path: []int{1}, Specifier: "HEADER"}},
		}}}, 0},
		{"a STORE 1:3 +FLAGS (\\seen \\Deleted $Junk)", &Command{Tag: "a", Name: "STORE", Args: &StoreArgs{Set: set(r(1, 3)), Op: StoreAdd, Flags: []string{imap.FlagSeen, imap.FlagDeleted, "$Junk"}}}, 0},
		{"a STORE 1 +FLAGS " + strings.Repeat("k", imap.MaxFlagLength), &Command{Tag: "a", Name: "STORE", Args: &StoreArgs{Set: set(r(1, 1)), Op: StoreAdd, Flags: []string{strings.Repeat("k", imap.MaxFlagLength)}}}, 0},
		{"a STORE 1 -flags.silent \\Flagged \\ANSWERED", &Command{Tag: "a", Name: "STORE", Args: &StoreArgs{Set: set(r(1, 1)), Op: StoreRemove, Silent: true, Flags: []string{imap.FlagFlagged, imap.FlagAnswered}}}, 0},
		{"a UID STORE 4 FLAGS ()", &Command{Tag: "a", Name: "STORE", UID: true, Args: &StoreArgs{Set: set(r(4, 4)), Op: StoreReplace, Flags: []string{}}}, 0},
		{"a UID STORE 4 FLAGS.SILENT (\\Draft)", &Command{Tag: "a", Name: "STORE", UID: true, Args: &StoreArgs{Set: set(r(4, 4)), Silent: true, Flags: []string{imap.FlagDraft}}}, 0},
		{"a COPY 2:4 Archive", &Command{Tag: "a", Name: "COPY", Args: &CopyArgs{Set: set(r(2, 4)), Mailbox: "Archive"}}, 0},
		{"a UID COPY 2:4 inbox", &Command{Tag: "a", Name: "COPY", UID: true, Args: &CopyArgs{Set: set(r(2, 4)), Mailbox: "INBOX"}}, 0},
		{"a MOVE 1 Trash", &Command{Tag: "a", Name: "MOVE", Args: &CopyArgs{Set: set(r(1, 1)), Mailbox: "Trash"}}, 0},
		{"a uid move 4294967295 Trash", &Command{Tag: "a", Name: "MOVE", UID: true, Args: &CopyArgs{Set: set(r(4294967295, 4294967295)), Mailbox: "Trash"}}, 0},
		{"a ENABLE condstore UTF8=ACCEPT", &Command{Tag: "a", Name: "ENABLE", Args: &EnableArgs{[]string{"CONDSTORE", "UTF8=ACCEPT"}}}, 0},
		{"a ID NIL", &Command{Tag: "a", Name: "ID", Args: &IDArgs{Nil: true}}, 0},
		{`a ID ("Name" "Thunderbird" "version" NIL)`, &Command{Tag: "a", Name: "ID", Args: &IDArgs{Params: map[string]string{"name": "Thunderbird", "version": ""}}}, 0},
		{`a ID ()`, &Command{Tag: "a", Name: "ID", Args: &IDArgs{Params: map[string]string{}}}, 0},
		{"a SEARCH ALL", &Command{Tag: "a", Name: "SEARCH", Args: &SearchArgs{Criteria: and(search.Key{Op: search.OpAll})}}, 0},
		{"a SEARCH charset utf-8 SEEN", &Command{Tag: "a", Name: "SEARCH", Args: &SearchArgs{Charset: "UTF-8", Criteria: and(seen)}}, 0},
		{"a UID SEARCH CHARSET \"US-ASCII\" 1:5,* UID 3:4", &Command{Tag: "a", Name: "SEARCH", UID: true, Args: &SearchArgs{Charset: "US-ASCII", Criteria: and(
			search.Key{Op: search.OpSeqSet, Set: set(r(1, 5), r(0, 0))},
			search.Key{Op: search.OpUID, Set: set(r(3, 4))},
		)}}, 0},
		{"a SEARCH ANSWERED DELETED DRAFT FLAGGED RECENT NEW OLD UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN", &Command{Tag: "a", Name: "SEARCH", Args: &SearchArgs{Criteria: and(
			search.Key{Op: search.OpFlag, Value: imap.FlagAnswered},
			search.Key{Op: search.OpFlag, Value: imap.FlagDeleted},
			search.Key{Op: search.OpFlag, Value: imap.FlagDraft},
			search.Key{Op: search.OpFlag, Value: imap.FlagFlagged},
			search.Key{Op: search.OpFlag, Value: imap.FlagRecent},
			search.Key{Op: search.OpNew},
			search.Key{Op: search.OpOld},
			search.Key{Op: search.OpNoFlag, Value: imap.FlagAnswered},
			search.Key{Op: search.OpNoFlag, Value: imap.FlagDeleted},
			search.Key{Op: search.OpNoFlag, Value: imap.FlagDraft},
			search.Key{Op: search.OpNoFlag, Value: imap.FlagFlagged},
			search.Key{Op: search.OpNoFlag, Value: imap.FlagSeen},
		)}}, 0},
		{`a SEARCH BEFORE 1-Feb-2024 ON "01-jan-2000" SINCE 29-Feb-2024 SENTBEFORE 5-Mar-1999 SENTON "5-Mar-1999" SENTSINCE 31-Dec-2023`, &Command{Tag: "a", Name: "SEARCH", Args: &SearchArgs{Criteria: and(
			search.Key{Op: search.OpBefore, Date: day(2024, 2, 1)},
			search.Key{Op: search.OpOn, Date: day(2000, 1, 1)},
			search.Key{Op: search.OpSince, Date: day(2024, 2, 29)},
			search.Key{Op: search.OpSentBefore, Date: day(1999, 3, 5)},
			search.Key{Op: search.OpSentOn, Date: day(1999, 3, 5)},
			search.Key{Op: search.OpSentSince, Date: day(2023, 12, 31)},
		)}}, 0},
		{`a SEARCH BCC a CC "b c" FROM x SUBJECT {3}` + "\r\nhi! TO y BODY z TEXT t HEADER X-Spam yes HEADER list-id \"\"", &Command{Tag: "a", Name: "SEARCH", Args: &SearchArgs{Criteria: and(
			search.Key{Op: search.OpHeader, Field: "Bcc", Value: "a"},
			search.Key{Op: search.OpHeader, Field: "Cc", Value: "b c"},
			search.Key{Op: search.OpHeader, Field: "From", Value: "x"},
			search.Key{Op: search.OpHeader, Field: "Subject", Value: "hi!"},
			search.Key{Op: search.OpHeader, Field: "To", Value: "y"},
			search.Key{Op: search.OpBody, Value: "z"},
			search.Key{Op: search.OpText, Value: "t"},
			search.Key{Op: search.OpHeader, Field: "X-Spam", Value: "yes"},
			search.Key{Op: search.OpHeader, Field: "list-id", Value: ""},
		)}}, 1},
		{"a SEARCH KEYWORD $Forwarded UNKEYWORD Junk LARGER 100 SMALLER 5000000000", &Command{Tag: "a", Name: "SEARCH", Args: &SearchArgs{Criteria: and(
			search.Key{Op: search.OpFlag, Value: "$Forwarded"},
			search.Key{Op: search.OpNoFlag, Value: "Junk"},
			search.Key{Op: search.OpLarger, Size: 100},
			search.Key{Op: search.OpSmaller, Size: 5000000000},
		)}}, 0},
		{"a SEARCH OR (SEEN FLAGGED) NOT OR 1 2 NOT NOT DELETED", &Command{Tag: "a", Name: "SEARCH", Args: &SearchArgs{Criteria: and(
			search.Key{Op: search.OpOr, Sub: []search.Key{
				and(seen, search.Key{Op: search.OpFlag, Value: imap.FlagFlagged}),
				{Op: search.OpNot, Sub: []search.Key{{Op: search.OpOr, Sub: []search.Key{
					{Op: search.OpSeqSet, Set: set(r(1, 1))},
					{Op: search.OpSeqSet, Set: set(r(2, 2))},
				}}}},
			}},
			search.Key{Op: search.OpNot, Sub: []search.Key{{Op: search.OpNot, Sub: []search.Key{{Op: search.OpFlag, Value: imap.FlagDeleted}}}}},
		)}}, 0},
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
				if a, ok := got.Args.(*SearchArgs); ok {
					t.Errorf("criteria %+v", a.Criteria)
				}
			}
			if h.conts != tt.conts {
				t.Errorf("continuations = %d, want %d", h.conts, tt.conts)
			}
			h.expectNoop(t)
		})
	}
}

func TestParseDateTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{`"17-Jul-1996 02:44:25 -0700"`, time.Date(1996, 7, 17, 9, 44, 25, 0, time.UTC), true},
		{`" 7-jul-1996 02:44:25 +0000"`, time.Date(1996, 7, 7, 2, 44, 25, 0, time.UTC), true},
		{`"29-Feb-2024 23:59:59 +1400"`, time.Date(2024, 2, 29, 9, 59, 59, 0, time.UTC), true},
		{`"29-Feb-2023 00:00:00 +0000"`, time.Time{}, false},
		{`"7-Jul-1996 02:44:25 -0700"`, time.Time{}, false},
		{`"17-Jul-96 02:44:25 -0700"`, time.Time{}, false},
		{`"17-Jux-1996 02:44:25 -0700"`, time.Time{}, false},
		{`"17-Jul-1996 24:00:00 -0700"`, time.Time{}, false},
		{`"17-Jul-1996 02:60:00 -0700"`, time.Time{}, false},
		{`"17-Jul-1996 02:44:25 0700"`, time.Time{}, false},
		{`"17-Jul-1996 02:44:25 +0760"`, time.Time{}, false},
		{`"00-Jul-1996 02:44:25 +0000"`, time.Time{}, false},
		{`"32-Jul-1996 02:44:25 +0000"`, time.Time{}, false},
		{`"17-Jul-1996  2:44:25 +0000"`, time.Time{}, false},
	}
	for _, tt := range tests {
		h := newHarness("a APPEND x "+tt.in+" {1}\r\nm\r\nZ NOOP\r\n", Limits{})
		cmd, err := h.p.Next()
		if !tt.ok {
			var e *Error
			if !errors.As(err, &e) || e.Status != "BAD" {
				t.Errorf("%s: got %v, want BAD", tt.in, err)
			}
			if h.conts != 0 {
				t.Errorf("%s: continued a refused command", tt.in)
			}
			// The client waits for "+" that never comes: it sends nothing
			// more of this command, so the next line is "m" here (a bad
			// command in its own right).
			if _, err := h.p.Next(); !errors.As(err, &e) {
				t.Errorf("%s: the line after: %v", tt.in, err)
			}
			h.expectNoop(t)
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		a := cmd.Args.(*AppendArgs)
		if !a.HasDate || !a.Date.Equal(tt.want) {
			t.Errorf("%s: date %v, want %v", tt.in, a.Date, tt.want)
		}
		if err := h.p.EndCommand(); err != nil {
			t.Errorf("%s: EndCommand: %v", tt.in, err)
		}
		h.expectNoop(t)
	}
}

// TestParseErrors checks every refusal: the status and code, that no
// continuation was sent, and that the next command on the same input parses.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     string // the whole refused command, CRLF included
		status string
		code   string
		tag    string
	}{
		{"empty line", "\r\n", "BAD", "", "*"},
		{"bad tag", "a+b NOOP\r\n", "BAD", "", "*"},
		{"star tag", "* NOOP\r\n", "BAD", "", "*"},
		{"quoted tag", "\"a\" NOOP\r\n", "BAD", "", "*"},
		{"missing command", "a\r\n", "BAD", "", "a"},
		{"double space", "a  NOOP\r\n", "BAD", "", "a"},
		{"unknown command", "a FROB x y\r\n", "BAD", "", "a"},
		{"unknown with sync literal", "a FROB {5}\r\n", "BAD", "", "a"},
		{"unknown with non-sync literal", "a FROB {5+}\r\nhello {3+}\r\nabc rest\r\n", "BAD", "", "a"},
		{"unknown UID command", "a UID LIST 1\r\n", "BAD", "", "a"},
		{"extra arguments", "a NOOP x\r\n", "BAD", "", "a"},
		{"trailing space", "a NOOP \r\n", "BAD", "", "a"},
		{"plain EXPUNGE with set", "a EXPUNGE 1\r\n", "BAD", "", "a"},
		{"LOGIN one argument", "a LOGIN fred\r\n", "BAD", "", "a"},
		{"NUL in quoted", "a LOGIN \"fr\x00ed\" x\r\n", "BAD", "", "a"},
		{"CR in quoted", "a LOGIN \"fr\red\" x\r\n", "BAD", "", "a"},
		{"bad escape", "a LOGIN \"fr\\ed\" x\r\n", "BAD", "", "a"},
		{"unterminated quoted", "a LOGIN \"fred x\r\n", "BAD", "", "a"},
		{"invalid UTF-8 in quoted", "a LOGIN \"\xff\xfe\" x\r\n", "BAD", "", "a"},
		{"NUL in literal", "a LOGIN {3+}\r\na\x00b x\r\n", "BAD", "", "a"},
		{"literal not at end of line", "a LOGIN {3}x\r\n", "BAD", "", "a"},
		{"bad literal header", "a LOGIN {x}\r\n", "BAD", "", "a"},
		{"AUTHENTICATE bad base64", "a AUTHENTICATE PLAIN AGZy!\r\n", "BAD", "", "a"},
		{"AUTHENTICATE bad padding", "a AUTHENTICATE PLAIN AGZ\r\n", "BAD", "", "a"},
		{"RENAME one name", "a RENAME x\r\n", "BAD", "", "a"},
		{"STATUS unknown item", "a STATUS x (MESSAGES FOO)\r\n", "BAD", "", "a"},
		{"STATUS no list", "a STATUS x MESSAGES\r\n", "BAD", "", "a"},
		{"STATUS empty list", "a STATUS x ()\r\n", "BAD", "", "a"},
		{"APPEND no literal", "a APPEND x (\\Seen)\r\n", "BAD", "", "a"},
		{"APPEND \\Recent", "a APPEND x (\\Recent) {3}\r\n", "BAD", "", "a"},
		{"APPEND unknown system flag", "a APPEND x (\\Foo) {3+}\r\nabc\r\n", "BAD", "", "a"},
		{"APPEND unquoted date", "a APPEND x 17-Jul-1996 {3}\r\n", "BAD", "", "a"},
		{"FETCH zero", "a FETCH 0 FLAGS\r\n", "BAD", "", "a"},
		{"FETCH zero in range", "a FETCH 1:0 FLAGS\r\n", "BAD", "", "a"},
		{"FETCH empty set", "a FETCH  FLAGS\r\n", "BAD", "", "a"},
		{"FETCH overflow", "a FETCH 4294967296 FLAGS\r\n", "BAD", "", "a"},
		{"FETCH leading zero", "a FETCH 01 FLAGS\r\n", "BAD", "", "a"},
		{"FETCH trailing comma", "a FETCH 1, FLAGS\r\n", "BAD", "", "a"},
		{"FETCH unknown att", "a FETCH 1 FOO\r\n", "BAD", "", "a"},
		{"FETCH macro in list", "a FETCH 1 (ALL)\r\n", "BAD", "", "a"},
		{"FETCH empty list", "a FETCH 1 ()\r\n", "BAD", "", "a"},
		{"FETCH unclosed list", "a FETCH 1 (FLAGS\r\n", "BAD", "", "a"},
		{"FETCH BODY.PEEK without section", "a FETCH 1 BODY.PEEK\r\n", "BAD", "", "a"},
		{"FETCH MIME without part", "a FETCH 1 BODY[MIME]\r\n", "BAD", "", "a"},
		{"FETCH part zero", "a FETCH 1 BODY[0]\r\n", "BAD", "", "a"},
		{"FETCH bad section", "a FETCH 1 BODY[FOO]\r\n", "BAD", "", "a"},
		{"FETCH unclosed section", "a FETCH 1 BODY[1\r\n", "BAD", "", "a"},
		{"FETCH HEADER.FIELDS without list", "a FETCH 1 BODY[HEADER.FIELDS]\r\n", "BAD", "", "a"},
		{"FETCH HEADER.FIELDS empty list", "a FETCH 1 BODY[HEADER.FIELDS ()]\r\n", "BAD", "", "a"},
		{"FETCH partial zero count", "a FETCH 1 BODY[]<0.0>\r\n", "BAD", "", "a"},
		{"FETCH partial unclosed", "a FETCH 1 BODY[]<0.10\r\n", "BAD", "", "a"},
		{"FETCH partial no count", "a FETCH 1 BODY[]<5>\r\n", "BAD", "", "a"},
		{"STORE \\Recent", "a STORE 1 +FLAGS (\\Recent)\r\n", "BAD", "", "a"},
		{"STORE unknown system flag", "a STORE 1 FLAGS \\Foo\r\n", "BAD", "", "a"},
		{"STORE bad item", "a STORE 1 +FLAGZ (\\Seen)\r\n", "BAD", "", "a"},
		{"STORE no flags", "a STORE 1 +FLAGS\r\n", "BAD", "", "a"},
		{"STORE keyword too long", "a STORE 1 +FLAGS (" + strings.Repeat("k", imap.MaxFlagLength+1) + ")\r\n", "BAD", "", "a"},
		{"APPEND keyword too long", "a APPEND x (" + strings.Repeat("k", imap.MaxFlagLength+1) + ") {3+}\r\nabc\r\n", "BAD", "", "a"},
		{"STORE unclosed list", "a STORE 1 FLAGS (\\Seen\r\n", "BAD", "", "a"},
		{"COPY no mailbox", "a COPY 1\r\n", "BAD", "", "a"},
		{"UID EXPUNGE no set", "a UID EXPUNGE\r\n", "BAD", "", "a"},
		{"SEARCH nothing", "a SEARCH\r\n", "BAD", "", "a"},
		{"SEARCH unknown key", "a SEARCH FOO\r\n", "BAD", "", "a"},
		{"SEARCH bad date", "a SEARCH SINCE 30-Feb-2024\r\n", "BAD", "", "a"},
		{"SEARCH bad date form", "a SEARCH SINCE 2024-02-01\r\n", "BAD", "", "a"},
		{"SEARCH OR one key", "a SEARCH OR SEEN\r\n", "BAD", "", "a"},
		{"SEARCH empty parens", "a SEARCH ()\r\n", "BAD", "", "a"},
		{"SEARCH unclosed parens", "a SEARCH (SEEN\r\n", "BAD", "", "a"},
		{"SEARCH LARGER no number", "a SEARCH LARGER x\r\n", "BAD", "", "a"},
		{"SEARCH HEADER one arg", "a SEARCH HEADER Subject\r\n", "BAD", "", "a"},
		{"SEARCH too deep", "a SEARCH " + strings.Repeat("NOT ", maxNesting+2) + "SEEN\r\n", "BAD", "", "a"},
		{"SEARCH bad charset", "a SEARCH CHARSET KOI8-R SUBJECT {4+}\r\ntest\r\n", "NO", "BADCHARSET (UTF-8 US-ASCII)", "a"},
		{"SEARCH bad charset sync", "a SEARCH CHARSET ISO-8859-1 SUBJECT {4}\r\n", "NO", "BADCHARSET (UTF-8 US-ASCII)", "a"},
		{"ENABLE nothing", "a ENABLE\r\n", "BAD", "", "a"},
		{"ID bad", "a ID foo\r\n", "BAD", "", "a"},
		{"ID odd list", "a ID (\"name\")\r\n", "BAD", "", "a"},
		{"ID too many", "a ID (" + strings.Repeat(`"k" "v" `, 31) + ")\r\n", "BAD", "", "a"},
		{"too many literals", "a LOGIN {1+}\r\nx {1+}\r\ny\r\n", "BAD", "", "a"},
		{"oversized sync literal", "a LOGIN {100}\r\n", "NO", "TOOBIG", "a"},
		{"oversized sync APPEND", "a APPEND x {1000}\r\n", "NO", "TOOBIG", "a"},
		{"total literal budget", "a LOGIN {40+}\r\n" + strings.Repeat("x", 40) + " {40}\r\n", "NO", "TOOBIG", "a"},
		{"line too long", "a LOGIN " + strings.Repeat("x", 5000) + "\r\n", "BAD", "", "a"},
		{"line too long, then a literal", "a LOGIN " + strings.Repeat("x", 5000) + " {3+}\r\nabc\r\n", "BAD", "", "a"},
		{"second line too long", "a LOGIN {3+}\r\nabc " + strings.Repeat("x", 5000) + "\r\n", "BAD", "", "a"},
	}
	lim := Limits{MaxLine: 4096, MaxLiteral: 50, MaxLiterals: 1, MaxCommandBytes: 60, MaxAppend: 500}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(tt.in+"Z NOOP\r\n", lim)
			if tt.name != "too many literals" {
				h.p.SetLimits(Limits{MaxLine: 4096, MaxLiteral: 50, MaxLiterals: 5, MaxCommandBytes: 60, MaxAppend: 500})
			}
			cmd, err := h.p.Next()
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %+v, %v; want *Error", cmd, err)
			}
			if e.Status != tt.status || e.Code != tt.code || e.Tag != tt.tag {
				t.Errorf("got %q %q [%s] %q; want %q %q [%s]", e.Tag, e.Status, e.Code, e.Text, tt.tag, tt.status, tt.code)
			}
			if e.Text == "" {
				t.Error("empty error text")
			}
			if h.conts != 0 {
				t.Errorf("continuations = %d", h.conts)
			}
			h.expectNoop(t)
		})
	}
}

func TestSyncLiteralContinuation(t *testing.T) {
	// cont is called exactly before each synchronizing literal is read, and
	// never for a non-synchronizing one.
	var p *Parser
	var atCont []int
	in := "a LOGIN {4}\r\nfred {6+}\r\nsecret\r\nb LOGIN {1}\r\nx {1}\r\ny\r\n"
	br := bufio.NewReader(strings.NewReader(in))
	p = NewParser(br, func() error { atCont = append(atCont, br.Buffered()); return nil }, Limits{})
	for _, want := range []LoginArgs{{"fred", "secret"}, {"x", "y"}} {
		cmd, err := p.Next()
		if err != nil || !reflect.DeepEqual(cmd.Args, &want) {
			t.Fatalf("got %+v, %v", cmd, err)
		}
	}
	if len(atCont) != 3 {
		t.Fatalf("cont called %d times, want 3", len(atCont))
	}
	if _, err := p.Next(); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
}

func TestContError(t *testing.T) {
	boom := errors.New("write failed")
	p := NewParser(bufio.NewReader(strings.NewReader("a LOGIN {4}\r\nfred x\r\n")), func() error { return boom }, Limits{})
	if _, err := p.Next(); err != boom {
		t.Fatalf("got %v, want the continuation's error", err)
	}
}

func TestFatalNonSyncLiteral(t *testing.T) {
	lim := Limits{MaxLiteral: 10, MaxAppend: 20, MaxCommandBytes: 100}
	for _, in := range []string{
		"a LOGIN {11+}\r\n01234567890 x\r\n",
		"a APPEND x {21+}\r\n",
		"a FROB {5000+}\r\n", // while discarding a refused command
	} {
		h := newHarness(in, lim)
		_, err := h.p.Next()
		if !errors.Is(err, ErrFatal) || err.Error() != "Literal too big" && err.Error() != "Message too big" {
			t.Errorf("%q: got %v, want a fatal error", in, err)
		}
		if h.conts != 0 {
			t.Errorf("%q: continued", in)
		}
	}
}

func TestUnexpectedEOF(t *testing.T) {
	for _, in := range []string{"a NOOP", "a LOGIN {5}\r\nab", "a LOGIN {5}\r\nabcde", "a FROB {5+}\r\nab"} {
		h := newHarness(in, Limits{})
		if _, err := h.p.Next(); err != io.ErrUnexpectedEOF {
			t.Errorf("%q: got %v, want io.ErrUnexpectedEOF", in, err)
		}
	}
	h := newHarness("", Limits{})
	if _, err := h.p.Next(); err != io.EOF {
		t.Errorf("empty input: got %v, want io.EOF", err)
	}
}

func TestPipelined(t *testing.T) {
	in := "a1 NOOP\r\na2 LOGIN {3+}\r\nbob pw\r\na3 SELECT inbox\nA4 FETCH 1 FLAGS\r\nbad\r\na5 LOGOUT\r\n"
	h := newHarness(in, Limits{})
	var got []string
	for {
		cmd, err := h.p.Next()
		if err == io.EOF {
			break
		}
		var e *Error
		if errors.As(err, &e) {
			got = append(got, e.Tag+" "+e.Status)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, cmd.Tag+" "+cmd.Name)
	}
	want := []string{"a1 NOOP", "a2 LOGIN", "a3 SELECT", "A4 FETCH", "bad BAD", "a5 LOGOUT"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestAppend(t *testing.T) {
	msg := "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"
	tests := []struct {
		name      string
		in        string
		read      int // bytes the handler reads before EndCommand (-1: all)
		conts     int
		endStatus string // "" when EndCommand must succeed
		flags     []string
	}{
		{"sync, all read", "a APPEND Sent (\\Seen $Label1) {" + itoa(len(msg)) + "}\r\n" + msg + "\r\n", -1, 1, "", []string{imap.FlagSeen, "$Label1"}},
		{"non-sync, half read", "a APPEND Sent () {" + itoa(len(msg)) + "+}\r\n" + msg + "\r\n", 10, 0, "", []string{}},
		{"nothing read", "a APPEND Sent {" + itoa(len(msg)) + "}\r\n" + msg + "\r\n", 0, 1, "", nil},
		{"junk after literal", "a APPEND Sent {" + itoa(len(msg)) + "}\r\n" + msg + " junk\r\n", -1, 1, "BAD", nil},
		{"junk with literal after literal", "a APPEND Sent {" + itoa(len(msg)) + "}\r\n" + msg + " x {2+}\r\nab\r\n", -1, 1, "BAD", nil},
		{"empty message", "a APPEND Sent {0}\r\n\r\n", -1, 1, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(tt.in+"Z NOOP\r\n", Limits{})
			cmd, err := h.p.Next()
			if err != nil {
				t.Fatal(err)
			}
			a := cmd.Args.(*AppendArgs)
			if a.Mailbox != "Sent" || !reflect.DeepEqual(a.Flags, tt.flags) || a.HasDate {
				t.Errorf("args %+v", a)
			}
			if h.conts != tt.conts {
				t.Errorf("continuations = %d, want %d", h.conts, tt.conts)
			}
			want := msg
			if strings.Contains(tt.in, "{0}") {
				want = ""
			}
			if a.Size != int64(len(want)) {
				t.Errorf("Size = %d, want %d", a.Size, len(want))
			}
			var body []byte
			switch tt.read {
			case -1:
				body, err = io.ReadAll(a.Body)
				if err != nil || string(body) != want {
					t.Errorf("Body = %q, %v; want %q", body, err, want)
				}
			default:
				body = make([]byte, tt.read)
				if _, err := io.ReadFull(a.Body, body); err != nil || string(body) != want[:tt.read] {
					t.Errorf("Body = %q, %v", body, err)
				}
			}
			err = h.p.EndCommand()
			if tt.endStatus == "" {
				if err != nil {
					t.Fatalf("EndCommand: %v", err)
				}
			} else {
				var e *Error
				if !errors.As(err, &e) || e.Status != tt.endStatus || e.Tag != "a" {
					t.Fatalf("EndCommand: %v, want %s", err, tt.endStatus)
				}
			}
			if n, err := a.Body.Read(make([]byte, 10)); n != 0 || err != io.EOF {
				t.Errorf("Body after EndCommand: %d, %v", n, err)
			}
			h.expectNoop(t)
		})
	}
}

func TestAppendWithoutEndCommand(t *testing.T) {
	h := newHarness("a APPEND x {5}\r\nhello\r\nZ NOOP\r\n", Limits{})
	if _, err := h.p.Next(); err != nil {
		t.Fatal(err)
	}
	h.expectNoop(t) // Next drains the literal itself
}

func TestAppendDiscardLiteral(t *testing.T) {
	h := newHarness("a APPEND x {5+}\r\nhello\r\nZ NOOP\r\n", Limits{})
	cmd, err := h.p.Next()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.p.DiscardLiteral(); err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(cmd.Args.(*AppendArgs).Body); len(b) != 0 {
		t.Errorf("Body after DiscardLiteral yielded %q", b)
	}
	if err := h.p.EndCommand(); err != nil {
		t.Fatal(err)
	}
	h.expectNoop(t)
}

func TestAppendTruncated(t *testing.T) {
	h := newHarness("a APPEND x {10}\r\nhello", Limits{})
	cmd, err := h.p.Next()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(cmd.Args.(*AppendArgs).Body); err != io.ErrUnexpectedEOF {
		t.Errorf("Body read: %v, want io.ErrUnexpectedEOF", err)
	}
	if err := h.p.EndCommand(); err != io.ErrUnexpectedEOF {
		t.Errorf("EndCommand: %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestReadLine(t *testing.T) {
	h := newHarness("AGZyZWQAc2VjcmV0\r\nDONE\n"+strings.Repeat("x", 50)+"\r\nZ NOOP\r\n", Limits{MaxLine: 20})
	for _, want := range []string{"AGZyZWQAc2VjcmV0", "DONE"} {
		b, err := h.p.ReadLine()
		if err != nil || string(b) != want {
			t.Fatalf("ReadLine = %q, %v; want %q", b, err, want)
		}
	}
	var e *Error
	if _, err := h.p.ReadLine(); !errors.As(err, &e) || e.Status != "BAD" {
		t.Fatalf("over-long line: %v", err)
	}
	h.expectNoop(t)
}

func TestLimitsDefaults(t *testing.T) {
	p := NewParser(bufio.NewReader(strings.NewReader("")), nil, Limits{MaxLine: 10})
	want := DefaultLimits()
	want.MaxLine = 10
	if p.lim != want {
		t.Fatalf("limits %+v, want %+v", p.lim, want)
	}
}

func itoa(n int) string {
	var b []byte
	if n == 0 {
		return "0"
	}
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestUTF8MailboxWithoutEnable: a valid UTF-8 name is taken as it is even
// before UTF8=ACCEPT (IMAP4rev2 clients send them, RFC 9051 5.1).
func TestUTF8MailboxWithoutEnable(t *testing.T) {
	p := NewParser(bufio.NewReader(strings.NewReader("a CREATE \"Entwürfe\"\r\n")), nil, DefaultLimits())
	cmd, err := p.Next()
	if err != nil {
		t.Fatal(err)
	}
	if got := cmd.Args.(*MailboxArgs).Mailbox; got != "Entwürfe" {
		t.Fatalf("mailbox = %q", got)
	}
}
