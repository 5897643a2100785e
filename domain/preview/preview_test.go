package preview

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/imapd-go/imapd/domain/message"
)

func compute(t *testing.T, raw string) string {
	t.Helper()
	raw = strings.ReplaceAll(raw, "\n", "\r\n")
	st, err := message.Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return Compute(st, bytes.NewReader([]byte(raw)))
}

func TestCompute(t *testing.T) {
	long := strings.Repeat("é", 300)
	for _, tc := range []struct {
		name, raw, want string
	}{
		{"plain", "Subject: x\n\nHello  there,\n\n  how are you?\n", "Hello there, how are you?"},
		{"no content type is text/plain", "Subject: x\n\nbody text\n", "body text"},
		{"html", "Content-Type: text/html\n\n<html><head><title>T</title><style>p{color:red}</style></head>" +
			"<body><p>Caf&eacute; &amp; <b>bar</b></p><script>alert(1)</script><!-- hidden -->next&#33;</body></html>\n",
			"Café & bar next!"},
		{"quoted-printable", "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n" +
			"Gr=C3=BC=C3=9Fe aus=\n K=C3=B6ln\n", "Grüße aus Köln"},
		{"base64", "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" +
			base64.StdEncoding.EncodeToString([]byte("décodé en base64")) + "\n", "décodé en base64"},
		{"latin-1", "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n" +
			"caf=E9\n", "café"},
		{"multipart/alternative prefers text/plain", "Content-Type: multipart/alternative; boundary=b\n\n--b\n" +
			"Content-Type: text/html\n\n<p>the html</p>\n--b\nContent-Type: text/plain\n\nthe plain\n--b--\n", "the plain"},
		{"html only in multipart", "Content-Type: multipart/mixed; boundary=b\n\n--b\n" +
			"Content-Type: text/html\n\n<p>only&nbsp;html</p>\n--b\nContent-Type: application/pdf\n\nxx\n--b--\n", "only html"}, // a no-break space is white space
		{"no text part", "Content-Type: multipart/mixed; boundary=b\n\n--b\n" +
			"Content-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--b--\n", ""},
		{"empty body", "Subject: x\n\n", ""},
		{"cut on characters", "Content-Type: text/plain; charset=utf-8\n\n" + long + "\n", strings.Repeat("é", 256)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := compute(t, tc.raw)
			if got != tc.want {
				t.Errorf("preview = %q, want %q", got, tc.want)
			}
			if n := utf8.RuneCountInString(got); n > MaxChars || !utf8.ValidString(got) {
				t.Errorf("%d characters, valid %v", n, utf8.ValidString(got))
			}
		})
	}
}

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 5, "abc"}, {"abc", 2, "ab"}, {"€€€", 2, "€€"}, {"a€b", 2, "a€"}, {"", 3, ""},
		{"😀x", 1, "😀"},
	} {
		if got := Cut(tc.s, tc.n); got != tc.want {
			t.Errorf("Cut(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

func TestFromHTML(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"<p>a</p><p>b</p>", "a b"},
		{"x<SCRIPT type=x>no</Script>y", "x y"},
		{"a<br/>b", "a b"},
		{"<b>pre</b>view<span>!</span>", "preview!"},
		{"<B>x</B><DIV>y</DIV>", "x y"},
		{"unclosed <b", "unclosed "},
		{"&lt;tag&gt;", "<tag>"},
		{"a<!-- never closed", "a"},
		{"<style>never closed", ""},
	} {
		if got := Collapse(FromHTML(tc.in)); got != Collapse(tc.want) {
			t.Errorf("FromHTML(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
