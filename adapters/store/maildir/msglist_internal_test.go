package maildir

import (
	"bufio"
	"bytes"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
)

// indexOf returns an index of n messages, UIDs 1 to n, as decode makes
// it.
func indexOf(n int) *index {
	x := freshIndex(1, imap.UID(n+1))
	flat := make([]entry, n, n+8) // room to grow, as decode leaves
	for i := range flat {
		flat[i] = entry{uid: imap.UID(i + 1), modseq: 1, file: "f" + strings.Repeat("x", i%3)}
	}
	x.msgs = listOf(flat)
	return x
}

func uidsOf(l *msgList) []imap.UID {
	var out []imap.UID
	for i := range l.len() {
		out = append(out, l.at(i).uid)
	}
	return out
}

// TestCloneShares: clones share their index's messages chunk by chunk
// without changing them: a change or an append in one clone reaches
// neither the index nor another clone, and copies only the chunk it
// touches (but the first clone appends in place); the frame of a clone
// lists only what it changed.
func TestCloneShares(t *testing.T) {
	const n = 3*chunkLen + 10
	x := indexOf(n)
	a, b := x.clone(), x.clone()
	a.msgs.push(entry{uid: n + 10})
	b.msgs.push(entry{uid: n + 20})
	a.msgs.mut(5).modseq = 7
	if x.msgs.len() != n || a.msgs.at(n).uid != n+10 || b.msgs.at(n).uid != n+20 {
		t.Fatalf("after appends: %d, %d, %d", x.msgs.len(), a.msgs.at(n).uid, b.msgs.at(n).uid)
	}
	if x.msgs.at(5).modseq != 1 || b.msgs.at(5).modseq != 1 {
		t.Errorf("a clone's change reached its index or another clone")
	}
	for c := range x.msgs.chunks {
		shared := sameChunk(&x.msgs, &a.msgs, c)
		if want := c != 0 && c != len(x.msgs.chunks)-1; shared != want {
			t.Errorf("chunk %d shared %v, want %v", c, shared, want)
		}
	}
	// The first clone appended into the spare room of the last chunk;
	// the second one into a copy.
	last := len(x.msgs.chunks) - 1
	if &a.msgs.chunks[last][0] != &x.msgs.chunks[last][0] || &b.msgs.chunks[last][0] == &x.msgs.chunks[last][0] {
		t.Error("the first clone did not take the spare room, or the second one shared it")
	}
	if got := string(diff(x, a)); strings.Count(got, "\nm ") != 2 || strings.Contains(got, "\nd ") ||
		!strings.Contains(got, "\nm 6 7 ") || !strings.Contains(got, "\nm 788 ") {
		t.Errorf("diff of one change and one append:\n%s", got)
	}
	// A clone of a clone: changes the chunk its parent copied.
	c := a.clone()
	c.msgs.mut(6).modseq = 9
	if a.msgs.at(6).modseq != 1 || c.msgs.at(5).modseq != 7 {
		t.Errorf("a second clone's change reached the first")
	}
	if got := string(diff(a, c)); strings.Count(got, "\nm ") != 1 || !strings.Contains(got, "\nm 7 9 ") {
		t.Errorf("diff of the second clone:\n%s", got)
	}
}

// TestMsgListEdits: insertions, removals and appends keep UID order and
// the chunk layout (every chunk full but the last).
func TestMsgListEdits(t *testing.T) {
	for _, tt := range []struct {
		name string
		n    int
		edit func(x *index)
		want func(u imap.UID) bool // which of 1..n (and 10000) remain
	}{
		{"append into a new chunk", chunkLen, func(x *index) { x.msgs.push(entry{uid: 10000}) },
			func(imap.UID) bool { return true }},
		{"remove every third", 2*chunkLen + 3, func(x *index) {
			x.msgs.remove(func(i int) bool { return x.msgs.at(i).uid%3 == 0 })
		}, func(u imap.UID) bool { return u%3 != 0 && u != 10000 }},
		{"insert in the middle", chunkLen + 1, func(x *index) {
			x.msgs.remove(func(i int) bool { return x.msgs.at(i).uid == 7 })
			i, _ := x.find(7)
			x.msgs.insert(i, entry{uid: 7})
		}, func(u imap.UID) bool { return u != 10000 }},
		{"insert at the end", 5, func(x *index) { x.msgs.insert(5, entry{uid: 10000}) },
			func(imap.UID) bool { return true }},
	} {
		x := indexOf(tt.n)
		y := x.clone()
		tt.edit(y)
		var want []imap.UID
		for u := imap.UID(1); u <= imap.UID(tt.n); u++ {
			if tt.want(u) {
				want = append(want, u)
			}
		}
		if tt.want(10000) {
			want = append(want, 10000)
		}
		if got := uidsOf(&y.msgs); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", tt.name, got, want)
		}
		for c, ch := range y.msgs.chunks {
			if c < len(y.msgs.chunks)-1 && len(ch) != chunkLen {
				t.Errorf("%s: chunk %d holds %d", tt.name, c, len(ch))
			}
		}
		if x.msgs.len() != tt.n || uidsOf(&x.msgs)[tt.n-1] != imap.UID(tt.n) {
			t.Errorf("%s: the edit reached the index it cloned", tt.name)
		}
	}
}

// TestApplyInPlace: a reader catching up on frames that change messages
// it has and add some after them changes only the chunks concerned; a
// frame that removes one rebuilds the list; the index caught up from is
// never changed.
func TestApplyInPlace(t *testing.T) {
	const n = 2*chunkLen + 5
	for _, tt := range []struct {
		name   string
		frames []string
		want   map[imap.UID]uint64 // UID -> modseq; others absent
		shared int                 // chunks still shared with the old index
	}{
		{"change and append", []string{"m 3 9 0 0 0 0 0 0 f3\n", "m 600 10 0 0 0 0 0 0 f600\nm 601 10 0 0 0 0 0 0 f601\n"},
			map[imap.UID]uint64{3: 9, 600: 10, 601: 10}, 1},
		{"change in the last chunk", []string{"m 515 9 0 0 0 0 0 0 f515\n"}, map[imap.UID]uint64{515: 9}, 2},
		{"remove", []string{"d 4\n", "m 5 9 0 0 0 0 0 0 f5\n"}, map[imap.UID]uint64{4: 0, 5: 9}, 0},
	} {
		x := indexOf(n)
		y := x.clone()
		ch := newChangeSet()
		for _, f := range tt.frames {
			if err := ch.parse([]byte(f)); err != nil {
				t.Fatal(err)
			}
		}
		if err := ch.finish(y); err != nil {
			t.Fatal(err)
		}
		ch.apply(y)
		for u := imap.UID(1); u <= 601; u++ {
			i, ok := y.find(u)
			ms, changed := tt.want[u]
			switch {
			case changed && ms == 0 && ok:
				t.Errorf("%s: UID %d still there", tt.name, u)
			case changed && ms > 0 && (!ok || y.msgs.at(i).modseq != ms):
				t.Errorf("%s: UID %d missing or not changed", tt.name, u)
			case !changed && u <= n && (!ok || y.msgs.at(i).modseq != 1):
				t.Errorf("%s: UID %d missing or changed", tt.name, u)
			}
		}
		shared := 0
		for c := range x.msgs.chunks {
			if sameChunk(&x.msgs, &y.msgs, c) {
				shared++
			}
		}
		if shared != tt.shared {
			t.Errorf("%s: %d chunks shared, want %d", tt.name, shared, tt.shared)
		}
		if x.msgs.len() != n || x.msgs.at(2).modseq != 1 || x.msgs.at(n-1).modseq != 1 {
			t.Errorf("%s: the old index changed", tt.name)
		}
	}
}

// TestPicked: positions of wanted UIDs, found by a walk in step for many
// and by searches for few, the same either way.
func TestPicked(t *testing.T) {
	x := indexOf(3*chunkLen + 7)
	x = x.clone()
	x.msgs.remove(func(i int) bool { return i%5 == 0 }) // UIDs with gaps
	for _, tt := range []struct {
		name string
		want []imap.UID
	}{
		{"none", nil},
		{"few", []imap.UID{1, 2, 3, 300, 800}},
		{"all and more", func() []imap.UID {
			var w []imap.UID
			for u := imap.UID(1); u <= 900; u++ {
				w = append(w, u)
			}
			return w
		}()},
		{"every third past the end", func() []imap.UID {
			var w []imap.UID
			for u := imap.UID(3); u <= 2000; u += 3 {
				w = append(w, u)
			}
			return w
		}()},
	} {
		var brute []int
		for _, u := range tt.want {
			for i := range x.msgs.len() {
				if x.msgs.at(i).uid == u {
					brute = append(brute, i)
				}
			}
		}
		if got := picked(x, tt.want); !slices.Equal(got, brute) {
			t.Errorf("%s: %v, want %v", tt.name, got, brute)
		}
	}
}

// TestLineReaderSplitsAsScanLines: the index and the log are split into
// the lines bufio.ScanLines gives.
func TestLineReaderSplitsAsScanLines(t *testing.T) {
	for _, text := range []string{
		"", "\n", "\n\n", "a", "a\n", "a\nb", "a\r\nb\r\n", "a\r\r\nb", "\r", "a\n\nb\n", "m 1 2\nd 3\r\nx 4 5",
	} {
		var want []string
		sc := bufio.NewScanner(strings.NewReader(text))
		for sc.Scan() {
			want = append(want, sc.Text())
		}
		var got []string
		r := lineReader{rest: []byte(text)}
		for line, ok := r.next(); ok; line, ok = r.next() {
			got = append(got, string(line))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q: lines %q, want %q", text, got, want)
		}
	}
}

// BenchmarkDecodeIndex: reading the index of a mailbox of 10 messages, as
// every session that opens one does.
func BenchmarkDecodeIndex(b *testing.B) {
	data := indexOf(10).encode()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFieldsAsBytesFields: fields splits as bytes.Fields does, Unicode
// spaces included.
func TestFieldsAsBytesFields(t *testing.T) {
	for _, s := range []string{"", " ", "a", " a  b\tc\r\n", "1 2 3 f k1 k2", "a\u00a0b c", "\u3000x y\u0085z", "é b", "a\vb\fc"} {
		want := bytes.Fields([]byte(s))
		got := fields(make([][]byte, 0, 1), []byte(s))
		if len(got) != len(want) {
			t.Errorf("%q: fields %q, want %q", s, got, want)
			continue
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) || cap(got[i]) != len(got[i]) {
				t.Errorf("%q: field %d %q (cap %d), want %q", s, i, got[i], cap(got[i]), want[i])
			}
		}
	}
}

// TestOwnCopiesSmall: a change in a small mailbox copies its few entries
// with a little room, not a whole chunk's worth, and appends past that
// room still keep every clone apart.
func TestOwnCopiesSmall(t *testing.T) {
	x := indexOf(10)
	a, b := x.clone(), x.clone()
	a.msgs.mut(3).modseq = 9
	if got, want := cap(a.msgs.chunks[0]), grow(10); got != want {
		t.Errorf("the copied chunk's room: %d entries, want %d", got, want)
	}
	for i := range 40 {
		a.msgs.push(entry{uid: imap.UID(100 + i)})
		b.msgs.push(entry{uid: imap.UID(200 + i)})
	}
	if x.msgs.len() != 10 || x.msgs.at(3).modseq != 1 || b.msgs.at(3).modseq != 1 {
		t.Fatalf("a clone's change reached its index or another clone")
	}
	if a.msgs.at(3).modseq != 9 || a.msgs.len() != 50 || b.msgs.len() != 50 {
		t.Fatalf("after appends: %d and %d messages", a.msgs.len(), b.msgs.len())
	}
	for i := range 40 {
		if a.msgs.at(10+i).uid != imap.UID(100+i) || b.msgs.at(10+i).uid != imap.UID(200+i) {
			t.Fatalf("entry %d: %d and %d", 10+i, a.msgs.at(10+i).uid, b.msgs.at(10+i).uid)
		}
	}
	var l msgList
	l.push(entry{uid: 1})
	if got, want := cap(l.chunks[0]), grow(0); got != want {
		t.Errorf("a new chunk's room: %d entries, want %d", got, want)
	}
}

// TestTombsAppendInPlace: the first clone of an index appends tombstones
// into the room past the index's list, the others into copies, and a
// catch-up's merge of new tombstones does the same: none of them sees
// another's.
func TestTombsAppendInPlace(t *testing.T) {
	x := indexOf(3)
	x.tombSpare = new(atomic.Bool)
	x.tombs = make([]tomb, 0, 64)
	for u := range 20 {
		x.tombs = append(x.tombs, tomb{imap.UID(100 + u), 5})
	}
	a, b := x.clone(), x.clone()
	a.tombs = append(a.tombs, tomb{500, 6})
	b.tombs = mergeTombs(b.tombs, map[imap.UID]tombEdit{600: {modseq: 7}, 601: {modseq: 7}})
	if &a.tombs[0] != &x.tombs[0] || &b.tombs[0] == &x.tombs[0] {
		t.Errorf("the first clone appended into a copy, or the second in place")
	}
	if len(x.tombs) != 20 || len(a.tombs) != 21 || len(b.tombs) != 22 ||
		a.tombs[20] != (tomb{500, 6}) || b.tombs[20] != (tomb{600, 7}) || b.tombs[21] != (tomb{601, 7}) {
		t.Fatalf("tombstones: %v, %v, %v", x.tombs, a.tombs, b.tombs)
	}
	// A clone of the first clone merges in place past its list, into the
	// room a and x share.
	c, d := a.clone(), a.clone()
	c.tombs = mergeTombs(c.tombs, map[imap.UID]tombEdit{700: {modseq: 8}})
	d.tombs = append(d.tombs, tomb{800, 9})
	if &c.tombs[0] != &x.tombs[0] || &d.tombs[0] == &x.tombs[0] {
		t.Errorf("the clone of a clone: in place %v and %v, want true and false", &c.tombs[0] == &x.tombs[0], &d.tombs[0] == &x.tombs[0])
	}
	if len(a.tombs) != 21 || a.tombs[20] != (tomb{500, 6}) || c.tombs[21] != (tomb{700, 8}) || d.tombs[21] != (tomb{800, 9}) {
		t.Fatalf("tombstones: %v, %v, %v", a.tombs, c.tombs, d.tombs)
	}
	// A merge that edits or inserts builds a new list.
	e := c.clone()
	e.tombs = mergeTombs(e.tombs, map[imap.UID]tombEdit{150: {modseq: 10}})
	if &e.tombs[0] == &x.tombs[0] || e.tombs[1] != (tomb{101, 5}) || len(c.tombs) != 22 {
		t.Errorf("an insert: %v", e.tombs)
	}
}
