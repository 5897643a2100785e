package app

import (
	"context"
	"errors"

	"github.com/imapd-go/imapd/domain/grammar"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/domain/session"
	"github.com/imapd-go/imapd/ports"
)

// result is a successful command's tagged OK: an optional response code and
// text (default "<NAME> completed").
type result struct {
	code, text string
	written    bool // the handler sent the tagged response itself
}

// handler runs one command. It writes untagged responses itself and returns
// the OK result or an error that respond maps to NO/BAD.
type handler func(c *conn, cmd *grammar.Command) (result, error)

// badError is a command the handler refused as malformed after parsing
// (BAD rather than NO).
type badError struct{ code, text string }

func (e *badError) Error() string { return e.text }

func bad(text string) error { return &badError{text: text} }

// states says in which states each command is valid.
type command struct {
	h      handler
	states []session.State
}

var (
	anyState = []session.State{session.NotAuthenticated, session.Authenticated, session.Selected}
	notAuth  = []session.State{session.NotAuthenticated}
	authed   = []session.State{session.Authenticated, session.Selected}
	selState = []session.State{session.Selected}
)

var commands map[string]command

func init() {
	commands = map[string]command{
		"CAPABILITY":   {cmdCapability, anyState},
		"NOOP":         {cmdNoop, anyState},
		"LOGOUT":       {cmdLogout, anyState},
		"ID":           {cmdID, anyState},
		"LOGIN":        {cmdLogin, notAuth},
		"STARTTLS":     {cmdStartTLS, notAuth},
		"AUTHENTICATE": {cmdAuthenticate, notAuth},
		"SELECT":       {cmdSelect, authed},
		"EXAMINE":      {cmdSelect, authed},
		"CREATE":       {cmdCreate, authed},
		"DELETE":       {cmdDelete, authed},
		"RENAME":       {cmdRename, authed},
		"SUBSCRIBE":    {cmdSubscribe, authed},
		"UNSUBSCRIBE":  {cmdSubscribe, authed},
		"LIST":         {cmdList, authed},
		"LSUB":         {cmdList, authed},
		"NAMESPACE":    {cmdNamespace, authed},
		"STATUS":       {cmdStatus, authed},
		"APPEND":       {cmdAppend, authed},
		"CHECK":        {cmdCheck, selState},
		"CLOSE":        {cmdClose, selState},
		"UNSELECT":     {cmdUnselect, selState},
		"IDLE":         {cmdIdle, authed},
		"MOVE":         {cmdMove, selState},
		"ENABLE":       {cmdEnable, authed},
		"EXPUNGE":      {cmdExpunge, selState},
		"SEARCH":       {cmdSearch, selState},
		"SORT":         {cmdSort, selState},
		"THREAD":       {cmdThread, selState},
		"FETCH":        {cmdFetch, selState},
		"STORE":        {cmdStore, selState},
		"COPY":         {cmdCopy, selState},
		"CANCELUPDATE": {cmdCancelUpdate, selState},
		"GENURLAUTH":   {cmdGenURLAuth, authed},
		"RESETKEY":     {cmdResetKey, authed},
		"URLFETCH":     {cmdURLFetch, authed},
		// RFC 4978; Cyrus 3.6 too refuses it before login.
		"COMPRESS":       {cmdCompress, authed},
		"UNAUTHENTICATE": {cmdUnauthenticate, authed},
		"REPLACE":        {cmdReplace, selState},
		"NOTIFY":         {cmdNotify, authed},      // notify.go
		"GETMETADATA":    {cmdGetMetadata, authed}, // metadata.go
		"SETMETADATA":    {cmdSetMetadata, authed},
		// RFC 4314, acl.go.
		"SETACL": {cmdSetACL, authed}, "DELETEACL": {cmdSetACL, authed}, "GETACL": {cmdGetACL, authed},
		"LISTRIGHTS": {cmdListRights, authed}, "MYRIGHTS": {cmdMyRights, authed},
		// RFC 9208, quota.go.
		"GETQUOTA":     {cmdGetQuota, authed},
		"GETQUOTAROOT": {cmdGetQuotaRoot, authed},
		"SETQUOTA":     {cmdSetQuota, authed},
	}
}

// dispatch runs cmd and writes its tagged response; it returns the status
// word sent.
func (c *conn) dispatch(cmd *grammar.Command) string {
	def, ok := commands[cmd.Name]
	if !ok {
		if cmd.Name == "APPEND" || cmd.Name == "REPLACE" {
			c.p.EndCommand()
		}
		c.w.Tagged(cmd.Tag, "BAD", "", "Unrecognized command")
		return "BAD"
	}
	if !stateIn(c.state, def.states) {
		if cmd.Name == "APPEND" || cmd.Name == "REPLACE" {
			// The literal is on its way: read it off the wire.
			c.discardAppend(cmd)
		}
		switch {
		case c.state == session.NotAuthenticated:
			c.w.Tagged(cmd.Tag, "BAD", "", "Please login first")
		case cmd.Name == "LOGIN" || cmd.Name == "AUTHENTICATE" || cmd.Name == "STARTTLS":
			c.w.Tagged(cmd.Tag, "BAD", "", "Already authenticated")
		default:
			c.w.Tagged(cmd.Tag, "BAD", "", "Please select a mailbox first")
		}
		return "BAD"
	}
	c.notifyBefore(cmd)
	res, err := def.h(c, cmd)
	if c.state == session.Logout {
		c.w.Tagged(cmd.Tag, "OK", res.code, orText(res.text, "LOGOUT completed"))
		return "OK"
	}
	if c.state == session.Selected && cmd.Name != "SELECT" && cmd.Name != "EXAMINE" {
		// RFC 3501 7.4.1: no EXPUNGE responses while answering FETCH,
		// STORE or SEARCH (the UID forms may have them), nor SORT or THREAD
		// (RFC 5256 section 4), which answer with sequence numbers too,
		// unless NOTIFY asked for MessageExpunge on the selected mailbox.
		allowExpunge := cmd.UID || (cmd.Name != "FETCH" && cmd.Name != "STORE" && cmd.Name != "SEARCH" && cmd.Name != "SORT" && cmd.Name != "THREAD") || c.notifySelectedExpunge()
		if perr := c.poll(allowExpunge); perr != nil && err == nil {
			err = perr
		}
	}
	if nerr := c.notifyAfter(cmd); nerr != nil && err == nil {
		err = nerr
	}
	if res.written && err == nil {
		return "OK"
	}
	if errors.Is(err, errConnection) {
		// The client's stream broke mid-command: nothing can be answered.
		c.state = session.Logout
		return "BYE"
	}
	if err != nil {
		status, code, text := c.errorResponse(cmd, err)
		c.w.Tagged(cmd.Tag, status, code, text)
		return status
	}
	c.w.Tagged(cmd.Tag, "OK", res.code, orText(res.text, completedText(cmd)))
	return "OK"
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func stateIn(s session.State, list []session.State) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// errorResponse maps an error to the tagged status, response code and text
// (RFC 5530 codes).
func (c *conn) errorResponse(cmd *grammar.Command, err error) (status, code, text string) {
	var be *badError
	var pe *grammar.Error
	if code, text, ok := notifyErrorResponse(err); ok {
		return "NO", code, text
	}
	if code, text, ok := metadataErrorResponse(err); ok {
		return "NO", code, text
	}
	switch {
	case errors.As(err, &be):
		return "BAD", be.code, be.text
	case errors.As(err, &pe):
		return pe.Status, pe.Code, pe.Text
	case errors.Is(err, imap.ErrTryCreate):
		return "NO", "TRYCREATE", "Mailbox does not exist"
	case errors.Is(err, imap.ErrNonexistent):
		return "NO", "NONEXISTENT", "Mailbox does not exist"
	case errors.Is(err, imap.ErrHasChildren):
		return "NO", "HASCHILDREN", "Name has inferior hierarchical names"
	case errors.Is(err, imap.ErrAlreadyExists):
		return "NO", "ALREADYEXISTS", "Mailbox already exists"
	case errors.Is(err, imap.ErrInvalidName):
		return "NO", "CANNOT", "Invalid mailbox name"
	case errors.Is(err, imap.ErrCannot):
		return "NO", "CANNOT", errText(err, "Operation is not supported on mailbox")
	case errors.Is(err, imap.ErrTooBig):
		return "NO", "TOOBIG", "Message too large"
	case errors.Is(err, message.ErrNUL):
		return "NO", "", "Message contains NUL characters"
	case errors.Is(err, imap.ErrLimit):
		// RFC 5530 LIMIT: the mailbox has as many keywords as it may.
		return "NO", "LIMIT", "Too many user flags in mailbox"
	case errors.Is(err, imap.ErrNoMessage):
		// RFC 5530: another session expunged the message meanwhile.
		return "NO", "EXPUNGEISSUED", "Message has been expunged"
	case errors.Is(err, imap.ErrOverQuota):
		return "NO", "OVERQUOTA", "Over quota"
	case errors.Is(err, imap.ErrAuthFailed), errors.Is(err, imap.ErrNoUser):
		return "NO", "AUTHENTICATIONFAILED", "Login failed: authentication failure"
	case errors.Is(err, imap.ErrNoPerm):
		return "NO", "NOPERM", "Permission denied"
	case errors.Is(err, imap.ErrReadOnly):
		return "NO", "", "Mailbox is read-only"
	case errors.Is(err, imap.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return "NO", "UNAVAILABLE", "Temporarily unavailable, try again"
	default:
		c.srv.log.Error("command failed", "command", cmd.Name, "user", c.user, "err", err)
		c.srv.tel.Event(eventError(c, cmd, err))
		return "NO", "SERVERBUG", "Internal error, the administrator has been told"
	}
}

// errText returns the detail of an *imap.Error, or def.
func errText(err error, def string) string {
	var ie *imap.Error
	if errors.As(err, &ie) && ie.Detail != "" {
		return ie.Detail
	}
	return def
}

// completedText is the default text of a tagged OK.
func completedText(cmd *grammar.Command) string {
	if cmd.UID {
		return "UID " + cmd.Name + " completed"
	}
	return cmd.Name + " completed"
}

func eventError(c *conn, cmd *grammar.Command, err error) ports.Event {
	e := c.event("error")
	e.Command, e.Err = cmd.Name, err
	return e
}
