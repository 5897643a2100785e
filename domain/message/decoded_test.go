package message

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestDecoded(t *testing.T) {
	msg := strings.Join([]string{
		"Content-Type: multipart/mixed; boundary=b",
		"",
		"--b",
		"Content-Type: text/plain",
		"Content-Transfer-Encoding: quoted-printable",
		"",
		"caf=C3=A9 =",
		"ok",
		"--b",
		"Content-Type: application/octet-stream",
		"Content-Transfer-Encoding: base64",
		"",
		"AAEC",
		"/w==",
		"--b",
		"Content-Type: application/x",
		"Content-Transfer-Encoding: x-uuencode",
		"",
		"begin",
		"--b--",
		"",
	}, "\r\n")
	s, err := Parse(strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	raw := strings.NewReader(msg)
	tests := []struct {
		path []int
		want string
	}{
		{[]int{1}, "café ok"},
		{[]int{2}, "\x00\x01\x02\xff"},
		{[]int{9}, ""},
	}
	for _, tt := range tests {
		r, n, err := s.Decoded(raw, tt.path)
		if err != nil {
			t.Fatalf("%v: %v", tt.path, err)
		}
		got, _ := io.ReadAll(r)
		if !bytes.Equal(got, []byte(tt.want)) || n != int64(len(tt.want)) {
			t.Errorf("%v: got %q (n=%d), want %q", tt.path, got, n, tt.want)
		}
	}
	if _, _, err := s.Decoded(raw, []int{3}); !errors.Is(err, ErrUnknownCTE) {
		t.Errorf("x-uuencode: err = %v, want ErrUnknownCTE", err)
	}
}

// TestDecodedComposite: BINARY of the whole message and of composite parts
// keeps the structure and decodes the leaves (RFC 3516 4.2).
func TestDecodedComposite(t *testing.T) {
	multi := "Subject: m\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\npreamble\r\n" +
		"--b\r\nContent-Transfer-Encoding: BASE64\r\n (comment)\r\nX-After: 1\r\n\r\naGk=\r\n" +
		"--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=3Db\r\n" +
		"--b--\r\nepilogue\r\n"
	tests := []struct {
		name, msg string
		path      []int
		want      string
		err       error
	}{
		{"whole multipart", multi, nil,
			"Subject: m\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\npreamble\r\n" +
				"--b\r\nContent-Transfer-Encoding: binary\r\nX-After: 1\r\n\r\nhi\r\n" +
				"--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\nContent-Transfer-Encoding: binary\r\n\r\na=b\r\n" +
				"--b--\r\nepilogue\r\n", nil},
		{"encapsulated message", multi, []int{2}, "Subject: in\r\nContent-Transfer-Encoding: binary\r\n\r\na=b", nil},
		{"its body", multi, []int{2, 1}, "a=b", nil},
		{"single part", "Subject: s\r\nContent-Transfer-Encoding: base64\r\n\r\naGk=\r\n", nil,
			"Subject: s\r\nContent-Transfer-Encoding: binary\r\n\r\nhi", nil},
		{"identity kept as it is", "Subject: s\r\n\r\nplain\r\n", nil, "Subject: s\r\n\r\nplain\r\n", nil},
		{"damaged base64 ends the data", "Content-Transfer-Encoding: base64\r\n\r\naGVs!bG8=garbage", []int{1}, "hello", nil},
		{"dangling base64 character", "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8gA", []int{1}, "hello ", nil},
		{"unknown encoding in the whole", "Content-Transfer-Encoding: x-foo\r\n\r\nzz", nil, "", ErrUnknownCTE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(strings.NewReader(tt.msg))
			if err != nil {
				t.Fatal(err)
			}
			r, n, err := s.Decoded(strings.NewReader(tt.msg), tt.path)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			got, err := io.ReadAll(r)
			if err != nil || string(got) != tt.want || n != int64(len(got)) {
				t.Errorf("got %q (n=%d, err %v), want %q", got, n, err, tt.want)
			}
		})
	}
}
