package e2e

import (
	"slices"
	"strconv"
	"testing"
	"time"
)

// BenchmarkIdleLatency measures, on the run's store backend, the delay from
// an APPEND answered in one imapd process to the EXISTS seen by an IDLE
// session in another, and reports the median and the worst.
func BenchmarkIdleLatency(b *testing.B) {
	bins := buildBinaries(b)
	conf := newProcessConfig(b, []string{"store: " + e2eStore()})
	idler := startImapd(b, bins, conf)
	writer := startImapd(b, bins, conf)
	idler.ok("a1 LOGIN alice secret")
	writer.ok("b1 LOGIN alice secret")
	idler.ok("a2 SELECT INBOX")
	msg := literal(testMessage("latency", "x"))
	var delays []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		idler.send("i" + strconv.Itoa(i) + " IDLE\r\n")
		idler.expect("+ ")
		writer.ok("w APPEND INBOX " + msg)
		start := time.Now()
		waitFor(idler.transcript, "* "+strconv.Itoa(i+1)+" EXISTS")
		delays = append(delays, time.Since(start))
		idler.send("DONE\r\n")
		for {
			if line := idler.next(); line[0] != '*' {
				break
			}
		}
	}
	b.StopTimer()
	slices.Sort(delays)
	b.ReportMetric(float64(delays[len(delays)/2].Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(delays[len(delays)-1].Microseconds())/1000, "ms-worst")
	idler.ok("a3 LOGOUT")
	writer.ok("b3 LOGOUT")
}
