package app_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/auth/sasl"
	"github.com/imapd-go/imapd/adapters/store/maildir"
	"github.com/imapd-go/imapd/adapters/store/sqlite"
	"github.com/imapd-go/imapd/adapters/telemetry/filelog"
	"github.com/imapd-go/imapd/app"
	"github.com/imapd-go/imapd/ports"
)

// headerCorpusSize is the number of messages the header SEARCH benchmarks
// look through: a mailbox of the size make compare measures.
const headerCorpusSize = 500

// headerCorpusMessage is message i of a mix like real mail: trace fields,
// addresses, a subject that holds "quarterly" one time in twenty, From
// "carol" one time in twenty-five, X-Foo "frobnicate" one time in ten
// (and other values three times in ten), then a text body, an alternative
// one, or a mixed one with base64 attachments.
func headerCorpusMessage(r *rand.Rand, i int) string {
	words := strings.Fields("the of and to in is that for it as was with be by on not this are or from at which but have an they you were her she there been one all we their has would when if so no will what can more other about up out them into some time could these two may then do first any")
	pick := func(n int) string {
		w := make([]string, n)
		for j := range w {
			w[j] = words[r.IntN(len(words))]
		}
		return strings.Join(w, " ")
	}
	names := []string{"alice", "bob", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory"}
	addr := func() string {
		if r.IntN(25) == 0 {
			return "Carol Jones <carol.jones@example.net>"
		}
		n := names[r.IntN(len(names))]
		return fmt.Sprintf("%s%s <%s@example.org>", strings.ToUpper(n[:1]), n[1:], n)
	}
	text := func(size int) string {
		var b strings.Builder
		for b.Len() < size {
			b.WriteString(pick(12))
			b.WriteString("\r\n")
		}
		return b.String()
	}
	date := time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * 97 * time.Minute)
	var b strings.Builder
	fmt.Fprintf(&b, "Return-Path: <bounce-%d@lists.example.org>\r\n", i)
	fmt.Fprintf(&b, "Received: from mx%d.example.org (mx%d.example.org [192.0.2.%d])\r\n\tby mail.example.com with ESMTPS id %08x\r\n\tfor <bench@example.com>; %s\r\n",
		i%7, i%7, i%250+1, r.Uint32(), date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Date: %s\r\nFrom: %s\r\nTo: %s\r\n", date.Format(time.RFC1123Z), addr(), addr())
	if r.IntN(3) == 0 {
		fmt.Fprintf(&b, "Cc: %s, %s\r\n", addr(), addr())
	}
	subject := pick(2 + r.IntN(6))
	if r.IntN(20) == 0 {
		subject = "quarterly " + subject
	}
	fmt.Fprintf(&b, "Subject: %s\r\nMessage-ID: <%d.%08x@example.org>\r\n", subject, i, r.Uint32())
	switch r.IntN(10) {
	case 0:
		fmt.Fprintf(&b, "X-Foo: frobnicate %d\r\n", i)
	case 1, 2, 3:
		fmt.Fprintf(&b, "X-Foo: %s\r\n", pick(2))
	}
	b.WriteString("MIME-Version: 1.0\r\n")
	switch k := r.IntN(10); {
	case k < 4:
		b.WriteString("Content-Type: text/plain; charset=us-ascii\r\n\r\n" + text(2000+r.IntN(14000)))
	case k < 7:
		t := text(1500 + r.IntN(8000))
		b.WriteString("Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n")
		b.WriteString("--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + t)
		b.WriteString("--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>" + t + "</p></body></html>\r\n--alt--\r\n")
	default:
		b.WriteString("Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n")
		b.WriteString("--mix\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" + text(500+r.IntN(4000)))
		for n := 1 + r.IntN(3); n > 0; n-- {
			data := make([]byte, 4000+r.IntN(42000))
			for j := range data {
				data[j] = byte(r.Uint32())
			}
			enc := base64.StdEncoding.EncodeToString(data)
			b.WriteString("--mix\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
			for len(enc) > 76 {
				b.WriteString(enc[:76] + "\r\n")
				enc = enc[76:]
			}
			b.WriteString(enc + "\r\n")
		}
		b.WriteString("--mix--\r\n")
	}
	return b.String()
}

// headerCorpus holds one prepared folder per store, made once per process.
var (
	headerCorpusMu   sync.Mutex
	headerCorpusDirs = map[string]string{}
)

func openBenchStore(b *testing.B, kind, dir string) ports.Store {
	var st ports.Store
	var err error
	switch kind {
	case "sqlite":
		st, err = sqlite.Open(filepath.Join(dir, "spool"))
	case "maildir":
		st, err = maildir.Open(filepath.Join(dir, "spool"))
	}
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// headerCorpusServer is a server on a store of the given kind whose
// alice's INBOX holds the header corpus.
func headerCorpusServer(b *testing.B, kind string) *benchServer {
	headerCorpusMu.Lock()
	defer headerCorpusMu.Unlock()
	dir, ok := headerCorpusDirs[kind]
	if !ok {
		var err error
		if dir, err = os.MkdirTemp("", "imapd-bench-search-"); err != nil {
			b.Fatal(err)
		}
		headerCorpusDirs[kind] = dir
		st := openBenchStore(b, kind, dir)
		s := newBenchServerOn(b, dir, st)
		r := rand.New(rand.NewPCG(1, 2))
		for i := range headerCorpusSize {
			if _, err := s.srv.Deliver(context.Background(), "alice", "INBOX", strings.NewReader(headerCorpusMessage(r, i))); err != nil {
				b.Fatal(err)
			}
		}
		st.Close()
	}
	st := openBenchStore(b, kind, dir)
	b.Cleanup(func() { st.Close() })
	return newBenchServerOn(b, dir, st)
}

func newBenchServerOn(b testing.TB, dir string, st ports.Store) *benchServer {
	db := sasl.Open(dir)
	if ok, _ := db.Exists("alice"); !ok {
		if err := db.Add("alice", "secret"); err != nil {
			b.Fatal(err)
		}
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	auth := sasl.New(sasl.Options{MechList: []string{"PLAIN"}, AllowPlaintext: true}, db)
	srv := app.New(app.Options{ServerName: "bench", ConfigDir: dir}, st, auth, filelog.New(dir, "imap", logger), logger)
	return &benchServer{srv: srv, dir: dir}
}

// BenchmarkSearchHeader measures SEARCH SUBJECT, FROM, HEADER, BODY and TEXT over a
// mailbox of realistic messages, on each store, in messages looked at per
// second, as make compare reports them.
func BenchmarkSearchHeader(b *testing.B) {
	keys := []struct{ name, cmd string }{
		{"subject", "SEARCH SUBJECT quarterly"},
		{"from", "SEARCH FROM carol"},
		{"header", "SEARCH HEADER X-Foo frobnicate"},
		// No body holds these: each message's text parts are read whole.
		{"body", "SEARCH BODY zanzibar"},
		{"text", "SEARCH TEXT zanzibar"},
	}
	for _, kind := range []string{"sqlite", "maildir"} {
		for _, k := range keys {
			b.Run(kind+"/"+k.name, func(b *testing.B) {
				s := headerCorpusServer(b, kind)
				c := s.connect(b)
				defer c.close()
				c.cmd("l", "LOGIN alice secret")
				c.cmd("s", "EXAMINE INBOX")
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					c.cmd("q", k.cmd)
				}
				b.ReportMetric(float64(b.N)*headerCorpusSize/b.Elapsed().Seconds(), "msg/s")
			})
		}
	}
}
