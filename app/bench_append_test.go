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
			msg := benchMessage(1, 4096, "")
			benchAppendLoop(b, kind, int64(len(msg)), []string{"APPEND INBOX (\\Seen) {" + strconv.Itoa(len(msg)) + "+}\r\n" + msg})
		})
	}
}

// benchAppendLoop logs in over one connection to a new store of kind and
// runs one durable APPEND per iteration, cycling through cmds; bytes,
// when not 0, is the size of a message. It reports appends/s and the
// process's CPU time (client and server) per APPEND: the wall time is
// mostly fsyncs, which other work on the machine slows down at random.
func benchAppendLoop(b *testing.B, kind string, bytes int64, cmds []string) {
	dir := b.TempDir()
	st := openBenchStore(b, kind, dir)
	defer st.Close()
	s := newBenchServerOn(b, dir, st)
	c := s.connect(b)
	defer c.close()
	c.cmd("l", "LOGIN alice secret")
	if bytes > 0 {
		b.SetBytes(bytes)
	}
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		c.cmd("a", cmds[i%len(cmds)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	reportCPU(b, cpu)
}
