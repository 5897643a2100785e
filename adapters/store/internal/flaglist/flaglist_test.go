package flaglist

import (
	"reflect"
	"testing"
	"unsafe"
)

func TestParse(t *testing.T) {
	p := Parser{}
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{`\Seen`, []string{`\Seen`}},
		{`\Seen $Label1 Ours`, []string{`\Seen`, "$Label1", "Ours"}},
		{`  \Seen  x `, []string{`\Seen`, "x"}},
	} {
		if got := p.Parse([]byte(tt.in)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := p.Parse([]byte(Join(tt.want))); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(Join(%q)) = %q", tt.want, got)
		}
	}
	// One string per distinct name.
	a, b := p.Parse([]byte("Ours")), p.Parse([]byte("x Ours"))
	if unsafe.StringData(a[0]) != unsafe.StringData(b[1]) {
		t.Fatal("one name parsed twice is two strings")
	}
}
