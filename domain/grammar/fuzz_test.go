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
		"a SELECT x (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500 15000,22500)) CONDSTORE)\r\n",
		"a UID FETCH $ (FLAGS MODSEQ BINARY.PEEK[1.2]<0.10> BINARY.SIZE[]) (CHANGEDSINCE 5 VANISHED)\r\n",
		"a STORE 1:* (UNCHANGEDSINCE 0) +FLAGS.SILENT (\\Seen)\r\n",
		"a SEARCH RETURN (MIN MAX SAVE) CHARSET UTF-8 MODSEQ \"/flags/\\\\Seen\" all 5 OR $ UID $ OLDER 60\r\n",
		"a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (% {3+}\r\na/*) RETURN (CHILDREN STATUS (MESSAGES SIZE))\r\n",
		"a CREATE x (USE (\\Sent \\Foo))\r\n",
		"a APPEND x ~{3+}\r\na\x00c (\\Seen) {2}\r\nhi UTF8 (~{1}\r\nz)\r\nb NOOP\r\n",
		"a LOGIN {5000+}\r\nxx\r\n",
		"a UID SEARCH RETURN (PARTIAL -1:-100 UPDATE CONTEXT COUNT) UNDELETED\r\n",
		"a UID FETCH 1:* (FLAGS) (PARTIAL 500:1 CHANGEDSINCE 7)\r\nb CANCELUPDATE \"a\" \"b\"\r\n",
		"a APPEND x CATENATE (URL \"/a;UID=1/;SECTION=1\" TEXT {3+}\r\nabc URL {4+}\r\n;UID) {1}\r\nz CATENATE (TEXT ~{1}\r\n\x00)\r\nb NOOP\r\n",
		"a URLFETCH \"imap://u@h/INBOX/;UID=1;URLAUTH=authuser:internal:91354a473744909de610943775f92038\" (\"/b\" BODYPARTSTRUCTURE BINARY)\r\n",
		"a GENURLAUTH \"imap://u@h/INBOX/;UID=1;URLAUTH=authuser\" INTERNAL\r\nb RESETKEY INBOX INTERNAL\r\n",
		"a GETMETADATA (MAXSIZE 10 DEPTH infinity) INBOX (/private/comment \"/shared/*\")\r\nb SETMETADATA \"\" (/shared/comment {3+}\r\nabc /private/x ~{2+}\r\n\x00y /private/y NIL)\r\n",
		"a LIST \"\" * RETURN (METADATA (MAXSIZE 5 DEPTH 1 /shared/comment /private) CHILDREN)\r\n",
		"a COMPRESS DEFLATE\r\nb UNAUTHENTICATE\r\n",
		"a UID REPLACE 4 Drafts (\\Seen) \"01-Jan-2015 00:05:00 -0500\" ~{3+}\r\na\x00c\r\nb REPLACE * x {1}\r\n",
		"a SETQUOTA \"\" (STORAGE 512 message 9223372036854775807)\r\nb GETQUOTAROOT {5+}\r\nINBOX\r\nc GETQUOTA user/alice\r\n",
		"a NOTIFY SET STATUS (selected (MessageNew (UID BODY.PEEK[HEADER]<0.5>) MessageExpunge)) (subtree {1+}\r\nx (MailboxName))\r\nb NOTIFY NONE\r\n",
		"a SETACL \"Other Users/x\" -anyone +lrz\r\nb DELETEACL {1+}\r\nx bob\r\nc GETACL x\r\nd LISTRIGHTS x \"\"\r\ne MYRIGHTS x y\r\nf LIST \"\" % RETURN (MYRIGHTS)\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := bytes.NewReader(data)
		br := bufio.NewReaderSize(rd, 16)
		lim := Limits{MaxLine: 256, MaxLiteral: 64, MaxLiterals: 4, MaxCommandBytes: 128, MaxAppend: 256}
		if len(data)%2 == 1 {
			lim.MaxNonSyncLiteral = 32
		}
		p := NewParser(br, func() error { return nil }, lim)
		p.SetUTF8(len(data)%4 >= 2)
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
				var body io.Reader
				var size int64
				var cat bool
				switch a := cmd.Args.(type) {
				case *AppendArgs:
					body, size, cat = a.Body, a.Size, a.Catenate
				case *ReplaceArgs:
					body, size = a.Body, a.Size
				}
				if body != nil || cat {
					for msgs := 0; ; msgs++ {
						if cat {
							var perr error
							for parts := 0; ; parts++ {
								var part *CatPart
								if part, perr = p.NextCatPart(); perr != nil || part == nil {
									break
								}
								if parts > lim.MaxLiterals+1 && part.Body != nil {
									t.Fatalf("%d parts in one CATENATE", parts)
								}
								if part.Body != nil {
									io.Copy(io.Discard, io.LimitReader(part.Body, part.Size/2))
								}
							}
							if perr != nil {
								if !errors.As(perr, &e) {
									return
								}
								break
							}
							body, size = bytes.NewReader(nil), 0
						}
						n, rerr := io.Copy(io.Discard, io.LimitReader(body, size/2))
						if rerr != nil && rerr != io.ErrUnexpectedEOF {
							t.Fatalf("Body: %v", rerr)
						}
						if n > size || size > lim.MaxAppend {
							t.Fatalf("Body gave %d bytes of %d", n, size)
						}
						// Exercise the three ways a handler may end an
						// APPEND: one message, all of them, or a refusal.
						var err error
						switch len(data) % 3 {
						case 0:
							err = p.EndCommand()
						case 1:
							err = p.DiscardCommand()
						default:
							var m *AppendMessage
							if m, err = p.NextAppend(); err == nil && m != nil {
								if msgs > lim.MaxLiterals {
									t.Fatalf("%d messages in one APPEND", msgs)
								}
								body, size, cat = m.Body, m.Size, m.Catenate
								continue
							}
						}
						if err != nil && !errors.As(err, &e) {
							return
						}
						break
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
