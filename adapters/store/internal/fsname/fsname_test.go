package fsname

import "testing"

func TestEscapeRoundTrip(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"alice", "alice"},
		{"a.b@example.org", "a.b@example.org"},
		{".hidden", "%2Ehidden"},
		{"..", "%2E."},
		{"a/b", "a%2Fb"},
		{":shared", "%3Ashared"},
		{"100%", "100%25"},
		{"é", "%C3%A9"},
	} {
		got := Escape(tt.in)
		if got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if back, ok := Unescape(got); !ok || back != tt.in {
			t.Errorf("Unescape(%q) = %q %v, want %q", got, back, ok, tt.in)
		}
	}
	for _, bad := range []string{"%", "%4", "%zz", "a%G1"} {
		if _, ok := Unescape(bad); ok {
			t.Errorf("Unescape(%q) accepted", bad)
		}
	}
}
