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
