package app

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/imapd-go/imapd/domain/grammar"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// RFC 9208 QUOTA. Each user's whole tree is one quota root, kept by the
// store (ports.Quotas); this file names the roots as Cyrus does and
// answers GETQUOTA, GETQUOTAROOT and SETQUOTA, and SELECT's quotawarn
// alert. Writes over quota are refused by the store itself, with
// imap.ErrOverQuota, which dispatch turns into NO [OVERQUOTA].

// quotaCapabilities are advertised when the store keeps quotas: RFC 9208
// section 7's resource capabilities, and QUOTASET since SETQUOTA works
// (for admins: section 4.1.3 lets a server restrict who sets limits).
const quotaCapabilities = " QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE QUOTA=RES-MAILBOX QUOTASET"

// quotaInbox is the name of a viewer's own root.
const quotaInbox = "INBOX"

// quotaWarnEvery is how often SELECT repeats a root's quotawarn alert in
// one session, as Cyrus does (CYRUS-COMPAT section 9).
const quotaWarnEvery = 10 * time.Minute

// quotaRoots maps between the names of quota roots and the users whose
// trees they are, as one viewer (an admin or not) names them; Cyrus's
// names (CYRUS-COMPAT section 9): the viewer's own root is INBOX, and an
// admin names any user's root user/NAME. This is the one place that
// knows the names: shared-mailbox roots plug in here.
type quotaRoots struct {
	viewer string
	admin  bool
}

func (c *conn) quotaRoots() quotaRoots { return quotaRoots{viewer: c.user, admin: c.admin} }

// user returns the user whose root is called name.
func (r quotaRoots) user(name string) (string, bool) {
	if strings.EqualFold(name, quotaInbox) {
		return r.viewer, true
	}
	if u, ok := strings.CutPrefix(name, "user/"); ok && r.admin && u != "" && !strings.Contains(u, "/") {
		return u, true
	}
	return "", false
}

// name returns the name of user's root.
func (r quotaRoots) name(user string) string {
	if user == r.viewer {
		return quotaInbox
	}
	return "user/" + user
}

// mailboxOwner resolves a mailbox name to the user and the store's name of
// the mailbox: the viewer's own mailboxes, and for an admin, user/NAME and
// the mailboxes below it (Cyrus's admin view).
func (r quotaRoots) mailboxOwner(name string) (user, mailbox string) {
	if rest, ok := strings.CutPrefix(name, "user/"); ok && r.admin {
		u, sub, _ := strings.Cut(rest, "/")
		if sub == "" {
			sub = quotaInbox
		}
		return u, sub
	}
	return r.viewer, name
}

// quotas returns the store's quotas, or nil when it keeps none.
func (s *Server) quotas() ports.Quotas {
	q, _ := s.store.(ports.Quotas)
	return q
}

// appendQuota appends RFC 9208's quota-response body: the root and, in
// Cyrus's order (then MAILBOX, which Cyrus 3.6 lacks), each resource that
// has a limit with its usage and limit (STORAGE in units of 1024 bytes,
// the usage rounded down).
func appendQuota(b []byte, root string, q ports.Quota) []byte {
	b = append(b, "QUOTA "...)
	b = imap.AppendString(b, root)
	b = append(b, " ("...)
	sep := ""
	if q.Limits.Storage >= 0 {
		b = append(b, "STORAGE "+itoa(q.Usage.Storage/1024)+" "+itoa(q.Limits.Storage)...)
		sep = " "
	}
	if q.Limits.Messages >= 0 {
		b = append(b, sep+"MESSAGE "+itoa(q.Usage.Messages)+" "+itoa(q.Limits.Messages)...)
		sep = " "
	}
	if q.Limits.Mailboxes >= 0 {
		b = append(b, sep+"MAILBOX "+itoa(q.Usage.Mailboxes)+" "+itoa(q.Limits.Mailboxes)...)
	}
	return append(b, ')')
}

// errNoQuotaRoot is a GETQUOTA of a root that does not exist.
var errNoQuotaRoot = &grammar.Error{Status: "NO", Code: "NONEXISTENT", Text: "Quota root does not exist"}

// errQuotaAdmin refuses GETQUOTA and SETQUOTA to users who are not
// admins, as Cyrus 3.6 does (GETQUOTAROOT is everyone's).
var errQuotaAdmin = &grammar.Error{Status: "NO", Code: "NOPERM", Text: "Permission denied"}

// cmdGetQuota answers GETQUOTA (RFC 9208 4.1.1).
func cmdGetQuota(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.QuotaRootArgs)
	qs := c.srv.quotas()
	if qs == nil {
		return result{}, errNoQuotaRoot
	}
	if !c.admin {
		return result{}, errQuotaAdmin
	}
	user, ok := c.quotaRoots().user(args.Root)
	if !ok {
		return result{}, errNoQuotaRoot
	}
	q, err := qs.Quota(c.ctx, user)
	if errors.Is(err, imap.ErrNonexistent) {
		return result{}, errNoQuotaRoot
	}
	if err != nil {
		return result{}, err
	}
	c.w.Untagged(string(appendQuota(nil, c.quotaRoots().name(user), q)))
	return result{}, nil
}

// cmdGetQuotaRoot answers GETQUOTAROOT (RFC 9208 4.1.2): the mailbox's
// root and that root's quota.
func cmdGetQuotaRoot(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.MailboxArgs)
	if err := imap.RefuseName(imap.UseExisting, args.Mailbox, args.MailboxErr); err != nil {
		return result{}, err
	}
	roots := c.quotaRoots()
	user, box := roots.mailboxOwner(args.Mailbox)
	if user == "" {
		return result{}, imap.Errorf("getquotaroot", imap.ErrNonexistent, "%q", args.Mailbox)
	}
	if _, err := c.srv.store.Status(c.ctx, user, box); err != nil {
		return result{}, err
	}
	line := c.appendMailbox([]byte("QUOTAROOT "), args.Mailbox)
	qs := c.srv.quotas()
	if qs == nil {
		c.w.Untagged(string(line))
		return result{}, nil
	}
	q, err := qs.Quota(c.ctx, user)
	if err != nil {
		return result{}, err
	}
	root := roots.name(user)
	c.w.Untagged(string(imap.AppendString(append(line, ' '), root)))
	c.w.Untagged(string(appendQuota(nil, root, q)))
	return result{}, nil
}

// cmdSetQuota runs SETQUOTA (RFC 9208 4.1.3) for admins: the limits given
// replace the root's, and a resource left out has none.
func cmdSetQuota(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.SetQuotaArgs)
	qs := c.srv.quotas()
	if qs == nil || !c.admin {
		return result{}, errQuotaAdmin
	}
	user, ok := c.quotaRoots().user(args.Root)
	if !ok {
		return result{}, imap.Errorf("setquota", imap.ErrNonexistent, "quota root %q", args.Root)
	}
	limits := ports.Unlimited
	for _, l := range args.Limits {
		switch l.Resource {
		case "STORAGE":
			limits.Storage = l.Limit
		case "MESSAGE":
			limits.Messages = l.Limit
		case "MAILBOX":
			limits.Mailboxes = l.Limit
		default:
			// Cyrus's answer; ANNOTATION-STORAGE is not kept (RFC
			// 9208 section 5.4).
			return result{}, &grammar.Error{Status: "NO", Code: "CANNOT", Text: "Unsupported quota resource " + l.Resource}
		}
	}
	return result{}, qs.SetQuota(c.ctx, user, limits)
}

// quotaWarn sends SELECT's quotawarn alert, Cyrus's text, first of its
// responses: when the selected mailbox's root is at quotawarn percent of
// a limit or more, at most every quotaWarnEvery per root and session.
func (c *conn) quotaWarn(user string) {
	qs := c.srv.quotas()
	warn := c.srv.opts.QuotaWarn
	if qs == nil || warn < 0 {
		return
	}
	root := c.quotaRoots().name(user)
	if t, ok := c.quotaWarned[root]; ok && time.Since(t) < quotaWarnEvery {
		return
	}
	q, err := qs.Quota(c.ctx, user)
	if err != nil {
		return // a warning is not worth failing SELECT for
	}
	for _, r := range []struct {
		name        string
		used, limit int64
	}{
		{"STORAGE", q.Usage.Storage, q.Limits.Storage * 1024},
		{"MESSAGE", q.Usage.Messages, q.Limits.Messages},
	} {
		if r.limit <= 0 {
			continue
		}
		if pct := r.used * 100 / r.limit; pct >= int64(warn) {
			if c.quotaWarned == nil {
				c.quotaWarned = map[string]time.Time{}
			}
			c.quotaWarned[root] = time.Now()
			c.w.Untagged("NO [ALERT] Mailbox is at " + itoa(pct) + "% of " + r.name + " quota")
			return
		}
	}
}

// autocreateQuota gives a new user's root the STORAGE limit of
// autocreate_quota, when it is above 0 (0 is no limit, as in Cyrus).
func (s *Server) autocreateQuota(ctx context.Context, user string) error {
	qs := s.quotas()
	if qs == nil || s.opts.AutocreateQuota <= 0 {
		return nil
	}
	l := ports.Unlimited
	l.Storage = s.opts.AutocreateQuota
	return qs.SetQuota(ctx, user, l)
}

// appendDeletedStorage appends STATUS DELETED-STORAGE (RFC 9208, which a
// server with the STORAGE resource supports): what EXPUNGE would free, as
// the sum of the RFC822.SIZE of the messages with \Deleted, the value the
// RFC allows in place of an exact one (a copy's bytes may be shared).
func (c *conn) appendDeletedStorage(b []byte, name string) ([]byte, error) {
	_, metas, err := c.srv.store.Snapshot(c.ctx, c.user, name)
	if err != nil {
		return b, err
	}
	var uids []imap.UID
	for _, m := range metas {
		if imap.HasFlag(m.Flags, imap.FlagDeleted) {
			uids = append(uids, m.UID)
		}
	}
	var total int64
	if len(uids) > 0 {
		recs, err := c.srv.store.Fetch(c.ctx, c.user, name, uids)
		if err != nil {
			return b, err
		}
		for _, r := range recs {
			total += r.Size
		}
	}
	return append(b, itoa(total)...), nil
}
