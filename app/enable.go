package app

import (
	"strings"

	"github.com/imapd-go/imapd/domain/grammar"
	"github.com/imapd-go/imapd/domain/imap"
)

// enableable are the capabilities ENABLE can switch on (RFC 5161).
// The value is the capability's canonical spelling.
var enableable = map[string]string{
	"CONDSTORE":   "CONDSTORE",
	"QRESYNC":     "QRESYNC",
	"UTF8=ACCEPT": "UTF8=ACCEPT",
	"IMAP4REV2":   "IMAP4rev2",
}

// cmdEnable switches on the extensions the client asks for that this
// server knows; others are ignored, as RFC 5161 3.1 says.
func cmdEnable(c *conn, cmd *grammar.Command) (result, error) {
	if c.sel != nil {
		return result{}, bad("ENABLE is only valid before SELECT")
	}
	args := cmd.Args.(*grammar.EnableArgs)
	var on []string
	for _, capa := range args.Caps {
		capa = strings.ToUpper(capa)
		if enableable[capa] != "" && !c.enabled[capa] {
			if c.enabled == nil {
				c.enabled = map[string]bool{}
			}
			c.enabled[capa] = true
			on = append(on, enableable[capa])
			if capa == "CONDSTORE" || capa == "QRESYNC" {
				// RFC 7162 3.2.3: QRESYNC implies CONDSTORE.
				c.condstore = true
			}
			if capa == "UTF8=ACCEPT" || capa == "IMAP4REV2" {
				// RFC 6855 3: mailbox names are UTF-8 from now on; RFC
				// 9051 includes this.
				c.p.SetUTF8(true)
			}
		}
	}
	c.w.Untagged(strings.TrimSpace("ENABLED " + strings.Join(on, " ")))
	return result{}, nil
}

// rev2 reports whether the session runs IMAP4rev2 (RFC 9051) semantics.
func (c *conn) rev2() bool { return c.enabled["IMAP4REV2"] }

// utf8 reports whether mailbox names travel as UTF-8: UTF8=ACCEPT (RFC
// 6855) or IMAP4rev2 (RFC 9051 5.1) enabled.
func (c *conn) utf8() bool { return c.enabled["UTF8=ACCEPT"] || c.rev2() }

// appendMailbox writes a mailbox name: modified UTF-7, or UTF-8 once the
// client enabled UTF8=ACCEPT.
func (c *conn) appendMailbox(b []byte, name string) []byte {
	if c.utf8() {
		return imap.AppendUTF8String(b, name)
	}
	return grammar.AppendMailbox(b, name)
}

// enableCondstore records a CONDSTORE enabling command (RFC 7162 3.1):
// from now on flag changes carry MODSEQ. The HIGHESTMODSEQ that 3.1 asks
// for when SELECT did not report it needs no response here, since SELECT
// and EXAMINE always report it (3.1.2.1).
func (c *conn) enableCondstore() {
	c.condstore = true
}
