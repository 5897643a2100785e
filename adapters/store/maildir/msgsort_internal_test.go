package maildir

import (
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
)

// TestSortFramesDamaged: a frame cut short by a crash, or with a byte
// changed, is skipped, and the whole frames after it are still read.
func TestSortFramesDamaged(t *testing.T) {
	one := appendSortFrame(nil, 7, 1, []byte("first"))
	two := appendSortFrame(nil, 7, 2, []byte("second"))
	three := appendSortFrame(nil, 7, 3, []byte("third"))
	flipped := append([]byte(nil), two...)
	flipped[len(flipped)-1] ^= 1
	for _, tt := range []struct {
		name string
		data []byte
		want []imap.UID
	}{
		{"whole", append(append(append([]byte(nil), one...), two...), three...), []imap.UID{1, 2, 3}},
		{"cut", append(append(append([]byte(nil), one...), two[:len(two)-3]...), three...), []imap.UID{1, 3}},
		{"cut header", append(append(append([]byte(nil), one...), two[:5]...), three...), []imap.UID{1, 3}},
		{"changed", append(append(append([]byte(nil), one...), flipped...), three...), []imap.UID{1, 3}},
		{"cut at end", append(append([]byte(nil), one...), two[:len(two)-1]...), []imap.UID{1}},
	} {
		var got []imap.UID
		for _, f := range readSortFrames(tt.data) {
			if f.uidValidity != 7 {
				t.Errorf("%s: UIDVALIDITY %d", tt.name, f.uidValidity)
			}
			got = append(got, f.uid)
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: UIDs %v, want %v", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: UIDs %v, want %v", tt.name, got, tt.want)
			}
		}
	}
}
