package app

import (
	"sort"
	"strings"

	"github.com/imapd-go/imapd/domain/grammar"
	"github.com/imapd-go/imapd/domain/imap"
)

// listEntry is one name a LIST or LSUB answer may show.
type listEntry struct {
	exists, subscribed, children, subscribedChild bool
	specialUse                                    []string
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
	selSpecialUse := opt(args.Select, "SPECIAL-USE")

	boxes, err := c.srv.store.ListMailboxes(c.ctx, c.user)
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
			get(p).subscribedChild = true
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
		case selSubscribed:
			if !e.subscribed {
				// RFC 5258 RECURSIVEMATCH: a parent of subscribed
				// mailboxes is listed with CHILDINFO.
				if !(recursive && e.subscribedChild) {
					continue
				}
				extra = ` ("CHILDINFO" ("SUBSCRIBED"))`
			} else if recursive && e.subscribedChild {
				extra = ` ("CHILDINFO" ("SUBSCRIBED"))`
			}
		case !e.exists && !e.children:
			continue // a subscription to nothing: only LSUB shows it
		}
		if selSpecialUse && len(e.specialUse) == 0 {
			continue // RFC 6154 5.1: only mailboxes with a special use
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
			line, err := c.statusLine(n, args.StatusItems)
			if err != nil {
				return result{}, err
			}
			c.w.Untagged(line)
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
	return result{}, nil
}
