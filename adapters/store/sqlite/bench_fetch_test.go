package sqlite_test

import (
	"bytes"
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// BenchmarkFetchRecords measures what FETCH 1:* ENVELOPE asks of the
// store in a 500-message mailbox: every record, structures of 1.4 KB
// (the size of a realistic message's, header and rendered texts
// included). Nothing changes the mailbox between fetches: the records
// the store kept answer.
func BenchmarkFetchRecords(b *testing.B) {
	benchFetchRecords(b, false)
}

// BenchmarkFetchRecordsChanged is BenchmarkFetchRecords with a flag of one
// message changed before each fetch (not timed): every fetch reads the
// message rows again.
func BenchmarkFetchRecordsChanged(b *testing.B) {
	benchFetchRecords(b, true)
}

func benchFetchRecords(b *testing.B, change bool) {
	s := benchStore(b)
	ctx := context.Background()
	structure := bytes.Repeat([]byte("s"), 1400)
	msg := []byte("Subject: x\r\n\r\nbody\r\n")
	var uids []imap.UID
	for range 500 {
		res, err := s.Append(ctx, "u", "INBOX", ports.NewMessage{
			Flags: []string{imap.FlagSeen}, InternalDate: time.Now(), Size: int64(len(msg)),
			Body: bytes.NewReader(msg), Structure: structure,
		})
		if err != nil {
			b.Fatal(err)
		}
		uids = append(uids, res.UID)
	}
	cpu := cpuTime()
	op := ports.FlagsAdd
	for b.Loop() {
		if change {
			b.StopTimer()
			if _, err := s.UpdateFlags(ctx, "u", "INBOX", uids[:1], op, []string{imap.FlagFlagged}); err != nil {
				b.Fatal(err)
			}
			if op == ports.FlagsAdd {
				op = ports.FlagsRemove
			} else {
				op = ports.FlagsAdd
			}
			b.StartTimer()
		}
		recs, err := s.Fetch(ctx, "u", "INBOX", uids)
		if err != nil || len(recs) != len(uids) {
			b.Fatalf("%d records, %v", len(recs), err)
		}
	}
	reportCPU(b, cpu)
}

// cpuTime is the process's user and system time so far: on a shared
// machine it varies much less than the wall-clock time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, since time.Duration) {
	b.ReportMetric(float64((cpuTime()-since).Microseconds())/float64(b.N), "cpu-us/op")
}

// BenchmarkChangesSince measures what every command asks of the store
// with a mailbox selected, when nothing changed: a 500-message mailbox.
func BenchmarkChangesSince(b *testing.B) {
	s := big(b, 500)
	ctx := context.Background()
	st, err := s.Status(ctx, "u", "INBOX")
	if err != nil {
		b.Fatal(err)
	}
	cpu := cpuTime()
	for b.Loop() {
		if _, err := s.ChangesSince(ctx, "u", "INBOX", st.HighestModSeq); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}
