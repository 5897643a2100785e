package grammar

// ACL commands (RFC 4314 section 3, ABNF in section 7):
//
//	setacl     = "SETACL" SP mailbox SP identifier SP mod-rights
//	deleteacl  = "DELETEACL" SP mailbox SP identifier
//	getacl     = "GETACL" SP mailbox
//	listrights = "LISTRIGHTS" SP mailbox SP identifier
//	myrights   = "MYRIGHTS" SP mailbox
//	identifier = astring
//	mod-rights = astring ; +rights to add, -rights to remove, rights to replace
//
// The rights letters are checked by the handler (imap.ParseRights), which
// answers BAD for a letter it does not know, as section 3.1 asks.

// ACLArgs are the arguments of the five ACL commands; Identifier and
// Rights are empty where the command has none.
type ACLArgs struct {
	Mailbox    string
	MailboxErr error // see "Mailbox names"
	Identifier string
	Rights     string // mod-rights as sent, with its "+" or "-"
}

// aclArgs reads the arguments of cmd, one of the ACL commands.
func (p *Parser) aclArgs(cmd *Command) bool {
	a := &ACLArgs{}
	cmd.Args = a
	if !p.sp() || !p.mailbox(&a.Mailbox, &a.MailboxErr) {
		return false
	}
	switch cmd.Name {
	case "GETACL", "MYRIGHTS":
		return p.end()
	case "DELETEACL", "LISTRIGHTS":
		return p.sp() && p.astring(&a.Identifier, "identifier") && p.end()
	}
	return p.sp() && p.astring(&a.Identifier, "identifier") && p.sp() && p.astring(&a.Rights, "rights") && p.end()
}
