package app

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/store/sqlite"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// flakyStore fails ChangesSince while failing is set, as a store does
// for a moment when another process holds its lock too long.
type flakyStore struct {
	ports.Store
	failing *atomic.Bool
}

func (f flakyStore) ChangesSince(ctx context.Context, user, name string, since uint64) (ports.Changes, error) {
	if f.failing.Load() {
		return ports.Changes{}, &imap.Error{Op: "changes", Kind: imap.ErrUnavailable, Detail: "locked"}
	}
	return f.Store.ChangesSince(ctx, user, name, since)
}

// A store error while IDLE looks for changes does not end IDLE: the
// client has not sent DONE, and the goroutine reading for it still owns
// the session's input. IDLE goes on, and the next wake-up that works
// reports what came.
func TestIdleSurvivesAFailedPoll(t *testing.T) {
	var failing atomic.Bool
	r := newMultiRigWith(t, func(st *sqlite.Store) ports.Store { return flakyStore{st, &failing} }, Options{})
	a, b := r.login("alice"), r.login("alice")
	a.run("s SELECT INBOX", "s OK")
	a.run("i IDLE", "+ ")
	failing.Store(true)
	b.run("a1 APPEND INBOX {5+}\r\nhello", "a1 OK")
	// The failed poll is logged, and nothing is sent for it.
	waitFor(t, func() bool { return strings.Contains(r.logs.String(), "IDLE") })
	failing.Store(false)
	b.run("a2 APPEND INBOX {5+}\r\nworld", "a2 OK")
	if l := a.expect("* "); !strings.HasSuffix(strings.TrimSpace(l), "EXISTS") {
		t.Fatalf("after the store recovered: %q, want EXISTS", l)
	}
	if _, err := a.c.Write([]byte("DONE\r\n")); err != nil {
		t.Fatal(err)
	}
	if l := a.expect("i "); !strings.HasPrefix(l, "i OK") {
		t.Fatalf("IDLE ended with %q", l)
	}
	a.run("n NOOP", "n OK")
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met within 10 s")
}
