package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapd-go/imapd/app"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/ports"
)

// sortCorpusSize is the mailbox SORT and THREAD are measured on (the
// goal: each under 150 ms on 100,000 messages).
const sortCorpusSize = 100000

var (
	sortCorpusMu   sync.Mutex
	sortCorpusDirs = map[string]string{}
	// sortCorpusTemps are the corpora built in temporary folders (not
	// kept by IMAPD_BENCH_SORT_KEEP), which TestMain removes.
	sortCorpusTemps []string
)

// sortCorpusMessage is message i of a mailbox of threads: one message in
// four starts a thread, the others answer an earlier message of the last
// few threads with References (and Re: subjects), with dates that mostly,
// not always, follow arrival, and encoded words now and then.
func sortCorpusMessage(r *rand.Rand, i int, roots *[]int) string {
	names := []string{"Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "=?UTF-8?Q?=C3=89mile?="}
	words := strings.Fields("quarterly report meeting notes budget plan review draft release party lunch offsite hiring design launch")
	date := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i)*7*time.Minute - time.Duration(r.IntN(600))*time.Minute)
	var b strings.Builder
	from := names[r.IntN(len(names))]
	fmt.Fprintf(&b, "From: %s <%s@example.org>\r\nTo: %s <to%d@example.org>\r\n", from, strings.ToLower(from[:3]), names[r.IntN(len(names))], r.IntN(50))
	if r.IntN(3) == 0 {
		fmt.Fprintf(&b, "Cc: cc%d@example.org\r\n", r.IntN(40))
	}
	fmt.Fprintf(&b, "Date: %s\r\nMessage-ID: <m%d@example.org>\r\n", date.Format(time.RFC1123Z), i)
	if len(*roots) == 0 || r.IntN(4) == 0 {
		*roots = append(*roots, i)
		fmt.Fprintf(&b, "Subject: %s %s %d\r\n", words[r.IntN(len(words))], words[r.IntN(len(words))], i%5000)
	} else {
		recent := *roots
		if len(recent) > 50 {
			recent = recent[len(recent)-50:]
		}
		root := recent[r.IntN(len(recent))]
		parent := root + r.IntN(min(4, i-root))
		fmt.Fprintf(&b, "Subject: Re: thread %d\r\nIn-Reply-To: <m%d@example.org>\r\nReferences: <m%d@example.org> <m%d@example.org>\r\n", root, parent, root, parent)
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nHello.\r\n")
	return b.String()
}

// sortCorpusServer is a server on a store of the given kind whose alice's
// INBOX holds the sort corpus, built once per process with AppendAll.
// With records, each message carries its sort record as APPEND gives it
// (app.StampSortRecord); without, the mailbox is as one stored before
// records were kept.
func sortCorpusServer(b *testing.B, kind string, records bool) (*benchServer, ports.Store) {
	sortCorpusMu.Lock()
	defer sortCorpusMu.Unlock()
	corpus := kind
	if records {
		corpus += "+records"
	}
	dir, ok := sortCorpusDirs[corpus]
	// IMAPD_BENCH_SORT_KEEP names a folder where the corpora are kept
	// from one run to the next (building one takes a minute or so).
	if keep := os.Getenv("IMAPD_BENCH_SORT_KEEP"); !ok && keep != "" {
		dir = filepath.Join(keep, corpus)
		if _, err := os.Stat(filepath.Join(dir, "built")); err == nil {
			sortCorpusDirs[corpus], ok = dir, true
		} else if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		} else if err := os.MkdirAll(dir, 0o700); err != nil {
			b.Fatal(err)
		}
	}
	if !ok {
		var err error
		if dir == "" {
			if dir, err = os.MkdirTemp("", "imapd-bench-sort-"); err != nil {
				b.Fatal(err)
			}
			sortCorpusTemps = append(sortCorpusTemps, dir)
		}
		sortCorpusDirs[corpus] = dir
		st := openBenchStore(b, kind, dir)
		ctx := context.Background()
		if err := st.EnsureUser(ctx, "alice"); err != nil {
			b.Fatal(err)
		}
		r := rand.New(rand.NewPCG(3, 4))
		var roots []int
		base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		const batch = 1000
		for start := 0; start < sortCorpusSize; start += batch {
			msgs := make([]ports.NewMessage, 0, batch)
			for i := start; i < start+batch; i++ {
				raw := sortCorpusMessage(r, i, &roots)
				st, err := message.Parse(strings.NewReader(raw))
				if err != nil {
					b.Fatal(err)
				}
				blob, err := st.MarshalBinary()
				if err != nil {
					b.Fatal(err)
				}
				msg := ports.NewMessage{InternalDate: base.Add(time.Duration(i) * 7 * time.Minute),
					Size: int64(len(raw)), Body: strings.NewReader(raw), Structure: blob}
				if records {
					app.StampSortRecord(&msg)
				}
				msgs = append(msgs, msg)
			}
			if _, err := st.AppendAll(ctx, "alice", "INBOX", msgs); err != nil {
				b.Fatal(err)
			}
		}
		st.Close()
		if err := os.WriteFile(filepath.Join(dir, "built"), nil, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	st := openBenchStore(b, kind, dir)
	b.Cleanup(func() { st.Close() })
	return newBenchServerOn(b, dir, st), st
}

// sortBenchCmds are the commands the SORT benchmarks time: SORT by
// ARRIVAL, DATE, SUBJECT and FROM, and THREAD=REFERENCES.
var sortBenchCmds = []struct{ name, cmd string }{
	{"arrival", "SORT (ARRIVAL) UTF-8 ALL"},
	{"date", "SORT (DATE) UTF-8 ALL"},
	{"subject", "SORT (SUBJECT) UTF-8 ALL"},
	{"from", "SORT (FROM) UTF-8 ALL"},
	{"thread-references", "THREAD REFERENCES UTF-8 ALL"},
}

// BenchmarkSort measures SORT by ARRIVAL, DATE, SUBJECT and FROM and
// THREAD=REFERENCES over all of a 100,000-message mailbox, on each store,
// in ms per command (goal: under 150). The process has sorted the
// mailbox once before (its sort records are cached, as in a webmail
// session paging through a listing); BenchmarkSortCold measures the first
// SORT of a process.
func BenchmarkSort(b *testing.B) {
	for _, kind := range []string{"sqlite", "maildir"} {
		for _, k := range sortBenchCmds {
			b.Run(kind+"/"+k.name, func(b *testing.B) {
				s, _ := sortCorpusServer(b, kind, false)
				c := s.connect(b)
				defer c.close()
				c.cmd("l", "LOGIN alice secret")
				c.cmd("s", "EXAMINE INBOX")
				c.cmd("w", k.cmd)
				b.ResetTimer()
				cpu := cpuTime()
				for i := 0; i < b.N; i++ {
					c.cmd("q", k.cmd)
				}
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
				b.ReportMetric(float64((cpuTime()-cpu).Milliseconds())/float64(b.N), "cpu-ms/op")
			})
		}
	}
}

// BenchmarkSortCold measures the first SORT or THREAD of a process on the
// 100,000-message mailbox, which an earlier process sorted (so that the
// store holds the mailbox's sort records, ports.SortRecords); the "first"
// cases measure the first SORT ever, which computes every record from the
// structure blobs and saves them.
func BenchmarkSortCold(b *testing.B) {
	for _, kind := range []string{"sqlite", "maildir"} {
		b.Run(kind+"/first-date", func(b *testing.B) {
			s, st := sortCorpusServer(b, kind, false)
			timeFirstCommand(b, "SORT (DATE) UTF-8 ALL", func() (*benchServer, func()) {
				// An unreadable list counts as none.
				if sr, ok := st.(ports.SortRecords); ok {
					ctx := context.Background()
					stat, err := st.Status(ctx, "alice", "INBOX")
					if err == nil {
						err = sr.SaveSortRecords(ctx, "alice", "INBOX", stat.UIDValidity, []byte{0})
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				return newBenchServerOn(b, s.dir, st), func() {}
			})
		})
		for _, k := range sortBenchCmds {
			b.Run(kind+"/"+k.name, func(b *testing.B) {
				s, st := sortCorpusServer(b, kind, false)
				b.StopTimer()
				prime := newBenchServerOn(b, s.dir, st).connect(b)
				prime.cmd("l", "LOGIN alice secret")
				prime.cmd("s", "EXAMINE INBOX")
				prime.cmd("q", "SORT (ARRIVAL) UTF-8 ALL")
				prime.close()
				b.StartTimer()
				timeFirstCommand(b, k.cmd, func() (*benchServer, func()) {
					return newBenchServerOn(b, s.dir, st), func() {}
				})
			})
		}
		// The first SORT or THREAD ever of a mailbox whose messages all
		// came with their sort records (APPEND, COPY, MOVE, delivery,
		// migration), in a store opened afresh for each (nothing cached
		// in the process): the records are read, none computed.
		for _, k := range sortBenchCmds {
			b.Run(kind+"/appended-"+k.name, func(b *testing.B) {
				s, st := sortCorpusServer(b, kind, true)
				st.Close()
				timeFirstCommand(b, k.cmd, func() (*benchServer, func()) {
					fresh := openBenchStore(b, kind, s.dir)
					return newBenchServerOn(b, s.dir, fresh), func() { fresh.Close() }
				})
			})
		}
	}
}

// timeFirstCommand times cmd as the first command (after LOGIN and
// EXAMINE INBOX) of a session of a new server, which fresh makes for each
// iteration, untimed, with what to do once the session is over; it
// reports the wall and the process's CPU milliseconds per command.
func timeFirstCommand(b *testing.B, cmd string, fresh func() (*benchServer, func())) {
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, done := fresh()
		c := s.connect(b)
		c.cmd("l", "LOGIN alice secret")
		c.cmd("s", "EXAMINE INBOX")
		b.StartTimer()
		t0 := cpuTime()
		c.cmd("q", cmd)
		cpu += cpuTime() - t0
		b.StopTimer()
		c.close()
		done()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}
