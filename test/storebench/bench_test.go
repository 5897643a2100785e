// Package storebench measures the store adapters side by side through the
// port alone, so that one `go test -bench` run compares them:
// BenchmarkStore/<operation>/<adapter>. TestStoreRatios (run only when
// STOREBENCH_RATIOS is set) prints the maildir/sqlite and postgres/sqlite
// ratios of each. The postgres adapter runs on a PostgreSQL server private
// to the run (test/pgtest, fsync on), when one can be started.
package storebench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/store/maildir"
	"github.com/imapd-go/imapd/adapters/store/sqlite"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// adapter is one backend under measure.
type adapter struct {
	name string
	open func(dir string) (ports.Store, error)
}

var adapters = []adapter{
	{"sqlite", func(dir string) (ports.Store, error) { return sqlite.Open(dir) }},
	{"maildir", func(dir string) (ports.Store, error) { return maildir.Open(dir) }},
}

// bigCount is the size of the large mailbox; built once per run and
// adapter by appending bigDistinct messages and copying them.
const (
	bigCount    = 100000
	bigDistinct = 1000
	bigBox      = "big"
	user        = "u"
)

var (
	tmpRoot  string
	bigOnce  = map[string]*sync.Once{}
	bigStore = map[string]ports.Store{}
	bigErr   = map[string]error{}
)

func TestMain(m *testing.M) {
	var err error
	tmpRoot, err = os.MkdirTemp("", "storebench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := addPostgres(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, a := range adapters {
		bigOnce[a.name] = new(sync.Once)
	}
	code := m.Run()
	for _, s := range bigStore {
		s.Close()
	}
	stopPostgres()
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// message is a 4 KB message with a distinct subject.
func message(i int, flags ...string) ports.NewMessage {
	body := fmt.Sprintf("From: a@example.org\r\nSubject: message %d\r\n\r\n", i) +
		strings.Repeat("0123456789abcdef", 256)
	return ports.NewMessage{Flags: flags, InternalDate: time.Now(), Size: int64(len(body)),
		Body: strings.NewReader(body), Structure: bytes.Repeat([]byte("s"), 200)}
}

// fresh opens an empty store of the adapter with user u.
func fresh(b testing.TB, a adapter) ports.Store {
	b.Helper()
	dir, err := os.MkdirTemp(tmpRoot, a.name+"-")
	if err != nil {
		b.Fatal(err)
	}
	s, err := a.open(dir)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.EnsureUser(context.Background(), user); err != nil {
		b.Fatal(err)
	}
	return s
}

// big returns the adapter's store holding the 100,000-message mailbox.
func big(b testing.TB, a adapter) ports.Store {
	b.Helper()
	bigOnce[a.name].Do(func() {
		s := fresh(b, a)
		bigStore[a.name] = s
		bigErr[a.name] = fill(s)
	})
	if err := bigErr[a.name]; err != nil {
		b.Fatalf("building the large mailbox: %v", err)
	}
	return bigStore[a.name]
}

func fill(s ports.Store) error {
	ctx := context.Background()
	if err := s.CreateMailbox(ctx, user, bigBox); err != nil {
		return err
	}
	uids := make([]imap.UID, 0, bigDistinct)
	for i := range bigDistinct {
		flags := []string{imap.FlagSeen}
		if i%7 == 0 {
			flags = append(flags, "$Label")
		}
		r, err := s.Append(ctx, user, bigBox, message(i, flags...))
		if err != nil {
			return err
		}
		uids = append(uids, r.UID)
	}
	for range bigCount/bigDistinct - 1 {
		if _, err := s.Copy(ctx, user, bigBox, uids, bigBox); err != nil {
			return err
		}
	}
	st, err := s.Status(ctx, user, bigBox)
	if err == nil && st.Messages != bigCount {
		err = fmt.Errorf("%d messages, want %d", st.Messages, bigCount)
	}
	return err
}

func allUIDs(b testing.TB, s ports.Store, box string) []imap.UID {
	_, metas, err := s.Snapshot(context.Background(), user, box)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]imap.UID, len(metas))
	for i, m := range metas {
		out[i] = m.UID
	}
	return out
}

// ops are the measured operations, by name.
var ops = []struct {
	name string
	fn   func(b *testing.B, a adapter)
}{
	{"Append", benchAppend},
	{"Snapshot100k", benchSnapshot},
	{"FetchFlagsAll100k", benchFetchAll},
	{"UpdateFlags10", benchUpdateFlags},
	{"NewKeyword100k", benchNewKeyword},
	{"Expunge10pct100k", benchExpunge},
}

func BenchmarkStore(b *testing.B) {
	for _, op := range ops {
		b.Run(op.name, func(b *testing.B) {
			for _, a := range adapters {
				b.Run(a.name, func(b *testing.B) { op.fn(b, a) })
			}
		})
	}
}

// benchAppend: one durable APPEND of a 4 KB message.
func benchAppend(b *testing.B, a adapter) {
	s := fresh(b, a)
	defer s.Close()
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if _, err := s.Append(ctx, user, "INBOX", message(i, imap.FlagSeen)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// benchSnapshot: SELECT's view of the 100,000-message mailbox.
func benchSnapshot(b *testing.B, a adapter) {
	s := big(b, a)
	ctx := context.Background()
	for b.Loop() {
		_, metas, err := s.Snapshot(ctx, user, bigBox)
		if err != nil || len(metas) != bigCount {
			b.Fatalf("%d messages, %v", len(metas), err)
		}
	}
}

// benchFetchAll: FETCH 1:* FLAGS (with the records FETCH reads) of the
// 100,000-message mailbox.
func benchFetchAll(b *testing.B, a adapter) {
	s := big(b, a)
	ctx := context.Background()
	uids := allUIDs(b, s, bigBox)
	for b.Loop() {
		recs, err := s.Fetch(ctx, user, bigBox, uids)
		if err != nil || len(recs) != bigCount {
			b.Fatalf("%d records, %v", len(recs), err)
		}
	}
}

// benchUpdateFlags: a durable STORE toggling \Flagged on 10 messages of
// the 100,000-message mailbox.
func benchUpdateFlags(b *testing.B, a adapter) {
	s := big(b, a)
	ctx := context.Background()
	uids := allUIDs(b, s, bigBox)[5000:5010]
	op := ports.FlagsAdd
	for b.Loop() {
		metas, err := s.UpdateFlags(ctx, user, bigBox, uids, op, []string{imap.FlagFlagged})
		if err != nil || len(metas) != len(uids) {
			b.Fatalf("%d touched, %v", len(metas), err)
		}
		if op == ports.FlagsAdd {
			op = ports.FlagsRemove
		} else {
			op = ports.FlagsAdd
		}
	}
}

// benchExpunge: EXPUNGE of 10% (every tenth message) of a
// 100,000-message mailbox, prepared outside the timer by copying the large
// mailbox.
func benchExpunge(b *testing.B, a adapter) {
	s := big(b, a)
	ctx := context.Background()
	src := allUIDs(b, s, bigBox)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		box := fmt.Sprintf("expunge%d", i)
		if err := s.CreateMailbox(ctx, user, box); err != nil {
			b.Fatal(err)
		}
		res, err := s.Copy(ctx, user, bigBox, src, box)
		if err != nil {
			b.Fatal(err)
		}
		var victims []imap.UID
		for k, u := range res.Dest {
			if k%10 == 0 {
				victims = append(victims, u)
			}
		}
		if _, err := s.UpdateFlags(ctx, user, box, victims, ports.FlagsAdd, []string{imap.FlagDeleted}); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Status(ctx, user, box); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		gone, err := s.Expunge(ctx, user, box, nil)
		if err != nil || len(gone) != len(victims) {
			b.Fatalf("expunged %d, want %d: %v", len(gone), len(victims), err)
		}
		b.StopTimer()
		if err := s.DeleteMailbox(ctx, user, box); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// TestStoreRatios prints, for each operation, the time per operation of
// each adapter and its ratio to sqlite's. It runs only when
// STOREBENCH_RATIOS is set (it takes a minute or two):
//
//	STOREBENCH_RATIOS=1 go test -run TestStoreRatios -v ./test/storebench
func TestStoreRatios(t *testing.T) {
	if os.Getenv("STOREBENCH_RATIOS") == "" {
		t.Skip("set STOREBENCH_RATIOS=1 to measure")
	}
	var out strings.Builder
	fmt.Fprintf(&out, "\n%-20s", "operation")
	for _, a := range adapters {
		fmt.Fprintf(&out, " %14s", a.name)
	}
	for _, a := range adapters[1:] {
		fmt.Fprintf(&out, " %16s", a.name+"/sqlite")
	}
	out.WriteString("\n")
	for _, op := range ops {
		per := map[string]time.Duration{}
		for _, a := range adapters {
			r := testing.Benchmark(func(b *testing.B) { op.fn(b, a) })
			if r.N == 0 {
				t.Fatalf("%s on %s failed", op.name, a.name)
			}
			per[a.name] = time.Duration(r.NsPerOp())
		}
		fmt.Fprintf(&out, "%-20s", op.name)
		for _, a := range adapters {
			fmt.Fprintf(&out, " %14v", per[a.name])
		}
		for _, a := range adapters[1:] {
			fmt.Fprintf(&out, " %15.2fx", float64(per[a.name])/float64(per["sqlite"]))
		}
		out.WriteString("\n")
	}
	t.Log(out.String())
}
