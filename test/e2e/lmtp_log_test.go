package e2e

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/imapd-go/imapd/adapters/auth/sasl"
	"github.com/imapd-go/imapd/adapters/duplicates"
	"github.com/imapd-go/imapd/app/lmtp"
	"github.com/imapd-go/imapd/ports"
)

// eventRecorder is a ports.Telemetry that keeps the events it gets.
type eventRecorder struct {
	mu     sync.Mutex
	events []ports.Event
}

func (r *eventRecorder) SessionLog(string, string) ports.SessionLog { return nil }

func (r *eventRecorder) Event(e ports.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// TestLMTPDeliveryEvents: each recipient's copy is a "delivered" event
// and each copy dropped as a duplicate a "dupelim" event, naming the
// Message-ID, the Date and the mailbox as Cyrus 3.6's lmtpd writes it:
// in Delivered lines by its internal name, user.<user>
// for INBOX, user.<user>.<folder> with "." between levels, "^" for a dot
// in a name (test/master's TestLMTPSyslogLikeCyrus saw Cyrus write
// user.alice.Work and user.bob^smith); in dupelim lines by its unique
// id, the MAILBOXID.
func TestLMTPDeliveryEvents(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := sasl.Open(e.dir).Add("bob.smith", "secret"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob.smith"} {
		if err := e.store.EnsureUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []string{"Work", "Work/v1.2"} {
		if err := e.store.CreateMailbox(ctx, "alice", m); err != nil {
			t.Fatal(err)
		}
		grantPost(t, e.store, "alice", m)
	}
	dups, err := duplicates.Open(e.dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dups.Close()
	rec := &eventRecorder{}
	auth := sasl.New(sasl.Options{}, sasl.Open(e.dir))
	srv := lmtp.New(lmtp.Options{ServerName: "lmtp.example", DowncaseRcpt: true, DuplicateSuppression: true}, e.store, auth, dups, rec, nil)
	c, _ := (&lmtpServer{e: e, srv: srv}).dial()
	c.send("LHLO mx\n")
	c.expect("250 ")
	rcpts := []string{"alice@lmtp.example", "alice+Work@lmtp.example", "alice+Work/v1.2@lmtp.example", "bob.smith@lmtp.example"}
	c.transaction("s@x", rcpts, lmtpMsg, "250", "250", "250", "250", "250", "354", "250 2.1.5", "250 2.1.5", "250 2.1.5", "250 2.1.5")
	c.transaction("s@x", rcpts[:1], lmtpMsg, "250", "250", "354", "250 2.1.5")
	const date = "Tue, 1 Dec 2026 00:00:00 +0000"
	// The dupelim line names the mailbox by its MAILBOXID, as Cyrus's
	// names it by its unique id.
	inboxID, err := e.store.(ports.ObjectIDs).MailboxID(ctx, "alice", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range rec.events {
		if ev.MessageID != "<m1@example.net>" || ev.Date != date {
			t.Errorf("event %+v: Message-ID %q, Date %q", ev, ev.MessageID, ev.Date)
		}
		got = append(got, ev.Kind+" "+ev.User+" "+ev.Mailbox)
	}
	want := []string{
		"delivered alice user.alice",
		"delivered alice user.alice.Work",
		"delivered alice user.alice.Work.v1^2",
		"delivered bob.smith user.bob^smith",
		"dupelim alice " + inboxID,
	}
	if !slices.Equal(got, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
