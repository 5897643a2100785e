package message

import (
	"testing"
	"time"
)

// TestParseDateFast: the fast path reads what mail.ParseDate reads, the
// same way, and leaves the rest to it.
func TestParseDateFast(t *testing.T) {
	for _, v := range []string{
		"Mon, 1 Jan 2024 10:00:00 +0200",
		"1 Jan 2024 10:00:00 -0000",
		"Tue, 04 Jun 2024 10:00 +0000",
		"wed, 31 dec 1997 23:59:59 -0530",
		"Fri,5 Jan 2024 10:00:00 +0100",
	} {
		fast, ok := parseDateFast(v)
		if !ok {
			t.Errorf("%q: fast path refused it", v)
			continue
		}
		if slow := parseDate(v); !fast.Equal(slow) {
			t.Errorf("%q: fast %v, slow %v", v, fast, slow)
		}
		_, off := fast.Zone()
		if _, want := slowZone(v); off != want {
			t.Errorf("%q: zone offset %d, want %d", v, off, want)
		}
	}
	for _, v := range []string{
		"", "yesterday", "Mon, 1 Jan 2024 10:00:00 EST", "1 Jan 24 10:00:00 +0000",
		"31 Feb 2024 10:00:00 +0000", "1 Jan 2024 25:00:00 +0000", "1 Jan 2024 10:00:00 +0000 extra",
		"Monday, 1 Jan 2024 10:00:00 +0000 x", "1 Foo 2024 10:00:00 +0000",
	} {
		if _, ok := parseDateFast(v); ok {
			t.Errorf("%q: fast path took it", v)
		}
	}
}

func slowZone(v string) (time.Time, int) {
	t := parseDate(v)
	_, off := t.Zone()
	return t, off
}
