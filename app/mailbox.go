package app

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/imapd-go/imapd/domain/grammar"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/search"
	"github.com/imapd-go/imapd/domain/session"
	"github.com/imapd-go/imapd/ports"
)

// selected is the mailbox a session has selected.
type selected struct {
	name     string
	readOnly bool
	view     *session.View
	keywords map[string]string       // keywords announced in FLAGS, by folded name
	contexts []*search.UpdateContext // results kept up to date (RFC 5267 CONTEXT=SEARCH)

	// owner is the store user that holds the mailbox (namespace.go);
	// name is its name in the owner's store. rights are the session
	// user's there.
	owner  string
	rights imap.Rights
	// seenKey names the session user's own seen state of the mailbox
	// when they do not own it (shared.go), seenVersion its version the
	// view reflects; "" for the owner.
	seenKey     string
	seenVersion uint64
}

// announceKeywords sends FLAGS again when flags carry a keyword the client
// has not been told of (RFC 3501 7.2.6).
func (c *conn) announceKeywords(flags []string) {
	fresh := false
	for _, f := range flags {
		if k := imap.FoldFlag(f); imap.IsKeyword(f) && c.sel.keywords[k] == "" {
			c.sel.keywords[k] = f
			fresh = true
		}
	}
	if !fresh {
		return
	}
	kws := make([]string, 0, len(c.sel.keywords))
	for _, k := range c.sel.keywords {
		kws = append(kws, k)
	}
	sort.Strings(kws)
	c.w.Untagged(string(grammar.AppendFlags([]byte("FLAGS "), append(systemFlags(), kws...))))
	if !c.sel.readOnly {
		c.w.Untagged("OK [PERMANENTFLAGS " + permanentFlags(kws) + "] Permanent flags")
	}
}

func entries(metas []ports.MessageMeta) []session.Entry {
	out := make([]session.Entry, len(metas))
	for i, m := range metas {
		out[i] = session.Entry{UID: m.UID, Flags: m.Flags, ModSeq: m.ModSeq}
	}
	return out
}

// systemFlags returns the system flags of the FLAGS response, in a fresh
// slice.
func systemFlags() []string {
	return []string{imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagSeen, imap.FlagDraft}
}

func cmdSelect(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.MailboxArgs)
	name := args.Mailbox
	readOnly := cmd.Name == "EXAMINE"
	if args.QResync != nil && !c.qresync() {
		return result{}, bad("QRESYNC is not enabled")
	}
	if args.Condstore {
		c.condstore = true
	}
	if c.sel != nil {
		// RFC 7162 3.2.11: the previous mailbox is closed first.
		c.w.Untagged("OK [CLOSED] Previous mailbox closed")
	}
	// RFC 3501 6.3.1: a SELECT deselects the current mailbox first, and a
	// failed SELECT leaves the session unselected.
	c.sel = nil
	c.saved = nil
	c.state = session.Authenticated
	if err := imap.RefuseName(imap.UseExisting, name, args.MailboxErr); err != nil {
		return result{}, err
	}
	// RFC 4314 section 4: SELECT and EXAMINE need "r"; the mailbox is
	// read-only for a user who can change nothing in it (none of "s",
	// "w", "t", "e", nor "i"), as in Cyrus. An admin too follows the ACL.
	m, rights, err := c.access("SELECT", name, imap.ErrNonexistent, imap.RightRead)
	if err != nil {
		return result{}, err
	}
	if !rights.Has(imap.RightSeen) && !rights.Has(imap.RightWrite) && !rights.Has(imap.RightDeleteMsg) &&
		!rights.Has(imap.RightExpunge) && !rights.Has(imap.RightInsert) {
		readOnly = true
	}
	var from, to imap.UID
	// \Recent belongs to the owner's sessions: a reader of another's
	// mailbox neither claims nor sees it.
	if !readOnly && m.owner == c.user {
		from, to, err = c.srv.store.ClaimRecent(c.ctx, m.owner, m.name)
		if err != nil {
			return result{}, err
		}
	}
	st, metas, err := c.srv.store.Snapshot(c.ctx, m.owner, m.name)
	if err != nil {
		return result{}, err
	}
	sel := &selected{owner: m.owner, name: m.name, rights: rights, readOnly: readOnly, keywords: map[string]string{}}
	if metas, err = c.overlaySeen(sel, metas); err != nil {
		return result{}, err
	}
	view := session.NewView(entries(metas), st.HighestModSeq)
	view.UIDValidity, view.UIDNext = st.UIDValidity, st.UIDNext
	if readOnly && m.owner == c.user {
		from, to = st.RecentUID, st.UIDNext
	}
	view.AddRecent(from, to)
	sel.view = view
	c.sel = sel
	c.state = session.Selected
	kws := keywordList(metas)
	for _, k := range strings.Fields(kws) {
		c.sel.keywords[imap.FoldFlag(k)] = k
	}
	c.quotaWarn(c.user) // Cyrus sends it first (quota.go)
	c.w.Untagged(string(grammar.AppendFlags([]byte("FLAGS "), append(systemFlags(), strings.Fields(kws)...))))
	c.w.Untagged(itoa(int64(view.Len())) + " EXISTS")
	if c.rev2() {
		// RFC 9051 6.3.2: no RECENT nor UNSEEN; the mailbox's LIST instead.
		c.w.Untagged(string(c.appendMailbox([]byte(`LIST () "/" `), name)))
	} else {
		c.w.Untagged(itoa(int64(view.RecentCount())) + " RECENT")
		if seq := firstUnseen(view); seq > 0 {
			c.w.Untagged("OK [UNSEEN " + itoa(int64(seq)) + "] First unseen message")
		}
	}
	c.w.Untagged("OK [UIDVALIDITY " + itoa(int64(st.UIDValidity)) + "] UIDs valid")
	c.w.Untagged("OK [UIDNEXT " + itoa(int64(st.UIDNext)) + "] Predicted next UID")
	// RFC 7162 3.1.2.1: a server that keeps mod-sequences persistently
	// sends HIGHESTMODSEQ on every successful SELECT and EXAMINE, CONDSTORE
	// enabled or not (Cyrus does too). So a later CONDSTORE enabling
	// command never needs to report it.
	c.w.Untagged("OK [HIGHESTMODSEQ " + strconv.FormatUint(st.HighestModSeq, 10) + "] Highest")
	// RFC 8474 section 4.1: SELECT and EXAMINE report the MAILBOXID.
	if code, err := c.mailboxIDCode(m); err != nil {
		return result{}, err
	} else if code != "" {
		c.w.Untagged("OK [" + code + "] Ok")
	}
	// RFC 4467 section 3: the URLAUTH mechanisms the mailbox's access
	// key serves, in SELECT's answer (as Cyrus sends it).
	c.w.Untagged("OK [URLMECH INTERNAL] URLAUTH mechanisms")
	if args.QResync != nil && args.QResync.UIDValidity == st.UIDValidity {
		if err := c.resync(args.QResync); err != nil {
			return result{}, err
		}
	}
	if readOnly {
		c.w.Untagged("OK [PERMANENTFLAGS ()] No permanent flags permitted")
		return result{code: "READ-ONLY", text: "EXAMINE completed"}, nil
	}
	c.w.Untagged("OK [PERMANENTFLAGS " + permanentFlags(strings.Fields(kws)) + "] Permanent flags")
	return result{code: "READ-WRITE", text: "SELECT completed"}, nil
}

// keywordList returns " kw1 kw2" for the keywords in use, each once
// whatever the case of its spellings (the first one met wins).
func keywordList(metas []ports.MessageMeta) string {
	seen := imap.NewKeywordSet()
	var kws []string
	for _, m := range metas {
		for _, f := range m.Flags {
			if seen.Add(f) {
				kws = append(kws, f)
			}
		}
	}
	sort.Strings(kws)
	if len(kws) == 0 {
		return ""
	}
	return " " + strings.Join(kws, " ")
}

func firstUnseen(v *session.View) uint32 {
	for seq := uint32(1); seq <= v.Len(); seq++ {
		if !imap.HasFlag(v.Entry(seq).Flags, imap.FlagSeen) {
			return seq
		}
	}
	return 0
}

// poll asks the store what other sessions changed and tells the client
// (RFC 3501 7.3.1, 7.4.1, 7.4.2).
func (c *conn) poll(allowExpunge bool) error {
	sel := c.sel
	if sel == nil {
		return nil
	}
	ch, err := c.srv.store.ChangesSince(c.ctx, sel.owner, sel.name, sel.view.ModSeq)
	if errors.Is(err, imap.ErrNonexistent) {
		// Deleted or renamed by another session: the view cannot go on.
		c.w.Untagged("BYE Selected mailbox has been deleted or renamed")
		return fmt.Errorf("%w: selected mailbox vanished", errConnection)
	}
	if err != nil {
		return err
	}
	lastUID := sel.view.MaxUID()
	updated, err := c.overlaySeenChanges(sel, ch.Updated)
	if err != nil {
		return err
	}
	up := sel.view.Apply(entries(updated), ch.Expunged, ch.Status.HighestModSeq, allowExpunge)
	c.writeExpunged(up.Expunged, up.Vanished)
	if sel.owner != c.user {
		// Another's mailbox: the rights may have changed meanwhile.
		if r, err := c.rightsOf(mailbox{sel.owner, sel.name}); err == nil {
			sel.rights = r
		}
	}
	if up.Exists {
		if !sel.readOnly && sel.owner == c.user {
			from, to, err := c.srv.store.ClaimRecent(c.ctx, sel.owner, sel.name)
			if err != nil {
				return err
			}
			sel.view.AddRecent(from, to)
		}
		c.w.Untagged(itoa(int64(sel.view.Len())) + " EXISTS")
		if !c.rev2() {
			c.w.Untagged(itoa(int64(sel.view.RecentCount())) + " RECENT")
		}
		// RFC 5465 5.2: MessageNew's fetch attributes follow EXISTS.
		if err := c.notifyNewMessages(lastUID); err != nil {
			return err
		}
	}
	for _, seq := range up.Flags {
		c.announceKeywords(sel.view.Entry(seq).Flags)
		c.writeFlags(seq, c.notifyFlagUID())
	}
	if len(sel.contexts) > 0 && (up.Exists || len(up.Flags) > 0 || len(up.Expunged) > 0) {
		// RFC 5267 4.3.3: ADDTO for new messages after their EXISTS.
		var changed []imap.UID
		for seq := sel.view.Len(); seq > 0 && sel.view.UID(seq) > lastUID; seq-- {
			changed = append(changed, sel.view.UID(seq))
		}
		for _, seq := range up.Flags {
			changed = append(changed, sel.view.UID(seq))
		}
		return c.refreshContexts(changed)
	}
	return nil
}

// writeFlags sends "* n FETCH (FLAGS (...))", with the UID when asked or
// when QRESYNC is on, and the MODSEQ once CONDSTORE is on (RFC 7162 3.1.4,
// 3.2.4).
func (c *conn) writeFlags(seq uint32, withUID bool) {
	e := c.sel.view.Entry(seq)
	withUID = withUID || c.qresync()
	b := make([]byte, 0, 64)
	b = append(b, itoa(int64(seq))...)
	b = append(b, " FETCH ("...)
	if withUID {
		b = append(b, "UID "...)
		b = append(b, itoa(int64(e.UID))...)
		b = append(b, ' ')
	}
	b = append(b, "FLAGS "...)
	b = grammar.AppendFlags(b, c.flagsOf(e))
	if c.condstore {
		b = append(b, " MODSEQ ("...)
		b = strconv.AppendUint(b, e.ModSeq, 10)
		b = append(b, ')')
	}
	b = append(b, ')')
	c.w.Untagged(string(b))
}

// flagsOf returns a message's flags as this session shows them (\Recent
// added).
func (c *conn) flagsOf(e session.Entry) []string {
	if c.sel.view.IsRecent(e.UID) && !c.rev2() {
		return append(append(make([]string, 0, len(e.Flags)+1), e.Flags...), imap.FlagRecent)
	}
	return e.Flags
}

func cmdCreate(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.MailboxArgs)
	name := strings.TrimSuffix(args.Mailbox, "/")
	if err := imap.RefuseName(imap.UseNew, name, args.MailboxErr); err != nil {
		return result{}, err
	}
	if name == "INBOX" {
		return result{}, imap.ErrAlreadyExists
	}
	m, err := c.mayCreate("CREATE", name)
	if err != nil {
		return result{}, err
	}
	if err := c.srv.store.CreateMailbox(c.ctx, m.owner, m.name); err != nil {
		return result{}, err
	}
	if err := c.initACL(m); err != nil {
		c.srv.store.DeleteMailbox(c.ctx, m.owner, m.name)
		return result{}, err
	}
	if len(args.SpecialUse) > 0 {
		// RFC 6154 3: CREATE-SPECIAL-USE. If the attributes cannot be
		// kept, the mailbox is not created either.
		if err := c.srv.store.SetSpecialUse(c.ctx, m.owner, m.name, args.SpecialUse); err != nil {
			c.srv.store.DeleteMailbox(c.ctx, m.owner, m.name)
			return result{}, err
		}
	}
	// RFC 8474 section 4.1: the new mailbox's MAILBOXID.
	code, err := c.mailboxIDCode(m)
	if err != nil {
		return result{}, err
	}
	return result{code: code}, nil
}

func cmdDelete(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.MailboxArgs)
	name := args.Mailbox
	if err := imap.RefuseName(imap.UseExisting, name, args.MailboxErr); err != nil {
		return result{}, err
	}
	if name == "INBOX" {
		return result{}, imap.Errorf("delete", imap.ErrCannot, "Cannot delete INBOX")
	}
	// RFC 4314 section 4: DELETE needs "x" on the mailbox.
	m, _, err := c.access("DELETE", name, imap.ErrNonexistent, imap.RightDeleteBox)
	if err != nil {
		if errors.Is(err, imap.ErrNonexistent) && c.hasInferiors(name) {
			// RFC 3501 6.3.4: a \Noselect name that has inferiors
			// cannot be deleted; RFC 5530 HASCHILDREN says why.
			return result{}, imap.Errorf("delete", imap.ErrHasChildren, "%s", name)
		}
		return result{}, err
	}
	if m.name == "INBOX" && !c.admin {
		return result{}, imap.Errorf("delete", imap.ErrCannot, "Cannot delete INBOX")
	}
	if m.name == "INBOX" {
		// An admin deleting user/<name>: the user's whole storage.
		if err := c.srv.store.DeleteUser(c.ctx, m.owner); err != nil {
			return result{}, err
		}
	} else if err := c.srv.store.DeleteMailbox(c.ctx, m.owner, m.name); err != nil {
		return result{}, err
	}
	if c.sel != nil && c.sel.owner == m.owner && (c.sel.name == m.name || m.name == "INBOX") {
		// The selected mailbox is gone: nothing more can be said of it.
		c.sel = nil
		c.state = session.Authenticated
	}
	return result{}, nil
}

// hasInferiors reports whether the session sees a mailbox below name.
func (c *conn) hasInferiors(name string) bool {
	boxes, err := c.visibleMailboxes()
	if err != nil {
		return false
	}
	for _, b := range boxes {
		if strings.HasPrefix(b.Name, name+"/") {
			return true
		}
	}
	return false
}

func cmdRename(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.RenameArgs)
	to := strings.TrimSuffix(args.To, "/")
	if err := imap.RefuseName(imap.UseExisting, args.From, args.FromErr); err != nil {
		return result{}, err
	}
	if err := imap.RefuseName(imap.UseNew, to, args.ToErr); err != nil {
		return result{}, err
	}
	if to == "INBOX" || strings.HasPrefix(to, "INBOX/") && args.From == "INBOX" {
		return result{}, imap.ErrAlreadyExists
	}
	// RFC 4314 section 4: RENAME needs "x" on the source and "k" on the
	// target's parent; both must belong to one owner (the store renames
	// within one user's mailboxes).
	src, _, err := c.access("RENAME", args.From, imap.ErrNonexistent, imap.RightDeleteBox)
	if err != nil {
		return result{}, err
	}
	dst, err := c.mayCreate("RENAME", to)
	if err != nil {
		return result{}, err
	}
	if src.owner != dst.owner || (src.name == "INBOX") != (args.From == "INBOX") {
		return result{}, imap.Errorf("rename", imap.ErrCannot, "Cannot move a mailbox to another owner")
	}
	if err := c.srv.store.RenameMailbox(c.ctx, src.owner, src.name, dst.name); err != nil {
		return result{}, err
	}
	if c.sel != nil && c.sel.owner == src.owner && (c.sel.name == src.name || strings.HasPrefix(c.sel.name, src.name+"/")) && src.name != "INBOX" {
		c.sel.name = dst.name + strings.TrimPrefix(c.sel.name, src.name)
	}
	return result{}, nil
}

func cmdSubscribe(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.MailboxArgs)
	name := args.Mailbox
	sub := cmd.Name == "SUBSCRIBE"
	if !sub && args.MailboxErr != nil {
		// imap.RefuseName's rule: nothing is subscribed under a name
		// that does not decode, so there is nothing to do.
		return result{}, nil
	}
	if sub {
		if err := imap.RefuseName(imap.UseExisting, name, args.MailboxErr); err != nil {
			return result{}, err
		}
		// Cyrus refuses to subscribe to a mailbox that does not exist,
		// and RFC 4314 section 4 to one the user cannot see ("l").
		if _, _, err := c.access("SUBSCRIBE", name, imap.ErrNonexistent, imap.RightLookup); err != nil {
			return result{}, err
		}
	}
	return result{}, c.srv.store.SetSubscribed(c.ctx, c.user, name, sub)
}

func cmdNamespace(c *conn, cmd *grammar.Command) (result, error) {
	c.w.Untagged(c.namespaceLine())
	return result{}, nil
}

func cmdStatus(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.StatusArgs)
	if err := imap.RefuseName(imap.UseExisting, args.Mailbox, args.MailboxErr); err != nil {
		return result{}, err
	}
	line, err := c.statusLine(args.Mailbox, args.Items)
	if err != nil {
		return result{}, err
	}
	c.w.Untagged(line)
	return result{}, nil
}

// statusLine builds "STATUS mailbox (items)" (RFC 3501 7.2.4); name is
// the client's.
func (c *conn) statusLine(name string, items []string) (string, error) {
	// RFC 4314 section 4: STATUS needs "r".
	m, _, err := c.access("STATUS", name, imap.ErrNonexistent, imap.RightRead)
	if err != nil {
		return "", err
	}
	st, err := c.srv.store.Status(c.ctx, m.owner, m.name)
	if err != nil {
		return "", err
	}
	if m.owner != c.user && slices.Contains(items, "UNSEEN") {
		if st.Unseen, err = c.unseenFor(m); err != nil {
			return "", err
		}
	}
	b := c.appendMailbox([]byte("STATUS "), name)
	b = append(b, " ("...)
	for i, item := range items {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, item...)
		b = append(b, ' ')
		switch item {
		case "MESSAGES":
			b = append(b, itoa(int64(st.Messages))...)
		case "RECENT":
			b = append(b, itoa(int64(st.Recent))...)
		case "UIDNEXT":
			b = append(b, itoa(int64(st.UIDNext))...)
		case "UIDVALIDITY":
			b = append(b, itoa(int64(st.UIDValidity))...)
		case "UNSEEN":
			b = append(b, itoa(int64(st.Unseen))...)
		case "SIZE":
			// RFC 8438: the total RFC822.SIZE of the messages.
			b = append(b, itoa(st.Size)...)
		case "DELETED":
			// RFC 9051 6.3.11: messages with \Deleted.
			_, metas, err := c.srv.store.Snapshot(c.ctx, m.owner, m.name)
			if err != nil {
				return "", err
			}
			n := 0
			for _, m := range metas {
				if imap.HasFlag(m.Flags, imap.FlagDeleted) {
					n++
				}
			}
			b = append(b, itoa(int64(n))...)
		case "DELETED-STORAGE":
			if b, err = c.appendDeletedStorage(b, name); err != nil { // quota.go
				return "", err
			}
		case "APPENDLIMIT":
			// RFC 7889 4: the largest APPEND the mailbox takes, the
			// same for every mailbox here.
			b = append(b, itoa(c.srv.maxMessage())...)
		case "MAILBOXID":
			if b, err = c.appendMailboxIDStatus(b, m); err != nil {
				return "", err
			}
		case "HIGHESTMODSEQ":
			c.enableCondstore()
			b = append(b, strconv.FormatUint(st.HighestModSeq, 10)...)
		default:
			return "", bad("Unsupported STATUS item " + item)
		}
	}
	b = append(b, ')')
	return string(b), nil
}

func cmdCheck(c *conn, cmd *grammar.Command) (result, error) { return result{}, nil }

func cmdUnselect(c *conn, cmd *grammar.Command) (result, error) {
	c.sel = nil
	c.saved = nil
	c.state = session.Authenticated
	return result{}, nil
}

// cmdClose expunges silently (unless read-only) and deselects.
func cmdClose(c *conn, cmd *grammar.Command) (result, error) {
	sel := c.sel
	c.sel = nil
	c.saved = nil
	c.state = session.Authenticated
	if !sel.readOnly {
		gone, err := c.srv.store.Expunge(c.ctx, sel.owner, sel.name, nil)
		if err != nil {
			return result{}, err
		}
		if len(gone) > 0 {
			c.wrote(mailbox{sel.owner, sel.name}) // the expunged messages leave its index
		}
	}
	return result{}, nil
}

// resync tells a QRESYNC client what changed since the mod-sequence it
// knows (RFC 7162 3.2.5): the UIDs expunged since, as VANISHED (EARLIER),
// and the flags of the messages changed since.
func (c *conn) resync(q *grammar.QResyncParams) error {
	ch, err := c.srv.store.ChangesSince(c.ctx, c.sel.owner, c.sel.name, q.ModSeq)
	if err != nil {
		return err
	}
	var gone []imap.UID
	for _, uid := range ch.Expunged {
		if q.KnownUIDs == nil || q.KnownUIDs.Contains(uint32(uid), 0) {
			gone = append(gone, uid)
		}
	}
	if len(gone) > 0 {
		c.w.Untagged("VANISHED (EARLIER) " + imap.SetOfUIDs(gone))
	}
	v := c.sel.view
	for _, m := range ch.Updated {
		if seq := v.SeqOf(m.UID); seq != 0 && v.Entry(seq).ModSeq > q.ModSeq {
			c.writeFlags(seq, true)
		}
	}
	return nil
}
