package grammar

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzParser feeds arbitrary input to the parser. It must never panic, must
// make progress on every call, and after any refusal (*Error) it must go on
// to the next command until the input ends or a fatal error stops it.
func FuzzParser(f *testing.F) {
	for _, s := range []string{
		"a NOOP\r\n",
		"a LOGIN {4}\r\nfred {6+}\r\nsecret\r\n",
		"a FETCH 1:* (BODY.PEEK[1.2.HEADER.FIELDS (From To)]<0.100> UID)\r\n",
		"a SEARCH OR (SEEN) NOT 1:3 SINCE 1-Jan-2020\r\n",
		"a APPEND x (\\Seen) \" 1-Jan-2020 00:00:00 +0000\" {5}\r\nhello\r\nb NOOP\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := bytes.NewReader(data)
		br := bufio.NewReaderSize(rd, 16)
		lim := Limits{MaxLine: 256, MaxLiteral: 64, MaxLiterals: 4, MaxCommandBytes: 128, MaxAppend: 256}
		p := NewParser(br, func() error { return nil }, lim)
		consumed := func() int { return len(data) - rd.Len() - br.Buffered() }
		for {
			before := consumed()
			cmd, err := p.Next()
			if err == io.EOF {
				if consumed() != len(data) {
					t.Fatalf("EOF with %d bytes unread", len(data)-consumed())
				}
				return
			}
			var e *Error
			switch {
			case err == nil:
				if cmd == nil || cmd.Tag == "" || cmd.Name == "" {
					t.Fatalf("incomplete command %+v", cmd)
				}
				if a, ok := cmd.Args.(*AppendArgs); ok {
					n, rerr := io.Copy(io.Discard, io.LimitReader(a.Body, a.Size/2))
					if rerr != nil && rerr != io.ErrUnexpectedEOF {
						t.Fatalf("Body: %v", rerr)
					}
					if n > a.Size || a.Size > lim.MaxAppend {
						t.Fatalf("Body gave %d bytes of %d", n, a.Size)
					}
					if err := p.EndCommand(); err != nil && !errors.As(err, &e) {
						return
					}
				}
			case errors.As(err, &e):
				if e.Tag == "" || (e.Status != "BAD" && e.Status != "NO") || e.Text == "" {
					t.Fatalf("malformed refusal %+v", e)
				}
			default:
				return // fatal or the input ended inside a command
			}
			if consumed() == before && consumed() < len(data) {
				t.Fatalf("no progress at offset %d", before)
			}
		}
	})
}

var benchFetch = []byte("a123 UID FETCH 1:500,600:* (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (From To Cc Subject Date Message-ID References In-Reply-To)] BODY.PEEK[1.2.MIME]<0.2048>)\r\n")

var benchSearch = []byte("a124 UID SEARCH CHARSET UTF-8 OR (FROM \"alice@example.org\" SINCE 1-Jan-2024) NOT (SEEN DELETED) HEADER X-Priority 1 LARGER 1000 UID 1:* SUBJECT {11+}\r\nhello world\r\n")

func benchParse(b *testing.B, cmd []byte) {
	in := bytes.Repeat(cmd, 100)
	rd := bytes.NewReader(in)
	br := bufio.NewReader(rd)
	p := NewParser(br, nil, Limits{})
	b.SetBytes(int64(len(cmd)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%100 == 0 {
			rd.Reset(in)
			br.Reset(rd)
		}
		if _, err := p.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseFetch(b *testing.B)  { benchParse(b, benchFetch) }
func BenchmarkParseSearch(b *testing.B) { benchParse(b, benchSearch) }
