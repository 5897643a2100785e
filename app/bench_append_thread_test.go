package app_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/app"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/ports"
)

// BenchmarkAppendThreaded measures, on each store, one durable APPEND
// per iteration of a distinct 4 KB message that answers an earlier one
// (Message-ID, In-Reply-To and References), as a mailing list's traffic
// is: what APPEND computes and stores for SORT, THREAD and THREADID is
// in the figure.
func BenchmarkAppendThreaded(b *testing.B) {
	cmds := make([]string, 0, 1024)
	for i := range cap(cmds) {
		msg := threadedMessage(i)
		cmds = append(cmds, "APPEND INBOX (\\Seen) {"+strconv.Itoa(len(msg))+"+}\r\n"+msg)
	}
	for _, kind := range []string{"sqlite", "maildir"} {
		// Past the prepared ones, messages repeat: their ids are then
		// known, as a resent message's are.
		b.Run(kind, func(b *testing.B) { benchAppendLoop(b, kind, 0, cmds) })
	}
}

// threadedMessage is message i of a list whose every fourth message
// starts a thread and the others answer the one before.
func threadedMessage(i int) string {
	root := i - i%4
	refs := ""
	if i != root {
		refs = fmt.Sprintf("In-Reply-To: <t%d@example.org>\r\nReferences: <t%d@example.org> <t%d@example.org>\r\n", i-1, root, i-1)
	}
	head := fmt.Sprintf("From: Sender %d <s%d@example.org>\r\nTo: list@example.org\r\nSubject: Re: topic %d\r\n"+
		"Date: Tue, 4 Jun 2024 10:00:00 +0000\r\nMessage-ID: <t%d@example.org>\r\n%sMIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=us-ascii\r\n\r\n", i%7, i%7, root, i, refs)
	return head + benchMessage(i, 4096-len(head), "")[len(benchMessage(i, 0, "")):]
}

// BenchmarkAppendSortRecord measures what keeping a message's sort
// record costs APPEND: computing it (compute), and each store's durable
// Append of the same message with and without it, paired in one run.
func BenchmarkAppendSortRecord(b *testing.B) {
	raw := threadedMessage(5)
	st, err := message.Parse(strings.NewReader(raw))
	if err != nil {
		b.Fatal(err)
	}
	blob, err := st.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	date := time.Date(2024, 6, 4, 10, 0, 0, 0, time.UTC)
	b.Run("compute", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			msg := ports.NewMessage{InternalDate: date, Size: int64(len(raw)), Structure: blob}
			app.StampSortRecord(&msg)
		}
	})
	withRec := ports.NewMessage{InternalDate: date, Size: int64(len(raw)), Structure: blob}
	app.StampSortRecord(&withRec)
	for _, kind := range []string{"sqlite", "maildir"} {
		for _, rec := range []bool{false, true} {
			name := kind + "/without"
			if rec {
				name = kind + "/with"
			}
			b.Run(name, func(b *testing.B) {
				dir := b.TempDir()
				s := openBenchStore(b, kind, dir)
				defer s.Close()
				ctx := context.Background()
				if err := s.EnsureUser(ctx, "alice"); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				cpu := cpuTime()
				for i := 0; i < b.N; i++ {
					msg := withRec
					if !rec {
						msg.SortRecord = nil
					}
					msg.Body = strings.NewReader(raw)
					if _, err := s.Append(ctx, "alice", "INBOX", msg); err != nil {
						b.Fatal(err)
					}
				}
				reportCPU(b, cpu)
			})
		}
	}
}
