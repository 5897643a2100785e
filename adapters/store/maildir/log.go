package maildir

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/imapd-go/imapd/domain/imap"
)

// The change log. From format version 2 on, imapd-index is a snapshot and
// the cache file it names, imapd-cache.<G>, is also the log of the changes
// made since: the snapshot's "L" is the offset where the log starts (every
// byte before it is structure blobs, referred to by offset), and each
// change after it is one frame:
//
//	"IMXL"                  4 bytes
//	blob length             uint32, little endian
//	text length             uint32, little endian
//	CRC-32C                 uint32, of the previous frame's CRC (the
//	                        snapshot's seed "S" for the first), the two
//	                        lengths, the blobs and the text
//	blobs                   the structure blobs of the messages the change adds
//	text                    the change, in lines like the snapshot's:
//	    h V N H R C K         the header values after the change
//	    m ...                 a message added or changed (the snapshot's m line)
//	    d UID                 a message removed
//	    x UID MODSEQ          a tombstone added
//	    y UID                 a tombstone removed
//
// The chain of CRCs makes a frame valid only after the one it followed
// when it was written: bytes of an older frame that a crash left beyond
// the log's end, which later frames might come to end just before, are
// never read as a change.
//
// The file is extended with zeros ahead of the frames, so that a frame is
// written into blocks the file already has and made durable with one
// fdatasync that need not wait for the file system's journal. A reader
// stops at the first header that is zeros, short, or fails its CRC: that
// is the end of the log (an unfinished frame of a writer, or one a crash
// cut); the next writer, holding the mailbox lock, zeros such a remnant
// before it writes its own frame there.
//
// When the log outgrows a limit, a writer compacts: it copies the live
// blobs into imapd-cache.<G+1> (fsynced), then replaces the snapshot
// (temporary file, fsync, rename, fsync of the folder) with one naming
// G+1, and removes the files of generations before G; the file of
// generation G stays for readers that still hold the previous snapshot.
// A crash before the rename leaves the old snapshot and log, whole; after
// it, the new ones.
const (
	frameMagic  = "IMXL"
	frameHeader = 16
	// padChunk is how far ahead of the log's end the file is zeroed.
	padChunk = 512 << 10
)

// logLimit is the log length (bytes after L) past which a writer compacts,
// unless the log is still short beside the live blobs (half of them).
var logLimit int64 = 1 << 20

// frameLimit is the number of frames past which a writer compacts, on the
// same condition. A process that opens the mailbox for the first time
// (under master, a process serves 250 sessions, then another takes its
// place) reads the snapshot and parses every frame since; most of a log's
// bytes are structure blobs, read but not parsed, so the bytes alone let
// a log of small messages grow to thousands of frames (an APPEND, a flag
// change and an expunge take three).
var frameLimit = 512

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frameCRC is the CRC of a frame following the one whose CRC is prev: of
// prev's four bytes (little endian), the lengths and the body.
func frameCRC(prev uint32, lengths, body []byte) uint32 {
	// The four bytes one at a time, from the table: a slice of them
	// would be moved to the heap by crc32.Update, once per frame read.
	c := ^uint32(0)
	for i := range 4 {
		c = castagnoli[byte(c)^byte(prev>>(8*i))] ^ c>>8
	}
	crc := crc32.Update(^c, castagnoli, lengths)
	return crc32.Update(crc, castagnoli, body)
}

// frame builds one log frame following the one whose CRC is prev, and
// returns it with its own CRC.
func frame(prev uint32, blobs, text []byte) ([]byte, uint32) {
	b := make([]byte, frameHeader, frameHeader+len(blobs)+len(text))
	copy(b, frameMagic)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(blobs)))
	binary.LittleEndian.PutUint32(b[8:], uint32(len(text)))
	b = append(b, blobs...)
	b = append(b, text...)
	crc := frameCRC(prev, b[4:12], b[frameHeader:])
	binary.LittleEndian.PutUint32(b[12:], crc)
	return b, crc
}

// readFrames calls each with the text of every whole frame from off on,
// the first following the CRC prev, and returns the offset after the last
// one and its CRC. The text is valid during the call only.
//
// It reads the log in stretches that start at a page and double up to
// frameReadMax, so that catching up on one change costs one read, and on
// many, a few, not two per frame.
func readFrames(f *os.File, off int64, prev uint32, each func(text []byte) error) (int64, uint32, error) {
	r := frameReader{f: f, base: off}
	defer r.release()
	for {
		hdr, err := r.peek(off, frameHeader)
		if err != nil || hdr == nil || string(hdr[:4]) != frameMagic {
			return off, prev, err
		}
		bl, tl := int64(binary.LittleEndian.Uint32(hdr[4:])), int64(binary.LittleEndian.Uint32(hdr[8:]))
		fr, err := r.peek(off, frameHeader+bl+tl)
		if err != nil || fr == nil {
			return off, prev, err
		}
		crc := frameCRC(prev, fr[4:12], fr[frameHeader:])
		if crc != binary.LittleEndian.Uint32(fr[12:]) {
			return off, prev, nil
		}
		if err := each(fr[frameHeader+bl:]); err != nil {
			return 0, 0, err
		}
		off += frameHeader + bl + tl
		prev = crc
	}
}

const (
	// frameReadMin and frameReadMax bound one read of readFrames.
	frameReadMin = 4 << 10
	frameReadMax = 256 << 10
)

// frameBufs holds readFrames' buffers between calls.
var frameBufs = sync.Pool{New: func() any { return new([]byte) }}

// frameReader reads a log forward: buf holds the file's bytes from base.
type frameReader struct {
	f    *os.File
	bp   *[]byte
	buf  []byte
	base int64
	next int // the size of the next read
	eof  bool
}

// peek returns the n bytes at off (off >= r.base, n > 0), or nil when the
// file ends before them. The bytes are valid until the next peek.
func (r *frameReader) peek(off, n int64) ([]byte, error) {
	if off+n <= r.base+int64(len(r.buf)) {
		return r.buf[off-r.base : off-r.base+n], nil
	}
	if r.eof {
		return nil, nil
	}
	if r.bp == nil {
		r.bp = frameBufs.Get().(*[]byte)
		r.next = frameReadMin
	}
	// Keep the bytes from off on, and read at least the rest of the n.
	keep := r.buf[off-r.base:]
	size := max(int64(r.next), n)
	if size > frameReadMax {
		// A frame longer than the longest read: make sure the file holds
		// it before allocating it (a torn header's lengths are garbage).
		if st, err := r.f.Stat(); err != nil {
			return nil, err
		} else if off+n > st.Size() {
			r.eof = true
			return nil, nil
		}
	}
	b := *r.bp
	if int64(cap(b)) < size {
		b = make([]byte, size)
	}
	b = b[:size]
	copy(b, keep)
	got, err := r.f.ReadAt(b[len(keep):], off+int64(len(keep)))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if err != nil {
		r.eof = true
	}
	*r.bp = b
	r.buf, r.base = b[:len(keep)+got], off
	r.next = min(2*r.next, frameReadMax)
	if int64(len(r.buf)) < n {
		return nil, nil
	}
	return r.buf[:n], nil
}

// release gives the buffer back, unless a long frame made it larger than
// a read.
func (r *frameReader) release() {
	if r.bp != nil && cap(*r.bp) <= frameReadMax {
		frameBufs.Put(r.bp)
	}
}

// catchUp returns x with the frames written after x.logEnd applied (x
// itself when there are none); x is not changed. A missing cache file is
// an empty log (os.ErrNotExist is returned with x, for the caller to
// check whether a compaction removed it).
func catchUp(m *mailbox, x *index) (*index, error) {
	f, err := openRead(m.file(x.cacheName()))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var nx *index
	ch := changeSets.Get().(*changeSet)
	defer ch.release()
	var bad error
	n := 0
	end, chain, err := readFrames(f, x.logEnd, x.chain, func(text []byte) error {
		if nx == nil {
			nx = x.clone()
		}
		n++
		bad = ch.parse(text)
		return bad
	})
	if bad != nil {
		return nil, fmt.Errorf("%s at %d: %w", m.file(x.cacheName()), x.logEnd, bad)
	}
	if err != nil {
		return nil, err
	}
	if nx == nil {
		return x, nil
	}
	if err := ch.finish(nx); err != nil {
		return nil, fmt.Errorf("%s at %d: %w", m.file(x.cacheName()), x.logEnd, err)
	}
	ch.apply(nx)
	nx.logEnd, nx.chain = end, chain
	nx.frames += n
	return nx, nil
}

// changeSet gathers the changes of frames read in a row, so that the
// index is rebuilt once for all of them. A process that last looked at a
// mailbox a while ago reads every session served on it since, most of
// whose messages were added and removed again in between, each frame
// with a header line that the next replaces: an "m" line is kept as text
// (in buf) and parsed in finish only when no later line of the batch
// replaced or removed its message, and only the last "h" line is parsed.
// The frames' CRCs make them what a writer wrote; a line that a later
// one replaces is checked no further than the UID it names.
type changeSet struct {
	ents  map[imap.UID]*entry   // after finish; nil: removed
	tombs map[imap.UID]tombEdit // x and y lines
	lines map[imap.UID]span     // an "m" line's fields in buf, or removed
	buf   []byte                // the fields of pending "m" lines
	head  []byte                // the fields of the last "h" line
	hasH  bool
}

// tombEdit is a tombstone added (with its modseq) or removed.
type tombEdit struct {
	modseq uint64
	gone   bool
}

// changeSets holds changeSets between catch-ups, their maps and buffers
// grown to the size of one.
var changeSets = sync.Pool{New: func() any { return newChangeSet() }}

func newChangeSet() *changeSet {
	return &changeSet{ents: map[imap.UID]*entry{}, tombs: map[imap.UID]tombEdit{}, lines: map[imap.UID]span{}}
}

// release empties c and gives it back, unless a long catch-up (a process
// reading a whole log) grew its buffer past what one keeps.
func (c *changeSet) release() {
	if cap(c.buf) > 1<<20 {
		return
	}
	clear(c.ents)
	clear(c.tombs)
	clear(c.lines)
	c.buf, c.head, c.hasH = c.buf[:0], c.head[:0], false
	changeSets.Put(c)
}

// span is where a pending "m" line's fields are in changeSet.buf; gone
// marks a message removed.
type span struct {
	start, end int
	gone       bool
}

func (c *changeSet) parse(text []byte) error {
	var nb [2]int64
	sc := lineReader{rest: text}
	for line, ok := sc.next(); ok; line, ok = sc.next() {
		if len(line) < 2 || line[1] != ' ' {
			return errCorrupt
		}
		rest := line[2:]
		switch line[0] {
		case 'h':
			c.head, c.hasH = append(c.head[:0], rest...), true
		case 'm':
			// The UID now; the rest in finish, if it is still wanted.
			i := 0
			for i < len(rest) && !asciiSpace(rest[i]) {
				i++
			}
			u, ok := uidOf(rest[:i])
			if !ok {
				return errCorrupt
			}
			start := len(c.buf)
			c.buf = append(c.buf, rest...)
			c.lines[u] = span{start: start, end: len(c.buf)}
		case 'd', 'y':
			v, ok := numbers(nb[:0], rest)
			if !ok || len(v) != 1 {
				return errCorrupt
			}
			u, ok := uidFrom(v[0])
			if !ok {
				return errCorrupt
			}
			if line[0] == 'd' {
				c.lines[u] = span{gone: true}
			} else {
				c.tombs[u] = tombEdit{gone: true}
			}
		case 'x':
			v, ok := numbers(nb[:0], rest)
			if !ok || len(v) != 2 || v[1] < 0 {
				return errCorrupt
			}
			u, ok := uidFrom(v[0])
			if !ok {
				return errCorrupt
			}
			c.tombs[u] = tombEdit{modseq: uint64(v[1])}
		default:
			return errCorrupt
		}
	}
	return nil
}

// finish parses the last "h" line into x, and the "m" lines that are
// still wanted into ents.
func (c *changeSet) finish(x *index) error {
	if c.hasH {
		var nb [6]int64
		v, ok := numbers(nb[:0], c.head)
		if !ok || len(v) != 6 {
			return errCorrupt
		}
		x.uidValidity, x.uidNext, x.highest, x.recentUID, x.curMtime, x.reserved =
			uint32(v[0]), imap.UID(v[1]), uint64(v[2]), imap.UID(v[3]), v[4], imap.UID(v[5])
	}
	var shared map[string]string
	var fb [16][]byte
	for u, sp := range c.lines {
		if sp.gone {
			c.ents[u] = nil
			continue
		}
		if shared == nil {
			shared = map[string]string{}
		}
		e, err := parseEntry(fields(fb[:0], c.buf[sp.start:sp.end]), shared)
		if err != nil {
			return err
		}
		if e.uid != u {
			return errCorrupt
		}
		c.ents[u] = &e
	}
	return nil
}

// numbers appends to dst the decimal integers of s, separated by ASCII
// spaces (as strconv.ParseInt reads each, without its allocations); false
// when s holds anything else or a number out of range.
func numbers(dst []int64, s []byte) ([]int64, bool) {
	for i := 0; i < len(s); {
		if asciiSpace(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && !asciiSpace(s[j]) {
			j++
		}
		n, ok := parseDecimal(s[i:j])
		if !ok {
			return dst, false
		}
		dst = append(dst, n)
		i = j
	}
	return dst, true
}

// parseDecimal is strconv.ParseInt(string(b), 10, 64) on bytes.
func parseDecimal(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg, b = b[0] == '-', b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	// 19 digits cannot overflow a uint64; the int64's range is checked.
	if neg {
		if n > 1<<63 {
			return 0, false
		}
		return -int64(n), true
	}
	if n > 1<<63-1 {
		return 0, false
	}
	return int64(n), true
}

// uidOf reads a UID as strconv.ParseUint(string(b), 10, 32) does.
func uidOf(b []byte) (imap.UID, bool) {
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		return 0, false
	}
	n, ok := parseDecimal(b)
	if !ok {
		return 0, false
	}
	return uidFrom(n)
}

// uidFrom is n as a UID, when it is one's range (0 included, as
// strconv.ParseUint reads it).
func uidFrom(n int64) (imap.UID, bool) {
	if n < 0 || n > 1<<32-1 {
		return 0, false
	}
	return imap.UID(n), true
}

// apply brings x's messages and tombstones up to the changes: in place
// when they change messages x has or add some after its last (x a
// clone), by rebuilding the list otherwise.
func (c *changeSet) apply(x *index) {
	if c.inPlace(x) {
		var added []entry
		for u, n := range c.ents {
			if i, ok := x.find(u); ok {
				*x.msgs.mut(i) = *n
			} else {
				added = append(added, *n)
			}
		}
		slices.SortFunc(added, func(a, b entry) int { return cmpUID(a.uid, b.uid) })
		x.msgs.push(added...)
		clear(c.ents)
	}
	if len(c.ents) > 0 {
		msgs := mergeChanges(x.msgs.flat(0), c.ents, func(e *entry) imap.UID { return e.uid })
		if !slices.IsSortedFunc(msgs, func(a, b entry) int { return cmpUID(a.uid, b.uid) }) {
			slices.SortFunc(msgs, func(a, b entry) int { return cmpUID(a.uid, b.uid) })
		}
		x.msgs = listOf(msgs)
	}
	if len(c.tombs) > 0 {
		x.tombs = mergeTombs(x.tombs, c.tombs)
	}
}

// mergeTombs returns old (sorted by UID) with the changes made, sorted:
// old with the new tombstones appended when they all follow it (old is
// a clone's list, see index.clone), a new list otherwise. It costs a
// binary search for each change and at most a copy of old, not a lookup
// or a sort of every tombstone the mailbox keeps (they are never
// pruned). It empties changes.
func mergeTombs(old []tomb, changes map[imap.UID]tombEdit) []tomb {
	type edit struct {
		i int
		t tombEdit
	}
	var added []tomb
	var edits []edit
	for u, t := range changes {
		i, found := slices.BinarySearchFunc(old, u, func(a tomb, u imap.UID) int { return cmpUID(a.uid, u) })
		if found {
			edits = append(edits, edit{i, t})
		} else if !t.gone {
			added = append(added, tomb{u, t.modseq})
		}
	}
	clear(changes)
	slices.SortFunc(added, tombOrder)
	if len(edits) == 0 && (len(old) == 0 || len(added) == 0 || added[0].uid > old[len(old)-1].uid) {
		return appendTombs(old, added...)
	}
	out := make([]tomb, 0, len(old)+len(added))
	slices.SortFunc(edits, func(a, b edit) int { return a.i - b.i })
	for i := range old {
		for len(added) > 0 && added[0].uid < old[i].uid {
			out, added = append(out, added[0]), added[1:]
		}
		if len(edits) > 0 && edits[0].i == i {
			if t := edits[0].t; !t.gone {
				out = append(out, tomb{old[i].uid, t.modseq})
			}
			edits = edits[1:]
			continue
		}
		out = append(out, old[i])
	}
	return append(out, added...)
}

// appendTombs appends to a clone's list of tombstones: in place when it
// has room that is its own (index.clone), else into a copy with room for
// an eighth more, which the next clone appends into.
func appendTombs(tombs []tomb, add ...tomb) []tomb {
	if n := len(tombs) + len(add); n > cap(tombs) {
		tombs = append(make([]tomb, 0, n+n/8+16), tombs...)
	}
	return append(tombs, add...)
}

// mergeChanges returns a new list: old with each element that changes
// names by UID replaced (or dropped, when its change is nil), then the
// changes of UIDs old does not have, in no particular order. It empties
// changes.
func mergeChanges[T any](old []T, changes map[imap.UID]*T, uid func(*T) imap.UID) []T {
	out := make([]T, 0, len(old)+len(changes))
	for i := range old {
		n, ok := changes[uid(&old[i])]
		if !ok {
			out = append(out, old[i])
			continue
		}
		delete(changes, uid(&old[i]))
		if n != nil {
			out = append(out, *n)
		}
	}
	for _, n := range changes {
		if n != nil {
			out = append(out, *n)
		}
	}
	clear(changes)
	return out
}

// inPlace reports whether the changes to messages only change some x has
// or add some after the last it has, which apply then does in place (x a
// clone).
func (c *changeSet) inPlace(x *index) bool {
	if len(c.ents) == 0 {
		return false
	}
	var last imap.UID
	if n := x.msgs.len(); n > 0 {
		last = x.msgs.at(n - 1).uid
	}
	for u, n := range c.ents {
		if n == nil {
			return false
		}
		if _, ok := x.find(u); !ok && u <= last {
			return false
		}
	}
	return true
}

func cmpUID(a, b imap.UID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sameEntry reports whether two entries are equal in all they record.
func sameEntry(a, b *entry) bool {
	return a.uid == b.uid && a.modseq == b.modseq && a.date == b.date && a.zone == b.zone &&
		a.size == b.size && a.soff == b.soff && a.slen == b.slen && a.saved == b.saved &&
		a.file == b.file && sameFlags(a.flags, b.flags)
}

// sameFlags compares flag lists, at once when they are the same slice
// (a clone shares the lists it does not change).
func sameFlags(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	return len(a) == 0 || &a[0] == &b[0] || slices.Equal(a, b)
}

// diff writes the text of the frame that takes old to x.
func diff(old, x *index) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "h %d %d %d %d %d %d\n", x.uidValidity, x.uidNext, x.highest, x.recentUID, x.curMtime, x.reserved)
	num := make([]byte, 0, 24)
	i, j := 0, 0
	on, xn := old.msgs.len(), x.msgs.len()
	for i < on || j < xn {
		if i == j && i&(chunkLen-1) == 0 && sameChunk(&old.msgs, &x.msgs, i>>chunkShift) {
			// A chunk x still shares with old (see msgList): its
			// messages are as they were.
			n := len(x.msgs.chunks[i>>chunkShift])
			i, j = i+n, j+n
			continue
		}
		switch {
		case j == xn || (i < on && old.msgs.at(i).uid < x.msgs.at(j).uid):
			b.WriteString("d ")
			b.Write(strconv.AppendUint(num[:0], uint64(old.msgs.at(i).uid), 10))
			b.WriteByte('\n')
			i++
		case i == on || old.msgs.at(i).uid > x.msgs.at(j).uid:
			writeEntry(&b, x.msgs.at(j), num)
			j++
		default:
			if !sameEntry(old.msgs.at(i), x.msgs.at(j)) {
				writeEntry(&b, x.msgs.at(j), num)
			}
			i++
			j++
		}
	}
	if !slices.Equal(old.tombs, x.tombs[:min(len(old.tombs), len(x.tombs))]) {
		was := make(map[imap.UID]uint64, len(old.tombs))
		for _, t := range old.tombs {
			was[t.uid] = t.modseq
		}
		for _, t := range x.tombs {
			if ms, ok := was[t.uid]; !ok || ms != t.modseq {
				fmt.Fprintf(&b, "x %d %d\n", t.uid, t.modseq)
			}
			delete(was, t.uid)
		}
		for u := range was {
			fmt.Fprintf(&b, "y %d\n", u)
		}
	} else {
		for _, t := range x.tombs[len(old.tombs):] {
			fmt.Fprintf(&b, "x %d %d\n", t.uid, t.modseq)
		}
	}
	return b.Bytes()
}

// commit writes the change from old to x as one frame at the end of the
// log, made durable at once unless the folder can tell it again (x.lazy,
// see lazyFrame); the caller holds the mailbox lock, and old is the index
// as it read it under that lock. It compacts when the log has grown past
// its limit. It returns the index as it then is: x, or the compacted
// index, which later frames must follow.
func (s *Store) commit(m *mailbox, old, x *index) (*index, error) {
	text := diff(old, x)
	if len(x.pending) == 0 && bytes.Count(text, []byte{'\n'}) == 1 && old.uidValidity == x.uidValidity &&
		old.uidNext == x.uidNext && old.highest == x.highest && old.recentUID == x.recentUID && old.curMtime == x.curMtime &&
		old.reserved == x.reserved {
		return x, nil // nothing changed
	}
	fr, crc := frame(x.chain, x.pending, text)
	f, err := openFile(m.file(x.cacheName()), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	at, size := x.logEnd, fi.Size()
	// A remnant of a frame a crash cut short lies where ours goes: zero
	// it first, so that no byte of it can follow ours as if it were a
	// frame. Zeros (or the file's end) are what a clean log ends with.
	var hdr [frameHeader]byte
	full := false
	if n, _ := f.ReadAt(hdr[:], at); n > 0 && hdr != [frameHeader]byte{} {
		if _, err := f.WriteAt(make([]byte, size-at), at); err != nil {
			return nil, err
		}
		full = true
	}
	end := at + int64(len(fr))
	if end > size {
		fr = append(fr, make([]byte, padChunk)...)
		full = true
	}
	if _, err := f.WriteAt(fr, at); err != nil {
		return nil, err
	}
	switch {
	case full:
		// The file's size changed, or the remnant was zeroed: both
		// need the metadata too.
		err = fsync(f)
	case !x.lazy:
		err = fdatasync(f)
	}
	if err != nil {
		return nil, err
	}
	x.pending, x.lazy = nil, false
	x.logEnd, x.chain = end, crc
	x.frames++
	s.remember(m, x)
	if n := x.logEnd - x.logOff; (n > logLimit || x.frames > frameLimit) && n > x.logOff/2 {
		return s.compact(m, x)
	}
	return x, nil
}

// fsync and fdatasync make a file (or folder) durable, its data and
// metadata or only what reading its data needs; every fsync of the
// package goes through them, so that tests can count them.
var (
	fsync     = func(f *os.File) error { return f.Sync() }
	fdatasync = func(f *os.File) error {
		for {
			err := unix.Fdatasync(int(f.Fd()))
			if !errors.Is(err, unix.EINTR) {
				return err
			}
		}
	}
)

// compact writes the live blobs of x into the next cache file and a
// snapshot naming it (the caller holds the mailbox lock), and returns the
// new index.
func (s *Store) compact(m *mailbox, x *index) (*index, error) {
	oldName := x.cacheName()
	src, err := openRead(m.file(oldName))
	if err != nil {
		return nil, err
	}
	defer src.Close()
	nx := x.clone()
	nx.cacheGen++
	dst, err := openFile(m.file(nx.cacheName()), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer dst.Close()
	// The whole old file in one read when it is not large; blob by blob
	// otherwise.
	var all []byte
	if fi, err := src.Stat(); err == nil && fi.Size() <= 64<<20 {
		all = make([]byte, fi.Size())
		if n, err := src.ReadAt(all, 0); n < len(all) && err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
	}
	w := bufio.NewWriterSize(dst, 256<<10)
	var off int64
	for i := range nx.msgs.len() {
		e := nx.msgs.mut(i)
		var blob []byte
		if e.slen > 0 {
			if all != nil && e.soff+e.slen <= int64(len(all)) {
				blob = all[e.soff : e.soff+e.slen]
			} else if blob, err = readBlob(src, e); err != nil {
				return nil, err
			}
		}
		if _, err := w.Write(blob); err != nil {
			return nil, err
		}
		e.soff = off
		off += int64(len(blob))
	}
	if _, err := w.Write(make([]byte, padChunk)); err != nil {
		return nil, err
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	if err := fsync(dst); err != nil {
		return nil, err
	}
	crashPoint("compact: cache written")
	nx.logOff, nx.logEnd = off, off
	if err := s.writeIndex(m, nx); err != nil {
		return nil, err
	}
	removeOldCaches(m, x.cacheGen)
	crashPoint("compact: done")
	return nx, nil
}

// crashHook, set by tests only, is called at the named moments of a
// compaction (and of every snapshot's replacement: see writeAtomic), so
// that a test can kill the process exactly there.
var crashHook func(point string)

func crashPoint(point string) {
	if crashHook != nil {
		crashHook(point)
	}
}

// removeOldCaches removes the cache files of generations before keep
// (those left by a crash between a compaction's rename and its removal
// included).
func removeOldCaches(m *mailbox, keep int) {
	d, err := openRead(m.path)
	if err != nil {
		return
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, n := range names {
		if g, err := strconv.Atoi(strings.TrimPrefix(n, cachePrefix)); err == nil && strings.HasPrefix(n, cachePrefix) && g < keep {
			os.Remove(m.file(n))
		}
	}
}
