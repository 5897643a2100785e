package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/imapd-go/imapd/adapters/store/postgres"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
	"github.com/imapd-go/imapd/test/pgtest"
)

// host opens a store on dsn with a pool of its own, as one imapd host
// would.
func host(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), postgres.Config{DSN: dsn, PoolSize: 4})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func message(body string) ports.NewMessage {
	return ports.NewMessage{InternalDate: time.Now(), Size: int64(len(body)), Body: bytes.NewReader([]byte(body))}
}

// waitWake fails t unless ch receives within d.
func waitWake(t *testing.T, ch <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case _, ok := <-ch:
		if !ok {
			t.Fatalf("%s: channel closed", what)
		}
	case <-time.After(d):
		t.Fatalf("%s: no wake-up within %v", what, d)
	}
}

func drain(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		case <-time.After(100 * time.Millisecond):
			return
		}
	}
}

// TestTwoHostsWatch checks that two stores on two pools (two hosts) see
// each other's APPEND and flag changes through Watch and WatchUser within
// a second, and that a process's watchers share one listening connection.
func TestTwoHostsWatch(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	a, b := host(t, dsn), host(t, dsn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := a.EnsureUser(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	var chans []<-chan struct{}
	for range 5 {
		ch, err := a.Watch(ctx, "u", "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		chans = append(chans, ch)
	}
	uch, err := a.WatchUser(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	chans = append(chans, uch)
	for _, ch := range chans {
		drain(ch)
	}
	r, err := b.Append(ctx, "u", "INBOX", message("Subject: x\r\n\r\nhello\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	for i, ch := range chans {
		waitWake(t, ch, time.Second, fmt.Sprintf("watcher %d after APPEND on the other host", i))
	}
	if _, err := b.UpdateFlags(ctx, "u", "INBOX", []imap.UID{r.UID}, ports.FlagsAdd, []string{imap.FlagSeen}); err != nil {
		t.Fatal(err)
	}
	waitWake(t, chans[0], time.Second, "after STORE on the other host")
	// One LISTEN connection serves all six watchers of host a.
	if n := listening(t, dsn); n != 1 {
		t.Errorf("%d listening connections, want 1 for host a's six watchers", n)
	}
}

// listening counts the connections of dsn's database that LISTEN.
func listening(t *testing.T, dsn string) int {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int
	if err := c.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
		AND query LIKE 'LISTEN%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestListenerLingers checks that a process keeps its listening
// connection only while something watches (and a little after): a process
// whose sessions do not IDLE holds no connection for it.
func TestListenerLingers(t *testing.T) {
	defer postgres.SetListenLinger(postgres.SetListenLinger(200 * time.Millisecond))
	dsn := pgtest.Shared(t).NewDatabase(t)
	s := host(t, dsn)
	ctx := context.Background()
	if err := s.EnsureUser(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		wctx, cancel := context.WithCancel(ctx)
		if _, err := s.Watch(wctx, "u", "INBOX"); err != nil {
			t.Fatal(err)
		}
		if n := listening(t, dsn); n != 1 {
			t.Errorf("round %d: %d listening connections while watching, want 1", round, n)
		}
		cancel()
		deadline := time.Now().Add(5 * time.Second)
		for listening(t, dsn) != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the listening connection outlived its watchers", round)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TestRestartUnderLoad kills the database in the middle of appends from
// several goroutines and starts it again: while it is down operations fail
// with imap.ErrUnavailable (which sessions answer with NO [UNAVAILABLE]),
// every acknowledged message survives whole, the counters stay exact,
// writes work again once it is back, and watchers are woken after the
// listener's reconnect and keep working.
func TestRestartUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts the database")
	}
	srv := pgtest.Shared(t)
	dsn := srv.NewDatabase(t)
	s, other := host(t, dsn), host(t, dsn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.EnsureUser(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	watch, err := s.Watch(ctx, "u", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	type ack struct {
		uid  imap.UID
		body string
	}
	var (
		mu       sync.Mutex
		acks     []ack
		failures = map[string]int{}
		bad      []error
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf("Subject: %d-%d\r\n\r\n%s", g, i, bytes.Repeat([]byte{'a' + byte(i%26)}, 300<<10))
				r, err := s.Append(ctx, "u", "INBOX", message(body))
				mu.Lock()
				switch {
				case err == nil:
					acks = append(acks, ack{r.UID, body})
				case errors.Is(err, imap.ErrUnavailable):
					failures["unavailable"]++
				default:
					bad = append(bad, err)
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acks) }
	for count() < 8 {
		time.Sleep(10 * time.Millisecond)
	}
	srv.Kill()
	time.Sleep(500 * time.Millisecond)
	if _, err := s.Status(ctx, "u", "INBOX"); !errors.Is(err, imap.ErrUnavailable) {
		t.Errorf("Status while the database is down: %v, want ErrUnavailable", err)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	before := count()
	deadline := time.Now().Add(20 * time.Second)
	for count() < before+8 {
		if time.Now().After(deadline) {
			t.Fatal("no APPEND succeeded after the restart")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d acknowledged, failures %v", len(acks), failures)
	for _, err := range bad {
		t.Errorf("APPEND failed with %v, want ErrUnavailable", err)
	}
	if failures["unavailable"] == 0 {
		t.Error("no APPEND failed while the database was down")
	}
	// The listener came back: a change on the other host wakes the
	// watcher again.
	drain(watch)
	if _, err := other.Append(ctx, "u", "INBOX", message("after\r\n")); err != nil {
		t.Fatal(err)
	}
	waitWake(t, watch, 3*time.Second, "after the restart")

	st, metas, err := s.Snapshot(ctx, "u", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	stored := map[imap.UID]bool{}
	for _, m := range metas {
		stored[m.UID] = true
	}
	for _, a := range acks {
		if !stored[a.uid] {
			t.Errorf("acknowledged UID %d lost", a.uid)
			continue
		}
		b, err := s.Open(ctx, "u", "INBOX", a.uid)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(io.NewSectionReader(b, 0, b.Size()))
		b.Close()
		if err != nil || string(got) != a.body {
			t.Errorf("UID %d: %d bytes, %v; differs from what was acknowledged", a.uid, len(got), err)
		}
	}
	kept, err := s.Status(ctx, "u", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if kept != st {
		t.Errorf("kept counters %+v, counted %+v", kept, st)
	}
}

// TestUnstorableNames: names PostgreSQL's text cannot hold (NUL, invalid
// UTF-8) are never found, and unsubscribing from one is no error
// (ports.Store: unsubscribing from a name not subscribed is allowed).
func TestUnstorableNames(t *testing.T) {
	s := host(t, pgtest.Shared(t).NewDatabase(t))
	ctx := context.Background()
	if err := s.EnsureUser(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a\x00b", "a\xffb"} {
		if err := s.SetSubscribed(ctx, "u", name, false); err != nil {
			t.Errorf("unsubscribe %q: %v", name, err)
		}
		if _, err := s.Open(ctx, "u", name, 1); !errors.Is(err, imap.ErrNonexistent) {
			t.Errorf("Open in %q: %v, want ErrNonexistent", name, err)
		}
	}
}

// TestTwoHostsCondstore: two hosts change the flags of the same messages
// at once with UNCHANGEDSINCE (RFC 7162 3.1.3) from the same mod-sequence:
// for each message exactly one of them wins, the other is told it was
// modified, and both then see the same flags and mod-sequences, the
// winner's change carrying a mod-sequence above the one both started from.
func TestTwoHostsCondstore(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	hosts := []*postgres.Store{host(t, dsn), host(t, dsn)}
	ctx := context.Background()
	if err := hosts[0].EnsureUser(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	var uids []imap.UID
	for i := range 20 {
		r, err := hosts[0].Append(ctx, "u", "INBOX", message(fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i)))
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, r.UID)
	}
	for round := range 10 {
		st, err := hosts[0].Status(ctx, "u", "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		since := st.HighestModSeq
		type answer struct {
			updated  []ports.MessageMeta
			modified []imap.UID
			err      error
		}
		answers := make([]answer, 2)
		var wg sync.WaitGroup
		for i, h := range hosts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				flag := fmt.Sprintf("$Host%d-%d", i, round)
				u, m, err := h.UpdateFlagsIf(ctx, "u", "INBOX", uids, ports.FlagsReplace, []string{flag}, since)
				answers[i] = answer{u, m, err}
			}()
		}
		wg.Wait()
		winners := map[imap.UID]int{}
		for i, a := range answers {
			if a.err != nil {
				t.Fatalf("round %d, host %d: %v", round, i, a.err)
			}
			for _, m := range a.updated {
				if m.ModSeq <= since {
					t.Errorf("round %d, host %d: UID %d changed with modseq %d, not above %d", round, i, m.UID, m.ModSeq, since)
				}
				winners[m.UID]++
			}
			if len(a.updated)+len(a.modified) != len(uids) {
				t.Errorf("round %d, host %d: %d updated + %d modified, want %d", round, i, len(a.updated), len(a.modified), len(uids))
			}
		}
		for _, u := range uids {
			if winners[u] != 1 {
				t.Errorf("round %d: UID %d changed by %d hosts, want exactly 1", round, u, winners[u])
			}
		}
		_, a, err := hosts[0].Snapshot(ctx, "u", "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		_, b, err := hosts[1].Snapshot(ctx, "u", "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("round %d: the hosts disagree:\n%v\n%v", round, a, b)
		}
	}
}

// TestOpenWhileDatabaseDown checks that a store opens while its database
// cannot be reached, as a process starting during an outage does: its
// operations fail as unavailable, and once the database is back the
// first one creates the schema and succeeds.
func TestOpenWhileDatabaseDown(t *testing.T) {
	pg, err := pgtest.Start(pgtest.Options{})
	if err != nil {
		pgtest.Unavailable(t, err)
	}
	defer pg.Stop()
	db, err := pg.CreateDatabase()
	if err != nil {
		t.Fatal(err)
	}
	pg.Kill()
	s := host(t, pg.DSN(db))
	ctx := context.Background()
	if err := s.EnsureUser(ctx, "u"); !errors.Is(err, imap.ErrUnavailable) {
		t.Fatalf("EnsureUser with the database down: %v, want unavailable", err)
	}
	if err := pg.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureUser(ctx, "u"); err != nil {
		t.Fatalf("EnsureUser once the database is back: %v", err)
	}
	if _, err := s.Append(ctx, "u", "INBOX", message("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatalf("Append once the database is back: %v", err)
	}
}
