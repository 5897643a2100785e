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
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sessions/s")
		})
	}
}
