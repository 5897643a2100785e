package app

// selectedOwn returns the name of the selected mailbox when it is one of
// the user's own, else "".
func (c *conn) selectedOwn() string {
	if c.sel == nil || c.sel.owner != c.user {
		return ""
	}
	return c.sel.name
}

// notifyLeft runs after a command that left the selected mailbox
// (UNSELECT, CLOSE, SELECT of another): it takes the mailbox's counters
// then as what NOTIFY compares its STATUS events with. While selected,
// the mailbox's events went the way of every unsolicited update, and
// what the session saw so is not told again (RFC 5465 5.2); a change made
// after it left is. Taking the counters only at the next look at the
// store, which only a wake-up brings, would fold into them a change that
// came before any wake-up (a message another session appends right
// after), which was then never told.
func (c *conn) notifyLeft() {
	n := c.notify
	name := n.wasSelected
	n.wasSelected = ""
	if name == "" || c.selectedOwn() == name {
		return
	}
	if _, ok := n.boxes[name]; ok {
		return
	}
	if !messageEvents(n.groupFor(name, n.isSubscribed)) {
		return
	}
	st, err := c.srv.store.Status(c.ctx, c.user, name)
	if err != nil {
		return // gone, or the store failed: the next look decides
	}
	if n.boxes == nil {
		n.boxes = map[string]boxState{}
	}
	n.boxes[name] = boxStateOf(st)
}
