package app

import (
	"errors"
	"sort"
	"strings"

	"github.com/imapd-go/imapd/domain/grammar"
	"github.com/imapd-go/imapd/domain/imap"
)

// listEntry is one name a LIST or LSUB answer may show.
type listEntry struct {
	exists, subscribed, children bool
	specialUse                   []string
}

// cmdList answers LIST and LSUB (RFC 3501 6.3.8, 6.3.9), and LIST's
// extended form (RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS).
func cmdList(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.ListArgs)
	lsub := cmd.Name == "LSUB"
	if !args.Extended && args.Pattern == "" && !lsub {
		// RFC 3501 6.3.8: the hierarchy delimiter and root of the reference.
		c.w.Untagged(`LIST (\Noselect) "/" ""`)
		return result{}, nil
	}
	opt := func(list []string, o string) bool {
		for _, x := range list {
			if x == o {
				return true
			}
		}
		return false
	}
	selSubscribed := opt(args.Select, "SUBSCRIBED")
	recursive := opt(args.Select, "RECURSIVEMATCH")
	retSubscribed := opt(args.Return, "SUBSCRIBED") || selSubscribed
	retStatus := opt(args.Return, "STATUS")
	retRights := opt(args.Return, "MYRIGHTS") // RFC 8440
	selSpecialUse := opt(args.Select, "SPECIAL-USE")
	var longest int64 = -1 // RFC 9590's METADATA with MAXSIZE

	boxes, err := c.visibleMailboxes()
	if err != nil {
		return result{}, err
	}
	subs, err := c.srv.store.Subscriptions(c.ctx, c.user)
	if err != nil {
		return result{}, err
	}
	names := map[string]*listEntry{}
	get := func(n string) *listEntry {
		e := names[n]
		if e == nil {
			e = &listEntry{}
			names[n] = e
		}
		return e
	}
	for _, b := range boxes {
		get(b.Name).exists = true
		get(b.Name).specialUse = b.SpecialUse
		for _, p := range imap.Parents(b.Name) {
			get(p).children = true
		}
	}
	for _, s := range subs {
		get(s).subscribed = true
		for _, p := range imap.Parents(s) {
			get(p) // RECURSIVEMATCH may list it (RFC 5258 3.5)
		}
	}

	var patterns []string
	for i, p := range args.Patterns {
		if args.ReferenceErr != nil || args.PatternErrs != nil && args.PatternErrs[i] != nil {
			continue // imap.RefuseName's rule: it matches nothing
		}
		patterns = append(patterns, imap.ListPattern(args.Reference, p))
	}
	if len(args.Patterns) == 0 {
		patterns = []string{imap.ListPattern(args.Reference, args.Pattern)}
	}
	match := func(n string) bool {
		for _, p := range patterns {
			if imap.MatchList(n, p) {
				return true
			}
		}
		return false
	}

	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)

	// meets reports whether a name satisfies the selection criteria of
	// LIST (SUBSCRIBED) and LIST (SPECIAL-USE) (RFC 5258 3, RFC 6154 5.1).
	meets := func(e *listEntry) bool {
		return (!selSubscribed || e.subscribed) && (!selSpecialUse || len(e.specialUse) > 0)
	}
	// below tells, for a name, what satisfies the criteria beneath it:
	// those of the selection options under RECURSIVEMATCH, existence for
	// an extended LIST without any (RFC 5258 3.5: a missing level of the
	// hierarchy is listed \NonExistent \HasChildren for a mailbox below
	// it that the patterns do not list).
	var below map[string]imap.Descendants
	childInfo := ""
	switch {
	case recursive:
		var meeting []string
		for _, n := range sorted {
			if meets(names[n]) {
				meeting = append(meeting, n)
			}
		}
		below = imap.DescendantsOf(meeting, match)
		var crit []string
		for _, o := range []string{"SUBSCRIBED", "SPECIAL-USE"} {
			if opt(args.Select, o) {
				crit = append(crit, `"`+o+`"`)
			}
		}
		childInfo = ` ("CHILDINFO" (` + strings.Join(crit, " ") + `))`
	case args.Extended && !selSubscribed && !selSpecialUse:
		var existing []string
		for _, n := range sorted {
			if names[n].exists {
				existing = append(existing, n)
			}
		}
		below = imap.DescendantsOf(existing, match)
	}

	shown := map[string]bool{}
	for _, n := range sorted {
		e := names[n]
		if !match(n) {
			continue
		}
		var attrs []string
		var extra string
		switch {
		case lsub:
			if !e.subscribed {
				continue
			}
		case recursive:
			// RFC 5258 RECURSIVEMATCH: a name that does not meet the
			// criteria is listed for a descendant that does and that is
			// not listed itself; CHILDINFO says so.
			listed, info := below[n].Recursive(meets(e))
			if !listed {
				continue
			}
			if info {
				extra = childInfo
			}
		case selSubscribed || selSpecialUse:
			if !meets(e) {
				continue
			}
		case !e.exists && !e.children:
			continue // a subscription to nothing: only LSUB shows it
		case !e.exists && below != nil && !below[n].Unlisted:
			continue // a missing level whose mailboxes are all listed
		}
		if !e.exists {
			if args.Extended || c.rev2() {
				attrs = append(attrs, `\NonExistent`)
			} else {
				attrs = append(attrs, `\Noselect`)
			}
		}
		if !lsub {
			if e.children {
				attrs = append(attrs, `\HasChildren`)
			} else {
				attrs = append(attrs, `\HasNoChildren`)
			}
		}
		if retSubscribed && e.subscribed {
			attrs = append(attrs, `\Subscribed`)
		}
		if !lsub {
			// RFC 6154 2: special-use attributes ride on every LIST.
			attrs = append(attrs, e.specialUse...)
		}
		shown[n] = true
		b := []byte(cmd.Name + " (" + strings.Join(attrs, " ") + `) "/" `)
		b = c.appendMailbox(b, n)
		b = append(b, extra...)
		c.w.Untagged(string(b))
		if retStatus && e.exists {
			// RFC 5819: STATUS right after the mailbox's LIST response.
			// RFC 5819 section 2: no STATUS without the right.
			line, err := c.statusLine(n, args.StatusItems)
			if err != nil && !errors.Is(err, imap.ErrNoPerm) {
				return result{}, err
			}
			if err == nil {
				c.w.Untagged(line)
			}
		}
		if args.Metadata != nil && e.exists {
			// RFC 9590: METADATA right after the mailbox's LIST
			// (and STATUS) response (metadata.go).
			if l := c.listMetadata(n, e.specialUse, args.Metadata); l > longest {
				longest = l
			}
		}
		if retRights && e.exists {
			// RFC 8440 section 2: MYRIGHTS after the LIST response (and
			// its STATUS), for mailboxes that exist.
			line, err := c.myRightsLine(n)
			if err != nil {
				return result{}, err
			}
			if line != "" {
				c.w.Untagged(line)
			}
		}
	}
	if lsub {
		// RFC 3501 6.3.9: with "%", a subscribed child's unsubscribed
		// parent that matches is listed \Noselect.
		for _, n := range sorted {
			if !names[n].subscribed || match(n) {
				continue
			}
			for _, p := range imap.Parents(n) {
				if !shown[p] && match(p) {
					shown[p] = true
					c.w.Untagged(string(c.appendMailbox([]byte(`LSUB (\Noselect) "/" `), p)))
				}
			}
		}
	}
	return result{code: longEntries(longest)}, nil
}
