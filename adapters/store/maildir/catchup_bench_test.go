package maildir

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// BenchmarkCatchUp: a process catching up on the sessions other
// processes served on a mailbox since it last looked (each an APPEND, a
// flag change and an expunge of the new message, as in the mixed load),
// on a mailbox of 20 messages with 1,000 expunges behind it. With more
// processes serving a mailbox, each has more sessions to catch up on.
func BenchmarkCatchUp(b *testing.B) {
	for _, behind := range []int{16, 64} {
		b.Run(fmt.Sprintf("sessions=%d", behind), func(b *testing.B) {
			defer func(old int64) { logLimit = old }(logLimit)
			logLimit = 1 << 40 // no compaction: every session stays in the log
			ctx := context.Background()
			dir := b.TempDir()
			s, err := Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.EnsureUser(ctx, "u"); err != nil {
				b.Fatal(err)
			}
			body := "From: a@example.com\r\nSubject: a message\r\nMessage-ID: <1@example.com>\r\n\r\nbody\r\n"
			appendOne := func(s *Store) imap.UID {
				r, err := s.Append(ctx, "u", "INBOX", ports.NewMessage{Size: int64(len(body)), Body: strings.NewReader(body)})
				if err != nil {
					b.Fatal(err)
				}
				return r.UID
			}
			var gone []imap.UID
			for range 1000 {
				gone = append(gone, appendOne(s))
			}
			if _, err := s.UpdateFlags(ctx, "u", "INBOX", gone, ports.FlagsAdd, []string{imap.FlagDeleted}); err != nil {
				b.Fatal(err)
			}
			if _, err := s.Expunge(ctx, "u", "INBOX", gone); err != nil {
				b.Fatal(err)
			}
			for range 20 {
				appendOne(s)
			}
			m, err := s.box("t", "u", "INBOX")
			if err != nil {
				b.Fatal(err)
			}
			old, err := s.readIndex(m)
			if err != nil {
				b.Fatal(err)
			}
			other, err := Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			for range behind {
				u := appendOne(other)
				if _, err := other.UpdateFlags(ctx, "u", "INBOX", []imap.UID{u}, ports.FlagsAdd, []string{imap.FlagDeleted}); err != nil {
					b.Fatal(err)
				}
				if _, err := other.Expunge(ctx, "u", "INBOX", []imap.UID{u}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				x, err := catchUp(m, old)
				if err != nil || x.msgs.len() != 20 || len(x.tombs) != 1000+behind {
					b.Fatalf("%d messages, %d tombstones, %v", x.msgs.len(), len(x.tombs), err)
				}
			}
		})
	}
}

// BenchmarkDecode: reading a snapshot of 20 messages and 5,000
// tombstones, as every process does once after a compaction.
func BenchmarkDecode(b *testing.B) {
	x := &index{version: indexVersion, uidValidity: 1, uidNext: 5021, highest: 5021}
	for u := 1; u <= 5000; u++ {
		x.tombs = append(x.tombs, tomb{imap.UID(u), uint64(u)})
	}
	var msgs []entry
	for u := 5001; u <= 5020; u++ {
		msgs = append(msgs, entry{uid: imap.UID(u), modseq: uint64(u), date: 1700000000, size: 100,
			file: fmt.Sprintf("1700000000.M%dP1.host,U=%d:2,S", u, u), flags: []string{imap.FlagSeen}})
	}
	x.msgs = listOf(msgs)
	data := x.encode()
	b.ReportAllocs()
	for b.Loop() {
		y, err := decode(data)
		if err != nil || len(y.tombs) != 5000 || y.msgs.len() != 20 {
			b.Fatal(err)
		}
	}
}

// BenchmarkFirstLook: a process reading a mailbox for the first time (a
// new process under master, 250 sessions after the one it replaced) after
// 600 sessions of the mixed load were served on it: the snapshot, then
// every frame since. frameLimit bounds the frames; without it, a log of
// small messages holds all 1,800 of them (under logLimit's bytes).
func BenchmarkFirstLook(b *testing.B) {
	for _, limit := range []int{frameLimit, 1 << 30} {
		b.Run(fmt.Sprintf("frameLimit=%d", limit), func(b *testing.B) {
			defer func(old int) { frameLimit = old }(frameLimit)
			frameLimit = limit
			ctx := context.Background()
			dir := b.TempDir()
			s, err := Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.EnsureUser(ctx, "u"); err != nil {
				b.Fatal(err)
			}
			body := "From: a@example.com\r\nSubject: a message\r\nMessage-ID: <1@example.com>\r\n\r\nbody\r\n"
			for i := range 620 {
				r, err := s.Append(ctx, "u", "INBOX", ports.NewMessage{Size: int64(len(body)), Body: strings.NewReader(body)})
				if err != nil {
					b.Fatal(err)
				}
				if i < 20 {
					continue
				}
				if _, err := s.UpdateFlags(ctx, "u", "INBOX", []imap.UID{r.UID}, ports.FlagsAdd, []string{imap.FlagDeleted}); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Expunge(ctx, "u", "INBOX", []imap.UID{r.UID}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				fresh, err := Open(dir)
				if err != nil {
					b.Fatal(err)
				}
				m, err := fresh.box("t", "u", "INBOX")
				if err != nil {
					b.Fatal(err)
				}
				x, err := fresh.readIndex(m)
				if err != nil || x.msgs.len() != 20 || len(x.tombs) != 600 {
					b.Fatalf("%v", err)
				}
			}
		})
	}
}
