package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fetchCorpusSize is the number of messages the FETCH item benchmarks
// answer for: a mailbox of the size make compare measures.
const fetchCorpusSize = 500

// fetchCorpusMessage is message i of a mix of the shapes make compare's
// corpus has: text/plain (two in five), multipart/alternative (one in
// four), multipart/mixed with base64 attachments (one in four), and a
// message forwarded whole as message/rfc822 inside a multipart/mixed (one
// in ten).
func fetchCorpusMessage(r *rand.Rand, i int) string {
	g := &fetchGen{r: r}
	date := time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * 97 * time.Minute)
	var b strings.Builder
	switch k := r.IntN(20); {
	case k < 8:
		g.headers(&b, i, date)
		b.WriteString("Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n")
		b.WriteString(g.text(2000 + r.IntN(14000)))
	case k < 13:
		g.headers(&b, i, date)
		g.alternative(&b, i)
	case k < 18:
		g.mixed(&b, i, date)
	default:
		g.headers(&b, i, date)
		bound := fmt.Sprintf("fwd-%d-%08x", i, r.Uint32())
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", bound)
		fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n%s", bound, g.text(300+r.IntN(1500)))
		fmt.Fprintf(&b, "--%s\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n", bound)
		if r.IntN(2) == 0 {
			g.mixed(&b, i+100000, date.Add(-48*time.Hour))
		} else {
			g.headers(&b, i+100000, date.Add(-48*time.Hour))
			g.alternative(&b, i+100000)
		}
		fmt.Fprintf(&b, "--%s--\r\n", bound)
	}
	return b.String()
}

type fetchGen struct{ r *rand.Rand }

var fetchWords = strings.Fields("the of and to in is that for it as was with be by on not this are or from at which but have an they you were her she there been one all we their has would when if so no will what can more other about up out them into some time could these two may then do first any")

func (g *fetchGen) words(n int) string {
	w := make([]string, n)
	for j := range w {
		w[j] = fetchWords[g.r.IntN(len(fetchWords))]
	}
	return strings.Join(w, " ")
}

func (g *fetchGen) text(size int) string {
	var b strings.Builder
	for b.Len() < size {
		b.WriteString(g.words(12))
		b.WriteString("\r\n")
	}
	return b.String()
}

func (g *fetchGen) addr() string {
	names := []string{"alice", "bob", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory"}
	n := names[g.r.IntN(len(names))]
	return fmt.Sprintf("%s%s <%s@example.%s>", strings.ToUpper(n[:1]), n[1:], n, []string{"org", "com", "net"}[g.r.IntN(3)])
}

func (g *fetchGen) headers(b *strings.Builder, i int, date time.Time) {
	fmt.Fprintf(b, "Return-Path: <bounce-%d@lists.example.org>\r\n", i)
	fmt.Fprintf(b, "Received: from mx%d.example.org (mx%d.example.org [192.0.2.%d])\r\n\tby mail.example.com with ESMTPS id %08x\r\n\tfor <bench@example.com>; %s\r\n",
		i%7, i%7, i%250+1, g.r.Uint32(), date.Format(time.RFC1123Z))
	fmt.Fprintf(b, "Date: %s\r\nFrom: %s\r\nTo: %s\r\n", date.Format(time.RFC1123Z), g.addr(), g.addr())
	if g.r.IntN(3) == 0 {
		fmt.Fprintf(b, "Cc: %s, %s\r\n", g.addr(), g.addr())
	}
	fmt.Fprintf(b, "Subject: %s\r\nMessage-ID: <%d.%08x@example.org>\r\n", g.words(2+g.r.IntN(6)), i, g.r.Uint32())
	if i > 0 && g.r.IntN(3) == 0 {
		fmt.Fprintf(b, "In-Reply-To: <%d.0@example.org>\r\n", g.r.IntN(i))
	}
	b.WriteString("MIME-Version: 1.0\r\n")
}

func (g *fetchGen) alternative(b *strings.Builder, i int) {
	bound := fmt.Sprintf("alt-%d-%08x", i, g.r.Uint32())
	fmt.Fprintf(b, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", bound)
	t := g.text(1500 + g.r.IntN(8000))
	fmt.Fprintf(b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n%s", bound, t)
	fmt.Fprintf(b, "--%s\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n<html><body><p>%s</p></body></html>\r\n", bound, t)
	fmt.Fprintf(b, "--%s--\r\n", bound)
}

func (g *fetchGen) mixed(b *strings.Builder, i int, date time.Time) {
	g.headers(b, i, date)
	bound := fmt.Sprintf("mix-%d-%08x", i, g.r.Uint32())
	fmt.Fprintf(b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\nThis is a multi-part message in MIME format.\r\n", bound)
	fmt.Fprintf(b, "--%s\r\n", bound)
	if g.r.IntN(2) == 0 {
		g.alternative(b, i)
	} else {
		fmt.Fprintf(b, "Content-Type: text/plain; charset=us-ascii\r\n\r\n%s", g.text(500+g.r.IntN(4000)))
	}
	kinds := []struct{ typ, ext string }{{"application/pdf", "pdf"}, {"image/jpeg", "jpg"}, {"application/zip", "zip"}}
	for n := 1 + g.r.IntN(3); n > 0; n-- {
		k := kinds[g.r.IntN(len(kinds))]
		name := fmt.Sprintf("%s-%d.%s", fetchWords[g.r.IntN(len(fetchWords))], g.r.IntN(1000), k.ext)
		fmt.Fprintf(b, "--%s\r\nContent-Type: %s; name=\"%s\"\r\nContent-Disposition: attachment; filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", bound, k.typ, name, name)
		data := make([]byte, 4000+g.r.IntN(42000))
		for j := range data {
			data[j] = byte(g.r.Uint32())
		}
		enc := base64.StdEncoding.EncodeToString(data)
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\r\n")
	}
	fmt.Fprintf(b, "--%s--\r\n", bound)
}

// fetchCorpus holds one prepared folder per store, made once per process.
var (
	fetchCorpusMu   sync.Mutex
	fetchCorpusDirs = map[string]string{}
)

// fetchCorpusServer is a server on a store of the given kind whose alice's
// INBOX holds the FETCH corpus.
func fetchCorpusServer(b *testing.B, kind string) *benchServer {
	fetchCorpusMu.Lock()
	defer fetchCorpusMu.Unlock()
	dir, ok := fetchCorpusDirs[kind]
	if !ok {
		var err error
		if dir, err = os.MkdirTemp("", "imapd-bench-fetch-"); err != nil {
			b.Fatal(err)
		}
		fetchCorpusDirs[kind] = dir
		st := openBenchStore(b, kind, dir)
		s := newBenchServerOn(b, dir, st)
		r := rand.New(rand.NewPCG(1, 2))
		for i := range fetchCorpusSize {
			if _, err := s.srv.Deliver(context.Background(), "alice", "INBOX", strings.NewReader(fetchCorpusMessage(r, i))); err != nil {
				b.Fatal(err)
			}
		}
		st.Close()
	}
	st := openBenchStore(b, kind, dir)
	b.Cleanup(func() { st.Close() })
	return newBenchServerOn(b, dir, st)
}

// fetchLines sends command and reads up to its tagged OK, cheaply (the
// server's work is what is measured): it counts the untagged lines and
// skips literals.
func fetchLines(b *testing.B, c *rawClient, tag, command string) int {
	if _, err := io.WriteString(c.conn, tag+" "+command+"\r\n"); err != nil {
		b.Fatal(err)
	}
	c.conn.SetReadDeadline(time.Now().Add(time.Minute))
	n := 0
	for {
		line, err := c.r.ReadSlice('\n')
		for err == bufio.ErrBufferFull {
			line, err = c.r.ReadSlice('\n')
		}
		if err != nil {
			b.Fatal(err)
		}
		if len(line) >= 3 && line[len(line)-3] == '}' {
			if i := bytes.LastIndexByte(line, '{'); i >= 0 {
				size, err := strconv.ParseInt(string(bytes.TrimSuffix(line[i+1:len(line)-3], []byte("+"))), 10, 64)
				if err == nil {
					if _, err := io.CopyN(io.Discard, c.r, size); err != nil {
						b.Fatal(err)
					}
					continue
				}
			}
		}
		switch {
		case bytes.HasPrefix(line, []byte("* ")):
			n++
		case bytes.HasPrefix(line, []byte(tag+" OK")):
			return n
		case bytes.HasPrefix(line, []byte(tag+" ")):
			b.Fatalf("%s: %s", command, line)
		}
	}
}

// BenchmarkFetchItems measures FETCH 1:* ENVELOPE, BODYSTRUCTURE and FLAGS
// over a mailbox of realistic messages, on each store, in messages
// answered per second, as make compare reports them.
func BenchmarkFetchItems(b *testing.B) {
	for _, kind := range []string{"sqlite", "maildir"} {
		for _, item := range []string{"ENVELOPE", "BODYSTRUCTURE", "FLAGS"} {
			b.Run(kind+"/"+item, func(b *testing.B) {
				s := fetchCorpusServer(b, kind)
				c := s.connect(b)
				defer c.close()
				c.cmd("l", "LOGIN alice secret")
				c.cmd("s", "SELECT INBOX")
				fetchLines(b, c, "w", "FETCH 1:* "+item)
				b.ResetTimer()
				cpu := cpuTime()
				for i := 0; i < b.N; i++ {
					if n := fetchLines(b, c, "f", "FETCH 1:* "+item); n != fetchCorpusSize {
						b.Fatalf("FETCH returned %d responses", n)
					}
				}
				reportCPU(b, cpu)
				b.ReportMetric(float64(b.N)*fetchCorpusSize/b.Elapsed().Seconds(), "msg/s")
			})
		}
	}
}
