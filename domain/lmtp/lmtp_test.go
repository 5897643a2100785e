package lmtp

import (
	"bufio"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		line string
		want *Command
		code int // a refusal's code
	}{
		{line: "LHLO mx.example", want: &Command{Verb: LHLO, Arg: "mx.example"}},
		{line: "lhlo [127.0.0.1]", want: &Command{Verb: LHLO, Arg: "[127.0.0.1]"}},
		{line: "LHLO", code: 501},
		{line: "LHLO a b", code: 501},
		{line: "MAIL FROM:<a@b.example>", want: &Command{Verb: MAIL, Path: "a@b.example"}},
		{line: "MAIL FROM:<>", want: &Command{Verb: MAIL, Path: ""}},
		{line: "mail from: <a@b> SIZE=100 BODY=8BITMIME", want: &Command{Verb: MAIL, Path: "a@b", Params: map[string]string{"SIZE": "100", "BODY": "8BITMIME"}}},
		{line: "MAIL FROM:<@relay.example:a@b>", want: &Command{Verb: MAIL, Path: "a@b"}},
		{line: "MAIL FROM:a@b", code: 501},
		{line: "MAIL FROM:<a@b", code: 501},
		{line: "MAIL FROM:<a@b>x", code: 501},
		{line: "MAIL TO:<a@b>", code: 501},
		{line: "MAIL FROM:<nodomain>", code: 501},
		{line: "RCPT TO:<alice+Work/Sub@x.example>", want: &Command{Verb: RCPT, Path: "alice+Work/Sub@x.example"}},
		{line: `RCPT TO:<"a>b"@x> NOTIFY=NEVER`, want: &Command{Verb: RCPT, Path: `"a>b"@x`, Params: map[string]string{"NOTIFY": "NEVER"}}},
		{line: "RCPT TO:<>", code: 501},
		{line: "RCPT TO:<alice>", want: &Command{Verb: RCPT, Path: "alice"}},
		{line: "DATA", want: &Command{Verb: DATA}},
		{line: "BDAT 100", want: &Command{Verb: BDAT, Size: 100}},
		{line: "bdat 0 last", want: &Command{Verb: BDAT, Last: true}},
		{line: "BDAT", code: 501},
		{line: "BDAT -1", code: 501},
		{line: "BDAT 10 FIRST", code: 501},
		{line: "BDAT 99999999999999999999", code: 501},
		{line: "DATA x", code: 501},
		{line: "rset", want: &Command{Verb: RSET}},
		{line: "NOOP anything", want: &Command{Verb: NOOP}},
		{line: "QUIT", want: &Command{Verb: QUIT}},
		{line: "STARTTLS", want: &Command{Verb: STARTTLS}},
		{line: "VRFY alice", want: &Command{Verb: VRFY, Arg: "alice"}},
		{line: "EHLO x", code: 500},
		{line: "HELO x", code: 500},
		{line: "FROB", code: 500},
		{line: "", code: 500},
		{line: "NOOP \x00", code: 500},
	} {
		got, err := Parse(tc.line)
		if tc.code != 0 {
			var r *Reply
			if !errors.As(err, &r) || r.Code != tc.code {
				t.Errorf("Parse(%q) = %v, %v; want a %d reply", tc.line, got, err, tc.code)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.line, got, err, tc.want)
		}
	}
}

func TestParseRecipient(t *testing.T) {
	for _, tc := range []struct {
		path     string
		downcase bool
		want     Recipient
		bad      bool
	}{
		{path: "Alice@X.Example", downcase: true, want: Recipient{User: "alice", Domain: "x.example"}},
		{path: "Alice@X.Example", want: Recipient{User: "Alice", Domain: "X.Example"}},
		{path: "Alice+Work/Sub@x", downcase: true, want: Recipient{User: "alice", Detail: "Work/Sub", Domain: "x"}},
		{path: "bob", downcase: true, want: Recipient{User: "bob"}},
		{path: "bob+@x", want: Recipient{User: "bob", Domain: "x"}},
		{path: `"bob+a b"@x`, want: Recipient{User: "bob", Detail: "a b", Domain: "x"}},
		{path: `"bo\"b"@x`, want: Recipient{User: `bo"b`, Domain: "x"}},
		{path: "+x@y", bad: true},
		{path: `"bob@x`, bad: true},
	} {
		got, err := ParseRecipient(tc.path, tc.downcase)
		if tc.bad != (err != nil) || (!tc.bad && got != tc.want) {
			t.Errorf("ParseRecipient(%q, %v) = %+v, %v; want %+v (bad %v)", tc.path, tc.downcase, got, err, tc.want, tc.bad)
		}
	}
}

func TestReplyBytes(t *testing.T) {
	for _, tc := range []struct {
		r    *Reply
		want string
	}{
		{RcptOK, "250 2.1.5 ok\r\n"},
		{&Reply{Code: 220, Text: []string{"host LMTP ready"}}, "220 host LMTP ready\r\n"},
		{&Reply{Code: 250, Text: []string{"host", "PIPELINING"}}, "250-host\r\n250 PIPELINING\r\n"},
		{UnknownUser, "550-Mailbox unknown.  Either there is no mailbox associated with this\r\n" +
			"550-name or you do not have authorization to see it.\r\n550 5.1.1 User unknown\r\n"},
		{&Reply{Code: 550, Status: "5.1.1", Text: []string{"a", "b"}}, "550-5.1.1 a\r\n550 5.1.1 b\r\n"},
		{TooBig(2000, 1000), "552 5.2.3 Message size (2000) exceeds fixed maximum message size (1000)\r\n"},
	} {
		if got := string(tc.r.Bytes()); got != tc.want {
			t.Errorf("%v: got %q, want %q", tc.r, got, tc.want)
		}
	}
}

func TestDotReader(t *testing.T) {
	long := strings.Repeat("x", 5000)
	for _, tc := range []struct {
		name, in, want string
		cut            bool
		rest           string
	}{
		{name: "plain", in: "a\r\nb\r\n.\r\nQUIT\r\n", want: "a\r\nb\r\n", rest: "QUIT\r\n"},
		{name: "stuffed", in: "..a\r\n.\r\n", want: ".a\r\n"},
		{name: "dot mid line", in: "a.\r\n.b\r\n.\r\n", want: "a.\r\nb\r\n"},
		{name: "bare LF", in: "a\nb\r\n.\n", want: "a\r\nb\r\n"},
		{name: "empty", in: ".\r\n", want: ""},
		{name: "long line", in: long + "\r\n." + long + "\r\n.\r\n", want: long + "\r\n" + long + "\r\n"},
		{name: "cut", in: "a\r\nb", want: "a\r\n", cut: true},
		{name: "cut long", in: long, want: "", cut: true},
	} {
		br := bufio.NewReaderSize(strings.NewReader(tc.in), 4096)
		got, err := io.ReadAll(NewDotReader(br))
		if tc.cut {
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("%s: err %v, want ErrUnexpectedEOF", tc.name, err)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.name, got, err, tc.want)
		}
		rest, _ := io.ReadAll(br)
		if string(rest) != tc.rest {
			t.Errorf("%s: left %q, want %q", tc.name, rest, tc.rest)
		}
	}
}

func TestRewriteHeader(t *testing.T) {
	now := time.Date(2026, 12, 1, 3, 4, 5, 0, time.UTC)
	id := func() string { return "<new@here>" }
	for _, tc := range []struct {
		name, in, want string
		f              Fields
	}{
		{
			name: "kept",
			in:   "Return-Path: <old@x>\r\nMessage-ID:\r\n <a@b>\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\nSubject: s\r\n\r\n",
			want: "Message-ID:\r\n <a@b>\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\nSubject: s\r\n\r\n",
			f:    Fields{MessageID: "<a@b>", Date: "Mon, 30 Nov 2026 10:00:00 +0000"},
		},
		{
			name: "added",
			in:   "Subject: s\r\nreturn-path:\r\n\t<folded@x>\r\n\r\n",
			want: "Subject: s\r\nMessage-ID: <new@here>\r\nDate: Tue, 01 Dec 2026 03:04:05 +0000\r\n\r\n",
			f:    Fields{MessageID: "<new@here>", Date: "Tue, 01 Dec 2026 03:04:05 +0000"},
		},
		{
			name: "no body",
			in:   "Subject: s",
			want: "Subject: s\r\nMessage-ID: <new@here>\r\nDate: Tue, 01 Dec 2026 03:04:05 +0000\r\n\r\n",
			f:    Fields{MessageID: "<new@here>", Date: "Tue, 01 Dec 2026 03:04:05 +0000"},
		},
		{
			name: "no header",
			in:   "\r\n",
			want: "Message-ID: <new@here>\r\nDate: Tue, 01 Dec 2026 03:04:05 +0000\r\n\r\n",
			f:    Fields{MessageID: "<new@here>", Date: "Tue, 01 Dec 2026 03:04:05 +0000"},
		},
	} {
		got, f := RewriteHeader([]byte(tc.in), id, now)
		if string(got) != tc.want || f != tc.f {
			t.Errorf("%s: got %q %+v, want %q %+v", tc.name, got, f, tc.want, tc.f)
		}
	}
}

func TestTraceHeader(t *testing.T) {
	tr := Trace{Sender: "a@b", LHLO: "mx", ClientHost: "[unix socket]", ServerName: "mail", TLS: true,
		Date: time.Date(2026, 12, 1, 3, 4, 5, 0, time.UTC)}
	want := "Return-Path: <a@b>\r\nReceived: from mx ([unix socket])\r\n\t by mail with LMTPS;\r\n\t Tue, 01 Dec 2026 03:04:05 +0000\r\n"
	if got := string(tr.Header()); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestReadHeader(t *testing.T) {
	in := "A: 1\r\nB: 2\r\n\r\nbody\r\n.\r\n"
	d := NewDotReader(bufio.NewReader(strings.NewReader(in)))
	h, err := ReadHeader(d, 1000)
	if err != nil || string(h) != "A: 1\r\nB: 2\r\n\r\n" {
		t.Fatalf("header %q, %v", h, err)
	}
	rest, _ := io.ReadAll(d)
	if string(rest) != "body\r\n" {
		t.Fatalf("rest %q", rest)
	}
	d = NewDotReader(bufio.NewReader(strings.NewReader("A: 123456789\r\n.\r\n")))
	if _, err := ReadHeader(d, 5); !errors.Is(err, ErrHeaderTooBig) {
		t.Fatalf("err %v", err)
	}
}
