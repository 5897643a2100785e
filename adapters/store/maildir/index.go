package maildir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
)

// indexMagic starts every index file, followed by the format version:
// 1, the whole index (read only, to upgrade it), or 2, a snapshot followed
// by the change log in the cache file (see log.go). Version 1 programs
// refuse a version 2 index as corrupt rather than miss the log.
const (
	indexMagic   = "imapd-maildir-index "
	indexVersion = 2
)

// entry is one message of the index.
type entry struct {
	uid    imap.UID
	modseq uint64
	date   int64 // internal date, Unix seconds
	zone   int32 // its zone, seconds east of UTC
	size   int64
	soff   int64 // structure blob in the cache file
	slen   int64
	file   string   // the file's name in cur/
	flags  []string // system flags (from the file name) then keywords; never changed in place
	saved  int64    // save date (RFC 8514), Unix seconds; 0 in indexes written before it was kept
}

// tomb is an expunge tombstone.
type tomb struct {
	uid    imap.UID
	modseq uint64
}

// index is the adapter's record of one mailbox. Values loaded from disk
// are shared between goroutines and never changed; writers change a clone.
type index struct {
	uidValidity uint32
	uidNext     imap.UID
	// reserved bounds the UIDs that frames not fsynced may hand out
	// (see lazyFrame); it is raised only by frames that are fsynced.
	reserved  imap.UID
	highest   uint64
	recentUID imap.UID
	cacheGen  int   // the cache file in use: imapd-cache.<cacheGen>
	curMtime  int64 // cur/'s mtime (ns) when it was last scanned
	msgs      msgList
	tombs     []tomb
	// tombSpare is set once a clone was given the room past tombs (see
	// clone); nil: no clone is.
	tombSpare *atomic.Bool

	version int    // format of the snapshot read (1 has no log)
	logOff  int64  // where the log starts in the cache file ("L")
	logEnd  int64  // the end of the last frame applied
	frames  int    // the frames from logOff to logEnd
	seed    uint32 // the snapshot's start of the log's CRC chain ("S")
	chain   uint32 // the CRC of the last frame applied (seed if none)
	// pending holds the blobs a writer adds for its next frame, which
	// will start at logEnd.
	pending []byte
	// lazy marks a change the folder can tell again (see lazyFrame).
	lazy bool

	stamp fileStamp // identity of the file this was read from
}

// fileStamp identifies one version of a file replaced by rename.
type fileStamp struct {
	ino   uint64
	size  int64
	mtime int64
}

func stampOf(fi os.FileInfo) fileStamp {
	st, _ := fi.Sys().(*syscall.Stat_t)
	var ino uint64
	if st != nil {
		ino = st.Ino
	}
	return fileStamp{ino: ino, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}

// The clone shares x's messages chunk by chunk (see msgList); x must not
// change after it is cloned.
func (x *index) clone() *index {
	c := *x
	c.msgs = x.msgs.clone()
	// The clone shares x's tombstones: every change to a list of them
	// appends past its length or builds a new one (sortTombs sorts a
	// copy). The first clone may append into the room past x's length,
	// which x never looks at, as an expunge of the newest message and
	// a catch-up on one do; the others copy the list when they append.
	// The list is never pruned, so a copy for each expunge would cost
	// 16 bytes for every message the mailbox ever expunged.
	c.tombs = slices.Clip(x.tombs)
	if claimRoom(cap(x.tombs) > len(x.tombs), x.tombSpare) {
		c.tombs = x.tombs
	}
	c.tombSpare = new(atomic.Bool)
	c.pending = nil
	c.lazy = false
	return &c
}

// find returns the position of uid in msgs, and whether it is there.
func (x *index) find(uid imap.UID) (int, bool) {
	i := sort.Search(x.msgs.len(), func(i int) bool { return x.msgs.at(i).uid >= uid })
	return i, i < x.msgs.len() && x.msgs.at(i).uid == uid
}

func (x *index) cacheName() string { return cachePrefix + strconv.Itoa(x.cacheGen) }

// Flag letters of maildir file names (the "2," info), sorted.
var letters = []struct {
	c    byte
	flag string
}{
	{'D', imap.FlagDraft},
	{'F', imap.FlagFlagged},
	{'R', imap.FlagAnswered},
	{'S', imap.FlagSeen},
	{'T', imap.FlagDeleted},
}

// splitFile splits a file name into its unique part and its info letters
// ("" when the name has no ":2," info).
func splitFile(name string) (unique, info string) {
	if i := strings.Index(name, ":2,"); i >= 0 {
		return name[:i], name[i+3:]
	}
	if i := strings.IndexByte(name, ':'); i >= 0 {
		return name[:i], ""
	}
	return name, ""
}

// fileFor returns the file name with the letters of the system flags.
func fileFor(unique string, flags []string) string {
	b := []byte(unique + ":2,")
	for _, l := range letters {
		if imap.HasFlag(flags, l.flag) {
			b = append(b, l.c)
		}
	}
	return string(b)
}

// systemFlags returns the flags the info letters stand for; unknown
// letters (other programs' extensions) are ignored.
func systemFlags(info string) []string {
	var out []string
	for _, l := range letters {
		if strings.IndexByte(info, l.c) >= 0 {
			out = append(out, l.flag)
		}
	}
	return out
}

// keywords returns the flags that are not system flags.
func keywords(flags []string) []string {
	var out []string
	for _, f := range flags {
		if !strings.HasPrefix(f, `\`) {
			out = append(out, f)
		}
	}
	return out
}

// entryFlags builds an entry's flag list from its file name and keywords.
func entryFlags(file string, kws []string) []string {
	_, info := splitFile(file)
	out := systemFlags(info)
	return append(out, kws...)
}

// encode writes the snapshot in its text form: a header line, one "m"
// line per message, one "x" line per tombstone, and an "end" line with
// counts that proves the file whole.
func (x *index) encode() []byte {
	var b bytes.Buffer
	b.Grow(64 + 80*x.msgs.len() + 16*len(x.tombs))
	fmt.Fprintf(&b, "%s%d\nV %d N %d H %d R %d G %d C %d L %d K %d S %d\n", indexMagic, indexVersion,
		x.uidValidity, x.uidNext, x.highest, x.recentUID, x.cacheGen, x.curMtime, x.logOff, x.reserved, x.seed)
	num := make([]byte, 0, 24)
	for i := range x.msgs.len() {
		writeEntry(&b, x.msgs.at(i), num)
	}
	for _, t := range x.tombs {
		fmt.Fprintf(&b, "x %d %d\n", t.uid, t.modseq)
	}
	fmt.Fprintf(&b, "end %d %d\n", x.msgs.len(), len(x.tombs))
	return b.Bytes()
}

// writeEntry writes one message's "m" line.
func writeEntry(b *bytes.Buffer, m *entry, num []byte) {
	b.WriteString("m ")
	for _, v := range []int64{int64(m.uid), int64(m.modseq), m.date, int64(m.zone), m.size, m.soff, m.slen, m.saved} {
		b.Write(strconv.AppendInt(num[:0], v, 10))
		b.WriteByte(' ')
	}
	b.WriteString(m.file)
	for _, k := range keywords(m.flags) {
		b.WriteByte(' ')
		b.WriteString(k)
	}
	b.WriteByte('\n')
}

// parseEntry reads the fields of an "m" line; shared gives one string
// per distinct keyword.
func parseEntry(f [][]byte, shared map[string]string) (entry, error) {
	if len(f) < 8 {
		return entry{}, errCorrupt
	}
	var v [7]int64
	for i := range v {
		n, err := strconv.ParseInt(string(f[i]), 10, 64)
		if err != nil {
			return entry{}, errCorrupt
		}
		v[i] = n
	}
	e := entry{uid: imap.UID(v[0]), modseq: uint64(v[1]), date: v[2], zone: int32(v[3]),
		size: v[4], soff: v[5], slen: v[6], file: string(f[7])}
	rest := f[8:]
	// The save date came later, as an eighth number; a file name
	// is never a number, so both forms read.
	if n, err := strconv.ParseInt(string(f[7]), 10, 64); err == nil && len(f) >= 9 {
		e.saved, e.file, rest = n, string(f[8]), f[9:]
	}
	var kws []string
	for _, k := range rest {
		s, ok := shared[string(k)]
		if !ok {
			s = string(k)
			shared[s] = s
		}
		kws = append(kws, s)
	}
	e.flags = entryFlags(e.file, kws)
	return e, nil
}

// lineReader splits text held in memory into lines as bufio.ScanLines
// does (without the "\n", nor a "\r" before it), without copying them: the
// index and the frames of the log are read whole, and a Scanner would copy
// every line once more into a buffer of its own, allocated at each read
// (64 KB for the index).
type lineReader struct{ rest []byte }

// next returns the next line, or false at the end of the text.
func (r *lineReader) next() (line []byte, ok bool) {
	if len(r.rest) == 0 {
		return nil, false
	}
	line, r.rest, _ = bytes.Cut(r.rest, []byte{'\n'})
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, true
}

// fields is bytes.Fields appending to dst, so that a caller splitting
// many lines reuses one slice of fields instead of allocating one per line.
func fields(dst [][]byte, s []byte) [][]byte {
	for _, c := range s {
		if c >= utf8.RuneSelf {
			return append(dst, bytes.Fields(s)...) // Unicode spaces too
		}
	}
	start := -1
	for i, c := range s {
		if asciiSpace(c) {
			if start >= 0 {
				dst = append(dst, s[start:i:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		dst = append(dst, s[start:len(s):len(s)])
	}
	return dst
}

// asciiSpace is unicode.IsSpace for the bytes below utf8.RuneSelf.
func asciiSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// errCorrupt reports an index that cannot be read.
var errCorrupt = errors.New("index is corrupt")

// decode parses an index file of either version.
func decode(data []byte) (*index, error) {
	x := &index{tombSpare: new(atomic.Bool)}
	sc := lineReader{rest: data}
	line, ok := sc.next()
	if !ok {
		return nil, errCorrupt
	}
	switch string(line) {
	case indexMagic + "1":
		x.version = 1
	case indexMagic + strconv.Itoa(indexVersion):
		x.version = indexVersion
	default:
		return nil, errCorrupt
	}
	if line, ok = sc.next(); !ok {
		return nil, errCorrupt
	}
	var err error
	if x.version == 1 {
		_, err = fmt.Sscanf(string(line), "V %d N %d H %d R %d G %d C %d",
			&x.uidValidity, &x.uidNext, &x.highest, &x.recentUID, &x.cacheGen, &x.curMtime)
	} else {
		_, err = fmt.Sscanf(string(line), "V %d N %d H %d R %d G %d C %d L %d K %d S %d",
			&x.uidValidity, &x.uidNext, &x.highest, &x.recentUID, &x.cacheGen, &x.curMtime, &x.logOff, &x.reserved, &x.seed)
		x.logEnd, x.chain = x.logOff, x.seed
	}
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", errCorrupt, err)
	}
	shared := map[string]string{} // one string per distinct keyword
	ended := false
	var msgs []entry
	var fb [16][]byte
	var nb [2]int64
	for line, ok := sc.next(); ok; line, ok = sc.next() {
		switch {
		case bytes.HasPrefix(line, []byte("m ")):
			e, err := parseEntry(fields(fb[:0], line[2:]), shared)
			if err != nil {
				return nil, err
			}
			msgs = append(msgs, e)
		case bytes.HasPrefix(line, []byte("x ")):
			// One per expunge the mailbox ever had: read without fmt.
			v, ok := numbers(nb[:0], line[2:])
			if !ok || len(v) != 2 || v[1] < 0 {
				return nil, errCorrupt
			}
			u, ok := uidFrom(v[0])
			if !ok {
				return nil, errCorrupt
			}
			x.tombs = append(x.tombs, tomb{u, uint64(v[1])})
		case bytes.HasPrefix(line, []byte("end ")):
			v, ok := numbers(nb[:0], line[4:])
			if !ok || len(v) != 2 || v[0] != int64(len(msgs)) || v[1] != int64(len(x.tombs)) {
				return nil, errCorrupt
			}
			ended = true
		}
	}
	if !ended {
		return nil, errCorrupt
	}
	// Catching up merges into the list by binary search: a snapshot
	// is written sorted, but one of an older version need not be.
	sortTombs(x)
	x.msgs = listOf(msgs)
	return x, nil
}

// readIndex returns the mailbox's index as it is on disk: the snapshot
// (from memory when the file has not been replaced since) with the frames
// of the log applied, reading only those appended since the last look;
// os.ErrNotExist if there is none.
func (s *Store) readIndex(m *mailbox) (*index, error) {
	for attempt := 0; ; attempt++ {
		x, err := s.readSnapshot(m)
		if err != nil || x.version < indexVersion {
			return x, err
		}
		nx, err := catchUp(m, x)
		if errors.Is(err, os.ErrNotExist) {
			// No log yet, or a compaction removed it after we read
			// the snapshot: then the snapshot has been replaced.
			if fi, serr := os.Stat(m.file(indexFile)); serr == nil && stampOf(fi) != x.stamp && attempt < 3 {
				continue
			}
			return x, nil
		}
		if err != nil {
			return nil, err
		}
		if nx != x {
			s.rememberNewer(m, nx)
		}
		return nx, nil
	}
}

// readSnapshot returns the index file as it is on disk, from memory
// (with the frames read since) when the file has not been replaced.
func (s *Store) readSnapshot(m *mailbox) (*index, error) {
	path := m.file(indexFile)
	s.mu.Lock()
	x := s.cache[m.path]
	s.mu.Unlock()
	// The file is replaced, never changed in place: one stat tells
	// whether the one in memory is still the one there.
	if x != nil {
		if fi, err := os.Stat(path); err == nil && stampOf(fi) == x.stamp {
			return x, nil
		}
	}
	f, err := openRead(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	st := stampOf(fi)
	if x != nil && x.stamp == st {
		return x, nil
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	if x, err = decode(data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	x.stamp = st
	s.remember(m, x)
	return x, nil
}

// rememberNewer remembers x unless a later state of the same snapshot is
// remembered already.
func (s *Store) rememberNewer(m *mailbox, x *index) {
	s.mu.Lock()
	if c := s.cache[m.path]; c == nil || c.stamp != x.stamp || c.logEnd < x.logEnd {
		s.cache[m.path] = x
	}
	s.mu.Unlock()
}

func (s *Store) remember(m *mailbox, x *index) {
	s.mu.Lock()
	s.cache[m.path] = x
	s.mu.Unlock()
}

func (s *Store) forget(paths ...string) {
	s.mu.Lock()
	for _, p := range paths {
		delete(s.cache, p)
		delete(s.emptyNew, p)
	}
	s.mu.Unlock()
}

// writeIndex replaces the index on disk with x, a snapshot whose log
// starts at x.logOff with a new seed (the caller holds the mailbox lock),
// and remembers it.
func (s *Store) writeIndex(m *mailbox, x *index) error {
	x.seed = rand.Uint32()
	x.logEnd, x.chain, x.frames = x.logOff, x.seed, 0
	if err := writeAtomic(m.path, indexFile, x.encode()); err != nil {
		return err
	}
	fi, err := os.Stat(m.file(indexFile))
	if err != nil {
		return err
	}
	x.stamp = stampOf(fi)
	s.remember(m, x)
	return nil
}

// dirMtime returns a folder's modification time in nanoseconds.
func dirMtime(dir string) (int64, error) {
	var st unix.Stat_t
	if err := statPath(dir, &st); err != nil {
		return 0, err
	}
	return st.Mtim.Nano(), nil
}

// pendingNew reports whether new/ holds a delivered message. It reads the
// folder only when its ctime moved since the last read found it empty:
// a delivery renames a file into new/, which moves the ctime, and a check
// of every command otherwise opened and read the folder each time. A
// ctime is remembered only once it is settledAge old, so that a change
// made within the same tick of the file system's clock as the read (its
// timestamps may be as coarse as a jiffy, or two seconds) cannot leave
// the time as it was.
func (s *Store) pendingNew(m *mailbox) (bool, error) {
	dir := m.new()
	var st unix.Stat_t
	if err := statPath(dir, &st); err != nil {
		return false, err
	}
	ct := st.Ctim.Nano()
	s.mu.Lock()
	seen, ok := s.emptyNew[m.path]
	s.mu.Unlock()
	if ok && seen == ct {
		return false, nil
	}
	waiting, err := readsDelivered(dir)
	if err != nil || waiting {
		return waiting, err
	}
	if time.Now().UnixNano()-ct > int64(settledAge) {
		s.mu.Lock()
		if s.emptyNew == nil {
			s.emptyNew = map[string]int64{}
		}
		s.emptyNew[m.path] = ct
		s.mu.Unlock()
	}
	return false, nil
}

// settledAge is how old a folder's ctime must be for pendingNew to trust
// that a later change moves it (a variable for tests).
var settledAge = 2 * time.Second

// readsDelivered reads new/ (dir) and reports whether it holds a message.
func readsDelivered(dir string) (bool, error) {
	d, err := openRead(dir)
	if err != nil {
		return false, err
	}
	defer d.Close()
	for {
		names, err := d.Readdirnames(16)
		for _, n := range names {
			if !strings.HasPrefix(n, ".") {
				return true, nil
			}
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// stale reports whether the folders changed in ways the index does not
// know: mail waiting in new/, or cur/ changed since it was last scanned
// (curMtime is cur/'s modification time as the caller found it).
func (s *Store) stale(m *mailbox, x *index, curMtime int64) (bool, error) {
	if waiting, err := s.pendingNew(m); err != nil || waiting {
		return waiting, err
	}
	return curMtime != x.curMtime, nil
}

// scan brings x (a clone the caller may change, under the mailbox lock)
// in line with the folders: messages in new/ move to cur/; files in cur/
// the index does not know get UIDs, in the order of their modification
// times; entries whose file is gone become tombstones; entries whose file
// was renamed (flags changed by another program) follow it. It reports
// whether x changed.
func (s *Store) scan(ctx context.Context, m *mailbox, x *index) (bool, error) {
	moved, err := moveNew(m)
	if err != nil {
		return false, err
	}
	// Taken after our own moves but before reading cur/: a change made
	// while we read shows as a newer time at the next operation.
	mt, err := dirMtime(m.cur())
	if err != nil {
		return false, err
	}
	if mt == x.curMtime && !moved {
		return false, nil
	}
	x.curMtime = mt
	names, err := readNames(m.cur())
	if err != nil {
		return false, err
	}
	byUnique := make(map[string]string, len(names))
	for _, n := range names {
		u, _ := splitFile(n)
		byUnique[u] = n
	}
	// Messages whose APPEND frames a crash lost come first, with the
	// UIDs and mod-sequences those frames held.
	unknown := make(map[string]string)
	for u, n := range byUnique {
		unknown[u] = n
	}
	for i := range x.msgs.len() {
		u, _ := splitFile(x.msgs.at(i).file)
		delete(unknown, u)
	}
	if _, err := s.recoverLost(ctx, m, x, unknown); err != nil {
		return false, err
	}
	// Frames a crash lost may have handed out UIDs whose files are gone
	// since; none of them is above the reservation. An outside change
	// costs the rest of the reservation, never a reused UID.
	x.uidNext = max(x.uidNext, x.reserved)
	modseq := x.highest + 1
	bumped := false
	var gone map[int]bool
	kwl := &letterReader{dir: m.path, x: x}
	for i := range x.msgs.len() {
		e := x.msgs.at(i)
		u, _ := splitFile(e.file)
		f, ok := byUnique[u]
		if !ok {
			x.tombs = appendTombs(x.tombs, tomb{e.uid, modseq})
			bumped = true
			if gone == nil {
				gone = map[int]bool{}
			}
			gone[i] = true
			continue
		}
		delete(byUnique, u)
		if f != e.file {
			kws, err := kwl.follow(keywords(e.flags), e.file, f)
			if err != nil {
				return false, err
			}
			e = x.msgs.mut(i)
			e.file = f
			e.flags = entryFlags(f, kws)
			e.modseq = modseq
			bumped = true
		}
	}
	if gone != nil {
		x.msgs.remove(func(i int) bool { return gone[i] })
	}
	if len(byUnique) > 0 {
		added, err := s.adopt(ctx, m, x, byUnique, modseq)
		if err != nil {
			return false, err
		}
		bumped = bumped || added
	}
	if bumped {
		x.highest = modseq
		sortTombs(x)
	}
	return true, nil
}

// sortTombs puts x's tombstones in UID order. The list may be shared with
// the index x was cloned from, so an unsorted one is sorted as a copy.
func sortTombs(x *index) {
	if !slices.IsSortedFunc(x.tombs, tombOrder) {
		x.tombs = slices.Clone(x.tombs)
		slices.SortFunc(x.tombs, tombOrder)
	}
}

func tombOrder(a, b tomb) int { return cmpUID(a.uid, b.uid) }

// moveNew moves every message in new/ to cur/ with an empty info, as a
// mail reader does when it has seen new mail; it reports whether any moved.
func moveNew(m *mailbox) (bool, error) {
	names, err := readNames(m.new())
	if err != nil || len(names) == 0 {
		return false, err
	}
	for _, n := range names {
		dst := n
		if !strings.Contains(n, ":") {
			dst = n + ":2,"
		}
		if err := os.Rename(m.new()+"/"+n, m.cur()+"/"+dst); err != nil && !errors.Is(err, os.ErrNotExist) {
			return false, err
		}
	}
	return true, errorsJoin(syncDir(m.cur()), syncDir(m.new()))
}

func errorsJoin(a, b error) error { return errors.Join(a, b) }

// readNames lists a folder's files, leaving out hidden ones.
func readNames(dir string) ([]string, error) {
	d, err := openRead(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	out := names[:0]
	for _, n := range names {
		if !strings.HasPrefix(n, ".") {
			out = append(out, n)
		}
	}
	return out, nil
}

// adopt gives UIDs to files another program put into cur/ (unique part ->
// file name), computing each one's structure; names the index cannot hold
// (with spaces or control bytes) are renamed first.
func (s *Store) adopt(ctx context.Context, m *mailbox, x *index, files map[string]string, modseq uint64) (bool, error) {
	type found struct {
		name  string
		mtime time.Time
		size  int64
	}
	var list []found
	for _, n := range files {
		fi, err := os.Stat(m.cur() + "/" + n)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return false, err
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		list = append(list, found{n, fi.ModTime(), fi.Size()})
	}
	slices.SortFunc(list, func(a, b found) int {
		if c := a.mtime.Compare(b.mtime); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	if len(list) == 0 {
		return false, nil
	}
	cache, err := openCache(m, x)
	if err != nil {
		return false, err
	}
	defer cache.Close()
	kwl := &letterReader{dir: m.path, x: x}
	for _, f := range list {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		if uint64(x.uidNext) >= maxUID {
			return false, imap.Errorf("scan", imap.ErrCannot, "mailbox %q has used every UID", m.name)
		}
		name := f.name
		if strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			_, info := splitFile(name)
			name = uniqueName(f.size) + ":2," + info
			if err := os.Rename(m.cur()+"/"+f.name, m.cur()+"/"+name); err != nil {
				return false, err
			}
		}
		blob, size, err := structureOf(m.cur() + "/" + name)
		if err != nil {
			return false, err
		}
		kws, err := kwl.named(name)
		if err != nil {
			return false, err
		}
		off, err := cache.add(blob)
		if err != nil {
			return false, err
		}
		_, zone := f.mtime.Zone()
		x.msgs.push(entry{
			uid: x.uidNext, modseq: modseq, date: f.mtime.Unix(), zone: int32(zone), size: size,
			soff: off, slen: int64(len(blob)), file: name, flags: entryFlags(name, kws),
			saved: time.Now().Unix(),
		})
		x.uidNext++
	}
	if err := cache.sync(); err != nil {
		return false, err
	}
	return true, syncDir(m.cur())
}

// structureOf computes the structure blob of a message file and its size,
// both of its CRLF form (a file with bare LFs is read with them made CRLF:
// see crlf.go).
func structureOf(path string) ([]byte, int64, error) {
	f, err := openRead(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	c := newCRLFCounter(f)
	st, err := message.Parse(c)
	if err != nil {
		return nil, 0, err
	}
	// The parser may stop before the end (after the last boundary).
	if _, err := io.Copy(io.Discard, c); err != nil {
		return nil, 0, err
	}
	blob, err := st.MarshalBinary()
	return blob, c.n, err
}

// cacheFile gathers the structure blobs a writer adds: they go into the
// writer's next log frame, at the offsets add returns.
type cacheFile struct {
	x *index
}

// openCache starts adding blobs to x's next frame (the caller holds the
// mailbox lock, so it is the only writer).
func openCache(m *mailbox, x *index) (*cacheFile, error) {
	return &cacheFile{x: x}, nil
}

// add appends a blob and returns its offset.
func (c *cacheFile) add(blob []byte) (int64, error) {
	off := c.x.logEnd + frameHeader + int64(len(c.x.pending))
	c.x.pending = append(c.x.pending, blob...)
	return off, nil
}

// sync does nothing: the blobs are durable with the frame that records
// the messages they belong to.
func (c *cacheFile) sync() error { return nil }

func (c *cacheFile) Close() error { return nil }

// readBlob reads one structure blob from the mailbox's cache file.
// blobSpan is a stretch of the cache file read at once: the structures of
// a batch of messages, which appends write one after the other.
type blobSpan struct {
	off int64
	b   []byte
}

// readSpan reads the stretch of the cache file that holds the structures
// of the entries at pos, in one read instead of one per message, when it
// is not much longer than they are together. It returns an empty span
// otherwise, or when the read fails: readBlob then reads each one.
func readSpan(f *os.File, x *index, pos []int) blobSpan {
	lo, hi, total := int64(-1), int64(0), int64(0)
	for _, i := range pos {
		e := x.msgs.at(i)
		if e.slen <= 0 {
			continue
		}
		if lo < 0 || e.soff < lo {
			lo = e.soff
		}
		hi = max(hi, e.soff+e.slen)
		total += e.slen
	}
	if lo < 0 || hi-lo > 2*total+64<<10 {
		return blobSpan{}
	}
	b := make([]byte, hi-lo)
	if _, err := f.ReadAt(b, lo); err != nil {
		return blobSpan{}
	}
	return blobSpan{off: lo, b: b}
}

// blob returns e's structure from the span, capped at its end, when the
// span holds it.
func (s blobSpan) blob(e *entry) ([]byte, bool) {
	if e.slen <= 0 || e.soff < s.off || e.soff+e.slen > s.off+int64(len(s.b)) {
		return nil, false
	}
	from, to := e.soff-s.off, e.soff-s.off+e.slen
	return s.b[from:to:to], true
}

func readBlob(f *os.File, e *entry) ([]byte, error) {
	if e.slen == 0 {
		return nil, nil
	}
	b := make([]byte, e.slen)
	if _, err := f.ReadAt(b, e.soff); err != nil {
		return nil, err
	}
	return b, nil
}
