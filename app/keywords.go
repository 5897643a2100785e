package app

import (
	"strings"

	"github.com/imapd-go/imapd/domain/imap"
)

// permanentFlags is the list of a read-write mailbox's PERMANENTFLAGS
// code: the system flags, the keywords in use as Cyrus lists them, and \*
// while the mailbox may still take a new keyword: RFC 3501 7.1, \* says a
// client can create keywords by storing them, which is no longer true at
// imap.MaxKeywords (a STORE would get NO [LIMIT]).
func permanentFlags(kws []string) string {
	list := append(systemFlags(), kws...)
	if len(kws) < imap.MaxKeywords {
		list = append(list, `\*`)
	}
	return "(" + strings.Join(list, " ") + ")"
}
