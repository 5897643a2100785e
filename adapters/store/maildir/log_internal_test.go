package maildir

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// TestFrameChain: a frame is read only after the frame it followed when
// it was written; the bytes of one whose predecessor a crash lost are the
// log's end, even when a later frame ends exactly where they start.
func TestFrameChain(t *testing.T) {
	const seed = 12345
	f1, c1 := frame(seed, nil, []byte("h 1 2 3 4 5 6\n"))
	f2, c2 := frame(c1, []byte("blob"), []byte("h 1 3 4 4 5 6\n"))
	other, _ := frame(seed, nil, []byte("h 1 2 9 4 5 6\n")) // as long as f1
	if len(other) != len(f1) {
		t.Fatal("test frames differ in length")
	}
	tests := []struct {
		name  string
		data  []byte
		texts int
		chain uint32
	}{
		{"whole log", append(append([]byte{}, f1...), f2...), 2, c2},
		{"first lost, second survived", append(make([]byte, len(f1)), f2...), 0, seed},
		{"a later frame in the first's place", append(append([]byte{}, other...), f2...), 1, 0},
		{"cut short", append(append([]byte{}, f1...), f2[:len(f2)-1]...), 1, c1},
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), "log")
		if err := os.WriteFile(path, append(tt.data, make([]byte, 64)...), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		texts := 0
		_, chain, err := readFrames(f, 0, seed, func([]byte) error { texts++; return nil })
		f.Close()
		if err != nil || texts != tt.texts || (tt.chain != 0 && chain != tt.chain) {
			t.Errorf("%s: %d frames read (chain %d, %v), want %d", tt.name, texts, chain, err, tt.texts)
		}
	}
}

// TestReadFramesStretches: frames that straddle readFrames' reads, one
// longer than its longest read, and a torn header whose lengths run past
// the file, read from the start and from the middle of the log.
func TestReadFramesStretches(t *testing.T) {
	const seed = 7
	var data []byte
	var texts []string
	var ends []int64
	var chains []uint32
	prev := uint32(seed)
	add := func(blob int, text string) {
		b := make([]byte, blob)
		for i := range b {
			b[i] = byte(i)
		}
		fr, crc := frame(prev, b, []byte(text))
		data, prev = append(data, fr...), crc
		texts, ends, chains = append(texts, text), append(ends, int64(len(data))), append(chains, crc)
	}
	for i := range 300 {
		add(i*37%3000, fmt.Sprintf("d %d\n", i))
	}
	add(frameReadMax+5000, "d 300\n")
	add(10, "d 301\n")
	torn := make([]byte, frameHeader)
	copy(torn, frameMagic)
	binary.LittleEndian.PutUint32(torn[4:], 1<<31)
	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, append(append(data, torn...), make([]byte, 2*frameReadMax)...), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, from := range []int{0, 1, 150, 299, 300, 301} {
		off, chain := int64(0), uint32(seed)
		if from > 0 {
			off, chain = ends[from-1], chains[from-1]
		}
		var got []string
		end, last, err := readFrames(f, off, chain, func(text []byte) error {
			got = append(got, string(text))
			return nil
		})
		if err != nil || end != int64(len(data)) || last != prev || !slices.Equal(got, texts[from:]) {
			t.Errorf("from frame %d: %d texts, end %d, chain %d, %v; want %d, %d, %d", from, len(got), end, last, err, len(texts)-from, len(data), prev)
		}
	}
	// The torn header claims 2 GB: the file is looked at, not believed.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	readFrames(f, ends[300], chains[300], func([]byte) error { return nil })
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("reading up to a torn header allocated %d bytes", grew)
	}
	stop := errors.New("stop")
	n := 0
	if _, _, err := readFrames(f, 0, seed, func([]byte) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("an error of the callback: %v after %d frames", err, n)
	}
}

// TestCompactBeforeChange: when the frame of what a scan found compacts
// the log, the change that follows in the same operation goes into the
// new log, not the old one.
func TestCompactBeforeChange(t *testing.T) {
	defer func(old int64) { logLimit = old }(logLimit)
	s, dir := userStore(t)
	ctx := context.Background()
	body := "Subject: x\r\n\r\nx\r\n"
	if _, err := s.Append(ctx, "u", "INBOX", ports.NewMessage{Size: int64(len(body)), Body: strings.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	// Another program delivers: the next operation's scan writes a
	// frame, which compacts; the operation's own frame does not.
	if err := os.WriteFile(filepath.Join(dir, "u", "new", "1700000000.P1.host"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	logLimit = 0
	m, err := s.box("t", "u", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.update(ctx, "t", []*mailbox{m}, []error{imap.ErrNonexistent}, func(xs []*index) (bool, error) {
		logLimit = 1 << 40
		xs[0].recentUID = xs[0].uidNext
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	other, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := other.Status(ctx, "u", "INBOX")
	if err != nil || st.Messages != 2 || st.RecentUID != st.UIDNext {
		t.Errorf("another store sees %+v, %v; want 2 messages, none recent", st, err)
	}
}

// BenchmarkReadFrames: catching up on 200 changes of a log padded ahead,
// as a process does that last looked at the mailbox a while ago (an
// APPEND's frame carries its structure blob; a flag change's is text).
func BenchmarkReadFrames(b *testing.B) {
	var data []byte
	prev := uint32(1)
	blob := make([]byte, 1500)
	for i := range 200 {
		bl := blob
		if i%2 == 1 {
			bl = nil
		}
		fr, crc := frame(prev, bl, []byte(fmt.Sprintf("h 1 %d 3 4 5 6\nm %d 1 2 3 4 5 6 x\n", i, i)))
		data, prev = append(data, fr...), crc
	}
	path := filepath.Join(b.TempDir(), "log")
	if err := os.WriteFile(path, append(data, make([]byte, padChunk)...), 0o600); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if _, _, err := readFrames(f, 0, 1, func([]byte) error { n++; return nil }); err != nil || n != 200 {
			b.Fatal(n, err)
		}
	}
}

// TestFrameCRC: the CRC of logs on disk is CRC-32C over the previous CRC
// (little endian), the lengths and the body, however it is computed.
func TestFrameCRC(t *testing.T) {
	for _, prev := range []uint32{0, 1, 0xdeadbeef, 0xffffffff} {
		lengths, body := []byte{3, 0, 0, 0, 5, 0, 0, 0}, []byte("abcdefgh")
		want := crc32.Checksum(append(append(binary.LittleEndian.AppendUint32(nil, prev), lengths...), body...), crc32.MakeTable(crc32.Castagnoli))
		if got := frameCRC(prev, lengths, body); got != want {
			t.Errorf("frameCRC(%#x) = %#x, want %#x", prev, got, want)
		}
	}
}

// TestTombsNotCopiedPerWrite: a write to a mailbox with many expunges
// behind it costs memory for what it changes, not for every tombstone the
// mailbox keeps: the clone shares the list, and the frame's text is made
// without a map of them when tombstones were only added.
func TestTombsNotCopiedPerWrite(t *testing.T) {
	const n = 50000 // 16 bytes each: 800 KB
	x := &index{uidValidity: 1, uidNext: n + 2, highest: n + 1}
	for u := 1; u <= n; u++ {
		x.tombs = append(x.tombs, tomb{imap.UID(u), uint64(u)})
	}
	x.msgs = listOf([]entry{{uid: n + 1, modseq: n + 1, file: "1.a,U=50001:2,", flags: []string{}}})
	perWrite := func(write func(c *index), want string) uint64 {
		var before, after runtime.MemStats
		const rounds = 10
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range rounds {
			c := x.clone()
			c.highest++
			write(c)
			if text := diff(x, c); !strings.Contains(string(text), fmt.Sprintf(want, c.highest)) {
				t.Fatalf("diff: %q", text)
			}
		}
		runtime.ReadMemStats(&after)
		return (after.TotalAlloc - before.TotalAlloc) / rounds
	}
	flags := perWrite(func(c *index) {
		e := c.msgs.mut(0)
		e.flags, e.file, e.modseq = []string{imap.FlagSeen}, "1.a,U=50001:2,S", c.highest
	}, "m 50001 %d ")
	if flags > 64<<10 {
		t.Errorf("a change of flags allocated %d bytes with %d tombstones", flags, n)
	}
	expunge := perWrite(func(c *index) {
		c.tombs = append(c.tombs, tomb{n + 1, c.highest})
		c.msgs.remove(func(int) bool { return true })
		sortTombs(c)
	}, "x 50001 %d\n")
	// Adding to the list copies it once (append's growth included).
	if expunge > 16*n*8/5 {
		t.Errorf("an expunge allocated %d bytes with %d tombstones", expunge, n)
	}
}

// TestCatchUpBatches: catching up on many frames at once (whose lines
// later ones replace are not parsed) gives the index that catching up on
// them one at a time gives, whatever the changes: messages added, changed
// and removed, old and new ones, tombstones added in and out of order.
func TestCatchUpBatches(t *testing.T) {
	noCompaction(t)
	ctx := context.Background()
	writer, dir := userStore(t)
	reader, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := reader.box("t", "u", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var live []imap.UID
	var steps []*index
	for step := range 80 {
		switch k := rng.IntN(4); {
		case k == 0 || len(live) < 3:
			live = append(live, appendTo(t, writer, fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", step), "$k"+strconv.Itoa(step%3)))
		case k == 1:
			u := live[rng.IntN(len(live))]
			if _, err := writer.UpdateFlags(ctx, "u", "INBOX", []imap.UID{u}, ports.FlagsAdd, []string{imap.FlagSeen, "$k" + strconv.Itoa(step%5)}); err != nil {
				t.Fatal(err)
			}
		default:
			// The newest message half the time, an older one otherwise:
			// tombstones out of UID order.
			i := len(live) - 1
			if k == 3 {
				i = rng.IntN(len(live))
			}
			expunge(t, writer, live[i])
			live = slices.Delete(live, i, i+1)
		}
		x, err := reader.readIndex(m)
		if err != nil {
			t.Fatal(err)
		}
		steps = append(steps, x)
	}
	last := steps[len(steps)-1]
	if last.msgs.len() != len(live) {
		t.Fatalf("%d messages, want %d", last.msgs.len(), len(live))
	}
	want := string(last.encode())
	for i := 0; i < len(steps)-1; i += 7 {
		x, err := catchUp(m, steps[i])
		if err != nil {
			t.Fatal(err)
		}
		if got := string(x.encode()); got != want {
			t.Errorf("caught up from step %d:\n%s\nwant (one frame at a time):\n%s", i, got, want)
		}
		if x.uidNext != last.uidNext || x.highest != last.highest || x.recentUID != last.recentUID || x.curMtime != last.curMtime {
			t.Errorf("caught up from step %d: header %d %d %d %d, want %d %d %d %d", i,
				x.uidNext, x.highest, x.recentUID, x.curMtime, last.uidNext, last.highest, last.recentUID, last.curMtime)
		}
	}
}

// TestChangeSetCorrupt: lines a writer never writes are refused, those
// of the last frame and those a later frame replaces alike (the latter as
// far as the UID they name).
func TestChangeSetCorrupt(t *testing.T) {
	for _, frames := range [][]string{
		{"h 1 2 3 4 5\n"},
		{"h 1 2 3 4 5 x\n"},
		{"m x 1 0 0 0 0 0 0 f\n", "d 1\n"},
		{"m 4294967296 1 0 0 0 0 0 0 f\n", "d 1\n"},
		{"m 1 1 0 0 0 0 0\n"},
		{"m 1 x 0 0 0 0 0 0 f\n"},
		{"d -1\n"},
		{"d 1 2\n"},
		{"x 1\n"},
		{"x 1 -2\n"},
		{"y +\n"},
		{"q 1\n"},
		{"m1 1 0\n"},
	} {
		x := &index{}
		ch := newChangeSet()
		var err error
		for _, f := range frames {
			if err = ch.parse([]byte(f)); err != nil {
				break
			}
		}
		if err == nil {
			err = ch.finish(x)
		}
		if !errors.Is(err, errCorrupt) {
			t.Errorf("%q: %v, want errCorrupt", frames, err)
		}
	}
}

// TestParseDecimal: parseDecimal reads what strconv.ParseInt reads in
// base 10, and refuses what it refuses.
func TestParseDecimal(t *testing.T) {
	for _, s := range []string{"0", "7", "-7", "+7", "007", "", "-", "+", "1a", " 1", "1 ",
		"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
		"99999999999999999999", "1_000", "0x10", "１"} {
		want, err := strconv.ParseInt(s, 10, 64)
		got, ok := parseDecimal([]byte(s))
		if ok != (err == nil) || ok && got != want {
			t.Errorf("parseDecimal(%q) = %d, %v; strconv: %d, %v", s, got, ok, want, err)
		}
	}
}

// TestMergeTombs: the merge gives the sorted list that applying each
// change to the old list and sorting gives.
func TestMergeTombs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 500 {
		var old []tomb
		for u := 1; u <= rng.IntN(40); u++ {
			if rng.IntN(2) == 0 {
				old = append(old, tomb{imap.UID(3 * u), uint64(u)})
			}
		}
		changes := map[imap.UID]tombEdit{}
		want := map[imap.UID]uint64{}
		for _, o := range old {
			want[o.uid] = o.modseq
		}
		for range rng.IntN(8) {
			u := imap.UID(rng.IntN(130))
			if rng.IntN(3) == 0 {
				changes[u] = tombEdit{gone: true}
				delete(want, u)
			} else {
				ms := uint64(1000 + rng.IntN(100))
				changes[u] = tombEdit{modseq: ms}
				want[u] = ms
			}
		}
		before := slices.Clone(old)
		got := mergeTombs(old, changes)
		if !slices.Equal(old, before) {
			t.Fatalf("round %d: the old list changed", round)
		}
		if len(changes) != 0 {
			t.Fatalf("round %d: changes not emptied", round)
		}
		var exp []tomb
		for u, ms := range want {
			exp = append(exp, tomb{u, ms})
		}
		slices.SortFunc(exp, tombOrder)
		if !slices.Equal(got, exp) {
			t.Fatalf("round %d: %v, want %v", round, got, exp)
		}
	}
}

// TestCompactsByFrames: a log of many small frames is compacted when it
// has more than frameLimit of them, though it is far below logLimit; the
// next snapshot starts a new count, and another process reads the same
// messages from it.
func TestCompactsByFrames(t *testing.T) {
	defer func(old int) { frameLimit = old }(frameLimit)
	frameLimit = 10
	ctx := context.Background()
	s, dir := userStore(t)
	uid := appendTo(t, s, smallBody)
	m, x := inboxIndex(t, s)
	var err error
	gen, frames := x.cacheGen, x.frames
	for i := 0; frames < frameLimit; i++ {
		op := []ports.FlagOp{ports.FlagsAdd, ports.FlagsRemove}[i%2]
		if _, err := s.UpdateFlags(ctx, "u", "INBOX", []imap.UID{uid}, op, []string{imap.FlagFlagged}); err != nil {
			t.Fatal(err)
		}
		if x, err = s.readIndex(m); err != nil {
			t.Fatal(err)
		}
		if x.cacheGen != gen {
			t.Fatalf("compacted after %d frames, before the limit of %d", frames, frameLimit)
		}
		if x.frames != frames+1 {
			t.Fatalf("%d frames counted after %d and one change", x.frames, frames)
		}
		frames = x.frames
	}
	if x.logEnd-x.logOff > logLimit/100 {
		t.Fatalf("a log of %d bytes: the test means a short one", x.logEnd-x.logOff)
	}
	if _, err := s.UpdateFlags(ctx, "u", "INBOX", []imap.UID{uid}, ports.FlagsAdd, []string{imap.FlagSeen}); err != nil {
		t.Fatal(err)
	}
	if x, err = s.readIndex(m); err != nil {
		t.Fatal(err)
	}
	if x.cacheGen != gen+1 || x.frames != 0 {
		t.Fatalf("after %d frames: generation %d (was %d), %d frames", frames+1, x.cacheGen, gen, x.frames)
	}
	other, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	metas, err := other.Fetch(ctx, "u", "INBOX", []imap.UID{uid})
	if err != nil || len(metas) != 1 || !slices.Contains(metas[0].Flags, imap.FlagSeen) {
		t.Fatalf("another store reads %+v, %v", metas, err)
	}
}

// TestDecodeSortsTombs: a snapshot whose tombstones are out of UID order
// is read sorted, so that catching up merges into it by binary search.
func TestDecodeSortsTombs(t *testing.T) {
	x := &index{version: indexVersion, uidValidity: 1, uidNext: 10, highest: 9,
		tombs: []tomb{{7, 7}, {2, 2}, {5, 5}}}
	y, err := decode(x.encode())
	if err != nil {
		t.Fatal(err)
	}
	if want := []tomb{{2, 2}, {5, 5}, {7, 7}}; !slices.Equal(y.tombs, want) {
		t.Fatalf("tombstones %v, want %v", y.tombs, want)
	}
	if got := mergeTombs(y.tombs, map[imap.UID]tombEdit{5: {gone: true}, 3: {modseq: 11}}); !slices.Equal(got, []tomb{{2, 2}, {3, 11}, {7, 7}}) {
		t.Fatalf("merged: %v", got)
	}
}
