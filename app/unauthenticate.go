package app

import (
	"github.com/imapd-go/imapd/domain/grammar"
	"github.com/imapd-go/imapd/domain/session"
)

// cmdUnauthenticate returns the session to the not-authenticated state
// (RFC 8437), as if it had just connected: everything the session held
// for the user goes, ENABLE included, so that the next user starts as on
// a new connection. The layers under the protocol are the connection's
// and stay (TLS, COMPRESS; we have no SASL security layer), and so does
// the session's id.
func cmdUnauthenticate(c *conn, cmd *grammar.Command) (result, error) {
	// The search index goroutine works as the user: it finishes the
	// mailboxes written so far before the user changes.
	c.index.wg.Wait()
	if c.logout != nil {
		c.logout() // the Presence record (maxlogins)
		c.logout = nil
	}
	c.srv.tel.Event(c.event("unauthenticate"))
	if c.in.log != nil {
		c.in.log.Close()
	}
	c.in.log, c.out.log = nil, nil
	c.stopNotify()
	c.sel = nil
	c.saved = nil
	c.condstore = false
	c.enabled = nil
	c.p.SetUTF8(false)
	c.user = ""
	c.admin = false
	c.fetchBuf = nil
	c.state = session.NotAuthenticated
	return result{code: "CAPABILITY " + c.capabilities(), text: "UNAUTHENTICATE completed"}, nil
}
