package app

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/imapd-go/imapd/domain/grammar"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// NOTIFY (RFC 5465). A session that asked for events keeps a small
// snapshot of what it was last told about the user's other mailboxes
// (their names, MAILBOXIDs when MailboxName is wanted, subscriptions, and
// the counters of those it watches for message events) and a
// Store.WatchUser channel. The channel costs no goroutine: the store's
// watcher fills its buffer of one, and the session looks at it after
// each command and waits on it in IDLE. When it was woken, the session
// compares the store with the snapshot and tells the client what
// changed: STATUS for message events in other mailboxes (section 5.2,
// 5.3, 5.1), LIST for MailboxName (5.4) and SubscriptionChange (5.5).
// Events of the selected mailbox go the way every unsolicited update
// does (poll, with the CONTEXT=SEARCH updates): NOTIFY only changes when
// they may come (SELECTED: expunges at any command end, 6.1) and what
// they carry (UID in flag changes, MessageNew's fetch attributes).
//
// Notifications are sent only between commands (before a tagged
// response, after the command's own work) and during IDLE, never in the
// middle of a command's output.

// maxNotifyMailboxes bounds the mailboxes one NOTIFY watches for message
// events: each costs a Status call on every wake-up. Beyond it NOTIFY
// SET fails with NO [NOTIFICATIONOVERFLOW] (RFC 5465 3.1).
var maxNotifyMailboxes = 1000

// maxNotifications bounds the notifications one look at the store may
// send; beyond it the session sends OK [NOTIFICATIONOVERFLOW] instead and
// stops notifying, as after NOTIFY NONE (RFC 5465 5.8).
var maxNotifications = 1000

// supportedEvents is BADEVENT's list (RFC 5465 3.1): every event we
// report.
const supportedEvents = "MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange"

// notifier is a session's NOTIFY SET.
type notifier struct {
	// selected is the SELECTED or SELECTED-DELAYED group; nil when there
	// is none (the same as SELECTED NONE) or its events are NONE.
	selected *grammar.NotifyGroup
	others   []grammar.NotifyGroup
	// wantIDs: some group asks for MailboxName (renames are told apart
	// from a delete and a create by the MAILBOXID); wantSubs: some
	// group asks for SubscriptionChange or filters on SUBSCRIBED.
	wantIDs, wantSubs bool

	watch <-chan struct{}
	stop  context.CancelFunc
	// own is set while a command of the session's own that changes
	// mailboxes runs (ownChange).
	own bool
	// wasSelected is the user's mailbox selected when the command began
	// (notifyLeft).
	wasSelected string

	// names are the user's mailboxes, with their MAILBOXIDs when
	// wantIDs; subs the subscribed names when wantSubs; boxes the
	// counters of the mailboxes other than the selected one that a
	// group watches for message events.
	names map[string]string
	subs  map[string]bool
	boxes map[string]boxState
}

// boxState is what a STATUS notification compares.
type boxState struct {
	uidValidity      uint32
	uidNext          imap.UID
	messages, unseen uint32
	highestModSeq    uint64
}

func boxStateOf(st ports.MailboxStatus) boxState {
	return boxState{st.UIDValidity, st.UIDNext, st.Messages, st.Unseen, st.HighestModSeq}
}

// messageEvents reports whether the group asks for any message event.
func messageEvents(g *grammar.NotifyGroup) bool {
	return g != nil && (g.Has(grammar.EventMessageNew) || g.Has(grammar.EventFlagChange))
}

// groupFor returns the first group (other than the selected one) whose
// filter takes the mailbox, nil when none does; subscribed tells SUBSCRIBED
// which names are subscribed.
func (n *notifier) groupFor(name string, subscribed func(string) bool) *grammar.NotifyGroup {
	for i := range n.others {
		g := &n.others[i]
		switch g.Filter {
		case grammar.NotifyPersonal, grammar.NotifyInboxes:
			// RFC 5465 6.3: a server that cannot tell which mailboxes
			// receive mail treats INBOXES as PERSONAL; delivery here may
			// go to any mailbox of the user (user+folder addresses).
			return g
		case grammar.NotifySubscribed:
			if subscribed(name) {
				return g
			}
		case grammar.NotifySubtree:
			for _, m := range g.Mailboxes {
				if name == m || strings.HasPrefix(name, m+"/") {
					return g
				}
			}
		case grammar.NotifyMailboxes:
			if slices.Contains(g.Mailboxes, name) {
				return g
			}
		}
	}
	return nil
}

func (n *notifier) isSubscribed(name string) bool { return n.subs[name] }

// notifySelectedExpunge reports whether expunges of the selected mailbox
// may be sent at the end of any command: NOTIFY SET with SELECTED and
// MessageExpunge (RFC 5465 6.1: the client then uses UIDs only).
// SELECTED-DELAYED keeps RFC 3501 7.4.1's rule.
func (c *conn) notifySelectedExpunge() bool {
	n := c.notify
	return n != nil && n.selected != nil && n.selected.Filter == grammar.NotifySelected && n.selected.Has(grammar.EventMessageExpunge)
}

// notifyFlagUID reports whether flag changes of the selected mailbox
// carry the UID (RFC 5465 5.1).
func (c *conn) notifyFlagUID() bool {
	n := c.notify
	return n != nil && n.selected != nil && n.selected.Has(grammar.EventFlagChange)
}

// notifyIdleSelected reports whether IDLE reports the selected mailbox's
// changes: always without NOTIFY, and with it only when a SELECTED group
// asks for message events (RFC 5465 4: IDLE sends exactly the events
// NOTIFY asked for). The others come at the next command, as RFC 3501
// requires.
func (c *conn) notifyIdleSelected() bool {
	return c.notify == nil || c.notify.selected != nil
}

// notifyNewMessages sends the FETCH that MessageNew's fetch attributes
// ask for (RFC 5465 5.2), for the messages of the selected mailbox with
// a UID above after, once their EXISTS went. It never sets \Seen: a
// notification changes nothing (5.2 asks clients not to ask for it).
func (c *conn) notifyNewMessages(after imap.UID) error {
	n := c.notify
	if n == nil || n.selected == nil || len(n.selected.FetchItems) == 0 || n.own {
		// 5.2: not for the session's own APPEND, COPY or MOVE; the
		// client knows what it stored.
		return nil
	}
	v := c.sel.view
	var seqs []uint32
	for seq := v.Len(); seq > 0 && v.UID(seq) > after; seq-- {
		seqs = append(seqs, seq)
	}
	if len(seqs) == 0 {
		return nil
	}
	slices.Reverse(seqs)
	items := n.selected.FetchItems
	needRecord := false
	for _, it := range items {
		switch it.Name {
		case "UID", "FLAGS", "MODSEQ":
		default:
			needRecord = true
		}
	}
	for start := 0; start < len(seqs); start += fetchBatch {
		end := min(start+fetchBatch, len(seqs))
		if err := c.fetchBatch(seqs[start:end], items, needRecord, false); err != nil {
			return err
		}
	}
	return nil
}

func cmdNotify(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.NotifyArgs)
	if args.None {
		c.stopNotify()
		return result{}, nil
	}
	n := &notifier{}
	for i := range args.Groups {
		g := args.Groups[i]
		for _, ev := range g.Events {
			if !slices.Contains(strings.Fields(supportedEvents), ev) {
				// RFC 5465 3.1: NO, not BAD, naming what we support.
				return result{}, &badEventError{}
			}
		}
		if g.IsSelected() {
			if len(g.Events) > 0 {
				n.selected = &g
			}
			continue
		}
		// A NONE group is kept: it takes its mailboxes away from the
		// groups after it (groupFor).
		if g.Has(grammar.EventMailboxName) {
			n.wantIDs = true
		}
		if g.Has(grammar.EventSubscriptionChange) || g.Filter == grammar.NotifySubscribed {
			n.wantSubs = true
		}
		n.others = append(n.others, g)
	}
	// The watch first, then the snapshot: a change between the two
	// wakes the watch, and the next look finds no difference or reports
	// it; none is lost.
	ctx, cancel := context.WithCancel(c.ctx)
	watch, err := c.srv.store.WatchUser(ctx, c.user)
	if err != nil {
		cancel()
		return result{}, err
	}
	if _, _, err := c.notifyCompare(n, true); err != nil {
		cancel()
		return result{}, err
	}
	if len(n.boxes) > maxNotifyMailboxes {
		cancel()
		return result{}, &notifyOverflowError{}
	}
	c.stopNotify()
	n.watch, n.stop = watch, cancel
	c.notify = n
	if args.Status {
		// RFC 5465 3.1: a STATUS for each mailbox other than the
		// selected one with message events, before the tagged OK.
		names := make([]string, 0, len(n.boxes))
		for name := range n.boxes {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			c.w.Untagged(c.notifyStatus(name, n.boxes[name], true, true))
		}
	}
	// The implicit NOOP (3.1) is dispatch's poll after every command.
	return result{}, nil
}

// badEventError is NOTIFY's NO [BADEVENT (...)].
type badEventError struct{}

func (*badEventError) Error() string { return "unsupported event" }

// notifyOverflowError is NOTIFY's NO [NOTIFICATIONOVERFLOW].
type notifyOverflowError struct{}

func (*notifyOverflowError) Error() string { return "too many mailboxes to watch" }

// notifyErrorResponse maps NOTIFY's refusals; ok is false for any other
// error.
func notifyErrorResponse(err error) (code, text string, ok bool) {
	var be *badEventError
	var oe *notifyOverflowError
	switch {
	case errors.As(err, &be):
		return "BADEVENT (" + supportedEvents + ")", "Unsupported event", true
	case errors.As(err, &oe):
		return "NOTIFICATIONOVERFLOW", "Too many mailboxes to watch", true
	}
	return "", "", false
}

// stopNotify ends NOTIFY: NOTIFY NONE, a new NOTIFY SET, an overflow,
// the end of the session.
func (c *conn) stopNotify() {
	if c.notify != nil {
		c.notify.stop()
		c.notify = nil
	}
}

// notifyWatch returns the channel of NOTIFY's watch, nil without NOTIFY.
func (c *conn) notifyWatch() <-chan struct{} {
	if c.notify == nil {
		return nil
	}
	return c.notify.watch
}

// notifyWoken reports whether the store may have changed since the
// session last looked, without waiting.
func (c *conn) notifyWoken() bool {
	if c.notify == nil {
		return false
	}
	select {
	case <-c.notify.watch:
		return true
	default:
		return false
	}
}

// ownChange reports whether the command may change mailboxes other than
// the selected one, their names or the subscriptions. Before it, the
// session reports what others changed meanwhile (notifyBefore); after
// it, it takes its own change into the snapshot without a word (RFC 5465
// 5: the server SHOULD NOT notify the client of what it did itself). A
// change another session makes while the command runs is taken in so
// too: the price of not telling the client of its own.
func ownChange(cmd *grammar.Command) bool {
	switch cmd.Name {
	case "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE", "APPEND", "COPY", "MOVE", "REPLACE":
		return true
	}
	return false
}

// notifyBefore runs before a command. Not before APPEND and REPLACE:
// their message literal is still to come, and nothing is sent in the
// middle of a command.
func (c *conn) notifyBefore(cmd *grammar.Command) {
	if c.notify == nil {
		return
	}
	c.notify.own = ownChange(cmd)
	c.notify.wasSelected = c.selectedOwn()
	if cmd.Name == "APPEND" || cmd.Name == "REPLACE" {
		return
	}
	if ownChange(cmd) && c.notifyWoken() {
		c.notifyCheck(false)
	}
}

// notifyAfter runs after a command, before its tagged response.
func (c *conn) notifyAfter(cmd *grammar.Command) error {
	if c.notify == nil {
		return nil
	}
	c.notifyLeft()
	if c.notify.own {
		c.notify.own = false
		return c.notifyCheck(true)
	}
	if cmd.Name == "NOTIFY" || !c.notifyWoken() {
		return nil
	}
	return c.notifyCheck(false)
}

// notifyCheck compares the store with the snapshot and tells the client
// of the differences (nothing when silent). A failure to look leaves
// the snapshot as it was, for the next wake-up.
func (c *conn) notifyCheck(silent bool) error {
	n := c.notify
	lines, renewed, err := c.notifyCompare(n, silent)
	if err == nil && renewed {
		// The new watch covers what changed after it was made; what
		// changed between the look and it is found by looking again.
		var more []string
		more, _, err = c.notifyCompare(n, silent)
		lines = append(lines, more...)
	}
	if err != nil {
		if errors.Is(err, errConnection) {
			return err
		}
		c.srv.log.Warn("NOTIFY: looking for changes failed", "user", c.user, "err", err)
		return nil
	}
	if len(lines) > maxNotifications {
		// RFC 5465 5.8: the client must resynchronise; no more
		// notifications until it asks again.
		c.w.Tagged("*", "OK", "NOTIFICATIONOVERFLOW", "Too many notifications, NOTIFY is off")
		c.stopNotify()
		return nil
	}
	for _, l := range lines {
		c.w.Untagged(l)
	}
	return nil
}

// notifyCompare reads the user's mailboxes, subscriptions and watched
// counters, returns the notifications the differences from n's snapshot
// make (none when silent), and makes the snapshot current. When the set
// of mailboxes changed it renews the watch, which covers the mailboxes
// that existed when it was made (ports.Store.WatchUser), and says so.
func (c *conn) notifyCompare(n *notifier, silent bool) (lines []string, renewed bool, err error) {
	list, err := c.srv.store.ListMailboxes(c.ctx, c.user)
	if err != nil {
		return nil, false, err
	}
	var subs map[string]bool
	if n.wantSubs {
		ss, err := c.srv.store.Subscriptions(c.ctx, c.user)
		if err != nil {
			return nil, false, err
		}
		subs = make(map[string]bool, len(ss))
		for _, s := range ss {
			subs[s] = true
		}
	}
	names := make(map[string]string, len(list))
	for _, mb := range list {
		id, known := n.names[mb.Name]
		if !known && n.wantIDs {
			if id, err = c.mailboxID(mailbox{owner: c.user, name: mb.Name}); errors.Is(err, imap.ErrNonexistent) {
				continue // gone meanwhile: the next look tells of it
			} else if err != nil {
				return nil, false, err
			}
		}
		names[mb.Name] = id
	}
	first := n.names == nil
	silent = silent || first
	either := func(name string) bool { return n.subs[name] || subs[name] }
	wants := func(name, event string) bool {
		g := n.groupFor(name, either)
		return g != nil && g.Has(event)
	}
	changed := false
	if !first {
		// RFC 5465 5.4: a LIST for each mailbox created, deleted or
		// renamed (RFC 5258's OLDNAME), in name order.
		var gone, fresh []string
		for name := range n.names {
			if _, ok := names[name]; !ok {
				gone = append(gone, name)
			}
		}
		for name := range names {
			if _, ok := n.names[name]; !ok {
				fresh = append(fresh, name)
			}
		}
		changed = len(gone) > 0 || len(fresh) > 0
		slices.Sort(gone)
		slices.Sort(fresh)
		byID := map[string]string{}
		for _, name := range gone {
			if id := n.names[name]; id != "" {
				byID[id] = name
			}
		}
		renamed := map[string]bool{}
		for _, name := range fresh {
			old, ok := "", false
			if id := names[name]; id != "" {
				old, ok = byID[id]
			}
			if ok {
				renamed[old] = true
				if wants(name, grammar.EventMailboxName) || wants(old, grammar.EventMailboxName) {
					b := c.appendMailbox([]byte("LIST ("+children(names, name)+`) "/" `), name)
					b = append(b, ` ("OLDNAME" (`...)
					b = c.appendMailbox(b, old)
					lines = append(lines, string(append(b, "))"...)))
				}
			} else if wants(name, grammar.EventMailboxName) {
				lines = append(lines, string(c.appendMailbox([]byte("LIST ("+children(names, name)+`) "/" `), name)))
			}
		}
		for _, name := range gone {
			if !renamed[name] && wants(name, grammar.EventMailboxName) {
				lines = append(lines, string(c.appendMailbox([]byte(`LIST (\NonExistent) "/" `), name)))
			}
		}
		// RFC 5465 5.5: a LIST with or without \Subscribed.
		if subs != nil {
			var diff []string
			for name := range subs {
				if !n.subs[name] {
					diff = append(diff, name)
				}
			}
			for name := range n.subs {
				if !subs[name] {
					diff = append(diff, name)
				}
			}
			slices.Sort(diff)
			for _, name := range diff {
				if !wants(name, grammar.EventSubscriptionChange) {
					continue
				}
				attr := `LIST () "/" `
				if subs[name] {
					attr = `LIST (\Subscribed) "/" `
				}
				lines = append(lines, string(c.appendMailbox([]byte(attr), name)))
			}
		}
	}
	n.names, n.subs = names, subs
	if changed && n.stop != nil {
		ctx, cancel := context.WithCancel(c.ctx)
		if watch, err := c.srv.store.WatchUser(ctx, c.user); err == nil {
			n.stop()
			n.watch, n.stop = watch, cancel
			renewed = true
		} else {
			cancel()
		}
	}
	// Message events of the other mailboxes: a STATUS when the counters
	// moved (5.2, 5.3: MessageNew and MessageExpunge go together; 5.1:
	// FlagChange when only the mod-sequence did).
	sorted := make([]string, 0, len(names))
	for name := range names {
		sorted = append(sorted, name)
	}
	slices.Sort(sorted)
	boxes := make(map[string]boxState, len(n.boxes))
	for _, name := range sorted {
		if c.sel != nil && c.sel.owner == c.user && c.sel.name == name {
			continue // poll tells of it
		}
		g := n.groupFor(name, n.isSubscribed)
		if !messageEvents(g) {
			continue
		}
		if len(boxes) >= maxNotifyMailboxes {
			boxes[name] = boxState{} // counted for NOTIFY SET's refusal
			break
		}
		st, err := c.srv.store.Status(c.ctx, c.user, name)
		if errors.Is(err, imap.ErrNonexistent) {
			continue
		} else if err != nil {
			return nil, false, err
		}
		now := boxStateOf(st)
		boxes[name] = now
		old, ok := n.boxes[name]
		if !ok || silent || old == now {
			continue // newly watched (or no longer selected): no event
		}
		counts := old.messages != now.messages || old.uidNext != now.uidNext || old.uidValidity != now.uidValidity
		if counts && g.Has(grammar.EventMessageNew) || !counts && g.Has(grammar.EventFlagChange) && old.highestModSeq != now.highestModSeq {
			lines = append(lines, c.notifyStatus(name, now, counts, old.uidValidity != now.uidValidity))
		}
	}
	n.boxes = boxes
	if silent {
		lines = nil
	}
	return lines, renewed, nil
}

// children is the CHILDREN attribute (RFC 3348) of a mailbox among
// names, which a LIST for MailboxName should carry (RFC 5465 5.4).
func children(names map[string]string, name string) string {
	for n := range names {
		if strings.HasPrefix(n, name+"/") {
			return `\HasChildren`
		}
	}
	return `\HasNoChildren`
}

// notifyStatus builds an unsolicited STATUS: MESSAGES and UIDNEXT when
// messages came or went (RFC 5465 5.2, 5.3), UIDVALIDITY when asked (for
// NOTIFY SET STATUS, 3.1) or changed, UNSEEN, and HIGHESTMODSEQ once
// CONDSTORE is on, or for a flag change (5.1).
func (c *conn) notifyStatus(name string, st boxState, counts, uidValidity bool) string {
	b := c.appendMailbox([]byte("STATUS "), name)
	b = append(b, " ("...)
	if counts {
		b = append(b, "MESSAGES "...)
		b = strconv.AppendUint(b, uint64(st.messages), 10)
		b = append(b, " UIDNEXT "...)
		b = strconv.AppendUint(b, uint64(st.uidNext), 10)
		b = append(b, ' ')
	}
	if uidValidity || !counts {
		b = append(b, "UIDVALIDITY "...)
		b = strconv.AppendUint(b, uint64(st.uidValidity), 10)
		b = append(b, ' ')
	}
	b = append(b, "UNSEEN "...)
	b = strconv.AppendUint(b, uint64(st.unseen), 10)
	if c.condstore || !counts {
		b = append(b, " HIGHESTMODSEQ "...)
		b = strconv.AppendUint(b, st.highestModSeq, 10)
	}
	return string(append(b, ')'))
}
