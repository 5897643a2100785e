package app

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/imapd-go/imapd/domain/grammar"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// METADATA and METADATA-SERVER (RFC 5464): GETMETADATA and SETMETADATA
// on mailboxes and on the server (mailbox ""), kept by the store's
// ports.Metadata. /private/specialuse is no stored entry: it reads and
// sets the mailbox's SPECIAL-USE attributes (RFC 6154 section 4), as
// Cyrus does.

// Default budgets of METADATA (imapd.conf metadata_maxsize and
// metadata_maxentries; Cyrus has neither and bounds entries only by its
// annotation quota).
const (
	// DefaultMetadataMaxSize is the largest value, in bytes.
	DefaultMetadataMaxSize = 64 << 10
	// DefaultMetadataMaxEntries bounds the /shared entries of a mailbox
	// (or of the server), and each user's /private ones.
	DefaultMetadataMaxEntries = 1000
)

// specialUseEntry is RFC 6154 section 4's entry.
const specialUseEntry = "/private/specialuse"

// metadataError is a refusal with an RFC 5464 response code (section
// 4.3: METADATA MAXSIZE n, METADATA TOOMANY, METADATA NOPRIVATE).
type metadataError struct{ code, text string }

func (e *metadataError) Error() string { return e.text }

// metadataErrorResponse maps a *metadataError to its NO.
func metadataErrorResponse(err error) (code, text string, ok bool) {
	var me *metadataError
	if errors.As(err, &me) {
		return me.code, me.text, true
	}
	return "", "", false
}

// metadataRights decides whether the session may read (write false) or
// change (write true) the /private or /shared (shared true) entries of
// mailbox ("" for the server), as RFC 5464 section 3.3 (and 4.2, 4.3)
// asks: on a mailbox, /private entries need the lookup right "l", and
// /shared ones "r" to read and "w" to write; the server's /shared
// entries are everyone's to read and only an administrator's to write
// (as in Cyrus), its /private ones each user's own. Every mailbox is
// today its owner's alone, and the owner holds every right: this is the
// one place that asks, so that ACLs plug in here.
func (c *conn) metadataRights(mailbox string, shared, write bool) error {
	if mailbox == "" {
		if shared && write && !c.admin {
			return imap.ErrNoPerm
		}
		return nil
	}
	// RFC 5464 3.3 (and 4.2, 4.3).
	need := "l"
	switch {
	case shared && write:
		need = "w"
	case shared:
		need = "r"
	}
	if !strings.Contains(c.metadataRightsOn(mailbox), need) {
		return imap.ErrNoPerm
	}
	return nil
}

// metadataRightsOn returns the session's RFC 4314 rights on the mailbox
// the client names so (namespace.go), "" when it has none there.
func (c *conn) metadataRightsOn(mailbox string) string {
	m, ok := c.mailboxOf(mailbox)
	if !ok {
		return ""
	}
	r, err := c.rightsOf(m)
	if err != nil {
		return ""
	}
	if c.admin {
		r = imap.AllRights // as access's adminBypass
	}
	return string(r)
}

// metadataBox is the store's (owner, name) of the mailbox the client
// names ("" is the server: the session user's, as the port keeps it),
// and whether the session may see /private entries there: the port keeps
// a mailbox's /private entries under its owner, so a reader of another's
// mailbox has none (a difference from Cyrus, which keeps each reader's).
func (c *conn) metadataBox(name string) (mailbox, bool) {
	if name == "" {
		return mailbox{owner: c.user}, true
	}
	m, _ := c.mailboxOf(name)
	return m, m.owner == c.user
}

func (c *conn) metadataStore() (ports.Metadata, error) {
	md, ok := c.srv.store.(ports.Metadata)
	if !ok {
		return nil, imap.Errorf("metadata", imap.ErrCannot, "METADATA is not supported by this store")
	}
	return md, nil
}

// metadataMailbox checks the command's mailbox ("" is the server) and
// returns its special-use attributes (nil for the server).
func (c *conn) metadataMailbox(name string, nameErr error) ([]string, error) {
	if name == "" {
		return nil, nil
	}
	if err := imap.RefuseName(imap.UseExisting, name, nameErr); err != nil {
		return nil, err
	}
	// RFC 4314: a mailbox without "l" is one that does not exist.
	m, _, err := c.access("GETMETADATA", name, imap.ErrNonexistent, imap.RightLookup)
	if err != nil {
		return nil, err
	}
	boxes, err := c.srv.store.ListMailboxes(c.ctx, m.owner)
	if err != nil {
		return nil, err
	}
	for _, b := range boxes {
		if b.Name == m.name {
			return b.SpecialUse, nil
		}
	}
	return nil, imap.Errorf("metadata", imap.ErrNonexistent, "%q", name)
}

func cmdGetMetadata(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.GetMetadataArgs)
	uses, err := c.metadataMailbox(args.Mailbox, args.MailboxErr)
	if err != nil {
		return result{}, err
	}
	longest, err := c.writeMetadata(args.Mailbox, uses, args)
	if err != nil {
		return result{}, err
	}
	return result{code: longEntries(longest)}, nil
}

// longEntries is the tagged OK's code when MAXSIZE left values out
// (longest >= 0): RFC 5464 4.2.1's LONGENTRIES with the longest's size.
func longEntries(longest int64) string {
	if longest < 0 {
		return ""
	}
	return "METADATA LONGENTRIES " + strconv.FormatInt(longest, 10)
}

// writeMetadata sends the METADATA response of GETMETADATA (and of
// LIST's METADATA return option, RFC 9590) for one mailbox ("" for the
// server) whose special-use attributes are uses. It returns the size of
// the longest value MAXSIZE left out, or -1.
func (c *conn) writeMetadata(mailbox string, uses []string, args *grammar.GetMetadataArgs) (int64, error) {
	md, err := c.metadataStore()
	if err != nil {
		return -1, err
	}
	// RFC 5464 4.2: entries the client may not read are left out, as if
	// they did not exist; none of them is an error.
	box, own := c.metadataBox(mailbox)
	mayPrivate := own && c.metadataRights(mailbox, false, false) == nil
	mayShared := c.metadataRights(mailbox, true, false) == nil
	if !mayPrivate && !mayShared {
		return -1, imap.ErrNoPerm
	}
	stored, err := md.GetMetadata(c.ctx, box.owner, box.name)
	if err != nil {
		return -1, err
	}
	have := map[string][]byte{}
	for _, e := range stored {
		if e.Name != specialUseEntry || mailbox == "" {
			have[e.Name] = e.Value
		}
	}
	if len(uses) > 0 {
		have[specialUseEntry] = []byte(strings.Join(uses, " "))
	}
	readable := func(name string) bool {
		if strings.HasPrefix(name, imap.MetadataShared) {
			return mayShared
		}
		return mayPrivate
	}
	var names []string
	seen := map[string]bool{}
	add := func(n string) {
		if !seen[n] && readable(n) {
			seen[n] = true
			names = append(names, n)
		}
	}
	sorted := slices.Sorted(maps.Keys(have))
	for i, e := range args.Entries {
		wild := args.Wildcard[i]
		if wild == "" {
			// RFC 5464 4.2: the entry itself, NIL when it has no value.
			add(e)
		}
		depth := args.Depth
		switch wild {
		case "*":
			depth = grammar.DepthInfinity
		case "%":
			depth = 1
		}
		if depth == 0 {
			continue
		}
		// RFC 5464 4.2.2: DEPTH 1 adds the entries one level under e,
		// infinity every entry under it.
		for _, n := range sorted {
			rest, ok := strings.CutPrefix(n, e+"/")
			if ok && (depth == grammar.DepthInfinity || !strings.Contains(rest, "/")) {
				add(n)
			}
		}
	}
	var longest int64 = -1
	b := c.appendMailbox([]byte("METADATA "), mailbox)
	b = append(b, " ("...)
	n := 0
	for _, name := range names {
		v, ok := have[name]
		// RFC 5464 4.2.1: MAXSIZE leaves out longer values, and the
		// tagged OK says how long the longest of them is.
		if ok && args.MaxSize >= 0 && int64(len(v)) > args.MaxSize {
			longest = max(longest, int64(len(v)))
			continue
		}
		if n > 0 {
			b = append(b, ' ')
		}
		n++
		b = imap.AppendString(b, name)
		b = append(b, ' ')
		if !ok {
			b = append(b, "NIL"...)
		} else {
			b = appendMetadataValue(b, v)
		}
	}
	b = append(b, ')')
	if n > 0 {
		c.w.Untagged(string(b))
	}
	return longest, nil
}

// listMetadata answers LIST's METADATA return option (RFC 9590) for
// one listed mailbox. A mailbox whose entries cannot be read is listed
// without them: LIST itself does not fail. It returns what
// writeMetadata returns.
func (c *conn) listMetadata(mailbox string, uses []string, args *grammar.GetMetadataArgs) int64 {
	longest, err := c.writeMetadata(mailbox, uses, args)
	if err != nil {
		c.srv.log.Debug("LIST METADATA", "mailbox", mailbox, "err", err)
		return -1
	}
	return longest
}

// appendMetadataValue writes a value: a string, or a literal8 when it
// holds NUL (RFC 5464 section 5: value = nstring / literal8), which a
// literal may not carry.
func appendMetadataValue(b, v []byte) []byte {
	if bytes.IndexByte(v, 0) >= 0 {
		b = append(b, "~{"...)
		b = strconv.AppendInt(b, int64(len(v)), 10)
		b = append(b, "}\r\n"...)
		return append(b, v...)
	}
	return imap.AppendString(b, string(v))
}

func cmdSetMetadata(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.SetMetadataArgs)
	md, err := c.metadataStore()
	if err != nil {
		return result{}, err
	}
	if _, err := c.metadataMailbox(args.Mailbox, args.MailboxErr); err != nil {
		return result{}, err
	}
	maxSize := c.srv.opts.MetadataMaxSize
	if maxSize <= 0 {
		maxSize = DefaultMetadataMaxSize
	}
	var entries []ports.MetadataEntry
	var specialUse []string
	setSpecialUse := false
	for _, e := range args.Entries {
		shared := strings.HasPrefix(e.Entry, imap.MetadataShared+"/")
		if err := c.metadataRights(args.Mailbox, shared, true); err != nil {
			return result{}, err
		}
		if _, own := c.metadataBox(args.Mailbox); !shared && !own {
			return result{}, imap.ErrNoPerm // see metadataBox
		}
		// RFC 5464 4.3: a value too long is refused, with the longest
		// the server takes.
		if int64(len(e.Value)) > maxSize {
			return result{}, &metadataError{code: "METADATA MAXSIZE " + strconv.FormatInt(maxSize, 10), text: "Entry value too large"}
		}
		switch {
		case e.Entry == specialUseEntry && args.Mailbox != "":
			uses, err := parseSpecialUse(e.Value)
			if err != nil {
				return result{}, err
			}
			specialUse, setSpecialUse = uses, true
			continue
		case e.Entry == specialUseEntry, e.Entry == imap.MetadataShared+"/specialuse":
			// RFC 6154 section 4 defines the /private entry of a
			// mailbox only; Cyrus refuses the others too.
			return result{}, imap.ErrNoPerm
		}
		entries = append(entries, ports.MetadataEntry{Name: e.Entry, Value: e.Value})
	}
	limit := c.srv.opts.MetadataMaxEntries
	if limit <= 0 {
		limit = DefaultMetadataMaxEntries
	}
	if len(entries) > 0 {
		box, _ := c.metadataBox(args.Mailbox)
		if err := md.SetMetadata(c.ctx, box.owner, box.name, entries, limit); err != nil {
			if errors.Is(err, imap.ErrLimit) {
				// RFC 5464 4.3: too many entries.
				return result{}, &metadataError{code: "METADATA TOOMANY", text: "Too many entries"}
			}
			return result{}, err
		}
	}
	if setSpecialUse {
		box, _ := c.metadataBox(args.Mailbox)
		if err := c.srv.store.SetSpecialUse(c.ctx, box.owner, box.name, specialUse); err != nil {
			return result{}, err
		}
	}
	return result{}, nil
}

// parseSpecialUse reads a /private/specialuse value: special-use
// attributes separated by spaces (RFC 6154 section 4), in any case and,
// as Cyrus takes them, with or without the backslash. An unknown one is
// NO [USEATTR].
func parseSpecialUse(v []byte) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	var out []string
	for _, f := range strings.Fields(string(v)) {
		if !strings.HasPrefix(f, `\`) {
			f = `\` + f
		}
		attr, ok := grammar.SpecialUseAttr(f)
		if !ok {
			return nil, &metadataError{code: "USEATTR", text: "Unknown special-use attribute " + f}
		}
		if !slices.Contains(out, attr) {
			out = append(out, attr)
		}
	}
	return out, nil
}
