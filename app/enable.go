package app

import (
	"strings"

	"github.com/imapd-go/imapd/domain/grammar"
)

// enableable are the capabilities ENABLE can switch on (RFC 5161).
var enableable = map[string]bool{"CONDSTORE": true, "QRESYNC": true}

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
		if enableable[capa] && !c.enabled[capa] {
			if c.enabled == nil {
				c.enabled = map[string]bool{}
			}
			c.enabled[capa] = true
			on = append(on, capa)
			if capa == "CONDSTORE" || capa == "QRESYNC" {
				// RFC 7162 3.2.3: QRESYNC implies CONDSTORE.
				c.condstore = true
			}
		}
	}
	c.w.Untagged(strings.TrimSpace("ENABLED " + strings.Join(on, " ")))
	return result{}, nil
}
