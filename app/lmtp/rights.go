package lmtp

import (
	"context"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// mayPost reports whether identity (the client's AUTH identity, "" for
// anyone: lmtpd offers no AUTH) may deliver to owner's mailbox through a
// user+folder address: Cyrus asks for the "p" right (RFC 4314) there. A
// mailbox whose ACL was never set has the default, its owner's rights
// alone, so a folder its owner created takes no such mail until the
// owner grants "p" (SETACL folder anyone +p), as in Cyrus. A store
// without ACLs knows only owners: no one else may post.
func (s *Server) mayPost(ctx context.Context, identity, owner, mailbox string) (bool, error) {
	acls, ok := s.store.(ports.ACLs)
	if !ok {
		return identity == owner, nil
	}
	acl, set, err := acls.MailboxACL(ctx, owner, mailbox)
	if err != nil {
		return false, err
	}
	if !set {
		acl = imap.ACL{{Identifier: owner, Rights: imap.AllRights}}
	}
	if identity == "" {
		identity = imap.AnyoneID
	}
	return acl.Rights(identity, owner).Has(imap.RightPost), nil
}
