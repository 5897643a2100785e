// Package fswatch wakes a store's watchers when files it writes change, in
// this process or any other: Linux inotify on the folders a store writes to,
// with a slow periodic wake-up as the fallback for file systems that do not
// report changes (network mounts). Store adapters share it; it knows nothing
// of IMAP.
//
// A process holds one inotify instance however many watchers it has (the
// kernel allows a user only a few, 128 by default): a folder is watched once,
// for as long as some watcher wants it, and its events are fanned out to all
// of them. A thousand sessions IDLE on one mailbox cost one kernel watch, one
// reader goroutine for the whole process, and a channel each.
package fswatch

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Settle is how long after a change event the first follow-up wake-up
// comes; more follow at ten and a hundred times that.
const Settle = 2 * time.Millisecond

// Fallback is the period of the wake-up sent even when no event came, on
// file systems where inotify may miss changes (network mounts), and when a
// path could not be watched.
const Fallback = 5 * time.Second

// LocalFallback is the period of that wake-up when every path is watched
// on a local file system, where inotify reports every change: it is only a
// safety net there, and a short one would have every idle watcher go to
// its store every few seconds for nothing (on SQLite, opening a connection
// the process had given back).
const LocalFallback = time.Minute

// settleAfter are the follow-up wake-ups after an event. A write is often
// seen before the writer finished its commit (SQLite writes the WAL, then
// publishes it in its shared-memory index, which inotify does not report;
// maildir renames the file, then writes its own index), so every event is
// followed by later wake-ups that see the finished change.
var settleAfter = [...]time.Duration{Settle, 10 * Settle, 100 * Settle}

// watchMask is what a watched folder or file reports.
const watchMask = unix.IN_MODIFY | unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_CLOSE_WRITE

// Watch returns a channel (buffer of one, so wake-ups coalesce) that
// receives a value after any change to the given folders or files, and at
// least every fallback (every LocalFallback, if longer, when all the paths
// are watched on local file systems); it is closed when ctx ends, and
// receives nothing after that. A folder that cannot be watched leaves only
// the fallback.
func Watch(ctx context.Context, fallback time.Duration, paths ...string) (<-chan struct{}, error) {
	return defaultHub.watch(ctx, fallback, paths)
}

var defaultHub = newHub()

// hub is the process's inotify instance and its watchers.
type hub struct {
	mu sync.Mutex
	// fd is the inotify descriptor, or -1 until the first Watch (and
	// after a failed attempt: the next Watch tries again).
	fd int
	f  *os.File
	// done is closed when the reader goroutine ends (close only).
	done chan struct{}
	// watches are the kernel's watch descriptors in use.
	watches map[int32]*watch
	// settling are the watches with follow-up wake-ups due; settleT
	// fires at the earliest.
	settling map[*watch]struct{}
	settleT  *time.Timer
	// tickers send the fallback wake-up, one per period in use.
	tickers map[time.Duration]*ticker
	closed  bool
}

// watch is one kernel watch and who listens to it.
type watch struct {
	wd   int32
	subs map[*sub]struct{}
	// due are the follow-up wake-ups still to come (zero: none).
	due [len(settleAfter)]time.Time
}

// sub is one Watch call.
type sub struct {
	ch      chan struct{}
	watches []*watch
	// fallback is the period of its fallback wake-up: asked, the
	// caller's, or LocalFallback while all its paths are watched on local
	// file systems.
	fallback, asked time.Duration
	group           int // its group of the fallback ticker
	stop            func() bool
}

func (s *sub) wake() {
	select {
	case s.ch <- struct{}{}:
	default:
	}
}

// ticker is the fallback wake-up shared by the subscribers of one period.
// It wakes them in turns, one group per slice of the period, each group
// once a period: thousands of sessions in IDLE then never all poll their
// store at the same moment (a thundering herd that, on SQLite, opened a
// connection per poll running at once).
type ticker struct {
	t      *time.Timer
	groups [fallbackGroups]map[*sub]struct{}
	n      int // subscribers
	next   int // the group the next fire wakes
	added  int // subscribers ever added, for round-robin placement
}

// each calls f for every subscriber of t.
func (t *ticker) each(f func(*sub)) {
	for _, g := range t.groups {
		for s := range g {
			f(s)
		}
	}
}

// fallbackGroups is how many turns the fallback wake-up of a period is
// spread over.
const fallbackGroups = 16

func newHub() *hub {
	return &hub{fd: -1, watches: map[int32]*watch{}, settling: map[*watch]struct{}{}, tickers: map[time.Duration]*ticker{}}
}

func (h *hub) watch(ctx context.Context, fallback time.Duration, paths []string) (<-chan struct{}, error) {
	s := &sub{ch: make(chan struct{}, 1), fallback: fallback, asked: fallback}
	local := 0
	h.mu.Lock()
	if ctx.Err() != nil || h.closed {
		h.mu.Unlock()
		close(s.ch)
		return s.ch, nil
	}
	if h.fd < 0 {
		h.open()
	}
	if h.fd >= 0 {
		for _, p := range paths {
			wd, err := unix.InotifyAddWatch(h.fd, p, watchMask)
			if err != nil {
				continue
			}
			w := h.watches[int32(wd)]
			if w == nil {
				w = &watch{wd: int32(wd), subs: map[*sub]struct{}{}}
				h.watches[w.wd] = w
			}
			if _, dup := w.subs[s]; !dup {
				w.subs[s] = struct{}{}
				s.watches = append(s.watches, w)
			}
			if localFS(p) {
				local++
			}
		}
	}
	if len(s.watches) > 0 && local == len(paths) {
		s.fallback = max(fallback, LocalFallback)
	}
	h.join(s)
	h.mu.Unlock()
	s.stop = context.AfterFunc(ctx, func() { h.remove(s) })
	return s.ch, nil
}

// open makes the inotify instance and starts its reader. Called with mu
// held.
func (h *hub) open() {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return
	}
	h.fd = fd
	// A non-blocking descriptor makes the File pollable: a pending Read
	// parks the goroutine rather than a thread, and Close ends it.
	h.f = os.NewFile(uintptr(fd), "inotify")
	h.done = make(chan struct{})
	go h.read(h.f, h.done)
}

// remove ends a subscriber: it leaves its watches (the last one out removes
// the kernel watch) and its ticker, and its channel is closed.
func (h *hub) remove(s *sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, w := range s.watches {
		delete(w.subs, s)
		if len(w.subs) == 0 && h.watches[w.wd] == w {
			// (A watch the kernel already ended is no longer in
			// the map, and its number may name another one now.)
			h.drop(w)
			unix.InotifyRmWatch(h.fd, uint32(w.wd))
		}
	}
	s.watches = nil
	h.leave(s)
	if len(h.tickers) == 0 && h.f != nil {
		h.release()
	}
	// Every wake-up is sent with mu held by a sender that found s in a
	// set it has just left: none can follow the close.
	close(s.ch)
}

// release closes the inotify instance once nobody watches: the kernel
// allows a user few of them (128 by default), and a process that serves a
// session at a time would otherwise keep its own while it waits for the
// next one. The next Watch opens one again. Its reader ends on its own;
// events it read before the close are ignored (events). Called with mu
// held.
func (h *hub) release() {
	h.f.Close()
	h.f, h.fd, h.done = nil, -1, nil
	clear(h.watches)
	clear(h.settling)
	if h.settleT != nil {
		h.settleT.Stop()
	}
}

// drop forgets a watch. Its subscribers that are left with no watch go
// back to the fallback they asked for: nothing else wakes them now.
// Called with mu held.
func (h *hub) drop(w *watch) {
	if h.watches[w.wd] == w {
		delete(h.watches, w.wd)
	}
	delete(h.settling, w)
	for s := range w.subs {
		s.watches = slices.DeleteFunc(s.watches, func(x *watch) bool { return x == w })
		if len(s.watches) == 0 && s.fallback != s.asked {
			h.leave(s)
			s.fallback = s.asked
			h.join(s)
		}
	}
}

// join adds s to the ticker of its fallback period, starting the ticker
// if s is its first subscriber. Called with mu held.
func (h *hub) join(s *sub) {
	period := s.fallback
	t := h.tickers[period]
	if t == nil {
		t = &ticker{}
		for i := range t.groups {
			t.groups[i] = map[*sub]struct{}{}
		}
		t.t = time.AfterFunc(period/fallbackGroups, func() { h.tick(period, t) })
		h.tickers[period] = t
	}
	s.group = t.added % fallbackGroups
	t.added++
	t.groups[s.group][s] = struct{}{}
	t.n++
}

// leave takes s out of its ticker, stopping the ticker if s was its last
// subscriber. Called with mu held.
func (h *hub) leave(s *sub) {
	t := h.tickers[s.fallback]
	if t == nil {
		return
	}
	if _, ok := t.groups[s.group][s]; ok {
		delete(t.groups[s.group], s)
		t.n--
	}
	if t.n == 0 {
		t.t.Stop()
		delete(h.tickers, s.fallback)
	}
}

// localFS tells whether path is on a file system whose every change,
// whichever process or host made it, inotify reports: a local disk or
// memory. Changes made on another host to a network file system (NFS,
// SMB, FUSE mounts such as sshfs or GlusterFS) are not reported, so there
// the fallback is what finds them.
func localFS(path string) bool {
	var st unix.Statfs_t
	if unix.Statfs(path, &st) != nil {
		return false
	}
	switch uint32(st.Type) {
	case unix.EXT4_SUPER_MAGIC, unix.XFS_SUPER_MAGIC, unix.BTRFS_SUPER_MAGIC, unix.TMPFS_MAGIC,
		unix.OVERLAYFS_SUPER_MAGIC, unix.F2FS_SUPER_MAGIC, unix.BCACHEFS_SUPER_MAGIC,
		zfsSuperMagic:
		return true
	}
	return false
}

// zfsSuperMagic is OpenZFS's statfs type (not in x/sys/unix).
const zfsSuperMagic = 0x2fc12fc1

// tick sends the fallback wake-up to the next group of the subscribers of
// one period.
func (h *hub) tick(period time.Duration, t *ticker) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.tickers[period] != t {
		return // stopped after it fired
	}
	for s := range t.groups[t.next] {
		s.wake()
	}
	t.next = (t.next + 1) % fallbackGroups
	t.t.Reset(period / fallbackGroups)
}

// read takes the kernel's events and wakes their watches' subscribers.
func (h *hub) read(f *os.File, done chan struct{}) {
	defer close(done)
	buf := make([]byte, 16*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := f.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return
			}
			// A transient error: wake everyone, as for an overflow.
			h.events(f, nil, true)
			continue
		}
		h.events(f, buf[:n], false)
	}
}

// events handles a batch of inotify events read from f; all wakes
// everyone (the kernel's queue overflowed, so events were lost). A batch
// from an instance released meanwhile is ignored: its watch numbers may
// name other watches in the next one.
func (h *hub) events(f *os.File, b []byte, all bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.f != f {
		return
	}
	now := time.Now()
	var woken []*watch
	for len(b) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
		b = b[min(len(b), unix.SizeofInotifyEvent+int(ev.Len)):]
		if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
			all = true
			continue
		}
		w := h.watches[ev.Wd]
		if w == nil {
			continue // removed meanwhile
		}
		if ev.Mask&unix.IN_IGNORED != 0 {
			// The folder went away (or the watch was removed): its
			// subscribers keep the fallback, and a new Watch adds a
			// new kernel watch.
			h.drop(w)
		}
		woken = append(woken, w)
	}
	if all {
		woken = woken[:0]
		for _, w := range h.watches {
			woken = append(woken, w)
		}
		for _, t := range h.tickers {
			t.each((*sub).wake)
		}
	}
	for _, w := range woken {
		for s := range w.subs {
			s.wake()
		}
		if h.watches[w.wd] != w {
			continue
		}
		for i, d := range settleAfter {
			w.due[i] = now.Add(d)
		}
		h.settling[w] = struct{}{}
	}
	h.armSettle(now)
}

// armSettle sets the settle timer for the earliest follow-up due. Called
// with mu held.
func (h *hub) armSettle(now time.Time) {
	var next time.Time
	for w := range h.settling {
		for _, d := range w.due {
			if !d.IsZero() && (next.IsZero() || d.Before(next)) {
				next = d
			}
		}
	}
	if next.IsZero() {
		return
	}
	if h.settleT == nil {
		h.settleT = time.AfterFunc(next.Sub(now), h.settle)
	} else {
		h.settleT.Reset(next.Sub(now))
	}
}

// settle sends the follow-up wake-ups that are due, once for all of a
// watch's subscribers.
func (h *hub) settle() {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	for w := range h.settling {
		fire, left := false, false
		for i, d := range w.due {
			switch {
			case d.IsZero():
			case !d.After(now):
				fire = true
				w.due[i] = time.Time{}
			default:
				left = true
			}
		}
		if fire {
			for s := range w.subs {
				s.wake()
			}
		}
		if !left {
			delete(h.settling, w)
		}
	}
	h.armSettle(now)
}

// close ends the hub (tests): the inotify instance is closed and every
// subscriber's channel with it.
func (h *hub) close() {
	h.mu.Lock()
	var subs []*sub
	seen := map[*sub]bool{}
	for _, t := range h.tickers {
		t.each(func(s *sub) {
			if !seen[s] {
				seen[s] = true
				subs = append(subs, s)
			}
		})
	}
	h.closed = true
	h.mu.Unlock()
	for _, s := range subs {
		if s.stop() {
			h.remove(s)
		}
	}
	h.mu.Lock()
	f, done := h.f, h.done
	h.f, h.fd = nil, -1
	if h.settleT != nil {
		h.settleT.Stop()
	}
	h.mu.Unlock()
	if f != nil {
		f.Close()
		<-done
	}
}

// counts reports the kernel watches and subscribers held (tests).
func (h *hub) counts() (watches, subs int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range h.tickers {
		subs += t.n
	}
	return len(h.watches), subs
}
