package main

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// canned builds the response to "a FETCH 1:* ENVELOPE" (or FLAGS) of n
// messages, with one literal among them, as a server would send it.
func canned(n int, item string) []byte {
	var b bytes.Buffer
	for i := 1; i <= n; i++ {
		switch {
		case i == n/2:
			fmt.Fprintf(&b, "* %d FETCH (BODY[] {5}\r\nabcde)\r\n", i)
		case item == "FLAGS":
			fmt.Fprintf(&b, "* %d FETCH (FLAGS (\\Seen \\Recent))\r\n", i)
		default:
			fmt.Fprintf(&b, `* %d FETCH (ENVELOPE ("Mon, 1 Jan 2024 08:00:00 +0000" "the of and to in is" (("Alice" NIL "alice" "example.org")) (("Alice" NIL "alice" "example.org")) (("Alice" NIL "alice" "example.org")) (("Bob" NIL "bob" "example.com")) (("Dave" NIL "dave" "example.net")("Erin" NIL "erin" "example.org")) NIL "<3.0@example.org>" "<%d.abcdef01@example.org>"))`+"\r\n", i, i)
		}
	}
	b.WriteString("a OK FETCH completed\r\n")
	return b.Bytes()
}

// read skips literals and finds the tagged line.
func TestReadSkipsLiterals(t *testing.T) {
	data := canned(10, "FLAGS")
	data = append([]byte("* 1 FETCH (BODY[] {15}\r\na OK not this\r\n)\r\n"), data...)
	cl := &client{r: bufio.NewReader(bytes.NewReader(data))}
	r, err := cl.read("a", "* ")
	if err != nil {
		t.Fatal(err)
	}
	if r.status != "OK" || r.tagged != "a OK FETCH completed" || r.octets != int64(len(data)) || len(r.kept) != 11 {
		t.Errorf("status %q, tagged %q, %d octets of %d, %d kept", r.status, r.tagged, r.octets, len(data), len(r.kept))
	}
	if !strings.Contains(r.kept[0], "{15}") || !strings.HasSuffix(r.kept[0], ")") {
		t.Errorf("literal line kept as %q", r.kept[0])
	}
}

// BenchmarkRead measures the client's own cost of reading a 500-message
// FETCH response: it is part of every figure the table shows.
func BenchmarkRead(b *testing.B) {
	for _, item := range []string{"ENVELOPE", "FLAGS"} {
		data := canned(500, item)
		b.Run(item, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				cl := &client{r: bufio.NewReaderSize(bytes.NewReader(data), 256<<10)}
				if _, err := cl.read("a", ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
