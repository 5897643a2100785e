package app_test

import (
	"fmt"
	"strconv"
	"testing"
)

// BenchmarkAppendThreaded measures, on each store, one durable APPEND
// per iteration of a distinct 4 KB message that answers an earlier one
// (Message-ID, In-Reply-To and References), as a mailing list's traffic
// is: what APPEND computes and stores for SORT, THREAD and THREADID is
// in the figure.
func BenchmarkAppendThreaded(b *testing.B) {
	for _, kind := range []string{"sqlite", "maildir"} {
		b.Run(kind, func(b *testing.B) {
			dir := b.TempDir()
			st := openBenchStore(b, kind, dir)
			defer st.Close()
			s := newBenchServerOn(b, dir, st)
			c := s.connect(b)
			defer c.close()
			c.cmd("l", "LOGIN alice secret")
			cmds := make([]string, 0, 1024)
			for i := range cap(cmds) {
				msg := threadedMessage(i)
				cmds = append(cmds, "APPEND INBOX (\\Seen) {"+strconv.Itoa(len(msg))+"+}\r\n"+msg)
			}
			b.ResetTimer()
			cpu := cpuTime()
			for i := 0; i < b.N; i++ {
				// Past the prepared ones, messages repeat: their ids are
				// then known, as a resent message's are.
				c.cmd("a", cmds[i%len(cmds)])
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
			// The process's CPU time (client and server) per APPEND: the
			// wall time is mostly fsyncs, which other work on the
			// machine slows down at random.
			reportCPU(b, cpu)
		})
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
