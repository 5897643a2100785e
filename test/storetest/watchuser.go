package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// testWatchUser checks WatchUser's promise: any change to the user's
// mailboxes, names or subscriptions, made through another handle (another
// process), wakes the watcher within a second.
func testWatchUser(t *testing.T, e *env) {
	e.user("u")
	e.create("u", "box", "other")
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	ch, err := e.s.WatchUser(ctx, "u")
	if err != nil {
		t.Fatalf("WatchUser: %v", err)
	}
	drain(ch, 100*time.Millisecond)
	other := e.handle()
	for _, c := range []struct {
		what   string
		change func() error
	}{
		{"append to INBOX", func() error { e.appendTo(other, "u", "INBOX", "new mail\r\n"); return nil }},
		{"append to another mailbox", func() error { e.appendTo(other, "u", "box", "new mail\r\n"); return nil }},
		{"flag change", func() error {
			_, metas, err := other.Snapshot(e.ctx, "u", "box")
			if err != nil || len(metas) == 0 {
				t.Fatalf("Snapshot: %v", err)
			}
			_, err = other.UpdateFlags(e.ctx, "u", "box", []imap.UID{metas[0].UID}, ports.FlagsAdd, []string{imap.FlagFlagged})
			return err
		}},
		{"expunge", func() error {
			_, metas, _ := other.Snapshot(e.ctx, "u", "box")
			if _, err := other.UpdateFlags(e.ctx, "u", "box", []imap.UID{metas[0].UID}, ports.FlagsAdd, []string{imap.FlagDeleted}); err != nil {
				return err
			}
			drain(ch, 50*time.Millisecond)
			_, err := other.Expunge(e.ctx, "u", "box", nil)
			return err
		}},
		{"create", func() error { return other.CreateMailbox(e.ctx, "u", "fresh") }},
		{"rename", func() error { return other.RenameMailbox(e.ctx, "u", "other", "renamed") }},
		{"delete", func() error { return other.DeleteMailbox(e.ctx, "u", "fresh") }},
		{"subscribe", func() error { return other.SetSubscribed(e.ctx, "u", "box", true) }},
		{"unsubscribe", func() error { return other.SetSubscribed(e.ctx, "u", "box", false) }},
	} {
		drain(ch, 50*time.Millisecond)
		if err := c.change(); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		select {
		case _, ok := <-ch:
			if !ok {
				t.Fatalf("%s: channel closed before ctx ended", c.what)
			}
		case <-time.After(watchWithin):
			t.Fatalf("%s: no wake-up within %v", c.what, watchWithin)
		}
	}
	cancel()
	deadline := time.After(watchWithin)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("channel not closed after ctx ended")
		}
	}
}
