// Package duplicatestest is the contract suite for ports.Duplicates:
// lmtpd's delivery records, keyed by Message-ID, Date, user and mailbox,
// shared by every handle on one place (every process of a site), and
// forgotten after the expiry. An adapter proves it conforms by calling
// Run from its own tests; like test/storetest, the suite uses only the
// port (and Pruner, where the adapter has it).
package duplicatestest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapd-go/imapd/ports"
)

// Site is one fresh place for delivery records (a configdirectory, a
// database). Open returns a new handle on it, as another lmtpd process
// opens one, that forgets deliveries older than expiry; the suite closes
// nothing: the adapter's test cleans up with t.
type Site struct {
	Open func(t testing.TB, expiry time.Duration) ports.Duplicates
}

// Setup makes a fresh Site.
type Setup func(t testing.TB) Site

// Pruner is what an adapter that can delete its expired records at once
// offers (the suite checks it when the handle has it).
type Pruner interface {
	Prune(ctx context.Context) (int64, error)
}

// Run checks every promise of ports.Duplicates, one subtest per promise.
func Run(t *testing.T, setup Setup) {
	tests := []struct {
		name string
		fn   func(*testing.T, Site)
	}{
		{"SharedBetweenHandles", testShared},
		{"KeyIsAllFourFields", testKey},
		{"FieldsKeptExactly", testExact},
		{"Expiry", testExpiry},
		{"RepeatedRecordMovesTime", testRepeat},
		{"Concurrent", testConcurrent},
		{"Prune", testPrune},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, setup(t)) })
	}
}

var ctx = context.Background()

// base is a delivery as lmtpd records it.
var base = ports.Delivery{MessageID: "<1@example.com>", Date: "Tue, 1 Dec 2026 00:00:00 +0000", User: "alice", Mailbox: "INBOX"}

func delivered(t *testing.T, d ports.Duplicates, k ports.Delivery) bool {
	t.Helper()
	seen, err := d.Delivered(ctx, k)
	if err != nil {
		t.Fatalf("Delivered(%+v): %v", k, err)
	}
	return seen
}

func record(t *testing.T, d ports.Duplicates, k ports.Delivery, at time.Time) {
	t.Helper()
	if err := d.Record(ctx, k, at); err != nil {
		t.Fatalf("Record(%+v): %v", k, err)
	}
}

// testShared: what one handle records, another handle on the same place
// sees at once (two lmtpd processes, two hosts); nothing is seen before.
func testShared(t *testing.T, s Site) {
	a, b := s.Open(t, time.Hour), s.Open(t, time.Hour)
	if delivered(t, a, base) || delivered(t, b, base) {
		t.Fatal("a delivery never recorded is seen")
	}
	record(t, a, base, time.Now())
	if !delivered(t, b, base) {
		t.Error("a delivery recorded through one handle is not seen through another")
	}
	if !delivered(t, a, base) {
		t.Error("a delivery recorded is not seen through the same handle")
	}
}

// testKey: a record matches only a delivery equal in Message-ID, Date,
// user and mailbox (Cyrus's duplicate key: the same message to another
// mailbox or user is delivered).
func testKey(t *testing.T, s Site) {
	d := s.Open(t, time.Hour)
	record(t, d, base, time.Now())
	for _, other := range []ports.Delivery{
		{MessageID: base.MessageID, Date: base.Date, User: base.User, Mailbox: "Work"},
		{MessageID: base.MessageID, Date: base.Date, User: "bob", Mailbox: base.Mailbox},
		{MessageID: base.MessageID, Date: "Wed, 2 Dec 2026 00:00:00 +0000", User: base.User, Mailbox: base.Mailbox},
		{MessageID: "<2@example.com>", Date: base.Date, User: base.User, Mailbox: base.Mailbox},
		{MessageID: base.MessageID, Date: "", User: base.User, Mailbox: base.Mailbox},
		{MessageID: "<1@EXAMPLE.COM>", Date: base.Date, User: base.User, Mailbox: base.Mailbox},
		{MessageID: base.MessageID, Date: base.Date, User: base.User, Mailbox: "inbox/x"},
	} {
		if delivered(t, d, other) {
			t.Errorf("%+v is seen after %+v was recorded", other, base)
		}
	}
}

// testExact: the fields are kept byte for byte, whatever they hold: header
// fields in 8-bit bytes that are not UTF-8, quotes, backslashes, spaces,
// empty fields (a message without Date), long ones, names in UTF-8.
func testExact(t *testing.T, s Site) {
	a, b := s.Open(t, time.Hour), s.Open(t, time.Hour)
	keys := []ports.Delivery{
		{MessageID: "<caf\xe9@example.com>", Date: "Tue, 1 Dec 2026 00:00:00 +0000", User: "alice", Mailbox: "INBOX"},
		{MessageID: `<"a\"b"@example.com>`, Date: "Tue,  1 Dec 2026\t00:00:00 +0000 (UTC)", User: "alice", Mailbox: "INBOX"},
		{MessageID: "<no-date@example.com>", Date: "", User: "alice", Mailbox: "INBOX"},
		{MessageID: "", Date: "", User: "alice", Mailbox: "INBOX"},
		{MessageID: "<" + strings.Repeat("7", 998) + "@x>", Date: base.Date, User: "alice", Mailbox: "INBOX"},
		{MessageID: "<u@x>", Date: base.Date, User: "jürgen", Mailbox: "Entwürfe/Ärger"},
	}
	for _, k := range keys {
		record(t, a, k, time.Now())
	}
	for _, k := range keys {
		if !delivered(t, b, k) {
			t.Errorf("%q recorded, not seen", k)
		}
	}
	// The 8-bit Message-ID is not taken for another spelling of it.
	if delivered(t, b, ports.Delivery{MessageID: "<café@example.com>", Date: keys[0].Date, User: "alice", Mailbox: "INBOX"}) {
		t.Error("a Message-ID in UTF-8 matches the same in Latin-1")
	}
}

// testExpiry: a delivery recorded longer than the expiry ago is not seen,
// one recorded less long ago is, whichever handle asks.
func testExpiry(t *testing.T, s Site) {
	a, b := s.Open(t, time.Hour), s.Open(t, time.Hour)
	old := base
	old.MessageID = "<old@example.com>"
	record(t, a, old, time.Now().Add(-2*time.Hour))
	recent := base
	recent.MessageID = "<recent@example.com>"
	record(t, a, recent, time.Now().Add(-30*time.Minute))
	if delivered(t, b, old) {
		t.Error("a delivery older than the expiry is seen")
	}
	if !delivered(t, b, recent) {
		t.Error("a delivery younger than the expiry is not seen")
	}
	// The expiry is the asking handle's: a handle with a shorter one
	// forgets sooner.
	short := s.Open(t, 10*time.Minute)
	if delivered(t, short, recent) {
		t.Error("a handle with a 10 minutes expiry sees a delivery 30 minutes old")
	}
}

// testRepeat: recording a delivery again moves its time, forward (an old
// record made young again is seen) and back.
func testRepeat(t *testing.T, s Site) {
	d := s.Open(t, time.Hour)
	record(t, d, base, time.Now().Add(-2*time.Hour))
	if delivered(t, d, base) {
		t.Fatal("an expired delivery is seen")
	}
	record(t, d, base, time.Now())
	if !delivered(t, d, base) {
		t.Error("a delivery recorded again now is not seen")
	}
	record(t, d, base, time.Now().Add(-2*time.Hour))
	if delivered(t, d, base) {
		t.Error("a delivery recorded again two hours ago is still seen")
	}
}

// testConcurrent: handles record at once, the same delivery and others,
// without error, and every record is then seen.
func testConcurrent(t *testing.T, s Site) {
	const workers, each = 4, 10
	handles := make([]ports.Duplicates, workers)
	for i := range handles {
		handles[i] = s.Open(t, time.Hour)
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*2)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := handles[w].Record(ctx, base, time.Now()); err != nil {
					errs <- err
				}
				k := base
				k.MessageID = fmt.Sprintf("<%d.%d@example.com>", w, i)
				if err := handles[w].Record(ctx, k, time.Now()); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Record: %v", err)
	}
	check := s.Open(t, time.Hour)
	if !delivered(t, check, base) {
		t.Error("the delivery all recorded is not seen")
	}
	for w := range workers {
		for i := range each {
			k := base
			k.MessageID = fmt.Sprintf("<%d.%d@example.com>", w, i)
			if !delivered(t, check, k) {
				t.Errorf("%s not seen", k.MessageID)
			}
		}
	}
}

// testPrune: where the adapter prunes on demand, it deletes the expired
// records only and says how many.
func testPrune(t *testing.T, s Site) {
	a := s.Open(t, time.Hour)
	p, ok := a.(Pruner)
	if !ok {
		t.Skip("the adapter has no Prune")
	}
	// The live record first: an adapter may prune as it records, and
	// would delete the first old one here.
	record(t, a, base, time.Now())
	for i := range 3 {
		k := base
		k.MessageID = fmt.Sprintf("<old%d@example.com>", i)
		record(t, a, k, time.Now().Add(-2*time.Hour))
	}
	n, err := p.Prune(ctx)
	if err != nil || n != 3 {
		t.Errorf("Prune: %d, %v; want 3", n, err)
	}
	if !delivered(t, s.Open(t, time.Hour), base) {
		t.Error("Prune removed a live record")
	}
	if n, err := p.Prune(ctx); err != nil || n != 0 {
		t.Errorf("Prune again: %d, %v; want 0", n, err)
	}
}
