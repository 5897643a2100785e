package app

import (
	"errors"

	"github.com/imapd-go/imapd/domain/grammar"
	"github.com/imapd-go/imapd/domain/imap"
)

// ACL commands (RFC 4314 section 3). Who may do what is decided by access
// (namespace.go): SETACL, DELETEACL, GETACL and LISTRIGHTS need "a" on
// the mailbox (admins bypass this, as in Cyrus), MYRIGHTS any right at
// all (RFC 4314 section 4).

// aclCapabilities is advertised when the store keeps ACLs: RFC 4314's
// ACL, with RIGHTS= naming the rights beyond RFC 2086's that this server
// knows (Cyrus 3.6 prints RIGHTS=kxten), and RFC 8440 LIST-MYRIGHTS.
const aclCapabilities = " ACL RIGHTS=kxten LIST-MYRIGHTS"

func (c *conn) aclCapability() string {
	if c.acls() == nil {
		return ""
	}
	return aclCapabilities
}

// aclMailbox refuses names that do not decode and resolves the mailbox
// for an ACL command that needs need.
func (c *conn) aclMailbox(cmd *grammar.Command, need ...byte) (mailbox, imap.Rights, *grammar.ACLArgs, error) {
	args := cmd.Args.(*grammar.ACLArgs)
	if c.acls() == nil {
		return mailbox{}, "", args, bad("Unrecognized command")
	}
	if err := imap.RefuseName(imap.UseExisting, args.Mailbox, args.MailboxErr); err != nil {
		return mailbox{}, "", args, err
	}
	m, r, err := c.access(cmd.Name, args.Mailbox, imap.ErrNonexistent, need...)
	return m, r, args, err
}

// cmdSetACL answers SETACL and DELETEACL (RFC 4314 3.1, 3.2).
func cmdSetACL(c *conn, cmd *grammar.Command) (result, error) {
	m, _, args, err := c.aclMailbox(cmd, imap.RightAdmin)
	if err != nil {
		return result{}, err
	}
	op, rights, ok := imap.ACLReplace, imap.Rights(""), true
	if cmd.Name == "SETACL" {
		op, rights, ok = imap.ParseRightsChange(args.Rights)
	}
	if !ok {
		// RFC 4314 3.1: an unknown right is a BAD.
		return result{}, bad("Invalid rights string")
	}
	if args.Identifier == "" || args.Identifier == "-" {
		return result{}, bad("Invalid identifier")
	}
	return result{}, c.srv.modifyACL(c.ctx, m, args.Identifier, op, rights)
}

// cmdGetACL answers GETACL (RFC 4314 3.3): "* ACL mailbox (id rights)*".
func cmdGetACL(c *conn, cmd *grammar.Command) (result, error) {
	m, _, args, err := c.aclMailbox(cmd, imap.RightAdmin)
	if err != nil {
		return result{}, err
	}
	acl, err := c.aclOf(m)
	if err != nil {
		return result{}, err
	}
	b := c.appendMailbox([]byte("ACL "), args.Mailbox)
	for _, e := range acl {
		b = append(b, ' ')
		b = imap.AppendAtomOrString(b, e.Identifier)
		b = append(b, ' ')
		b = imap.AppendAtomOrString(b, string(e.Rights))
	}
	c.w.Untagged(string(b))
	return result{}, nil
}

// cmdListRights answers LISTRIGHTS (RFC 4314 3.4): the rights always
// granted to the identifier, then each right that may be granted, as
// Cyrus lists them (the owner always has "lkxan", so "c" too), less
// Cyrus's custom rights 0 to 9, which this server does not implement.
func cmdListRights(c *conn, cmd *grammar.Command) (result, error) {
	m, _, args, err := c.aclMailbox(cmd, imap.RightAdmin)
	if err != nil {
		return result{}, err
	}
	b := c.appendMailbox([]byte("LISTRIGHTS "), args.Mailbox)
	b = append(b, ' ')
	b = imap.AppendAtomOrString(b, args.Identifier)
	if args.Identifier == m.owner {
		b = append(b, " lkxcan r s w i p t e d"...)
	} else {
		b = append(b, ` "" l r s w i p k x t e c d a n`...)
	}
	c.w.Untagged(string(b))
	return result{}, nil
}

// cmdMyRights answers MYRIGHTS (RFC 4314 3.5).
func cmdMyRights(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.ACLArgs)
	if _, _, _, err := c.aclMailbox(cmd); err != nil {
		return result{}, err
	}
	line, err := c.myRightsLine(args.Mailbox)
	if err != nil {
		return result{}, err
	}
	if line == "" {
		return result{}, imap.Errorf("myrights", imap.ErrNonexistent, "%q", args.Mailbox)
	}
	c.w.Untagged(line)
	return result{}, nil
}

// myRightsLine is "MYRIGHTS mailbox rights" for the client's name ext,
// "" when the user has no right there at all (then the mailbox is not
// to be told of).
func (c *conn) myRightsLine(ext string) (string, error) {
	m, ok := c.mailboxOf(ext)
	if !ok {
		return "", nil
	}
	r, err := c.rightsOf(m)
	if errors.Is(err, imap.ErrNonexistent) || errors.Is(err, imap.ErrNoUser) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if c.admin {
		// Cyrus: admins may always see and administer.
		r = r.Union(imap.Rights("la"))
	}
	if r == "" {
		return "", nil
	}
	b := c.appendMailbox([]byte("MYRIGHTS "), ext)
	b = append(b, ' ')
	b = imap.AppendAtomOrString(b, string(r))
	return string(b), nil
}
