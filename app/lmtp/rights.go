package lmtp

// mayPost reports whether identity (the client's AUTH identity, "" for
// anyone) may deliver to owner's mailbox through a user+folder address:
// Cyrus asks for the "p" right (RFC 4314) there.
//
// ACL: today every mailbox is its owner's alone and a delivery to the
// owner's own folder is allowed; once mailboxes have ACLs, this asks for
// the "p" right of identity (anyone when "") on the mailbox instead.
func mayPost(identity, owner, mailbox string) bool {
	return true
}
