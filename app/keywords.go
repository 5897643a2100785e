package app

import "github.com/imapd-go/imapd/domain/imap"

// permanentFlags is the list of a read-write mailbox's PERMANENTFLAGS
// code: the system flags, the keywords in use (kws, " kw1 kw2" as
// keywordList makes it; n of them) as Cyrus lists them, and \* while the
// mailbox may still take a new keyword: RFC 3501 7.1, \* says a client can
// create keywords by storing them, which is no longer true at
// imap.MaxKeywords (a STORE would get NO [LIMIT]).
func permanentFlags(kws string, n int) string {
	list := `(\Answered \Flagged \Deleted \Seen \Draft` + kws
	if n < imap.MaxKeywords {
		list += ` \*`
	}
	return list + ")"
}
