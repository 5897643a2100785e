package app

import (
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// Session ids are Cyrus's (lib/sessionid.c): base, time, pid, a count
// that starts again each second, and 64 random bits.
func TestSessionIDs(t *testing.T) {
	g := sessionIDs{base: "cyrus"}
	now := time.Unix(1700000000, 0)
	pid := strconv.Itoa(os.Getpid())
	re := regexp.MustCompile(`^cyrus-(\d+)-` + pid + `-(\d+)-\d+$`)
	for i, tt := range []struct {
		at   time.Time
		secs string
		n    string
	}{
		{now, "1700000000", "1"},
		{now.Add(500 * time.Millisecond), "1700000000", "2"},
		{now.Add(time.Second), "1700000001", "1"},
	} {
		id := g.next(tt.at)
		m := re.FindStringSubmatch(id)
		if m == nil || m[1] != tt.secs || m[2] != tt.n {
			t.Errorf("%d: id %q, want time %s and count %s", i, id, tt.secs, tt.n)
		}
	}
	if a, b := g.next(now), g.next(now); a == b {
		t.Errorf("two ids alike: %q", a)
	}
}
