package message

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestForStore(t *testing.T) {
	long := strings.Repeat("\x00\x01binary", 40) // several base64 lines
	tests := []struct {
		name    string
		msg     string
		changed bool
		err     error
		path    []int  // a part whose decoded content is checked
		want    string // its BINARY content
	}{
		{name: "no NUL", msg: "Subject: x\r\n\r\nplain\r\n"},
		{name: "8-bit without NUL", msg: "Content-Transfer-Encoding: binary\r\n\r\n\xff\xfe\r\n"},
		{name: "single part", msg: "Subject: x\r\nContent-Transfer-Encoding: binary\r\n\r\na\x00b\r\n",
			changed: true, path: []int{1}, want: "a\x00b\r\n"},
		{name: "no encoding field", msg: "Subject: x\r\n\r\na\x00b",
			changed: true, path: []int{1}, want: "a\x00b"},
		{name: "long", msg: "Subject: x\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + long,
			changed: true, path: []int{1}, want: long},
		{name: "part of a multipart", msg: "Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\n\r\ntext\r\n" +
			"--b\r\nContent-Transfer-Encoding: Binary\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x00\r\n--b--\r\npost\r\n",
			changed: true, path: []int{2}, want: "\x00\x00"},
		{name: "inside an encapsulated message", msg: "Content-Type: message/rfc822\r\n\r\n" +
			"Subject: in\r\nContent-Transfer-Encoding: binary\r\n\r\nz\x00z",
			changed: true, path: []int{1, 1}, want: "z\x00z"},
		{name: "NUL in the header", msg: "Subject: \x00\r\n\r\nbody\r\n", err: ErrNUL},
		{name: "NUL in a preamble", msg: "Content-Type: multipart/mixed; boundary=b\r\n\r\n\x00\r\n--b\r\n\r\nx\r\n--b--\r\n", err: ErrNUL},
		{name: "NUL in a base64 part", msg: "Content-Transfer-Encoding: base64\r\n\r\nAA\x00==\r\n", err: ErrNUL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := Parse(strings.NewReader(tt.msg))
			if err != nil {
				t.Fatal(err)
			}
			r, size, changed, err := ForStore(st, strings.NewReader(tt.msg))
			if !errors.Is(err, tt.err) || changed != tt.changed {
				t.Fatalf("changed %v, err %v; want %v, %v", changed, err, tt.changed, tt.err)
			}
			if !changed {
				return
			}
			stored, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(stored)) != size || bytes.IndexByte(stored, 0) >= 0 {
				t.Fatalf("stored %q, size %d", stored, size)
			}
			for _, line := range strings.Split(string(stored), "\r\n") {
				if len(line) > 76 {
					t.Errorf("line of %d bytes", len(line))
				}
			}
			st2, err := Parse(bytes.NewReader(stored))
			if err != nil {
				t.Fatal(err)
			}
			if _, _, again, err := ForStore(st2, bytes.NewReader(stored)); again || err != nil {
				t.Errorf("the stored form is not stable: %v %v", again, err)
			}
			got, n, err := st2.Decoded(bytes.NewReader(stored), tt.path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(got)
			if string(b) != tt.want || n != int64(len(tt.want)) {
				t.Errorf("BINARY%v = %q (%d), want %q\nstored: %q", tt.path, b, n, tt.want, stored)
			}
		})
	}
}
