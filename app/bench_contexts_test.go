package app_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/app"
)

// lines sends a command and returns every response line up to and with
// the tagged one (literals skipped), failing on anything but OK.
func (c *rawClient) lines(tag, command string) []string {
	if _, err := io.WriteString(c.conn, tag+" "+command+"\r\n"); err != nil {
		c.b.Fatalf("write: %v", err)
	}
	var out []string
	for {
		line := c.readResponse()
		out = append(out, line)
		if strings.HasPrefix(line, tag+" ") {
			if !strings.HasPrefix(line, tag+" OK") {
				c.b.Fatalf("%s: %s", command, line)
			}
			return out
		}
	}
}

var appendUID = regexp.MustCompile(`APPENDUID \d+ (\d+)`)

// contextMessage is a message for the context benchmarks, with a date
// somewhere in the sort corpus's years, so that it sorts in its middle.
func contextMessage(r *rand.Rand, i int) string {
	date := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(sortCorpusSize*7)) * time.Minute)
	return fmt.Sprintf("From: New <new@example.org>\r\nTo: Alice <alice@example.org>\r\nSubject: new %d\r\n"+
		"Date: %s\r\nMessage-ID: <new%d.%d@example.org>\r\n\r\nHello.\r\n", i, date.Format(time.RFC1123Z), i, r.Uint64())
}

// BenchmarkContextSort measures what keeping a CONTEXT=SORT result (RFC
// 5267 section 4.3) costs a session of a 100,000-message mailbox, from
// the change to the client having its ADDTO or REMOVEFROM: another
// session changes the mailbox (untimed), then the session's NOOP (timed)
// brings the EXISTS, EXPUNGE or FETCH and the context's update. "none"
// holds no context: what the NOOP costs anyway. Cases:
//
//	new, expunge: one message arrives, or is expunged, with
//	  SORT RETURN (UPDATE) (DATE) UTF-8 ALL held (all), or
//	  SORT RETURN (UPDATE PARTIAL 1:50) (REVERSE ARRIVAL) UTF-8 ALL
//	  (Roundcube's first page, partial);
//	seen: \Seen set on (or taken off) one message, with
//	  SORT RETURN (UPDATE PARTIAL 1:50) (ARRIVAL) UTF-8 UNSEEN held,
//	  so that the message leaves (or enters) the result.
func BenchmarkContextSort(b *testing.B) {
	contexts := map[string]string{
		"none":    "",
		"all":     "SORT RETURN (UPDATE) (DATE) UTF-8 ALL",
		"partial": "SORT RETURN (UPDATE PARTIAL 1:50) (REVERSE ARRIVAL) UTF-8 ALL",
		"unseen":  "SORT RETURN (UPDATE PARTIAL 1:50) (ARRIVAL) UTF-8 UNSEEN",
	}
	cases := []struct{ change, context string }{
		{"new", "none"}, {"new", "all"}, {"new", "partial"},
		{"expunge", "none"}, {"expunge", "all"}, {"expunge", "partial"},
		{"seen", "none"}, {"seen", "unseen"},
	}
	for _, kind := range []string{"sqlite", "maildir"} {
		for _, mode := range contextModes {
			for _, cs := range cases {
				b.Run(kind+"/"+mode.name+"/"+cs.change+"/"+cs.context, func(b *testing.B) {
					defer mode.set()()
					s, _ := sortCorpusServer(b, kind, false)
					c, other := s.connect(b), s.connect(b)
					defer c.close()
					defer other.close()
					c.cmd("l", "LOGIN alice secret")
					other.cmd("l", "LOGIN alice secret")
					c.cmd("s", "SELECT INBOX")
					other.cmd("s", "SELECT INBOX")
					want := ""
					if q := contexts[cs.context]; q != "" {
						c.cmd("ctx", q)
						want = map[string]string{"new": " ADDTO ", "expunge": " REMOVEFROM ", "seen": ") "}[cs.change]
					}
					r := rand.New(rand.NewPCG(5, 6))
					add := func(i int) string {
						msg := contextMessage(r, i)
						ok := other.lines("a", "APPEND INBOX {"+fmt.Sprint(len(msg))+"+}\r\n"+msg)
						m := appendUID.FindStringSubmatch(ok[len(ok)-1])
						if m == nil {
							b.Fatalf("no APPENDUID: %q", ok)
						}
						return m[1]
					}
					drop := func(uid string) {
						other.cmd("d", `UID STORE `+uid+` +FLAGS.SILENT (\Deleted)`)
						other.cmd("e", "UID EXPUNGE "+uid)
					}
					check := func(got []string) {
						if want == "" {
							return
						}
						for _, l := range got {
							if strings.HasPrefix(l, "* ESEARCH") && strings.Contains(l, want) {
								return
							}
						}
						b.Fatalf("no%supdate in %q", want, got)
					}
					var seenUID int
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						b.StopTimer()
						var uid string
						switch cs.change {
						case "new":
							uid = add(i)
						case "expunge":
							uid = add(i)
							c.lines("n0", "NOOP")
							drop(uid)
						case "seen":
							if i%2 == 0 {
								seenUID = 1 + r.IntN(sortCorpusSize)
								other.cmd("f", fmt.Sprintf(`UID STORE %d +FLAGS.SILENT (\Seen)`, seenUID))
							} else {
								other.cmd("f", fmt.Sprintf(`UID STORE %d -FLAGS.SILENT (\Seen)`, seenUID))
							}
						}
						b.StartTimer()
						check(c.lines("n", "NOOP"))
						b.StopTimer()
						if cs.change == "new" {
							drop(uid)
							c.lines("n1", "NOOP")
						}
						b.StartTimer()
					}
					b.StopTimer()
					if cs.change == "seen" && b.N%2 == 1 {
						other.cmd("f", fmt.Sprintf(`UID STORE %d -FLAGS.SILENT (\Seen)`, seenUID))
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
				})
			}
		}
	}
}

// contextModes are the implementations BenchmarkContextSort compares.
var contextModes = []struct {
	name string
	set  func() (restore func())
}{
	{"resort", func() func() { return app.SetContextsIncremental(false) }},
	{"incremental", func() func() { return app.SetContextsIncremental(true) }},
}
