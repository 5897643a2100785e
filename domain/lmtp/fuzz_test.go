package lmtp

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// FuzzParse: any line parses or is refused with a reply, never a panic;
// any DATA text is read to its terminator or to ErrDataCut; any header
// section rewrites.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"LHLO x", "MAIL FROM:<a@b> SIZE=1", `RCPT TO:<"a\"b"@c>`, "BDAT 10 LAST", "DATA",
		"a\r\n..b\r\n.\r\n", "Subject: x\r\nReturn-Path: <y>\r\n\r\nbody"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := Parse(s); err != nil {
			var r *Reply
			if !errors.As(err, &r) || r.Code < 500 {
				t.Fatalf("Parse(%q): %v", s, err)
			}
		}
		ParseRecipient(s, true)
		d := NewDotReader(bufio.NewReaderSize(strings.NewReader(s), 16))
		if _, err := io.ReadAll(d); err != nil && !errors.Is(err, ErrDataCut) {
			t.Fatalf("DotReader(%q): %v", s, err)
		}
		out, f := RewriteHeader([]byte(s), func() string { return "<id@x>" }, time.Unix(0, 0))
		if f.MessageID == "" || f.Date == "" || len(out) == 0 {
			t.Fatalf("RewriteHeader(%q) = %q, %+v", s, out, f)
		}
	})
}
