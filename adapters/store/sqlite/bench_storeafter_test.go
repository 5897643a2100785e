package sqlite_test

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// BenchmarkUpdateFlagsAfterBodies measures what a STORE of \Flagged on
// ten messages asks of the store, the change and the read of changes
// that follows it at the command's end, in a mailbox of 500 messages of
// 30 KB (the comparison's corpus is about that size): right after every
// body was read (FETCH 1:* BODY[], untimed), and after an idle pause of
// about as long. The two should cost the same: reading bodies leaves
// nothing for a later change to pay. (A change after any pause costs
// more than one right after another: the disk and the CPUs idled
// meanwhile, so "pause" rather than changes back to back is the yardstick.)
func BenchmarkUpdateFlagsAfterBodies(b *testing.B) {
	// About as long as the untimed read of every body takes.
	const pause = 30 * time.Millisecond
	for _, name := range []string{"pause", "bodies"} {
		bodies := name == "bodies"
		b.Run(name, func(b *testing.B) {
			s := benchStore(b)
			ctx := context.Background()
			text := bytes.Repeat([]byte("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do.\r\n"), (30<<10)/66)
			var uids []imap.UID
			for i := range 500 {
				msg := append([]byte("Subject: "+strconv.Itoa(i)+"\r\n\r\n"), text...)
				res, err := s.Append(ctx, "u", "INBOX", ports.NewMessage{
					InternalDate: time.Now(), Size: int64(len(msg)), Body: bytes.NewReader(msg), Structure: []byte("s"),
				})
				if err != nil {
					b.Fatal(err)
				}
				uids = append(uids, res.UID)
			}
			buf := make([]byte, 16<<10)
			op := ports.FlagsAdd
			var since uint64
			for b.Loop() {
				if !bodies {
					b.StopTimer()
					time.Sleep(pause)
					b.StartTimer()
				}
				if bodies {
					b.StopTimer()
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
					b.StartTimer()
				}
				metas, err := s.UpdateFlags(ctx, "u", "INBOX", uids[:10], op, []string{imap.FlagFlagged})
				if err != nil || len(metas) != 10 {
					b.Fatalf("%d touched, %v", len(metas), err)
				}
				ch, err := s.ChangesSince(ctx, "u", "INBOX", since)
				if err != nil {
					b.Fatal(err)
				}
				since = ch.Status.HighestModSeq
				if op == ports.FlagsAdd {
					op = ports.FlagsRemove
				} else {
					op = ports.FlagsAdd
				}
			}
		})
	}
}
