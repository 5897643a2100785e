package app_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/duplicates"
	"github.com/imapd-go/imapd/adapters/transport/stdio"
	"github.com/imapd-go/imapd/app/lmtp"
)

// everyone says every user exists: the benchmark's recipients need no
// password entries.
type everyone struct{}

func (everyone) UserExists(context.Context, string) (bool, error) { return true, nil }

// deliverySize is the size of the benchmark's messages.
const deliverySize = 2048

// BenchmarkDelivery measures deliveries per second (a message stored for
// one recipient) on each store: over LMTP with 1 and 10 connections and
// 1 and 20 recipients per message (duplicate suppression on, as by
// default), against imapctl deliver's path (app.Server.Deliver, without
// the process start) and IMAP APPEND, each with 1 and 10 at once. With
// one recipient every delivery goes to the same INBOX, as every APPEND
// does.
func BenchmarkDelivery(b *testing.B) {
	for _, kind := range []string{"sqlite", "maildir"} {
		for _, conns := range []int{1, 10} {
			for _, rcpts := range []int{1, 20} {
				b.Run(fmt.Sprintf("%s/lmtp/conns=%d/rcpts=%d", kind, conns, rcpts), func(b *testing.B) {
					benchLMTP(b, kind, conns, rcpts)
				})
			}
			b.Run(fmt.Sprintf("%s/deliver/conns=%d", kind, conns), func(b *testing.B) {
				dir := b.TempDir()
				st := openBenchStore(b, kind, dir)
				defer st.Close()
				s := newBenchServerOn(b, dir, st)
				var next atomic.Int64
				parallel(b, conns, 1, func(int) (func(), func(int)) {
					return func() {}, func(i int) {
						if _, err := s.srv.Deliver(context.Background(), "alice", "INBOX", strings.NewReader(benchMessage(i, deliverySize, ""))); err != nil {
							b.Error(err)
						}
					}
				}, &next)
			})
			b.Run(fmt.Sprintf("%s/append/conns=%d", kind, conns), func(b *testing.B) {
				dir := b.TempDir()
				st := openBenchStore(b, kind, dir)
				defer st.Close()
				s := newBenchServerOn(b, dir, st)
				var next atomic.Int64
				parallel(b, conns, 1, func(int) (func(), func(int)) {
					c := s.connect(b)
					c.cmd("l", "LOGIN alice secret")
					return c.close, func(i int) {
						msg := benchMessage(i, deliverySize, "")
						c.cmd("a", "APPEND INBOX {"+strconv.Itoa(len(msg))+"+}\r\n"+msg)
					}
				}, &next)
			})
		}
	}
}

// parallel runs b.N steps over conns workers, each set up by start (which
// returns its cleanup and its step), and reports deliveries/s: perStep
// deliveries per step.
func parallel(b *testing.B, conns, perStep int, start func(w int) (func(), func(i int)), next *atomic.Int64) {
	steps := make([]func(int), conns)
	for w := range conns {
		done, step := start(w)
		defer done()
		steps[w] = step
	}
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > b.N {
					return
				}
				steps[w](i)
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N*perStep)/b.Elapsed().Seconds(), "deliveries/s")
}

func benchLMTP(b *testing.B, kind string, conns, rcpts int) {
	dir := b.TempDir()
	st := openBenchStore(b, kind, dir)
	defer st.Close()
	// As lmtpd's wiring does (ProvideLMTPStore).
	if k, ok := st.(interface{ KeepOpen(int) }); ok {
		k.KeepOpen(256)
	}
	dups, err := duplicates.Open(dir, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer dups.Close()
	srv := lmtp.New(lmtp.Options{ServerName: "bench", DuplicateSuppression: true, DowncaseRcpt: true}, st, everyone{}, dups, nil,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	var envelope strings.Builder
	envelope.WriteString("MAIL FROM:<s@example.com>\r\n")
	for j := range rcpts {
		fmt.Fprintf(&envelope, "RCPT TO:<u%d@example.com>\r\n", j)
	}
	envelope.WriteString("DATA\r\n")
	var next atomic.Int64
	parallel(b, conns, rcpts, func(int) (func(), func(int)) {
		cli, srvConn := socketPair(b)
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.ServeConn(context.Background(), stdio.NewConn(srvConn, "bench", 0))
		}()
		r := bufio.NewReader(cli)
		expect := func(prefix string) {
			cli.SetReadDeadline(time.Now().Add(time.Minute))
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					b.Fatalf("read: %v", err)
				}
				if len(line) > 3 && line[3] == '-' {
					continue
				}
				if !strings.HasPrefix(line, prefix) {
					b.Fatalf("got %q, want %q", line, prefix)
				}
				return
			}
		}
		expect("220 ")
		io.WriteString(cli, "LHLO bench\r\n")
		expect("250 ")
		return func() { cli.Close(); <-done }, func(i int) {
			// The whole transaction in one write (PIPELINING).
			io.WriteString(cli, envelope.String()+benchMessage(i, deliverySize, "")+".\r\n")
			expect("250 2.1.0")
			for range rcpts {
				expect("250 2.1.5")
			}
			expect("354 ")
			for range rcpts {
				expect("250 2.1.5")
			}
		}
	}, &next)
}
