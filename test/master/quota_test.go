package master

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// Sessions in many imapd processes under master append to one user's tree
// at once until the server refuses with NO [OVERQUOTA]: exactly the
// MESSAGE limit is stored, and the usage GETQUOTA reports is what the
// mailboxes hold, on both stores.
func TestQuotaUnderMaster(t *testing.T) {
	for _, kind := range masters(t) {
		for _, store := range []string{"sqlite", "maildir"} {
			t.Run(kind+"/"+store, func(t *testing.T) {
				e := startLayout(t, kind, []*svc{{name: "imapq", flags: "-p 2", prefork: 4}},
					layout{socketDir: true, conf: "store: " + store + "\nadmins: bob\n"})
				quotaStorm(t, e)
			})
		}
	}
}

func quotaStorm(t *testing.T, e *env) {
	const limit, sessions = 30, 4
	// bob administers (an admin sees alice's tree as user/alice); alice
	// fills her own.
	admin := e.dial("imapq")
	admin.line() // motd
	admin.ok("a1", "LOGIN bob secret")
	admin.ok("a2", "CREATE user/alice/other")
	admin.ok("a3", fmt.Sprintf("SETQUOTA user/alice (MESSAGE %d)", limit))
	var wg sync.WaitGroup
	var mu sync.Mutex
	stored, refused := 0, 0
	errs := make(chan error, sessions)
	for i := range sessions {
		r := e.dial("imapq")
		r.line() // motd
		r.ok("l", "LOGIN alice secret")
		box := []string{"INBOX", "other"}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				body := fmt.Sprintf("Subject: %d-%d\r\n\r\n%s\r\n", i, n, strings.Repeat("q", 200+i))
				l, err := appendLine(r, fmt.Sprintf("s%d", n), box, body)
				mu.Lock()
				switch {
				case err != nil:
					errs <- err
				case strings.Contains(l, " OK "):
					stored++
				case strings.Contains(l, " NO [OVERQUOTA] "):
					refused++
				default:
					errs <- fmt.Errorf("APPEND: %q", l)
				}
				mu.Unlock()
				if err != nil || !strings.Contains(l, " OK ") {
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if stored != limit || refused != sessions {
		t.Errorf("%d appends stored, %d sessions refused; want %d and %d", stored, refused, limit, sessions)
	}
	owner := e.dial("imapq")
	owner.line() // motd
	owner.ok("o1", "LOGIN alice secret")
	lines := owner.ok("a4", "GETQUOTAROOT other")
	if !strings.Contains(strings.Join(lines, ""), fmt.Sprintf("MESSAGE %d %d)", limit, limit)) {
		t.Errorf("GETQUOTAROOT: %q", lines)
	}
	in := owner.ok("a5", "STATUS INBOX (MESSAGES)")
	out := owner.ok("a6", "STATUS other (MESSAGES)")
	var a, b int
	fmt.Sscanf(strings.ReplaceAll(in[0], `"`, ""), "* STATUS INBOX (MESSAGES %d)", &a)
	fmt.Sscanf(strings.ReplaceAll(out[0], `"`, ""), "* STATUS other (MESSAGES %d)", &b)
	if a+b != limit {
		t.Errorf("the mailboxes hold %d and %d messages, want %d in all: %q %q", a, b, limit, in, out)
	}
}

// appendLine sends an APPEND with a non-synchronizing literal and returns
// its tagged answer; it may run in a goroutine of its own.
func appendLine(r *raw, tag, box, body string) (string, error) {
	r.c.SetDeadline(time.Now().Add(patience))
	if _, err := fmt.Fprintf(r.c, "%s APPEND %s {%d+}\r\n%s\r\n", tag, box, len(body), body); err != nil {
		return "", err
	}
	for {
		l, err := r.r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(l, tag+" ") {
			return l, nil
		}
	}
}
