package app

import (
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/store/sqlite"
	"github.com/imapd-go/imapd/ports"
)

// lines runs cmd and returns every line up to its tagged response.
func (cl *client) lines(cmd, tag string) []string {
	cl.t.Helper()
	if _, err := cl.c.Write([]byte(cmd + "\r\n")); err != nil {
		cl.t.Fatal(err)
	}
	var out []string
	for {
		l, err := cl.line()
		if err != nil {
			cl.t.Fatalf("%s: %v", cmd, err)
		}
		out = append(out, strings.TrimRight(l, "\r\n"))
		if strings.HasPrefix(l, tag+" ") {
			return out
		}
	}
}

// RFC 5465 3.1 and 5.8: a NOTIFY that would watch more mailboxes than
// the server takes is refused with NO [NOTIFICATIONOVERFLOW]; more
// notifications at once than it sends end them with an untagged OK
// [NOTIFICATIONOVERFLOW], after which none come, as after NOTIFY NONE.
func TestNotifyOverflow(t *testing.T) {
	defer func(m, n int) { maxNotifyMailboxes, maxNotifications = m, n }(maxNotifyMailboxes, maxNotifications)
	maxNotifyMailboxes, maxNotifications = 2, 2
	r := newMultiRigWith(t, func(st *sqlite.Store) ports.Store { return st }, Options{})
	a, b := r.login("alice"), r.login("alice")
	b.run("c1 CREATE one", "c1 OK")
	b.run("c2 CREATE two", "c2 OK")
	if l := a.run("n1 NOTIFY SET (personal (MessageNew MessageExpunge))", "n1 "); !strings.HasPrefix(l, "n1 NO [NOTIFICATIONOVERFLOW]") {
		t.Fatalf("NOTIFY over too many mailboxes: %q", l)
	}
	a.run("n2 NOTIFY SET (mailboxes (one two) (MessageNew MessageExpunge)) (personal (MailboxName))", "n2 OK")
	b.run("c3 CREATE three", "c3 OK")
	b.run("c4 CREATE four", "c4 OK")
	b.run("c5 CREATE five", "c5 OK")
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := strings.Join(a.lines("n3 NOOP", "n3"), "\n")
		if strings.Contains(got, "* LIST") {
			t.Fatalf("notifications past the limit: %q", got)
		}
		if strings.Contains(got, "* OK [NOTIFICATIONOVERFLOW]") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no NOTIFICATIONOVERFLOW")
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.run("c6 CREATE six", "c6 OK")
	b.run("c7 APPEND one {5+}\r\nhello", "c7 OK")
	time.Sleep(300 * time.Millisecond)
	if got := strings.Join(a.lines("n4 NOOP", "n4"), "\n"); strings.Contains(got, "* ") {
		t.Errorf("notifications after the overflow: %q", got)
	}
}
