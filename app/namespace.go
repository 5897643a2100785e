package app

import (
	"errors"
	"strings"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// Namespaces and rights: where every handler turns a client's mailbox name
// into the mailbox it names, and learns what the session may do there.
//
// A user sees Cyrus 3's alternate namespace (altnamespace: 1,
// unixhierarchysep: 1): their own mailboxes at the top, other users'
// under "Other Users/<user>/" (a user's INBOX is "Other Users/<user>"),
// shared mailboxes under "Shared Folders/". An admin (imapd.conf admins)
// sees Cyrus's standard namespace instead, as Cyrus shows it to admins:
// their own INBOX and "INBOX/..." for their other mailboxes, every user's
// as "user/<user>" and "user/<user>/...", shared mailboxes at the top.
//
// A mailbox is a (owner, name) pair of the store: owner is a user, or
// ports.SharedOwner for a shared mailbox. Rights come from the mailbox's
// ACL (ports.ACLs); a mailbox whose ACL was never set has the default:
// its owner has every right, or, for a shared one, imapd.conf's
// defaultacl (Cyrus's "anyone lrs").

const (
	otherUsersNS = "Other Users"
	sharedNS     = "Shared Folders"
	adminUserNS  = "user"
)

// mailbox is a mailbox as the store knows it.
type mailbox struct {
	owner string // a user name, or ports.SharedOwner
	name  string // the name in the owner's store ("INBOX" for a user's INBOX)
}

func (m mailbox) shared() bool { return m.owner == ports.SharedOwner }

// mailboxOf turns a mailbox name as this session's client spells it into
// the mailbox it names. ok is false for a name that can name no mailbox
// (a namespace prefix alone, "Other Users/" without a user): such a
// name is treated as a missing mailbox, or refused for CREATE.
func (c *conn) mailboxOf(ext string) (m mailbox, ok bool) {
	if c.admin {
		return c.mailboxOfAdmin(ext)
	}
	if rest, found := strings.CutPrefix(ext, otherUsersNS+"/"); found {
		user, name, _ := strings.Cut(rest, "/")
		if user == "" || user == c.user {
			return mailbox{}, false
		}
		if name == "" {
			name = "INBOX"
		} else if strings.EqualFold(name, "INBOX") || strings.HasPrefix(strings.ToUpper(name), "INBOX/") {
			// INBOX's children are the user's top level (as in Cyrus).
			return mailbox{}, false
		}
		return mailbox{owner: user, name: name}, true
	}
	if rest, found := strings.CutPrefix(ext, sharedNS+"/"); found {
		if rest == "" {
			return mailbox{}, false
		}
		return mailbox{owner: ports.SharedOwner, name: rest}, true
	}
	if ext == otherUsersNS || ext == sharedNS {
		return mailbox{}, false
	}
	return mailbox{owner: c.user, name: ext}, true
}

// mailboxOfAdmin is mailboxOf in the standard namespace.
func (c *conn) mailboxOfAdmin(ext string) (mailbox, bool) {
	if ext == "INBOX" {
		return mailbox{owner: c.user, name: "INBOX"}, true
	}
	if rest, found := strings.CutPrefix(ext, "INBOX/"); found {
		return mailbox{owner: c.user, name: rest}, rest != ""
	}
	if rest, found := strings.CutPrefix(ext, adminUserNS+"/"); found {
		user, name, _ := strings.Cut(rest, "/")
		if user == "" {
			return mailbox{}, false
		}
		if user == c.user {
			// The admin's own mailboxes are INBOX and INBOX/...
			return mailbox{}, false
		}
		if name == "" {
			name = "INBOX"
		}
		return mailbox{owner: user, name: name}, true
	}
	if ext == adminUserNS {
		return mailbox{}, false
	}
	return mailbox{owner: ports.SharedOwner, name: ext}, true
}

// nameOf is mailboxOf's inverse: the name this session's client uses for
// m.
func (c *conn) nameOf(m mailbox) string {
	if c.admin {
		switch {
		case m.owner == c.user && m.name == "INBOX":
			return "INBOX"
		case m.owner == c.user:
			return "INBOX/" + m.name
		case m.shared():
			return m.name
		case m.name == "INBOX":
			return adminUserNS + "/" + m.owner
		default:
			return adminUserNS + "/" + m.owner + "/" + m.name
		}
	}
	switch {
	case m.owner == c.user:
		return m.name
	case m.shared():
		return sharedNS + "/" + m.name
	case m.name == "INBOX":
		return otherUsersNS + "/" + m.owner
	default:
		return otherUsersNS + "/" + m.owner + "/" + m.name
	}
}

// namespaceLine is the NAMESPACE response (RFC 2342) for this session.
func (c *conn) namespaceLine() string {
	if c.admin {
		return `NAMESPACE (("INBOX/" "/")) (("user/" "/")) (("" "/"))`
	}
	return `NAMESPACE (("" "/")) (("Other Users/" "/")) (("Shared Folders/" "/"))`
}

// acls returns the store's ACLs, nil when it keeps none (then every
// mailbox has the default ACL and only its owner sees it).
func (c *conn) acls() ports.ACLs {
	a, _ := c.srv.store.(ports.ACLs)
	return a
}

// defaultACL is the ACL of a mailbox whose ACL was never set.
func (c *conn) defaultACL(m mailbox) imap.ACL {
	if m.shared() {
		return c.srv.defaultSharedACL()
	}
	return imap.ACL{{Identifier: m.owner, Rights: imap.AllRights}}
}

// defaultSharedACL is imapd.conf's defaultacl, parsed.
func (s *Server) defaultSharedACL() imap.ACL {
	def := s.opts.DefaultACL
	if def == "" {
		def = imap.DefaultSharedACL
	}
	acl, ok := imap.ParseDefaultACL(def)
	if !ok {
		acl, _ = imap.ParseDefaultACL(imap.DefaultSharedACL)
	}
	return acl
}

// aclOf returns m's ACL with the default applied. imap.ErrNonexistent
// if m does not exist.
func (c *conn) aclOf(m mailbox) (imap.ACL, error) {
	a := c.acls()
	if a == nil {
		if m.shared() {
			return nil, imap.Errorf("acl", imap.ErrNonexistent, "%q", m.name)
		}
		if _, err := c.srv.store.Status(c.ctx, m.owner, m.name); err != nil {
			return nil, err
		}
		return c.defaultACL(m), nil
	}
	acl, set, err := a.MailboxACL(c.ctx, m.owner, m.name)
	if err != nil {
		return nil, err
	}
	if !set {
		acl = c.defaultACL(m)
	}
	return acl, nil
}

// rightsOf returns the session user's rights on m, from its ACL (an
// admin's are the ACL's too: admins bypass checks only where access
// says so). imap.ErrNonexistent if m does not exist.
func (c *conn) rightsOf(m mailbox) (imap.Rights, error) {
	if m.owner == c.user && c.acls() == nil {
		if _, err := c.srv.store.Status(c.ctx, m.owner, m.name); err != nil {
			return "", err
		}
		return imap.AllRights, nil
	}
	acl, err := c.aclOf(m)
	if err != nil {
		return "", err
	}
	return acl.Rights(c.user, m.owner), nil
}

// adminBypass lists the commands whose rights checks an admin skips, as
// in Cyrus (CYRUS-COMPAT section 9): mailbox management and ACL
// administration, not reading or writing messages (SELECT follows the
// ACL).
var adminBypass = map[string]bool{
	"CREATE": true, "DELETE": true, "RENAME": true, "SETACL": true, "DELETEACL": true,
	"GETACL": true, "LISTRIGHTS": true,
	"GETMETADATA": true, // and SETMETADATA (metadata.go): cyradm's mboxconfig
}

// access resolves ext and checks that the session may do op there with
// every right in need. RFC 4314 section 4 (and 6): a user without "l"
// on the mailbox learns nothing of it, so missing rights answer as a
// missing mailbox (kind: imap.ErrNonexistent, or imap.ErrTryCreate for
// a target) unless the user has "l"; then NO [NOPERM].
func (c *conn) access(op, ext string, kind error, need ...byte) (mailbox, imap.Rights, error) {
	m, ok := c.mailboxOf(ext)
	if !ok {
		return m, "", imap.Errorf(op, kind, "%q", ext)
	}
	r, err := c.rightsOf(m)
	if errors.Is(err, imap.ErrNonexistent) || errors.Is(err, imap.ErrNoUser) {
		return m, "", imap.Errorf(op, kind, "%q", ext)
	}
	if err != nil {
		return m, "", err
	}
	if c.admin && adminBypass[op] {
		return m, r.Union(imap.AllRights), nil
	}
	if !r.Has(need...) {
		if !r.Has(imap.RightLookup) {
			return m, r, imap.Errorf(op, kind, "%q", ext)
		}
		return m, r, imap.Errorf(op, imap.ErrNoPerm, "%q", ext)
	}
	return m, r, nil
}

// owners lists the owners whose mailboxes the session may see, the
// session's user first: every owner for an admin, the owners who gave
// the user or anyone rights for others (ports.ACLs.Grantors, a
// superset: the ACLs decide) and the shared mailboxes' owner.
func (c *conn) owners() ([]string, error) {
	out := []string{c.user}
	a := c.acls()
	if a == nil {
		return out, nil
	}
	add := func(u string) error {
		if u != c.user {
			out = append(out, u)
		}
		return nil
	}
	if c.admin {
		return out, a.Owners(c.ctx, add)
	}
	// Shared mailboxes whose ACL was never set have defaultacl, which
	// the index does not know of: their owner is always looked at.
	out = append(out, ports.SharedOwner)
	return out, a.Grantors(c.ctx, []string{c.user, imap.AnyoneID}, func(u string) error {
		if u == ports.SharedOwner {
			return nil
		}
		return add(u)
	})
}

// visibleMailboxes lists every mailbox the session may see (its own,
// and others' where it has "l"; all of them for an admin, as in Cyrus),
// under the names its client uses.
func (c *conn) visibleMailboxes() ([]ports.MailboxInfo, error) {
	owners, err := c.owners()
	if err != nil {
		return nil, err
	}
	var out []ports.MailboxInfo
	for _, o := range owners {
		boxes, err := c.srv.store.ListMailboxes(c.ctx, o)
		if err != nil {
			return nil, err
		}
		for _, b := range boxes {
			m := mailbox{owner: o, name: b.Name}
			if !c.admin && o != c.user {
				r, err := c.rightsOf(m)
				if errors.Is(err, imap.ErrNonexistent) {
					continue
				}
				if err != nil {
					return nil, err
				}
				if !r.Has(imap.RightLookup) {
					continue
				}
			}
			info := b
			info.Name = c.nameOf(m)
			if o != c.user {
				info.SpecialUse = nil // RFC 6154: the owner's uses, not the viewer's
			}
			out = append(out, info)
		}
	}
	return out, nil
}
