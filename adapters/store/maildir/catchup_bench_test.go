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
			noCompaction(b)
			s, dir := userStore(b)
			var gone []imap.UID
			for range 1000 {
				gone = append(gone, appendTo(b, s, smallBody))
			}
			expunge(b, s, gone...)
			for range 20 {
				appendTo(b, s, smallBody)
			}
			m, old := inboxIndex(b, s)
			other, err := Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			for range behind {
				expunge(b, other, appendTo(b, other, smallBody))
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
			s, dir := userStore(b)
			for i := range 620 {
				if u := appendTo(b, s, smallBody); i >= 20 {
					expunge(b, s, u)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				fresh, err := Open(dir)
				if err != nil {
					b.Fatal(err)
				}
				if _, x := inboxIndex(b, fresh); x.msgs.len() != 20 || len(x.tombs) != 600 {
					b.Fatalf("%d messages, %d tombstones", x.msgs.len(), len(x.tombs))
				}
			}
		})
	}
}

// noCompaction keeps every change in the log until the test ends.
func noCompaction(tb testing.TB) {
	oldBytes, oldFrames := logLimit, frameLimit
	logLimit, frameLimit = 1<<40, 1<<30
	tb.Cleanup(func() { logLimit, frameLimit = oldBytes, oldFrames })
}

// userStore opens a store on a new folder with the user "u".
func userStore(tb testing.TB) (*Store, string) {
	dir := tb.TempDir()
	s, err := Open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.EnsureUser(context.Background(), "u"); err != nil {
		tb.Fatal(err)
	}
	return s, dir
}

const smallBody = "From: a@example.com\r\nSubject: a message\r\nMessage-ID: <1@example.com>\r\n\r\nbody\r\n"

// inboxIndex returns u's INBOX in s and its index as s reads it.
func inboxIndex(tb testing.TB, s *Store) (*mailbox, *index) {
	m, err := s.box("t", "u", "INBOX")
	if err != nil {
		tb.Fatal(err)
	}
	x, err := s.readIndex(m)
	if err != nil {
		tb.Fatal(err)
	}
	return m, x
}

// appendTo appends body to u's INBOX with flags and returns its UID.
func appendTo(tb testing.TB, s *Store, body string, flags ...string) imap.UID {
	r, err := s.Append(context.Background(), "u", "INBOX", ports.NewMessage{Size: int64(len(body)), Body: strings.NewReader(body), Flags: flags})
	if err != nil {
		tb.Fatal(err)
	}
	return r.UID
}

// expunge flags the messages \Deleted and expunges them, as a client
// does with UID STORE and UID EXPUNGE.
func expunge(tb testing.TB, s *Store, uids ...imap.UID) {
	ctx := context.Background()
	if _, err := s.UpdateFlags(ctx, "u", "INBOX", uids, ports.FlagsAdd, []string{imap.FlagDeleted}); err != nil {
		tb.Fatal(err)
	}
	if _, err := s.Expunge(ctx, "u", "INBOX", uids); err != nil {
		tb.Fatal(err)
	}
}
