package sqlite_test

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/store/sqlite"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

func benchStore(b *testing.B) *sqlite.Store {
	b.Helper()
	s, err := sqlite.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.EnsureUser(context.Background(), "u"); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkAppend measures one durable APPEND (one fsynced commit) of a
// 4 KB message.
func BenchmarkAppend(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	body := bytes.Repeat([]byte("0123456789abcdef"), 256)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		_, err := s.Append(ctx, "u", "INBOX", ports.NewMessage{
			Flags: []string{`\Seen`}, InternalDate: time.Now(), Size: int64(len(body)),
			Body: bytes.NewReader(body), Structure: []byte("s"),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// big returns a store whose INBOX holds n messages.
func big(b *testing.B, n int) *sqlite.Store {
	b.Helper()
	s := benchStore(b)
	if err := sqlite.BulkAppend(s, "u", "INBOX", n, []byte("Subject: x\r\n\r\nbody\r\n"), `\Seen $Label`); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkSnapshot100k measures the SELECT of a 100,000-message mailbox.
func BenchmarkSnapshot100k(b *testing.B) {
	s := big(b, 100000)
	ctx := context.Background()
	for b.Loop() {
		_, metas, err := s.Snapshot(ctx, "u", "INBOX")
		if err != nil || len(metas) != 100000 {
			b.Fatalf("%d messages, %v", len(metas), err)
		}
	}
}

// BenchmarkFetchFlags measures a FETCH FLAGS of 100 scattered messages in
// a 100,000-message mailbox.
func BenchmarkFetchFlags(b *testing.B) {
	s := big(b, 100000)
	ctx := context.Background()
	uids := make([]imap.UID, 0, 100)
	for i := range 100 {
		uids = append(uids, imap.UID(1+i*997))
	}
	for b.Loop() {
		recs, err := s.Fetch(ctx, "u", "INBOX", uids)
		if err != nil || len(recs) != len(uids) {
			b.Fatalf("%d records, %v", len(recs), err)
		}
	}
}

// BenchmarkUpdateFlags measures a durable STORE that toggles \Flagged on 10
// consecutive messages of a 100,000-message mailbox.
func BenchmarkUpdateFlags(b *testing.B) {
	s := big(b, 100000)
	ctx := context.Background()
	uids := []imap.UID{500, 501, 502, 503, 504, 505, 506, 507, 508, 509}
	op := ports.FlagsAdd
	for b.Loop() {
		metas, err := s.UpdateFlags(ctx, "u", "INBOX", uids, op, []string{imap.FlagFlagged})
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

// BenchmarkReadBodies measures what FETCH 1:* BODY[] asks of the store:
// open each of 300 distinct 30 KB messages and read it whole in 16 KB
// pieces (the response writer's buffer).
func BenchmarkReadBodies(b *testing.B) { benchReadBodies(b, 300, 30<<10) }

// BenchmarkReadLargeBodies is BenchmarkReadBodies with 50 messages of
// 190 KB, three chunks each: the mail with attachments of the
// comparison's corpus.
func BenchmarkReadLargeBodies(b *testing.B) { benchReadBodies(b, 50, 190<<10) }

func benchReadBodies(b *testing.B, count, size int) {
	s := benchStore(b)
	ctx := context.Background()
	text := bytes.Repeat([]byte("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do.\r\n"), size/66)
	var uids []imap.UID
	var total int64
	for i := range count {
		msg := append([]byte("Subject: "+strconv.Itoa(i)+"\r\n\r\n"), text...)
		res, err := s.Append(ctx, "u", "INBOX", ports.NewMessage{
			InternalDate: time.Now(), Size: int64(len(msg)), Body: bytes.NewReader(msg), Structure: []byte("s"),
		})
		if err != nil {
			b.Fatal(err)
		}
		uids = append(uids, res.UID)
		total += int64(len(msg))
	}
	b.SetBytes(total)
	buf := make([]byte, 16<<10)
	for b.Loop() {
		for _, uid := range uids {
			m, err := s.Open(ctx, "u", "INBOX", uid)
			if err != nil {
				b.Fatal(err)
			}
			for off := int64(0); off < m.Size(); off += int64(len(buf)) {
				if _, err := m.ReadAt(buf, off); err != nil && err != io.EOF {
					b.Fatal(err)
				}
			}
			m.Close()
		}
	}
}
