package grammar

import (
	"errors"
	"reflect"
	"testing"
)

// TestQuotaSyntax: RFC 9208's commands, as its examples and ABNF write
// them, and what the ABNF refuses.
func TestQuotaSyntax(t *testing.T) {
	for _, tc := range []struct {
		line string
		want any    // the command's Args
		bad  string // text of the BAD, when malformed
	}{
		// RFC 9208 section 4.1.1's example.
		{line: `G0001 GETQUOTA "!partition.sda4"`, want: &QuotaRootArgs{Root: "!partition.sda4"}},
		{line: `a GETQUOTA ""`, want: &QuotaRootArgs{Root: ""}},
		{line: "a GETQUOTA {10+}\r\nuser/alice", want: &QuotaRootArgs{Root: "user/alice"}},
		// Section 4.1.2's example.
		{line: `G0002 GETQUOTAROOT INBOX`, want: &MailboxArgs{Mailbox: "INBOX"}},
		{line: `a GETQUOTAROOT inbox/Sent`, want: &MailboxArgs{Mailbox: "INBOX/Sent"}},
		{line: `a GETQUOTAROOT Entw&APw-rfe`, want: &MailboxArgs{Mailbox: "Entwürfe"}},
		// Section 4.1.3's example.
		{line: `S0000 SETQUOTA "User.Gray" (STORAGE 512)`, want: &SetQuotaArgs{Root: "User.Gray", Limits: []QuotaLimit{{"STORAGE", 512}}}},
		{line: `a SETQUOTA user/bob (storage 10 Message 3 MAILBOX 0)`, want: &SetQuotaArgs{Root: "user/bob", Limits: []QuotaLimit{{"STORAGE", 10}, {"MESSAGE", 3}, {"MAILBOX", 0}}}},
		{line: `a SETQUOTA INBOX ()`, want: &SetQuotaArgs{Root: "INBOX"}},
		{line: `a SETQUOTA x (X-FOO 9223372036854775807)`, want: &SetQuotaArgs{Root: "x", Limits: []QuotaLimit{{"X-FOO", 1<<63 - 1}}}},

		// Section 4.2.2's STATUS item.
		{line: `S0003 STATUS INBOX (MESSAGES DELETED DELETED-STORAGE)`, want: &StatusArgs{Mailbox: "INBOX", Items: []string{"MESSAGES", "DELETED", "DELETED-STORAGE"}}},
		{line: `a STATUS x (deleted-storage)`, want: &StatusArgs{Mailbox: "x", Items: []string{"DELETED-STORAGE"}}},

		{line: `a GETQUOTA`, bad: "Missing space"},
		{line: `a GETQUOTA x y`, bad: "Unexpected extra arguments"},
		{line: `a GETQUOTAROOT`, bad: "Missing space"},
		{line: `a SETQUOTA x STORAGE 1`, bad: "Invalid quota list in SETQUOTA"},
		{line: `a SETQUOTA x (STORAGE)`, bad: "Missing space"},
		{line: `a SETQUOTA x (STORAGE x)`, bad: "Missing number"},
		{line: `a SETQUOTA x (STORAGE -1)`, bad: "Missing number"},
		{line: `a SETQUOTA x (STORAGE 9223372036854775808)`, bad: "Number too big"},
		{line: `a SETQUOTA x (STORAGE 1`, bad: "Missing space"},
		{line: `a SETQUOTA x (STORAGE 1 )`, bad: ""},
		{line: `a SETQUOTA x (STORAGE 1) y`, bad: "Unexpected extra arguments"},
		{line: `a SETQUOTA x`, bad: "Missing space"},
	} {
		cmd, err := parseOne(t, tc.line)
		if tc.bad != "" || tc.want == nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Status != "BAD" || (tc.bad != "" && pe.Text != tc.bad) {
				t.Errorf("%q: %v, want BAD %q", tc.line, err, tc.bad)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.line, err)
			continue
		}
		if !reflect.DeepEqual(cmd.Args, tc.want) {
			t.Errorf("%q: %#v, want %#v", tc.line, cmd.Args, tc.want)
		}
	}
}
