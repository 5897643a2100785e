package grammar

import (
	"errors"
	"testing"
)

// TestParseNotify: NOTIFY as RFC 5465 section 8's ABNF reads, with the
// RFC's own examples, and section 5's and 6.1's rules as BAD.
func TestParseNotify(t *testing.T) {
	newExp := []string{EventMessageNew, EventMessageExpunge}
	tests := []struct {
		in   string
		args *NotifyArgs
		bad  string
	}{
		{in: "a NOTIFY NONE", args: &NotifyArgs{None: true}},
		{in: "a notify none", args: &NotifyArgs{None: true}},
		// RFC 5465 section 3.1's example.
		{in: "A02 NOTIFY SET STATUS (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)) (subtree Lists (MessageNew MessageExpunge))",
			args: &NotifyArgs{Status: true, Groups: []NotifyGroup{
				{Filter: NotifySelected, Events: newExp, FetchItems: []FetchItem{{Name: "UID"}, {Name: "BODY[]", Peek: true}}},
				{Filter: NotifySubtree, Mailboxes: []string{"Lists"}, Events: newExp},
			}}},
		// RFC 5465 section 6's examples.
		{in: "a NOTIFY SET (selected (MessageExpunge MessageNew FlagChange)) (personal (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))",
			args: &NotifyArgs{Groups: []NotifyGroup{
				{Filter: NotifySelected, Events: []string{EventMessageExpunge, EventMessageNew, EventFlagChange}},
				{Filter: NotifyPersonal, Events: []string{EventMessageNew, EventMessageExpunge, EventFlagChange, EventMailboxName, EventSubscriptionChange}},
			}}},
		{in: `a NOTIFY SET (mailboxes (INBOX "Sent" {2+}` + "\r\n" + `a%) (MessageNew MessageExpunge)) (inboxes NONE) (selected-delayed (messagenew messageexpunge))`,
			args: &NotifyArgs{Groups: []NotifyGroup{
				{Filter: NotifyMailboxes, Mailboxes: []string{"INBOX", "Sent", "a%"}, Events: newExp},
				{Filter: NotifyInboxes},
				{Filter: NotifySelectedDelayed, Events: newExp},
			}}},
		{in: "a NOTIFY SET (subscribed (MailboxName)) (mailboxes inbox (SubscriptionChange))",
			args: &NotifyArgs{Groups: []NotifyGroup{
				{Filter: NotifySubscribed, Events: []string{EventMailboxName}},
				{Filter: NotifyMailboxes, Mailboxes: []string{"INBOX"}, Events: []string{EventSubscriptionChange}},
			}}},
		// An event the RFC does not define is event-ext: it parses, and
		// the handler refuses it with NO [BADEVENT].
		{in: "a NOTIFY SET (personal (FooBar))", args: &NotifyArgs{Groups: []NotifyGroup{{Filter: NotifyPersonal, Events: []string{"FooBar"}}}}},

		{in: "a NOTIFY", bad: "Missing space"},
		{in: "a NOTIFY GET (personal NONE)", bad: "Expected NOTIFY SET or NOTIFY NONE"},
		{in: "a NOTIFY NONE x", bad: "Unexpected extra arguments"},
		{in: "a NOTIFY SET", bad: "Missing space"},
		{in: "a NOTIFY SET ", bad: "Missing event group"},
		{in: "a NOTIFY SET STATUS", bad: "Missing space"},
		{in: "a NOTIFY SET STATE (personal NONE)", bad: "Expected STATUS or an event group"},
		{in: "a NOTIFY SET (personal)", bad: "Missing space"},
		{in: "a NOTIFY SET (everything NONE)", bad: "Unknown mailbox filter everything"},
		{in: "a NOTIFY SET (subtree (MessageNew MessageExpunge))", bad: "Missing space"},
		{in: "a NOTIFY SET (personal (MessageNew MessageExpunge)", bad: "Missing ) after event group"},
		{in: "a NOTIFY SET (personal ())", bad: "Missing event"},
		{in: "a NOTIFY SET (personal ALL)", bad: "Expected an event list or NONE"},
		{in: "a NOTIFY SET (personal NONE) ", bad: "Missing event group"},
		{in: "a NOTIFY SET (personal (MessageNew))", bad: "MessageNew and MessageExpunge must be given together"},
		{in: "a NOTIFY SET (personal (MessageExpunge))", bad: "MessageNew and MessageExpunge must be given together"},
		{in: "a NOTIFY SET (personal (FlagChange))", bad: "FlagChange and AnnotationChange need MessageNew and MessageExpunge"},
		{in: "a NOTIFY SET (personal (AnnotationChange MailboxName))", bad: "FlagChange and AnnotationChange need MessageNew and MessageExpunge"},
		{in: "a NOTIFY SET (personal (MailboxName MailboxName))", bad: "Event MailboxName given twice"},
		{in: "a NOTIFY SET (selected (MailboxName))", bad: "Only message events may be given for the selected mailbox"},
		{in: "a NOTIFY SET (selected (MessageNew MessageExpunge)) (selected-delayed NONE)", bad: "SELECTED or SELECTED-DELAYED given twice"},
		{in: "a NOTIFY SET (selected (MessageNew (BODY[ MessageExpunge))", bad: "Invalid section"},
		{in: "a NOTIFY SET (personal (MessageNew (UID) MessageExpunge))", bad: "MessageNew's fetch attributes are only for the selected mailbox"},
		{in: "a NOTIFY SET (selected (MessageExpunge (UID) MessageNew))", bad: "Missing event"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			h := newHarness(tt.in+"\r\nZ NOOP\r\n", Limits{})
			cmd, err := h.p.Next()
			if tt.bad != "" {
				var e *Error
				if !errors.As(err, &e) || e.Status != "BAD" || e.Text != tt.bad {
					t.Fatalf("got %+v, %v; want BAD %q", cmd, err, tt.bad)
				}
				h.expectNoop(t)
				return
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if cmd.Name != "NOTIFY" {
				t.Fatalf("got %s", cmd.Name)
			}
			a := cmd.Args.(*NotifyArgs)
			for i := range a.Groups {
				for j := range a.Groups[i].FetchItems {
					a.Groups[i].FetchItems[j].Section = nil // compared by name only
				}
			}
			if got, want := fmtArgs(a), fmtArgs(tt.args); got != want {
				t.Errorf("args\n got %s\nwant %s", got, want)
			}
			h.expectNoop(t)
		})
	}
}
