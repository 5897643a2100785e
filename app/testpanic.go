//go:build imapd_testpanic

package app

import "github.com/imapd-go/imapd/domain/grammar"

// TestPanicMailbox is the mailbox whose STATUS panics in a build with the
// tag imapd_testpanic: the process-level tests (test/master) use it to
// check that a real panic in one session leaves the process's other
// sessions alive. Never in a release build.
const TestPanicMailbox = "imapd-test-panic"

func init() {
	status := commands["STATUS"]
	h := status.h
	status.h = func(c *conn, cmd *grammar.Command) (result, error) {
		if a, ok := cmd.Args.(*grammar.StatusArgs); ok && a.Mailbox == TestPanicMailbox {
			var m map[string]int
			m[a.Mailbox]++ // a runtime panic: assignment to entry in nil map
		}
		return h(c, cmd)
	}
	commands["STATUS"] = status
}
