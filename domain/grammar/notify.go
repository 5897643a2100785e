package grammar

import "strings"

// NotifyArgs: NOTIFY (RFC 5465 section 8):
//
//	notify           = "NOTIFY" SP (notify-set / notify-none)
//	notify-none      = "NONE"
//	notify-set       = "SET" [status-indicator] SP event-groups
//	status-indicator = SP "STATUS"
//	event-groups     = event-group *(SP event-group)
//	event-group      = "(" filter-mailboxes SP events ")"
//	events           = ( "(" event *(SP event) ")" ) / "NONE"
//
// None is NOTIFY NONE; otherwise Groups holds at least one group.
type NotifyArgs struct {
	None   bool
	Status bool
	Groups []NotifyGroup
}

// Mailbox filters of an event group (filter-mailboxes), upper case.
const (
	NotifySelected        = "SELECTED"
	NotifySelectedDelayed = "SELECTED-DELAYED"
	NotifyInboxes         = "INBOXES"
	NotifyPersonal        = "PERSONAL"
	NotifySubscribed      = "SUBSCRIBED"
	NotifySubtree         = "SUBTREE"
	NotifyMailboxes       = "MAILBOXES"
)

// Event names (RFC 5465 section 5), spelled as the RFC spells them.
const (
	EventMessageNew            = "MessageNew"
	EventMessageExpunge        = "MessageExpunge"
	EventFlagChange            = "FlagChange"
	EventAnnotationChange      = "AnnotationChange"
	EventMailboxName           = "MailboxName"
	EventSubscriptionChange    = "SubscriptionChange"
	EventMailboxMetadataChange = "MailboxMetadataChange"
	EventServerMetadataChange  = "ServerMetadataChange"
)

// knownEvents maps the folded name of each event RFC 5465 defines to its
// spelling; whether it is a message-event.
var knownEvents = map[string]struct {
	name    string
	message bool
}{
	"MESSAGENEW":            {EventMessageNew, true},
	"MESSAGEEXPUNGE":        {EventMessageExpunge, true},
	"FLAGCHANGE":            {EventFlagChange, true},
	"ANNOTATIONCHANGE":      {EventAnnotationChange, true},
	"MAILBOXNAME":           {EventMailboxName, false},
	"SUBSCRIPTIONCHANGE":    {EventSubscriptionChange, false},
	"MAILBOXMETADATACHANGE": {EventMailboxMetadataChange, false},
	"SERVERMETADATACHANGE":  {EventServerMetadataChange, false},
}

// NotifyGroup is one event-group.
type NotifyGroup struct {
	// Filter is one of the Notify* filter names.
	Filter string
	// Mailboxes are SUBTREE's and MAILBOXES's names, decoded and
	// normalised; a name that does not decode names no mailbox and is
	// left out.
	Mailboxes []string
	// Events are the events asked for, the RFC's in its spelling, any
	// other (event-ext) as sent; empty for NONE.
	Events []string
	// FetchItems are MessageNew's fetch-atts, if it had any.
	FetchItems []FetchItem
}

// Has reports whether the group asks for the event.
func (g *NotifyGroup) Has(event string) bool {
	for _, e := range g.Events {
		if e == event {
			return true
		}
	}
	return false
}

// IsSelected reports whether the group is about the selected mailbox.
func (g *NotifyGroup) IsSelected() bool {
	return g.Filter == NotifySelected || g.Filter == NotifySelectedDelayed
}

func (p *Parser) notify(a *NotifyArgs) bool {
	var word string
	if !p.sp() || !p.atom(&word, "NOTIFY SET or NONE") {
		return false
	}
	switch strings.ToUpper(word) {
	case "NONE":
		a.None = true
		return p.end()
	case "SET":
	default:
		return p.bad("Expected NOTIFY SET or NOTIFY NONE")
	}
	if !p.sp() {
		return false
	}
	if !p.peekIs('(') {
		if !p.atom(&word, "event group") || !strings.EqualFold(word, "STATUS") {
			return p.bad("Expected STATUS or an event group")
		}
		a.Status = true
		if !p.sp() {
			return false
		}
	}
	selected := false
	for {
		var g NotifyGroup
		if !p.eventGroup(&g) {
			return false
		}
		if g.IsSelected() {
			// RFC 5465 6.1: only one of SELECTED and SELECTED-DELAYED
			// in a NOTIFY command.
			if selected {
				return p.bad("SELECTED or SELECTED-DELAYED given twice")
			}
			selected = true
		}
		a.Groups = append(a.Groups, g)
		if p.eol() {
			return p.end()
		}
		if !p.sp() {
			return false
		}
	}
}

// eventGroup: "(" filter-mailboxes SP events ")".
func (p *Parser) eventGroup(g *NotifyGroup) bool {
	if !p.expect('(', "Missing event group") || !p.filterMailboxes(g) || !p.sp() || !p.events(g) {
		return false
	}
	return p.expect(')', "Missing ) after event group")
}

// filterMailboxes: "selected" / "selected-delayed" / "inboxes" /
// "personal" / "subscribed" / ("subtree" SP one-or-more-mailbox) /
// ("mailboxes" SP one-or-more-mailbox).
func (p *Parser) filterMailboxes(g *NotifyGroup) bool {
	var word string
	if !p.atom(&word, "mailbox filter") {
		return false
	}
	g.Filter = strings.ToUpper(word)
	switch g.Filter {
	case NotifySelected, NotifySelectedDelayed, NotifyInboxes, NotifyPersonal, NotifySubscribed:
		return true
	case NotifySubtree, NotifyMailboxes:
		return p.sp() && p.oneOrMoreMailbox(&g.Mailboxes)
	}
	return p.bad("Unknown mailbox filter " + word)
}

// oneOrMoreMailbox: mailbox / "(" mailbox *(SP mailbox) ")". RFC 5465
// 6.6: no wildcard expansion; "*" and "%" are parts of names here.
func (p *Parser) oneOrMoreMailbox(dst *[]string) bool {
	one := func() bool {
		var name string
		var bad error
		if !p.mailbox(&name, &bad) {
			return false
		}
		if bad == nil {
			*dst = append(*dst, name)
		}
		return true
	}
	if !p.peekIs('(') {
		return one()
	}
	p.pos++
	for {
		if !one() {
			return false
		}
		if p.peekIs(')') {
			p.pos++
			return true
		}
		if !p.sp() {
			return false
		}
	}
}

// events: "(" event *(SP event) ")" / "NONE", with RFC 5465 section 5's
// rules, each a BAD: MessageNew and MessageExpunge together or not at
// all, FlagChange and AnnotationChange only with both, and (6.1) only
// message events for the selected mailbox.
func (p *Parser) events(g *NotifyGroup) bool {
	if !p.peekIs('(') {
		var word string
		if !p.atom(&word, "event list") || !strings.EqualFold(word, "NONE") {
			return p.bad("Expected an event list or NONE")
		}
		return true
	}
	p.pos++
	for {
		var word string
		if !p.atom(&word, "event") {
			return false
		}
		ev, known := knownEvents[strings.ToUpper(word)]
		name := word
		if known {
			name = ev.name
		}
		if g.Has(name) {
			return p.bad("Event " + name + " given twice")
		}
		g.Events = append(g.Events, name)
		if name == EventMessageNew && p.peekIs(' ') && p.pos+1 < len(p.line) && p.line[p.pos+1] == '(' {
			// RFC 5465 5.2: fetch attributes say what to send of a
			// new message of the selected mailbox, and only there.
			if !g.IsSelected() {
				return p.bad("MessageNew's fetch attributes are only for the selected mailbox")
			}
			p.pos += 2
			for {
				if !p.fetchAtt(&g.FetchItems) {
					return false
				}
				if p.peekIs(')') {
					p.pos++
					break
				}
				if !p.sp() {
					return false
				}
			}
		}
		if g.IsSelected() && !(known && ev.message) {
			return p.bad("Only message events may be given for the selected mailbox")
		}
		if p.peekIs(')') {
			p.pos++
			break
		}
		if !p.sp() {
			return false
		}
	}
	if g.Has(EventMessageNew) != g.Has(EventMessageExpunge) {
		return p.bad("MessageNew and MessageExpunge must be given together")
	}
	if (g.Has(EventFlagChange) || g.Has(EventAnnotationChange)) && !g.Has(EventMessageNew) {
		return p.bad("FlagChange and AnnotationChange need MessageNew and MessageExpunge")
	}
	return true
}
