package main

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
)

// TestCorpus checks that the generated mailbox is the same on every run,
// about 15 MB for 500 messages, well-formed MIME, and holds each search
// word in some messages but not in all.
func TestCorpus(t *testing.T) {
	a, b := corpus(1, 500), corpus(1, 500)
	for i := range a {
		if !bytes.Equal(a[i].raw, b[i].raw) {
			t.Fatalf("message %d differs between two runs with one seed", i)
		}
	}
	if n := size(a); n < 12e6 || n > 18e6 {
		t.Errorf("500 messages are %d octets, want about 15 MB", n)
	}
	kinds := map[string]int{}
	words := map[string]int{}
	for i, m := range a {
		msg, err := mail.ReadMessage(bytes.NewReader(m.raw))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		typ, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		kinds[typ]++
		if strings.HasPrefix(typ, "multipart/") {
			r := multipart.NewReader(msg.Body, params["boundary"])
			for {
				p, err := r.NextPart()
				if err != nil {
					if err != io.EOF {
						t.Fatalf("message %d: %v", i, err)
					}
					break
				}
				sub, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
				kinds["part "+sub]++
			}
		}
		if strings.Contains(msg.Header.Get("Subject"), searchSubject) {
			words["subject"]++
		}
		if strings.Contains(msg.Header.Get("From"), searchFrom) {
			words["from"]++
		}
		if strings.Contains(msg.Header.Get("X-Foo"), searchHeader) {
			words["x-foo"]++
		}
		if bytes.Contains(m.raw, []byte(searchBody)) {
			words["body"]++
		}
	}
	for _, k := range []string{"text/plain", "multipart/alternative", "multipart/mixed", "part message/rfc822", "part multipart/alternative", "part application/pdf"} {
		if kinds[k] == 0 {
			t.Errorf("no %s in the corpus: %v", k, kinds)
		}
	}
	for _, w := range []string{"subject", "from", "x-foo", "body"} {
		if words[w] == 0 || words[w] > 100 {
			t.Errorf("%s word in %d of 500 messages, want a few", w, words[w])
		}
	}
	t.Logf("%d octets; %v; %v", size(a), kinds, words)
}
