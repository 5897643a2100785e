package message

import (
	"slices"
	"testing"
)

func TestThreadKeys(t *testing.T) {
	for _, tc := range []struct {
		hdr  string
		want []string
	}{
		{"Message-ID: <a@x>\r\n\r\n", []string{"a@x"}},
		{"Message-Id: <c@x>\r\nIn-Reply-To: <b@x>\r\nReferences: <a@x>\r\n <b@x>\r\n\r\n", []string{"c@x", "b@x", "a@x"}},
		{"In-Reply-To: Your message <b@x> of Monday\r\n\r\n", []string{"b@x"}},
		{"References: <a@x> <b@x>\r\nReferences: <c@x>\r\n\r\n", []string{"c@x", "b@x", "a@x"}},
		{"Message-ID: <a@\r\n x>\r\n\r\n", []string{"a@x"}},
		{"Subject: none\r\n\r\n", nil},
		{"Message-ID: no brackets\r\nReferences: <>\r\n\r\n", nil},
		{"Message-ID: <unterminated\r\n\r\n", nil},
		{"", nil},
	} {
		if got := ThreadKeys([]byte(tc.hdr)); !slices.Equal(got, tc.want) {
			t.Errorf("ThreadKeys(%q) = %q, want %q", tc.hdr, got, tc.want)
		}
	}
}
