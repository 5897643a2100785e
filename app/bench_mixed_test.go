package app_test

import (
	"fmt"
	"testing"
)

// BenchmarkMixedSession runs, on each store, the session test/compare's
// mixed load repeats: LOGIN, SELECT INBOX, APPEND, FETCH 1:* (UID FLAGS),
// UID FETCH of the new message's body, UID STORE +FLAGS (\Deleted), UID
// EXPUNGE of it, LOGOUT, on an INBOX of ten messages. Its B/op and
// allocs/op are what one session costs the heap of a process serving it.
func BenchmarkMixedSession(b *testing.B) {
	for _, kind := range []string{"sqlite", "maildir"} {
		b.Run(kind, func(b *testing.B) {
			dir := b.TempDir()
			s := newBenchServerOn(b, dir, openBenchStore(b, kind, dir))
			msg := benchMessage(0, 2000, "")
			appendCmd := fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(msg), msg)
			c := s.connect(b)
			c.cmd("l", "LOGIN alice secret")
			for i := 0; i < 10; i++ {
				c.cmd("a", appendCmd)
			}
			c.close()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				mixedSession(b, s, appendCmd)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sessions/s")
		})
	}
}

// mixedSession runs one session of BenchmarkMixedSession on s.
func mixedSession(b *testing.B, s *benchServer, appendCmd string) {
	c := s.connect(b)
	c.cmd("1", "LOGIN alice secret")
	c.cmd("2", "SELECT INBOX")
	c.cmd("3", appendCmd)
	c.cmd("4", "FETCH 1:* (UID FLAGS)")
	c.cmd("5", "UID FETCH * BODY.PEEK[]")
	c.cmd("6", `UID STORE * +FLAGS.SILENT (\Deleted)`)
	c.cmd("7", "UID EXPUNGE *")
	c.cmd("8", "LOGOUT")
	c.close()
}

// BenchmarkMixedSessionProcs runs BenchmarkMixedSession's session on one
// mailbox from several servers over the same folder, each with a store of
// its own, in turn: as processes of a service do when each serves one
// session at a time. A server's next session then first catches up with
// the changes the others made since its last (procs-1 sessions of them),
// which with a process per session grows with the number of clients.
func BenchmarkMixedSessionProcs(b *testing.B) {
	for _, kind := range []string{"sqlite", "maildir"} {
		for _, procs := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/procs=%d", kind, procs), func(b *testing.B) {
				dir := b.TempDir()
				servers := make([]*benchServer, procs)
				for i := range servers {
					servers[i] = newBenchServerOn(b, dir, openBenchStore(b, kind, dir))
				}
				msg := benchMessage(0, 2000, "")
				appendCmd := fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(msg), msg)
				c := servers[0].connect(b)
				c.cmd("l", "LOGIN alice secret")
				for i := 0; i < 10; i++ {
					c.cmd("a", appendCmd)
				}
				c.close()
				// Every server has seen the mailbox once.
				for i := 0; i < 2*procs; i++ {
					mixedSession(b, servers[i%procs], appendCmd)
				}
				b.ReportAllocs()
				cpu := cpuTime()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					mixedSession(b, servers[i%procs], appendCmd)
				}
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sessions/s")
				// The wall time is mostly fsync; the CPU is what grows.
				reportCPU(b, cpu)
			})
		}
	}
}
