package grammar

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseACLCommands(t *testing.T) {
	for _, tt := range []struct {
		in   string
		name string
		want ACLArgs
	}{
		{"a SETACL INBOX bob +lr", "SETACL", ACLArgs{Mailbox: "INBOX", Identifier: "bob", Rights: "+lr"}},
		{`a setacl "Other Users/x" "-anyone" ""`, "SETACL", ACLArgs{Mailbox: "Other Users/x", Identifier: "-anyone", Rights: ""}},
		{"a SETACL Team anyone lrswi", "SETACL", ACLArgs{Mailbox: "Team", Identifier: "anyone", Rights: "lrswi"}},
		{"a DELETEACL Team bob", "DELETEACL", ACLArgs{Mailbox: "Team", Identifier: "bob"}},
		{"a GETACL inbox", "GETACL", ACLArgs{Mailbox: "INBOX"}},
		{"a LISTRIGHTS Team {3+}\r\nbob", "LISTRIGHTS", ACLArgs{Mailbox: "Team", Identifier: "bob"}},
		{"a MYRIGHTS Team", "MYRIGHTS", ACLArgs{Mailbox: "Team"}},
	} {
		h := newHarness(tt.in+"\r\nZ NOOP\r\n", Limits{})
		cmd, err := h.p.Next()
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if got, ok := cmd.Args.(*ACLArgs); cmd.Name != tt.name || !ok || !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("%q: %s %+v, want %s %+v", tt.in, cmd.Name, cmd.Args, tt.name, tt.want)
		}
		h.expectNoop(t)
	}
}

func TestParseACLErrors(t *testing.T) {
	for _, in := range []string{
		"a SETACL INBOX bob\r\n",
		"a SETACL INBOX\r\n",
		"a SETACL INBOX bob lr x\r\n",
		"a DELETEACL INBOX\r\n",
		"a GETACL\r\n",
		"a GETACL INBOX bob\r\n",
		"a LISTRIGHTS INBOX\r\n",
		"a MYRIGHTS INBOX x\r\n",
		"a MYRIGHTS (INBOX)\r\n",
	} {
		h := newHarness(in+"Z NOOP\r\n", Limits{})
		_, err := h.p.Next()
		var ge *Error
		if !errors.As(err, &ge) || ge.Status != "BAD" {
			t.Errorf("%q: %v, want BAD", in, err)
			continue
		}
		h.expectNoop(t)
	}
}
