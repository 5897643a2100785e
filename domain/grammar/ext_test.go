package grammar

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/domain/search"
)

func TestParseExtensions(t *testing.T) {
	all := search.Key{Op: search.OpAll}
	tests := []struct {
		in    string
		want  *Command
		conts int
	}{
		// CONDSTORE / QRESYNC (RFC 7162).
		{"a SELECT inbox (condstore)", &Command{Tag: "a", Name: "SELECT", Args: &MailboxArgs{Mailbox: "INBOX", Condstore: true}}, 0},
		{"a EXAMINE x (QRESYNC (67890007 20050715194045000))", &Command{Tag: "a", Name: "EXAMINE", Args: &MailboxArgs{Mailbox: "x",
			QResync: &QResyncParams{UIDValidity: 67890007, ModSeq: 20050715194045000}}}, 0},
		{"a SELECT x (QRESYNC (67890007 90060115194045000 41:211,214:541))", &Command{Tag: "a", Name: "SELECT", Args: &MailboxArgs{Mailbox: "x",
			QResync: &QResyncParams{UIDValidity: 67890007, ModSeq: 90060115194045000, KnownUIDs: set(r(41, 211), r(214, 541))}}}, 0},
		{"a SELECT x (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976:29979)) CONDSTORE)", &Command{Tag: "a", Name: "SELECT", Args: &MailboxArgs{Mailbox: "x", Condstore: true,
			QResync: &QResyncParams{UIDValidity: 67890007, ModSeq: 90060115194045000, KnownUIDs: set(r(1, 29997)), SeqMatch: &SeqMatch{
				Seqs: set(r(5000, 5000), r(7500, 7500), r(9000, 9000), r(9990, 9999)),
				UIDs: set(r(15000, 15000), r(22500, 22500), r(27000, 27000), r(29970, 29970), r(29973, 29973), r(29976, 29979)),
			}}}}, 0},
		{"a SELECT x (QRESYNC (1 9223372036854775807 (1:2 3:4)))", &Command{Tag: "a", Name: "SELECT", Args: &MailboxArgs{Mailbox: "x",
			QResync: &QResyncParams{UIDValidity: 1, ModSeq: 9223372036854775807, SeqMatch: &SeqMatch{Seqs: set(r(1, 2)), UIDs: set(r(3, 4))}}}}, 0},
		{"a FETCH 1:* (FLAGS MODSEQ) (CHANGEDSINCE 12345)", &Command{Tag: "a", Name: "FETCH", Args: &FetchArgs{Set: set(r(1, 0)), Items: items("FLAGS", "MODSEQ"), ChangedSince: 12345}}, 0},
		{"a UID FETCH 300:500 FLAGS (changedsince 12345 vanished)", &Command{Tag: "a", Name: "FETCH", UID: true, Args: &FetchArgs{Set: set(r(300, 500)), Items: items("FLAGS"), ChangedSince: 12345, Vanished: true}}, 0},
		{"a FETCH 1 FAST (CHANGEDSINCE 1)", &Command{Tag: "a", Name: "FETCH", Args: &FetchArgs{Set: set(r(1, 1)), Items: items("FLAGS", "INTERNALDATE", "RFC822.SIZE"), ChangedSince: 1}}, 0},
		{"a STORE 1:* (UNCHANGEDSINCE 0) +FLAGS.SILENT (\\Seen)", &Command{Tag: "a", Name: "STORE", Args: &StoreArgs{Set: set(r(1, 0)), Op: StoreAdd, Silent: true, Flags: []string{imap.FlagSeen}, HasUnchangedSince: true}}, 0},
		{"a UID STORE 7 (unchangedsince 320162338) FLAGS x", &Command{Tag: "a", Name: "STORE", UID: true, Args: &StoreArgs{Set: set(r(7, 7)), Flags: []string{"x"}, HasUnchangedSince: true, UnchangedSince: 320162338}}, 0},
		{"a SEARCH MODSEQ 0", &Command{Tag: "a", Name: "SEARCH", Args: &SearchArgs{Criteria: and(search.Key{Op: search.OpModSeq})}}, 0},
		{`a SEARCH MODSEQ "/flags/\\draft" all 620162338 OLDER 3600 YOUNGER 60`, &Command{Tag: "a", Name: "SEARCH", Args: &SearchArgs{Criteria: and(
			search.Key{Op: search.OpModSeq, Field: imap.FlagDraft, Value: "all", ModSeq: 620162338},
			search.Key{Op: search.OpOlder, Size: 3600},
			search.Key{Op: search.OpYounger, Size: 60},
		)}}, 0},
		{`a SEARCH MODSEQ "/flags/$Junk" PRIV 5`, &Command{Tag: "a", Name: "SEARCH", Args: &SearchArgs{Criteria: and(
			search.Key{Op: search.OpModSeq, Field: "$Junk", Value: "priv", ModSeq: 5},
		)}}, 0},

		// ESEARCH (RFC 4731) and SEARCHRES (RFC 5182).
		{"a SEARCH RETURN (MIN max COUNT) charset utf-8 ALL", &Command{Tag: "a", Name: "SEARCH", Args: &SearchArgs{Charset: "UTF-8", Criteria: and(all), ESearch: true, Return: []string{"MIN", "MAX", "COUNT"}}}, 0},
		{"a UID SEARCH RETURN () ALL", &Command{Tag: "a", Name: "SEARCH", UID: true, Args: &SearchArgs{Criteria: and(all), ESearch: true, Return: []string{"ALL"}}}, 0},
		{"a SEARCH RETURN (SAVE ALL SAVE) SEEN", &Command{Tag: "a", Name: "SEARCH", Args: &SearchArgs{Criteria: and(seen), ESearch: true, Return: []string{"SAVE", "ALL"}}}, 0},
		{"a SEARCH $ (UID $ SEEN) OR $ 1", &Command{Tag: "a", Name: "SEARCH", Args: &SearchArgs{Criteria: and(
			search.Key{Op: search.OpSaved},
			and(search.Key{Op: search.OpSaved}, seen),
			search.Key{Op: search.OpOr, Sub: []search.Key{{Op: search.OpSaved}, {Op: search.OpSeqSet, Set: set(r(1, 1))}}},
		)}}, 0},
		{"a FETCH $ (UID)", &Command{Tag: "a", Name: "FETCH", Args: &FetchArgs{Items: items("UID"), SavedResult: true}}, 0},
		{"a UID STORE $ +FLAGS x", &Command{Tag: "a", Name: "STORE", UID: true, Args: &StoreArgs{Op: StoreAdd, Flags: []string{"x"}, SavedResult: true}}, 0},
		{"a COPY $ Trash", &Command{Tag: "a", Name: "COPY", Args: &CopyArgs{Mailbox: "Trash", SavedResult: true}}, 0},
		{"a UID MOVE $ Trash", &Command{Tag: "a", Name: "MOVE", UID: true, Args: &CopyArgs{Mailbox: "Trash", SavedResult: true}}, 0},
		{"a UID EXPUNGE $", &Command{Tag: "a", Name: "EXPUNGE", UID: true, Args: &ExpungeArgs{SavedResult: true}}, 0},

		// LIST-EXTENDED, LIST-STATUS, SPECIAL-USE.
		{`a LIST (SUBSCRIBED RECURSIVEMATCH) "" %`, &Command{Tag: "a", Name: "LIST", Args: &ListArgs{Pattern: "%", Patterns: []string{"%"}, Extended: true, Select: []string{"SUBSCRIBED", "RECURSIVEMATCH"}}}, 0},
		{`a LIST () "" %`, &Command{Tag: "a", Name: "LIST", Args: &ListArgs{Pattern: "%", Patterns: []string{"%"}, Extended: true, Select: []string{}}}, 0},
		{`a list (special-use recursivematch remote) "" ("*" Other/% {5}` + "\r\nfoo/*)", &Command{Tag: "a", Name: "LIST", Args: &ListArgs{Pattern: "*", Patterns: []string{"*", "Other/%", "foo/*"}, Extended: true, Select: []string{"SPECIAL-USE", "RECURSIVEMATCH", "REMOTE"}}}, 1},
		{`a LIST "" % RETURN (CHILDREN status (MESSAGES UNSEEN) SPECIAL-USE subscribed children)`, &Command{Tag: "a", Name: "LIST", Args: &ListArgs{Pattern: "%", Patterns: []string{"%"}, Extended: true,
			Return: []string{"CHILDREN", "STATUS", "SPECIAL-USE", "SUBSCRIBED"}, StatusItems: []string{"MESSAGES", "UNSEEN"}}}, 0},
		{`a LIST "" % RETURN ()`, &Command{Tag: "a", Name: "LIST", Args: &ListArgs{Pattern: "%", Patterns: []string{"%"}, Extended: true, Return: []string{}}}, 0},
		{`a LIST x ("a")`, &Command{Tag: "a", Name: "LIST", Args: &ListArgs{Reference: "x", Pattern: "a", Patterns: []string{"a"}, Extended: true}}, 0},
		{"a CREATE Sent (USE (\\sent \\ARCHIVE \\Sent))", &Command{Tag: "a", Name: "CREATE", Args: &MailboxArgs{Mailbox: "Sent", SpecialUse: []string{`\Sent`, `\Archive`}}}, 0},
		{"a CREATE x (USE ())", &Command{Tag: "a", Name: "CREATE", Args: &MailboxArgs{Mailbox: "x", SpecialUse: []string{}}}, 0},
		{"a CREATE y (USE (\\All \\Drafts \\Flagged \\Junk \\Trash))", &Command{Tag: "a", Name: "CREATE", Args: &MailboxArgs{Mailbox: "y", SpecialUse: []string{`\All`, `\Drafts`, `\Flagged`, `\Junk`, `\Trash`}}}, 0},

		// BINARY (RFC 3516).
		{"a FETCH 1 (BINARY[] BINARY.PEEK[1.2]<0.10> BINARY.SIZE[3] binary[4])", &Command{Tag: "a", Name: "FETCH", Args: &FetchArgs{Set: set(r(1, 1)), Items: []FetchItem{
			{Name: "BINARY", Section: &message.Section{}},
			{Name: "BINARY", Peek: true, Section: &message.Section{Path: []int{1, 2}}, Partial: &message.Partial{Offset: 0, Count: 10}},
			{Name: "BINARY.SIZE", Section: &message.Section{Path: []int{3}}},
			{Name: "BINARY", Section: &message.Section{Path: []int{4}}},
		}}}, 0},
		{"a FETCH 1 BINARY.SIZE[]", &Command{Tag: "a", Name: "FETCH", Args: &FetchArgs{Set: set(r(1, 1)), Items: []FetchItem{{Name: "BINARY.SIZE", Section: &message.Section{}}}}}, 0},
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
			if h.conts != tt.conts {
				t.Errorf("continuations = %d, want %d", h.conts, tt.conts)
			}
			h.expectNoop(t)
		})
	}
}

func TestExtensionErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     string // the whole refused command, CRLF included
		status string
		code   string
	}{
		{"SELECT unknown param", "a SELECT x (FOO)\r\n", "BAD", ""},
		{"SELECT empty params", "a SELECT x ()\r\n", "BAD", ""},
		{"SELECT no space before params", "a SELECT x(CONDSTORE)\r\n", "BAD", ""},
		{"QRESYNC uidvalidity 0", "a SELECT x (QRESYNC (0 5))\r\n", "BAD", ""},
		{"QRESYNC modseq 0", "a SELECT x (QRESYNC (1 0))\r\n", "BAD", ""},
		{"QRESYNC modseq overflow", "a SELECT x (QRESYNC (1 9223372036854775808))\r\n", "BAD", ""},
		{"QRESYNC star in known uids", "a SELECT x (QRESYNC (1 5 1:*))\r\n", "BAD", ""},
		{"QRESYNC star in seq match", "a SELECT x (QRESYNC (1 5 1:9 (1:* 3)))\r\n", "BAD", ""},
		{"QRESYNC seq match one set", "a SELECT x (QRESYNC (1 5 (1:2)))\r\n", "BAD", ""},
		{"QRESYNC missing modseq", "a SELECT x (QRESYNC (1))\r\n", "BAD", ""},
		{"QRESYNC twice", "a SELECT x (QRESYNC (1 2) QRESYNC (1 2))\r\n", "BAD", ""},
		{"params on DELETE", "a DELETE x (CONDSTORE)\r\n", "BAD", ""},
		{"CHANGEDSINCE 0", "a FETCH 1 FLAGS (CHANGEDSINCE 0)\r\n", "BAD", ""},
		{"VANISHED without UID", "a FETCH 1 FLAGS (CHANGEDSINCE 5 VANISHED)\r\n", "BAD", ""},
		{"VANISHED without CHANGEDSINCE", "a UID FETCH 1 FLAGS (VANISHED)\r\n", "BAD", ""},
		{"unknown fetch modifier", "a FETCH 1 FLAGS (FOO 1)\r\n", "BAD", ""},
		{"empty fetch modifiers", "a FETCH 1 FLAGS ()\r\n", "BAD", ""},
		{"unknown store modifier", "a STORE 1 (FOO 1) FLAGS x\r\n", "BAD", ""},
		{"UNCHANGEDSINCE without value", "a STORE 1 (UNCHANGEDSINCE) FLAGS x\r\n", "BAD", ""},
		{"UNCHANGEDSINCE twice", "a STORE 1 (UNCHANGEDSINCE 1 UNCHANGEDSINCE 2) FLAGS x\r\n", "BAD", ""},
		{"MODSEQ without value", "a SEARCH MODSEQ\r\n", "BAD", ""},
		{"MODSEQ bad entry", "a SEARCH MODSEQ \"/foo/bar\" all 5\r\n", "BAD", ""},
		{"MODSEQ bad entry type", "a SEARCH MODSEQ \"/flags/\\\\Seen\" some 5\r\n", "BAD", ""},
		{"MODSEQ entry without value", "a SEARCH MODSEQ \"/flags/\\\\Seen\" all\r\n", "BAD", ""},
		{"OLDER 0", "a SEARCH OLDER 0\r\n", "BAD", ""},
		{"YOUNGER not a number", "a SEARCH YOUNGER x\r\n", "BAD", ""},
		{"RETURN alone", "a SEARCH RETURN\r\n", "BAD", ""},
		{"RETURN without list", "a SEARCH RETURN ALL\r\n", "BAD", ""},
		{"RETURN unknown option", "a SEARCH RETURN (FOO) ALL\r\n", "BAD", ""},
		{"RETURN without keys", "a SEARCH RETURN (ALL)\r\n", "BAD", ""},
		{"RETURN after CHARSET", "a SEARCH CHARSET UTF-8 RETURN (ALL) ALL\r\n", "BAD", ""},
		{"$ in a list", "a FETCH $,1 FLAGS\r\n", "BAD", ""},
		{"$ in a range", "a FETCH 1:$ FLAGS\r\n", "BAD", ""},
		{"$ in a search set", "a SEARCH 1,$\r\n", "BAD", ""},
		{"$ plain EXPUNGE", "a EXPUNGE $\r\n", "BAD", ""},
		{"LIST unknown selection option", "a LIST (FOO) \"\" %\r\n", "BAD", ""},
		{"LIST RECURSIVEMATCH alone", "a LIST (RECURSIVEMATCH) \"\" %\r\n", "BAD", ""},
		{"LIST RECURSIVEMATCH with REMOTE", "a LIST (REMOTE RECURSIVEMATCH) \"\" %\r\n", "BAD", ""},
		{"LIST unknown return option", "a LIST \"\" % RETURN (FOO)\r\n", "BAD", ""},
		{"LIST RETURN without list", "a LIST \"\" % RETURN CHILDREN\r\n", "BAD", ""},
		{"LIST junk instead of RETURN", "a LIST \"\" % FOO (CHILDREN)\r\n", "BAD", ""},
		{"LIST STATUS without items", "a LIST \"\" % RETURN (STATUS)\r\n", "BAD", ""},
		{"LIST STATUS unknown item", "a LIST \"\" % RETURN (STATUS (FOO))\r\n", "BAD", ""},
		{"LIST STATUS twice", "a LIST \"\" % RETURN (STATUS (MESSAGES) STATUS (UNSEEN))\r\n", "BAD", ""},
		{"LIST empty pattern list", "a LIST \"\" ()\r\n", "BAD", ""},
		{"LIST unclosed pattern list", "a LIST \"\" (a b\r\n", "BAD", ""},
		{"LSUB extended", "a LSUB (SUBSCRIBED) \"\" %\r\n", "BAD", ""},
		{"CREATE unknown use attr", "a CREATE x (USE (\\Sent \\Important))\r\n", "NO", "USEATTR"},
		{"CREATE use attr without backslash", "a CREATE x (USE (Sent))\r\n", "BAD", ""},
		{"CREATE unknown param", "a CREATE x (FOO (\\Sent))\r\n", "BAD", ""},
		{"CREATE use attr then syntax error", "a CREATE x (USE (\\Important) FOO)\r\n", "BAD", ""},
		{"BINARY without section", "a FETCH 1 BINARY\r\n", "BAD", ""},
		{"BINARY.PEEK text section", "a FETCH 1 BINARY.PEEK[1.TEXT]\r\n", "BAD", ""},
		{"BINARY part 0", "a FETCH 1 BINARY[0]\r\n", "BAD", ""},
		{"BINARY.SIZE partial", "a FETCH 1 BINARY.SIZE[1]<0.5>\r\n", "BAD", ""},
		{"BINARY trailing dot", "a FETCH 1 BINARY[1.]\r\n", "BAD", ""},
		{"APPEND UTF8 without enable", "a APPEND x UTF8 (~{3}\r\n", "BAD", ""},
		{"APPEND tilde without literal", "a APPEND x ~abc\r\n", "BAD", ""},
		{"LITERAL- too big", "a LOGIN {5000+}\r\n" + string(make([]byte, 5000)) + " x\r\n", "BAD", "TOOBIG"},
		{"LITERAL- too big in APPEND", "a APPEND x {4097+}\r\n" + string(make([]byte, 4097)) + "\r\n", "BAD", "TOOBIG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(tt.in+"Z NOOP\r\n", Limits{MaxNonSyncLiteral: LiteralMinusMax})
			cmd, err := h.p.Next()
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %+v, %v; want *Error", cmd, err)
			}
			if e.Status != tt.status || e.Code != tt.code || e.Tag != "a" {
				t.Errorf("got %q %q [%s] %q; want %q [%s]", e.Tag, e.Status, e.Code, e.Text, tt.status, tt.code)
			}
			if h.conts != 0 {
				t.Errorf("continuations = %d", h.conts)
			}
			h.expectNoop(t)
		})
	}
}

// TestLiteralMinus checks RFC 7888 section 4's bound on non-synchronizing
// literals: small ones pass, and one too big to read and drop ends the
// connection.
func TestLiteralMinus(t *testing.T) {
	lim := Limits{MaxNonSyncLiteral: LiteralMinusMax}
	h := newHarness("a LOGIN {4096+}\r\n"+string(make([]byte, 4096))+" x\r\nZ NOOP\r\n", lim)
	if _, err := h.p.Next(); err == nil || !errors.As(err, new(*Error)) {
		// 4096 bytes are allowed by LITERAL-, but NUL is not allowed in a
		// literal: the point is that the refusal is not TOOBIG.
		t.Fatalf("Next: %v", err)
	} else if e := err.(*Error); e.Code == "TOOBIG" {
		t.Fatalf("4096-byte literal refused as too big: %+v", e)
	}
	h.expectNoop(t)

	h = newHarness("a LOGIN {4096+}\r\n"+string(make([]byte, 0))+repeat('x', 4096)+" y\r\nZ NOOP\r\n", lim)
	if cmd, err := h.p.Next(); err != nil || cmd.Args.(*LoginArgs).Password != "y" {
		t.Fatalf("Next: %+v, %v", cmd, err)
	}
	h.expectNoop(t)

	lim.MaxCommandBytes = 10000
	h = newHarness("a APPEND x {20000+}\r\n"+repeat('x', 20000)+"\r\nZ NOOP\r\n", lim)
	if _, err := h.p.Next(); !errors.Is(err, ErrFatal) {
		t.Fatalf("Next: %v, want ErrFatal", err)
	}
}

func repeat(c byte, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return string(b)
}

// appendStep is what a handler sees of one message of an APPEND.
type appendStep struct {
	flags  []string
	body   string
	binary bool
}

func TestMultiAppend(t *testing.T) {
	tests := []struct {
		name  string
		utf8  bool
		in    string // whole command, CRLF included
		want  []appendStep
		conts int
	}{
		{"one message", false, "a APPEND x {3}\r\nabc\r\n", []appendStep{{body: "abc"}}, 1},
		{"three messages", false, "a APPEND x (\\Seen) {3}\r\nabc (\\Draft) \"01-Jan-2020 10:00:00 +0100\" {2+}\r\nde {1}\r\nf\r\n",
			[]appendStep{{flags: []string{imap.FlagSeen}, body: "abc"}, {flags: []string{imap.FlagDraft}, body: "de"}, {body: "f"}}, 2},
		{"literal8", false, "a APPEND x ~{3+}\r\na\x00c ~{2}\r\n\x00\x01\r\n", []appendStep{{body: "a\x00c", binary: true}, {body: "\x00\x01", binary: true}}, 1},
		{"UTF8 form", true, "a APPEND x UTF8 (~{4}\r\nh\xc3\xa9!) () utf8 (~{1+}\r\nz)\r\n", []appendStep{{body: "h\xc3\xa9!", binary: true}, {flags: []string{}, body: "z", binary: true}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(tt.in+"Z NOOP\r\n", Limits{})
			h.p.SetUTF8(tt.utf8)
			cmd, err := h.p.Next()
			if err != nil {
				t.Fatal(err)
			}
			a := cmd.Args.(*AppendArgs)
			m := &AppendMessage{Flags: a.Flags, Date: a.Date, HasDate: a.HasDate, Size: a.Size, Body: a.Body, Binary: a.Binary}
			var got []appendStep
			for i := 0; m != nil; i++ {
				b, err := io.ReadAll(m.Body)
				if err != nil || int64(len(b)) != m.Size {
					t.Fatalf("message %d: %q, %v (size %d)", i, b, err, m.Size)
				}
				if i == 1 && (!m.HasDate || m.Date.Year() != 2020) && tt.name == "three messages" {
					t.Errorf("message 1 date %v %v", m.Date, m.HasDate)
				}
				got = append(got, appendStep{flags: m.Flags, body: string(b), binary: m.Binary})
				if m, err = h.p.NextAppend(); err != nil {
					t.Fatalf("NextAppend: %v", err)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if h.conts != tt.conts {
				t.Errorf("continuations = %d, want %d", h.conts, tt.conts)
			}
			if m, err := h.p.NextAppend(); m != nil || err != nil {
				t.Errorf("NextAppend after the end: %+v, %v", m, err)
			}
			h.expectNoop(t)
		})
	}
}

func TestMultiAppendErrors(t *testing.T) {
	tests := []struct {
		name   string
		utf8   bool
		in     string
		status string
		code   string
	}{
		{"junk after message", false, "a APPEND x {1}\r\na junk\r\n", "BAD", ""},
		{"no space before next", false, "a APPEND x {1}\r\na{1}\r\n", "BAD", ""},
		{"next too big (sync)", false, "a APPEND x {1}\r\na {999}\r\n", "NO", "TOOBIG"},
		{"next bad flag", false, "a APPEND x {1}\r\na (\\Recent) {1+}\r\nb\r\n", "BAD", ""},
		{"UTF8 missing close", true, "a APPEND x UTF8 (~{1}\r\na\r\n", "BAD", ""},
		{"UTF8 with plain literal", true, "a APPEND x UTF8 ({1}\r\n", "BAD", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(tt.in+"Z NOOP\r\n", Limits{MaxAppend: 100})
			h.p.SetUTF8(tt.utf8)
			cmd, err := h.p.Next()
			if err == nil {
				_, err = h.p.NextAppend()
			} else if !tt.utf8 {
				t.Fatalf("Next: %+v, %v", cmd, err)
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != tt.status || e.Code != tt.code || e.Tag != "a" {
				t.Fatalf("got %v (%+v), want %s [%s]", err, e, tt.status, tt.code)
			}
			h.expectNoop(t)
		})
	}
}

func TestEndCommandAfterUTF8Append(t *testing.T) {
	h := newHarness("a APPEND x UTF8 (~{2}\r\nhi)\r\nZ NOOP\r\n", Limits{})
	h.p.SetUTF8(true)
	if _, err := h.p.Next(); err != nil {
		t.Fatal(err)
	}
	if err := h.p.EndCommand(); err != nil {
		t.Fatalf("EndCommand: %v", err)
	}
	h.expectNoop(t)
}

func TestDiscardCommand(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"sync literal next", "a APPEND x {3}\r\nabc {5}\r\n"},
		{"non-sync literals next", "a APPEND x {3}\r\nabc {5+}\r\nhello (\\Seen) {2+}\r\nhi\r\n"},
		{"nothing next", "a APPEND x {3+}\r\nabc\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(tt.in+"Z NOOP\r\n", Limits{})
			if _, err := h.p.Next(); err != nil {
				t.Fatal(err)
			}
			if err := h.p.DiscardCommand(); err != nil {
				t.Fatalf("DiscardCommand: %v", err)
			}
			if h.conts > 1 {
				t.Errorf("continuations = %d", h.conts)
			}
			h.expectNoop(t)
		})
	}
	h := newHarness("a APPEND x {3}\r\nabc {500+}\r\n", Limits{MaxAppend: 100})
	if _, err := h.p.Next(); err != nil {
		t.Fatal(err)
	}
	if err := h.p.DiscardCommand(); !errors.Is(err, ErrFatal) {
		t.Errorf("DiscardCommand with an oversized literal: %v, want ErrFatal", err)
	}
}

func TestUTF8Names(t *testing.T) {
	tests := []struct {
		utf8 bool
		in   string
		want any
	}{
		{false, "a CREATE R&AOk-sum&AOk-", &MailboxArgs{Mailbox: "Résumé"}},
		{true, "a CREATE \"Résumé\"", &MailboxArgs{Mailbox: "Résumé"}},
		{true, "a CREATE R&AOk-", &MailboxArgs{Mailbox: "R&AOk-"}},
		{true, "a SELECT \"inbox/Entwürfe\"", &MailboxArgs{Mailbox: "INBOX/Entwürfe"}},
		{true, "a LIST \"Ä/\" (\"ö*\" &)", &ListArgs{Reference: "Ä/", Pattern: "ö*", Patterns: []string{"ö*", "&"}, Extended: true}},
		{true, "a RENAME & \"ä\"", &RenameArgs{From: "&", To: "ä"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			h := newHarness(tt.in+"\r\nZ NOOP\r\n", Limits{})
			h.p.SetUTF8(tt.utf8)
			cmd, err := h.p.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cmd.Args, tt.want) {
				t.Errorf("got %#v, want %#v", cmd.Args, tt.want)
			}
			h.expectNoop(t)
		})
	}
}

// TestUndecodableNames: a mailbox name or LIST argument that parses but
// does not decode is no syntax error: the command parses, the name is kept
// as sent and its Err field says why (imap.RefuseName decides the answer).
func TestUndecodableNames(t *testing.T) {
	const odd = "!#$&'+,-.0123456789:;<=>?@^_`|[}"
	tests := []struct {
		utf8 bool
		in   string
		name string              // the name kept as sent
		err  func(a any) []error // the Err fields, in argument order
	}{
		{false, "a SELECT " + odd, odd, mailboxErr},
		{false, "a EXAMINE " + odd + " (CONDSTORE)", odd, mailboxErr},
		{false, "a SELECT &Jjo", "&Jjo", mailboxErr},
		{false, "a CREATE &AGE-", "&AGE-", mailboxErr},
		{false, "a CREATE " + odd + " (USE (\\Archive))", odd, mailboxErr},
		{false, "a DELETE \"caf\xc3\xa9\"", "caf\xc3\xa9", mailboxErr},
		{false, "a SUBSCRIBE {5+}\r\ncaf\xc3\xa9", "caf\xc3\xa9", mailboxErr},
		{false, "a UNSUBSCRIBE {3+}\r\nx\xffy", "x\xffy", mailboxErr},
		{true, "a CREATE {3+}\r\nx\xffy", "x\xffy", mailboxErr},
		{false, "a STATUS a& (MESSAGES)", "a&", func(a any) []error { return []error{a.(*StatusArgs).MailboxErr} }},
		{false, "a COPY 1 " + odd, odd, func(a any) []error { return []error{a.(*CopyArgs).MailboxErr} }},
		{false, "a UID MOVE 1 " + odd, odd, func(a any) []error { return []error{a.(*CopyArgs).MailboxErr} }},
		{false, "a RENAME " + odd + " x", odd, func(a any) []error { r := a.(*RenameArgs); return []error{r.FromErr, errOK(r.ToErr)} }},
		{false, "a RENAME x " + odd, odd, func(a any) []error { r := a.(*RenameArgs); return []error{errOK(r.FromErr), r.ToErr} }},
		{false, "a LIST \"\" &", "&", func(a any) []error { l := a.(*ListArgs); return []error{errOK(l.ReferenceErr), l.PatternErrs[0]} }},
		{false, "a LIST & *", "&", func(a any) []error { l := a.(*ListArgs); return []error{l.ReferenceErr, errOK(errs(l.PatternErrs))} }},
		{false, "a LSUB \"\" " + odd + "%", odd + "%", func(a any) []error { l := a.(*ListArgs); return []error{l.PatternErrs[0]} }},
		{false, "a LIST \"\" (* " + odd + ") RETURN (STATUS (MESSAGES))", odd, func(a any) []error {
			l := a.(*ListArgs)
			return []error{errOK(l.PatternErrs[0]), l.PatternErrs[1]}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			h := newHarness(tt.in+"\r\nZ NOOP\r\n", Limits{})
			h.p.SetUTF8(tt.utf8)
			cmd, err := h.p.Next()
			if err != nil {
				t.Fatalf("Next: %v, want the command parsed", err)
			}
			if cmd.Name == "APPEND" {
				h.p.EndCommand()
			}
			for i, err := range tt.err(cmd.Args) {
				if err == errOKMark {
					continue
				}
				if !errors.Is(err, imap.ErrInvalidName) {
					t.Errorf("name %d: error %v, want ErrInvalidName", i, err)
				}
			}
			if !strings.Contains(fmt.Sprintf("%#v", cmd.Args), fmt.Sprintf("%q", tt.name)) {
				t.Errorf("args %#v lack the name %q as sent", cmd.Args, tt.name)
			}
			h.expectNoop(t)
		})
	}
	// APPEND: the message literal is still the handler's to read.
	h := newHarness("a APPEND "+odd+" {1}\r\nm\r\nZ NOOP\r\n", Limits{})
	cmd, err := h.p.Next()
	if err != nil || !errors.Is(cmd.Args.(*AppendArgs).MailboxErr, imap.ErrInvalidName) || h.conts != 1 {
		t.Fatalf("APPEND: %v, %v, %d continuations", cmd, err, h.conts)
	}
	if err := h.p.EndCommand(); err != nil {
		t.Fatal(err)
	}
	h.expectNoop(t)
}

// errOKMark stands, in TestUndecodableNames, for a name that decoded.
var errOKMark = errors.New("decoded")

func mailboxErr(a any) []error { return []error{a.(*MailboxArgs).MailboxErr} }

// errOK stands for the error of a name that must decode: errOKMark when
// it did, or an error that is no ErrInvalidName when it did not.
func errOK(err error) error {
	if err != nil {
		return fmt.Errorf("a name that should decode: %v", err)
	}
	return errOKMark
}

// errs is the first non-nil error of list, or nil.
func errs(list []error) error {
	for _, e := range list {
		if e != nil {
			return e
		}
	}
	return nil
}
