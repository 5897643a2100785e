package message

import (
	"strings"
	"testing"
)

func TestPartStructure(t *testing.T) {
	raw := "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--b--\r\n"
	s := mustParse(t, raw)
	for _, tt := range []struct {
		path []int
		ok   bool
		want string
	}{
		{nil, true, `(("TEXT" "PLAIN"`},
		{[]int{1}, true, `("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 2 1 NIL NIL NIL NIL)`},
		{[]int{2}, true, `("TEXT" "HTML"`},
		{[]int{3}, false, ""},
		{[]int{1, 1}, false, ""},
	} {
		if got := s.HasPart(tt.path); got != tt.ok {
			t.Errorf("HasPart(%v) = %v", tt.path, got)
		}
		b, ok := s.AppendPartStructure(nil, tt.path)
		if ok != tt.ok || !strings.HasPrefix(string(b), tt.want) {
			t.Errorf("AppendPartStructure(%v) = %s, %v; want %s..., %v", tt.path, b, ok, tt.want, tt.ok)
		}
	}
}
