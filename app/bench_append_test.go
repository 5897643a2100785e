package app_test

import (
	"strconv"
	"testing"
)

// BenchmarkAppendStore measures, on each store, one durable
// APPEND of a 4 KB message per iteration over one connection, as make
// compare's APPEND row does.
func BenchmarkAppendStore(b *testing.B) {
	for _, kind := range []string{"sqlite", "maildir"} {
		b.Run(kind, func(b *testing.B) {
			dir := b.TempDir()
			st := openBenchStore(b, kind, dir)
			defer st.Close()
			s := newBenchServerOn(b, dir, st)
			c := s.connect(b)
			defer c.close()
			c.cmd("l", "LOGIN alice secret")
			msg := benchMessage(1, 4096, "")
			command := "APPEND INBOX (\\Seen) {" + strconv.Itoa(len(msg)) + "+}\r\n" + msg
			b.SetBytes(int64(len(msg)))
			b.ResetTimer()
			cpu := cpuTime()
			for i := 0; i < b.N; i++ {
				c.cmd("a", command)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
			// The process's CPU time (client and server) per APPEND: the
			// wall time is mostly fsyncs, which other work on the
			// machine slows down at random.
			reportCPU(b, cpu)
		})
	}
}
