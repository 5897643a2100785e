package grammar

// ReplaceArgs: REPLACE / UID REPLACE (RFC 8508 section 6):
//
//	replace     = "REPLACE" SP seq-number SP mailbox append-message
//	uid-replace = "UID" SP replace
//
// Message is a sequence number, or a UID in the UID form (never "*").
// The append-message is read as APPEND's (RFC 3502, RFC 4466): the parser
// stops at its literal, which Body streams; the handler reads it, then
// calls Parser.NextAppend, which must return nil (REPLACE takes exactly
// one message).
type ReplaceArgs struct {
	Message    uint32
	Mailbox    string
	MailboxErr error // see "Mailbox names" above
	AppendMessage
}

func (p *Parser) replace(a *ReplaceArgs) bool {
	if !p.sp() {
		return false
	}
	if p.peekIs('*') {
		return p.bad("REPLACE needs a message number, not *")
	}
	if !p.nzNumber(&a.Message, "message number") {
		return false
	}
	return p.sp() && p.mailbox(&a.Mailbox, &a.MailboxErr) && p.sp() && p.appendMessage(&a.AppendMessage)
}
