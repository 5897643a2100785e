package app_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
)

// syncMailbox copies the 10,000-message mailbox into a fresh one for a
// benchmark that changes flags, and returns its name.
func syncMailbox(b *testing.B, s *benchServer, name string) {
	ctx := context.Background()
	s.store.DeleteMailbox(ctx, "alice", name) // left by an earlier round
	if err := s.store.CreateMailbox(ctx, "alice", name); err != nil {
		b.Fatal(err)
	}
	_, metas, err := s.store.Snapshot(ctx, "alice", "INBOX")
	if err != nil {
		b.Fatal(err)
	}
	uids := make([]imap.UID, len(metas))
	for i, m := range metas {
		uids[i] = m.UID
	}
	if _, err := s.store.Copy(ctx, "alice", "INBOX", uids, name); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkResync10k compares what a client that was offline pays to
// catch up after 100 flag changes on a 10,000-message mailbox: QRESYNC
// (RFC 7162: only the changes) against a full FETCH 1:* (FLAGS).
func BenchmarkResync10k(b *testing.B) {
	for _, mode := range []string{"qresync", "full"} {
		b.Run(mode, func(b *testing.B) {
			s := prepareBig(b)
			box := "Sync-" + mode
			syncMailbox(b, s, box)
			c := s.connect(b)
			defer c.close()
			other := s.connect(b)
			defer other.close()
			c.cmd("l", "LOGIN alice secret")
			other.cmd("l", "LOGIN alice secret")
			other.cmd("s", "SELECT "+box)
			c.cmd("e", "ENABLE QRESYNC")
			st, err := s.store.Status(context.Background(), "alice", box)
			if err != nil {
				b.Fatal(err)
			}
			uidv := strconv.FormatUint(uint64(st.UIDValidity), 10)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				st, _ := s.store.Status(context.Background(), "alice", box)
				known := strconv.FormatUint(st.HighestModSeq, 10)
				// 100 flag changes spread over the mailbox, by another client:
				// set on even rounds, cleared on the next.
				var set []string
				for j := 0; j < 100; j++ {
					set = append(set, strconv.Itoa(1+(j*97+(i/2)*13)%10000))
				}
				op := "+FLAGS"
				if i%2 == 1 {
					op = "-FLAGS"
				}
				other.cmd("f", "STORE "+strings.Join(set, ",")+" "+op+".SILENT (\\Flagged)")
				b.StartTimer()
				switch mode {
				case "qresync":
					if n := c.cmd("s", "SELECT "+box+" (QRESYNC ("+uidv+" "+known+"))"); n < 100 {
						b.Fatalf("QRESYNC reported %d responses (known %s, uidv %s)", n, known, uidv)
					}
				case "full":
					c.cmd("s", "SELECT "+box)
					if n := c.cmd("f", "FETCH 1:* (FLAGS)"); n != bigCount {
						b.Fatalf("FETCH returned %d", n)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/resync")
		})
	}
}
