package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// The words the searches look for, each in a known share of the corpus:
// searchSubject in some Subject fields, searchFrom in some From fields,
// searchHeader as the value of X-Foo in some messages (others have other
// values or no X-Foo), searchBody in the text of some bodies only.
const (
	searchSubject = "quarterly"
	searchFrom    = "carol"
	searchHeader  = "frobnicate"
	searchBody    = "zanzibar"
)

var vocabulary = strings.Fields(`the of and to in is that for it as was with be by on not he this are or his
from at which but have an they you were her she there been one all we their has would when if so no will
what can more other about up out them into some time could these two may then do first any my now such like
our over man me even most made after also did many before must through back years where much your way well
down should because each just those people how too little state good very make world still own see men work
long get here between both life being under never day same another know while last might us great old year
off come since against go came right used take three states himself few house use during without again
place around however home small found mrs thought went say part once general high upon school every don does
got united left number course war until always away something fact though water less public put think almost
hand enough far took head yet government system better set told nothing night end why called didn eyes find
going look asked later knew point next program city business give group toward young days let room president
side social given present several order national possible rather second face per among form important often
things looked early white case john become large big need four within felt along children saw best church
ever least power development light thing seemed family interest want members mind country area others done
turned although open god service certain kind problem began different thus help means door`)

// message is one message of the corpus, with what the searches should find
// in it.
type message struct {
	raw []byte
}

// corpus builds n messages from seed, the same bytes on every run: a mix
// of text/plain, multipart/alternative, multipart/mixed with base64
// attachments, and messages forwarded whole as message/rfc822 inside a
// multipart/mixed. With n = 500 the whole is about 15 MB.
func corpus(seed uint64, n int) []message {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	msgs := make([]message, n)
	base := time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC)
	for i := range msgs {
		date := base.Add(time.Duration(i) * 97 * time.Minute)
		var b bytes.Buffer
		switch k := g.r.IntN(20); {
		case k < 8:
			g.plain(&b, i, date)
		case k < 13:
			g.alternative(&b, i, date)
		case k < 18:
			g.mixed(&b, i, date)
		default:
			g.forwarded(&b, i, date)
		}
		msgs[i] = message{raw: b.Bytes()}
	}
	return msgs
}

type gen struct {
	r *rand.Rand
}

var names = []string{"alice", "bob", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar", "peggy", "trent", "victor", "walter"}

func (g *gen) addr() string {
	if g.r.IntN(25) == 0 {
		return fmt.Sprintf("Carol Jones <%s.jones@example.net>", searchFrom)
	}
	n := names[g.r.IntN(len(names))]
	return fmt.Sprintf("%s%s <%s@example.%s>", strings.ToUpper(n[:1]), n[1:], n, []string{"org", "com", "net"}[g.r.IntN(3)])
}

func (g *gen) words(n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = vocabulary[g.r.IntN(len(vocabulary))]
	}
	return strings.Join(w, " ")
}

// text is about size octets of wrapped prose, with searchBody in it now and
// then.
func (g *gen) text(size int) string {
	var b strings.Builder
	needle := g.r.IntN(30) == 0
	at := g.r.IntN(size + 1)
	line := 0
	for b.Len() < size {
		w := vocabulary[g.r.IntN(len(vocabulary))]
		if needle && b.Len() >= at {
			w, needle = searchBody, false
		}
		if line+len(w) > 72 {
			b.WriteString("\r\n")
			line = 0
		} else if line > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	b.WriteString("\r\n")
	return b.String()
}

// headers writes the top-level header fields.
func (g *gen) headers(b *bytes.Buffer, i int, date time.Time) {
	subject := g.words(2 + g.r.IntN(6))
	if g.r.IntN(20) == 0 {
		subject = searchSubject + " " + subject
	}
	fmt.Fprintf(b, "Return-Path: <bounce-%d@lists.example.org>\r\n", i)
	fmt.Fprintf(b, "Received: from mx%d.example.org (mx%d.example.org [192.0.2.%d])\r\n\tby mail.example.com with ESMTPS id %08x\r\n\tfor <bench@example.com>; %s\r\n",
		i%7, i%7, i%250+1, g.r.Uint32(), date.Format(time.RFC1123Z))
	fmt.Fprintf(b, "Date: %s\r\n", date.Format(time.RFC1123Z))
	fmt.Fprintf(b, "From: %s\r\n", g.addr())
	fmt.Fprintf(b, "To: %s\r\n", g.addr())
	if g.r.IntN(3) == 0 {
		fmt.Fprintf(b, "Cc: %s, %s\r\n", g.addr(), g.addr())
	}
	fmt.Fprintf(b, "Subject: %s\r\n", subject)
	fmt.Fprintf(b, "Message-ID: <%d.%08x@example.org>\r\n", i, g.r.Uint32())
	if i > 0 && g.r.IntN(3) == 0 {
		fmt.Fprintf(b, "In-Reply-To: <%d.0@example.org>\r\n", g.r.IntN(i))
	}
	switch g.r.IntN(10) {
	case 0:
		fmt.Fprintf(b, "X-Foo: %s %d\r\n", searchHeader, i)
	case 1, 2, 3:
		fmt.Fprintf(b, "X-Foo: %s\r\n", g.words(2))
	}
	b.WriteString("MIME-Version: 1.0\r\n")
}

func (g *gen) plain(b *bytes.Buffer, i int, date time.Time) {
	g.headers(b, i, date)
	b.WriteString("Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n")
	b.WriteString(g.text(2000 + g.r.IntN(14000)))
}

func (g *gen) alternative(b *bytes.Buffer, i int, date time.Time) {
	g.headers(b, i, date)
	g.alternativeBody(b, i)
}

func (g *gen) alternativeBody(b *bytes.Buffer, i int) {
	bound := fmt.Sprintf("alt-%d-%08x", i, g.r.Uint32())
	fmt.Fprintf(b, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", bound)
	t := g.text(1500 + g.r.IntN(8000))
	fmt.Fprintf(b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n%s", bound, t)
	html := "<html><body><p>" + strings.ReplaceAll(t, "\r\n\r\n", "</p>\r\n<p>") + "</p></body></html>\r\n"
	fmt.Fprintf(b, "--%s\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n%s", bound, html)
	fmt.Fprintf(b, "--%s--\r\n", bound)
}

// attachment writes one base64 part of size octets (before encoding).
func (g *gen) attachment(b *bytes.Buffer, bound string, size int) {
	kinds := []struct{ typ, ext string }{{"application/pdf", "pdf"}, {"image/jpeg", "jpg"}, {"application/zip", "zip"}, {"application/octet-stream", "bin"}}
	k := kinds[g.r.IntN(len(kinds))]
	name := fmt.Sprintf("%s-%d.%s", vocabulary[g.r.IntN(len(vocabulary))], g.r.IntN(1000), k.ext)
	fmt.Fprintf(b, "--%s\r\nContent-Type: %s; name=\"%s\"\r\nContent-Disposition: attachment; filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", bound, k.typ, name, name)
	data := make([]byte, size)
	for i := 0; i < size; i += 8 {
		v := g.r.Uint64()
		for j := 0; j < 8 && i+j < size; j++ {
			data[i+j] = byte(v >> (8 * j))
		}
	}
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	b.WriteString("\r\n")
}

func (g *gen) mixed(b *bytes.Buffer, i int, date time.Time) {
	g.headers(b, i, date)
	bound := fmt.Sprintf("mix-%d-%08x", i, g.r.Uint32())
	fmt.Fprintf(b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\nThis is a multi-part message in MIME format.\r\n", bound)
	fmt.Fprintf(b, "--%s\r\n", bound)
	if g.r.IntN(2) == 0 {
		g.alternativeBody(b, i)
	} else {
		fmt.Fprintf(b, "Content-Type: text/plain; charset=us-ascii\r\n\r\n%s", g.text(500+g.r.IntN(4000)))
	}
	for n := 1 + g.r.IntN(3); n > 0; n-- {
		g.attachment(b, bound, 4000+g.r.IntN(42000))
	}
	fmt.Fprintf(b, "--%s--\r\n", bound)
}

func (g *gen) forwarded(b *bytes.Buffer, i int, date time.Time) {
	g.headers(b, i, date)
	bound := fmt.Sprintf("fwd-%d-%08x", i, g.r.Uint32())
	fmt.Fprintf(b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", bound)
	fmt.Fprintf(b, "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n%s", bound, g.text(300+g.r.IntN(1500)))
	fmt.Fprintf(b, "--%s\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n", bound)
	var inner bytes.Buffer
	if g.r.IntN(2) == 0 {
		g.mixed(&inner, i+100000, date.Add(-48*time.Hour))
	} else {
		g.alternative(&inner, i+100000, date.Add(-48*time.Hour))
	}
	b.Write(inner.Bytes())
	fmt.Fprintf(b, "--%s--\r\n", bound)
}

// size is the corpus's total octets.
func size(msgs []message) int64 {
	var n int64
	for _, m := range msgs {
		n += int64(len(m.raw))
	}
	return n
}
