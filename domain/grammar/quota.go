package grammar

import "strings"

// QuotaRootArgs: GETQUOTA quota-root-name (RFC 9208 section 4.2).
type QuotaRootArgs struct {
	Root string // astring, as sent (a root name is not a mailbox name)
}

// SetQuotaArgs: SETQUOTA quota-root-name setquota-list (RFC 9208 4.3).
type SetQuotaArgs struct {
	Root   string
	Limits []QuotaLimit // in the order given; empty removes every limit
}

// QuotaLimit is one setquota-resource: a resource name, upper-cased, and
// its limit.
type QuotaLimit struct {
	Resource string
	Limit    int64
}

// quotaArgs reads the arguments of RFC 9208's commands:
//
//	getquota     = "GETQUOTA" SP quota-root-name
//	getquotaroot = "GETQUOTAROOT" SP mailbox
//	setquota     = "SETQUOTA" SP quota-root-name SP setquota-list
//	quota-root-name = astring
func (p *Parser) quotaArgs(cmd *Command) bool {
	switch cmd.Name {
	case "GETQUOTA":
		a := &QuotaRootArgs{}
		cmd.Args = a
		return p.sp() && p.astring(&a.Root, "quota root") && p.end()
	case "GETQUOTAROOT":
		a := &MailboxArgs{}
		cmd.Args = a
		return p.sp() && p.mailbox(&a.Mailbox, &a.MailboxErr) && p.end()
	default:
		a := &SetQuotaArgs{}
		cmd.Args = a
		return p.sp() && p.astring(&a.Root, "quota root") && p.sp() && p.setquotaList(&a.Limits) && p.end()
	}
}

// setquotaList reads
//
//	setquota-list     = "(" [setquota-resource *(SP setquota-resource)] ")"
//	setquota-resource = resource-name SP resource-limit
//	resource-name     = "STORAGE" / "MESSAGE" / "MAILBOX" /
//	                    "ANNOTATION-STORAGE" / resource-name-ext
//	resource-name-ext = atom
//	resource-limit    = number64
//
// Resource names are case-insensitive (RFC 9208 section 5); whether the
// server knows them is the handler's question.
func (p *Parser) setquotaList(dst *[]QuotaLimit) bool {
	if !p.expect('(', "Invalid quota list in SETQUOTA") {
		return false
	}
	if p.peekIs(')') {
		p.pos++
		return true
	}
	for {
		var l QuotaLimit
		if !p.atom(&l.Resource, "quota resource") || !p.sp() || !p.number64(&l.Limit) {
			return false
		}
		l.Resource = strings.ToUpper(l.Resource)
		*dst = append(*dst, l)
		if p.peekIs(')') {
			p.pos++
			return true
		}
		if !p.sp() {
			return false
		}
	}
}
