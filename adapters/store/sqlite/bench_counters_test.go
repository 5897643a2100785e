package sqlite_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/store/sqlite"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// BenchmarkChangesSinceAfterChange measures what a session's NOOP (or
// IDLE wake-up) asks of the store after another process changed its
// 100,000-message mailbox: one new message, one expunged, or \Seen set
// on or taken off one. The change goes through a second handle and is
// not timed; a handle of its own is another process, so nothing the
// first one kept can answer for the changed mailbox.
func BenchmarkChangesSinceAfterChange(b *testing.B) {
	for _, change := range []string{"new", "expunge", "seen"} {
		b.Run(change, func(b *testing.B) {
			dir := b.TempDir()
			s, err := sqlite.Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			if err := s.EnsureUser(ctx, "u"); err != nil {
				b.Fatal(err)
			}
			if err := sqlite.BulkAppend(s, "u", "INBOX", 100000, []byte("Subject: x\r\n\r\nbody\r\n"), `\Seen $Label`); err != nil {
				b.Fatal(err)
			}
			// The session selected the mailbox: its messages are no
			// longer \Recent, whose count is the range of UIDs since.
			if _, _, err := s.ClaimRecent(ctx, "u", "INBOX"); err != nil {
				b.Fatal(err)
			}
			other, err := sqlite.Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			defer other.Close()
			st, err := s.Status(ctx, "u", "INBOX")
			if err != nil {
				b.Fatal(err)
			}
			modseq := st.HighestModSeq
			body := "Subject: new\r\n\r\nhello\r\n"
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				switch uid := imap.UID(1 + i%100000); change {
				case "new":
					_, err = other.Append(ctx, "u", "INBOX", ports.NewMessage{InternalDate: time.Now(),
						Size: int64(len(body)), Body: strings.NewReader(body), Structure: []byte("s")})
				case "expunge":
					if _, err = other.UpdateFlags(ctx, "u", "INBOX", []imap.UID{uid}, ports.FlagsAdd, []string{imap.FlagDeleted}); err == nil {
						_, err = other.Expunge(ctx, "u", "INBOX", []imap.UID{uid})
					}
				case "seen":
					op := ports.FlagsRemove
					if i%200000 >= 100000 {
						op = ports.FlagsAdd
					}
					_, err = other.UpdateFlags(ctx, "u", "INBOX", []imap.UID{uid}, op, []string{imap.FlagSeen})
				}
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				ch, err := s.ChangesSince(ctx, "u", "INBOX", modseq)
				if err != nil {
					b.Fatal(err)
				}
				modseq = ch.Status.HighestModSeq
			}
		})
	}
}

// BenchmarkAppendAll100 measures a batch of 100 APPENDs of 4 KB messages
// in one transaction (MULTIAPPEND, or LMTP's AppendAll): one fsync for
// 100 messages, so that what each message costs the database (the
// triggers that keep the counters and the search index among it) shows
// through the commit's wait.
func BenchmarkAppendAll100(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	body := strings.Repeat("0123456789abcdef", 256)
	msgs := make([]ports.NewMessage, 100)
	b.SetBytes(int64(len(msgs) * len(body)))
	cpu := cpuTime()
	for b.Loop() {
		for i := range msgs {
			msgs[i] = ports.NewMessage{Flags: []string{`\Seen`}, InternalDate: time.Now(), Size: int64(len(body)),
				Body: strings.NewReader(body), Structure: []byte("s")}
		}
		if _, err := s.AppendAll(ctx, "u", "INBOX", msgs); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}
