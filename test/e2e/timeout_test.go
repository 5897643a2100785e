package e2e

import (
	"testing"
	"time"

	"github.com/imapd-go/imapd/app"
)

// TestAutologout: a session that sends nothing for the timeout is told
// "* BYE idle for too long" and closed, logged in or not; IDLE has its own
// timeout (imapidletimeout).
func TestAutologout(t *testing.T) {
	e := newEnvOpts(t, app.Options{IdleTimeout: 300 * time.Millisecond})
	tc := e.raw()
	tc.expect("* BYE idle for too long")
	tc.expectEOF()

	tc = e.rawLogin("alice")
	tc.ok("t1 SELECT INBOX")
	tc.expect("* BYE idle for too long")
	tc.expectEOF()
}

func TestIdleTimeout(t *testing.T) {
	e := newEnvOpts(t, app.Options{IdleTimeout: time.Hour, IMAPIdleTimeout: 300 * time.Millisecond})
	tc := e.rawLogin("alice")
	tc.ok("t1 SELECT INBOX")
	tc.send("t2 IDLE\r\n")
	tc.expect("+ ")
	tc.expect("* BYE idle for too long")
	tc.expectEOF()
}
