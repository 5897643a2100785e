package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// sharedArg names the owner of shared mailboxes on imapctl's command
// line, where a user's name goes otherwise ("-" cannot start a user's
// name, so the two never meet).
const sharedArg = "-shared"

// owner resolves an OWNER argument: sharedArg for shared mailboxes, or a
// user, who must exist.
func owner(t *tool, arg string) (string, error) {
	if arg == sharedArg {
		return ports.SharedOwner, nil
	}
	return arg, mustExist(t, arg)
}

// aclGet prints the mailbox's ACL, one "identifier rights" line per
// entry, in its order, as GETACL and cyradm's listaclmailbox show it.
func aclGet(ctx context.Context, t *tool, args []string, _ *os.File, stdout, _ io.Writer) error {
	who, err := owner(t, args[0])
	if err != nil {
		return err
	}
	acl, err := t.Server.MailboxACL(ctx, who, imap.NormalizeMailbox(args[1]))
	if err != nil {
		return err
	}
	for _, e := range acl {
		fmt.Fprintf(stdout, "%s %s\n", e.Identifier, e.Rights)
	}
	return nil
}

// aclSet gives an identifier rights as SETACL does: RIGHTS replaces its
// rights, +RIGHTS adds to them, -RIGHTS takes them away.
func aclSet(ctx context.Context, t *tool, args []string, _ *os.File, _, _ io.Writer) error {
	who, err := owner(t, args[0])
	if err != nil {
		return err
	}
	op, rights, ok := imap.ParseRightsChange(args[3])
	if !ok {
		return fail(exitUsage, "%q: rights are letters of %s, with + or - in front to add or remove", args[3], imap.AllRights)
	}
	return setACL(ctx, t, who, args[1], args[2], op, rights)
}

// aclDelete removes an identifier's entry, as DELETEACL does.
func aclDelete(ctx context.Context, t *tool, args []string, _ *os.File, _, _ io.Writer) error {
	who, err := owner(t, args[0])
	if err != nil {
		return err
	}
	return setACL(ctx, t, who, args[1], args[2], imap.ACLReplace, "")
}

func setACL(ctx context.Context, t *tool, who, name, id string, op imap.ACLOp, rights imap.Rights) error {
	if id == "" || strings.HasPrefix(id, "-") {
		return fail(exitUsage, "%q: not an identifier", id)
	}
	return t.Server.ModifyMailboxACL(ctx, who, imap.NormalizeMailbox(name), id, op, rights)
}
