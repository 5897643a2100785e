package maildir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/imapd-go/imapd/adapters/store/fswatch"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// maxUID is the largest UID a mailbox can hand out (RFC 3501 nz-number).
const maxUID = 1<<32 - 1

// resolve finds an existing mailbox; a missing one (or a name that cannot
// exist) is reported with kind.
func (s *Store) resolve(ctx context.Context, op, user, name string, kind error) (*mailbox, error) {
	m, err := s.named(ctx, op, user, name, kind)
	if err != nil {
		return nil, err
	}
	if !m.exists() {
		return nil, imap.Errorf(op, kind, "%q", name)
	}
	return m, nil
}

// named is resolve without looking whether the mailbox exists.
func (s *Store) named(ctx context.Context, op, user, name string, kind error) (*mailbox, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m, err := s.box(op, user, name)
	if err != nil {
		return nil, imap.Errorf(op, kind, "%q", name)
	}
	return m, nil
}

// view returns the mailbox's index for reading: the file as it is when
// the folders hold nothing it does not know, or else the index brought up
// to date under the lock.
//
// The sessions of one process that find the same mailbox stale at once
// (a thousand in IDLE, woken by one delivery) bring it up to date once:
// the first updates it, the others wait for that and look again, rather
// than each taking the mailbox's exclusive lock in turn to find nothing
// left to do. Looking again matters: the update they waited for may have
// begun before the change that woke them.
func (s *Store) view(ctx context.Context, op, user, name string, kind error) (*mailbox, *index, error) {
	m, err := s.named(ctx, op, user, name, kind)
	if err != nil {
		return nil, nil, err
	}
	waited := false
	for {
		// One stat of cur/ tells that the mailbox is there and whether
		// another program changed cur/ since the index's last scan. Taken
		// before the index is read, it can only miss a change made after
		// the look began, which the next look sees.
		mt, ok := m.curMtime()
		if !ok {
			return nil, nil, imap.Errorf(op, kind, "%q", name)
		}
		x, err := s.readIndex(m)
		if err == nil {
			st, err := s.stale(m, x, mt)
			if err == nil && !st && !pendingReplaces(m.root) {
				return m, x, nil
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, nil, wrapErr(op, err)
		}
		done, err := s.flights.lead(ctx, "view "+m.path, &waited)
		if err != nil {
			return nil, nil, wrapErr(op, err)
		}
		if done == nil {
			continue
		}
		xs, err := func() ([]*index, error) {
			defer done() // even if the update panics: the waiters go on
			return s.update(ctx, op, []*mailbox{m}, []error{kind}, nil)
		}()
		if err != nil {
			return nil, nil, err
		}
		return m, xs[0], nil
	}
}

// mutation changes clones of the mailboxes' indexes (in the order given
// to update) under their locks and reports whether it changed them.
type mutation func(xs []*index) (bool, error)

// update brings the indexes of one or two mailboxes up to date under their
// locks (taken in path order, so two processes never deadlock, and under
// the user's tree lock, shared, which hierarchy changes take exclusively),
// runs fn on clones, and writes back every index that changed, the last
// mailbox first (a Move's destination before its source). It returns the
// indexes as left. A mailbox missing once locked is reported with its kind.
func (s *Store) update(ctx context.Context, op string, ms []*mailbox, kinds []error, fn mutation) ([]*index, error) {
	tl, err := flock(ctx, filepath.Join(ms[0].root, treeLockFile), false)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, imap.Errorf(op, kinds[0], "%q", ms[0].name)
		}
		return nil, wrapErr(op, err)
	}
	defer tl.unlock()
	if err := s.finishReplaces(ctx, ms[0].root); err != nil {
		return nil, wrapErr(op, err)
	}
	return s.updateHeld(ctx, op, ms, kinds, fn)
}

// updateHeld is update for a caller that holds the tree lock already.
func (s *Store) updateHeld(ctx context.Context, op string, ms []*mailbox, kinds []error, fn mutation) ([]*index, error) {
	order := slices.Clone(ms)
	slices.SortFunc(order, func(a, b *mailbox) int { return cmpStr(a.path, b.path) })
	order = slices.CompactFunc(order, func(a, b *mailbox) bool { return a.path == b.path })
	for _, m := range order {
		l, err := flock(ctx, m.file(lockFile), true)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, wrapErr(op, err)
		}
		defer l.unlock()
	}
	xs := make([]*index, len(ms))
	bases := make([]*index, len(ms)) // as on disk, for the frames' diffs
	for i, m := range ms {
		if !m.exists() {
			return nil, imap.Errorf(op, kinds[i], "%q", m.name)
		}
		if i == 1 && m.path == ms[0].path {
			xs[1], bases[1] = xs[0], bases[0]
			continue
		}
		x, err := s.readIndex(m)
		switch {
		case errors.Is(err, os.ErrNotExist):
			// A folder another program made: it gets its identity now.
			v, err := s.newUIDValidity(ctx)
			if err != nil {
				return nil, wrapErr(op, err)
			}
			if x, err = s.startLog(m, freshIndex(v, 1)); err != nil {
				return nil, wrapErr(op, err)
			}
		case err != nil:
			return nil, wrapErr(op, err)
		case x.version < indexVersion:
			// Written by a version without the log: upgraded in place.
			if x, err = s.startLog(m, x.clone()); err != nil {
				return nil, wrapErr(op, err)
			}
		}
		bases[i], x = x, x.clone()
		changed, err := s.scan(ctx, m, x)
		if err != nil {
			return nil, wrapErr(op, err)
		}
		if changed {
			// Recorded on its own, so that what fn adds is all a frame
			// of its own refers to.
			if x, err = s.commit(m, bases[i], x); err != nil {
				return nil, wrapErr(op, err)
			}
			// Files came or went outside the quota lock.
			markStale(m.root)
			bases[i], x = x, x.clone()
		}
		xs[i] = x
	}
	if fn == nil {
		return xs, nil
	}
	changed, err := fn(xs)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	if !changed {
		return xs, nil
	}
	for i := len(ms) - 1; i >= 0; i-- {
		if i == 1 && ms[1].path == ms[0].path {
			continue
		}
		x, err := s.commit(ms[i], bases[i], xs[i])
		if err != nil {
			return nil, wrapErr(op, err)
		}
		xs[i] = x
		if len(ms) == 2 && ms[1].path == ms[0].path {
			xs[1] = x
		}
	}
	return xs, nil
}

// startLog writes x as a snapshot whose log starts after everything the
// cache file holds now (the caller holds the mailbox lock).
func (s *Store) startLog(m *mailbox, x *index) (*index, error) {
	x.version = indexVersion
	x.logOff = 0
	if fi, err := os.Stat(m.file(x.cacheName())); err == nil {
		x.logOff = fi.Size()
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	x.logEnd = x.logOff
	if err := s.writeIndex(m, x); err != nil {
		return nil, err
	}
	return x, nil
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// freshIndex is the index of a new, empty mailbox.
func freshIndex(uidValidity uint32, uidNext imap.UID) *index {
	return &index{uidValidity: uidValidity, uidNext: uidNext, highest: 1, recentUID: uidNext, version: indexVersion, tombSpare: new(atomic.Bool)}
}

// status computes a mailbox's counters from its index.
func status(x *index) ports.MailboxStatus {
	st := ports.MailboxStatus{
		UIDValidity:   x.uidValidity,
		UIDNext:       x.uidNext,
		HighestModSeq: x.highest,
		RecentUID:     x.recentUID,
		Messages:      uint32(x.msgs.len()),
	}
	for _, c := range x.msgs.chunks {
		for i := range c {
			e := &c[i]
			st.Size += e.size
			if !imap.HasFlag(e.flags, imap.FlagSeen) {
				st.Unseen++
			}
			if e.uid >= x.recentUID {
				st.Recent++
			}
		}
	}
	return st
}

// meta returns the entry's metadata; the flag slice is shared with the
// index, so its capacity is cut to make an append by the caller copy.
func (e *entry) meta() ports.MessageMeta {
	return ports.MessageMeta{UID: e.uid, Flags: e.flags[:len(e.flags):len(e.flags)], ModSeq: e.modseq}
}

// Status returns the mailbox's counters.
func (s *Store) Status(ctx context.Context, user, name string) (ports.MailboxStatus, error) {
	_, x, err := s.view(ctx, "status", user, name, imap.ErrNonexistent)
	if err != nil {
		return ports.MailboxStatus{}, err
	}
	return status(x), nil
}

// Snapshot returns the status and every message's metadata from one
// version of the index.
func (s *Store) Snapshot(ctx context.Context, user, name string) (ports.MailboxStatus, []ports.MessageMeta, error) {
	_, x, err := s.view(ctx, "snapshot", user, name, imap.ErrNonexistent)
	if err != nil {
		return ports.MailboxStatus{}, nil, err
	}
	metas := make([]ports.MessageMeta, 0, x.msgs.len())
	for _, c := range x.msgs.chunks {
		for i := range c {
			metas = append(metas, c[i].meta())
		}
	}
	return status(x), metas, nil
}

// ChangesSince returns what changed after modseq, from one version of the
// index.
func (s *Store) ChangesSince(ctx context.Context, user, name string, modseq uint64) (ports.Changes, error) {
	_, x, err := s.view(ctx, "changes", user, name, imap.ErrNonexistent)
	if err != nil {
		return ports.Changes{}, err
	}
	ch := ports.Changes{Status: status(x)}
	if modseq >= x.highest {
		return ch, nil
	}
	for i := range x.msgs.len() {
		if e := x.msgs.at(i); e.modseq > modseq {
			ch.Updated = append(ch.Updated, e.meta())
		}
	}
	for _, t := range x.tombs {
		if t.modseq > modseq {
			ch.Expunged = append(ch.Expunged, t.uid)
		}
	}
	return ch, nil
}

// sortedUIDs returns the UIDs sorted, without duplicates or zero.
func sortedUIDs(uids []imap.UID) []imap.UID {
	out := slices.Clone(uids)
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > 0 && out[0] == 0 {
		out = out[1:]
	}
	return out
}

// picked returns the positions in x.msgs of the wanted UIDs that exist,
// ascending.
func picked(x *index, want []imap.UID) []int {
	var out []int
	if n := x.msgs.len(); len(want) >= n/8 && n > 0 {
		// Many of them (a FETCH 1:*): one walk in step beats a search
		// each.
		out = make([]int, 0, min(len(want), n))
		k := 0
		for c, ch := range x.msgs.chunks {
			for j := range ch {
				u := ch[j].uid
				for k < len(want) && want[k] < u {
					k++
				}
				if k == len(want) {
					return out
				}
				if want[k] == u {
					out = append(out, c<<chunkShift+j)
					k++
				}
			}
		}
		return out
	}
	for _, u := range want {
		if i, ok := x.find(u); ok {
			out = append(out, i)
		}
	}
	return out
}

// Fetch returns the records of the UIDs that exist, in UID order.
func (s *Store) Fetch(ctx context.Context, user, name string, uids []imap.UID) ([]ports.MessageRecord, error) {
	return s.fetch(ctx, user, name, uids, nil, nil)
}

// fetch is Fetch from the index x of mailbox m when x is not nil, as
// read by the caller; from a fresh look when its cache file is gone.
func (s *Store) fetch(ctx context.Context, user, name string, uids []imap.UID, m0 *mailbox, x0 *index) ([]ports.MessageRecord, error) {
	const op = "fetch"
	var m *mailbox
	var x *index
	var pos, missing []int // missing: indexes in pos
	var blobs [][]byte     // of each of pos
	var box structureBox
	var cache *os.File
	for attempt := 0; ; attempt++ {
		var err error
		if attempt == 0 && x0 != nil {
			m, x = m0, x0
		} else if m, x, err = s.view(ctx, op, user, name, imap.ErrNonexistent); err != nil {
			return nil, err
		}
		pos = picked(x, sortedUIDs(uids))
		if len(pos) == 0 {
			return nil, nil
		}
		// The blobs this process read lately need no read of the file.
		box = structureBox{path: m.path, uidValidity: x.uidValidity}
		blobs, missing = make([][]byte, len(pos)), missing[:0]
		for k, i := range pos {
			if e := x.msgs.at(i); e.slen > 0 {
				b, ok := s.structures.Get(box, blobID(e))
				if !ok {
					missing = append(missing, k)
				}
				blobs[k] = b
			}
		}
		if len(missing) == 0 {
			break
		}
		cache, err = openRead(m.file(x.cacheName()))
		if err == nil || attempt == 2 || !errors.Is(err, os.ErrNotExist) {
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, wrapErr(op, err)
			}
			break
		}
		// Compacted twice since x was read: a fresh look names the
		// cache file in use.
		s.forget(m.path)
	}
	if cache != nil {
		defer cache.Close()
		at := make([]int, len(missing))
		for j, k := range missing {
			at[j] = pos[k]
		}
		span := readSpan(cache, x, at)
		for _, k := range missing {
			e := x.msgs.at(pos[k])
			b, ok := span.blob(e)
			if ok {
				b = slices.Clone(b)
			} else {
				var err error
				if b, err = readBlob(cache, e); err != nil {
					return nil, wrapErr(op, fmt.Errorf("structure of UID %d: %w", e.uid, err))
				}
			}
			s.structures.Put(box, blobID(e), b)
			blobs[k] = b
		}
	}
	// The records get copies of their own, in one allocation: the
	// cache's must not change.
	total := 0
	for _, b := range blobs {
		total += len(b)
	}
	buf := make([]byte, 0, total)
	out := make([]ports.MessageRecord, 0, len(pos))
	for k, i := range pos {
		e := x.msgs.at(i)
		r := ports.MessageRecord{MessageMeta: e.meta(), InternalDate: dateOut(e.date, e.zone), Size: e.size}
		if e.saved != 0 {
			r.SaveDate = time.Unix(e.saved, 0)
		}
		if b := blobs[k]; b != nil {
			n := len(buf)
			buf = append(buf, b...)
			r.Structure = buf[n:len(buf):len(buf)]
		}
		out = append(out, r)
	}
	return out, nil
}

func dateOut(sec int64, zone int32) time.Time {
	t := time.Unix(sec, 0)
	if zone == 0 {
		return t.UTC()
	}
	return t.In(time.FixedZone("", int(zone)))
}

// body is an open message file, held as a bare descriptor: an *os.File
// costs a system call more to open (it tries to register the file with
// the network poller) and nothing here needs it, for one pread a message.
type body struct {
	fd   int // -1 once closed
	size int64
}

func (b *body) Size() int64 { return b.size }

// openBody opens a message file for reading.
func openBody(path string, size int64) (*body, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return &body{fd: fd, size: size}, nil
	}
}

// ReadAt implements io.ReaderAt as os.File does: it reads until p is full
// or the file ends (io.EOF).
func (b *body) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("maildir: negative offset")
	}
	if b.fd < 0 {
		return 0, os.ErrClosed
	}
	n := 0
	for n < len(p) {
		m, err := unix.Pread(b.fd, p[n:], off+int64(n))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, &os.PathError{Op: "read", Path: "message", Err: err}
		}
		if m == 0 {
			return n, io.EOF
		}
		n += m
	}
	return n, nil
}

// Close closes the file; closing again does nothing.
func (b *body) Close() error {
	if b.fd < 0 {
		return nil
	}
	fd := b.fd
	b.fd = -1
	return unix.Close(fd)
}

// Open opens one message's file. A file renamed by another process since
// the index was read is found again through a fresh index.
func (s *Store) Open(ctx context.Context, user, name string, uid imap.UID) (ports.MessageBody, error) {
	const op = "open"
	if b := s.openKnown(ctx, user, name, uid); b != nil {
		return b, nil
	}
	for attempt := 0; ; attempt++ {
		m, x, err := s.view(ctx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return nil, err
		}
		i, ok := x.find(uid)
		if !ok {
			return nil, imap.Errorf(op, imap.ErrNonexistent, "UID %d", uid)
		}
		path := filepath.Join(m.cur(), x.msgs.at(i).file)
		b, err := openBody(path, x.msgs.at(i).size)
		if err == nil {
			return s.asCRLF(b, path)
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, wrapErr(op, err)
		}
		if attempt == 2 {
			return nil, imap.Errorf(op, imap.ErrNonexistent, "UID %d", uid)
		}
		// The index we read may predate a rename by another writer.
		s.forget(m.path)
	}
}

// openKnown is Open's fast path, for a FETCH that opens every message of
// a mailbox in turn: the file name comes from the index this process last
// read or wrote (the FETCH's own Fetch of the records has just brought it
// up to date), without reading the index file again or looking for mail
// waiting in new/ (which holds no message that has a UID yet). Opening
// the file is the check: maildir names are unique, so a file by that name
// is that message. It returns nil, for Open to take the full path, when
// there is no such index in memory, the index does not hold the UID, or
// the file is gone (renamed by another program, or expunged).
func (s *Store) openKnown(ctx context.Context, user, name string, uid imap.UID) ports.MessageBody {
	if ctx.Err() != nil {
		return nil
	}
	m, err := s.box("open", user, name)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	x := s.cache[m.path]
	s.mu.Unlock()
	if x == nil {
		return nil
	}
	i, ok := x.find(uid)
	if !ok {
		return nil
	}
	path := filepath.Join(m.path, "cur", x.msgs.at(i).file)
	b, err := openBody(path, x.msgs.at(i).size)
	if err != nil {
		return nil
	}
	c, err := s.asCRLF(b, path)
	if err != nil {
		return nil
	}
	return c
}

// writeBody writes the message to tmp/ and makes it durable; its mtime is
// the internal date, as maildir readers expect.
func writeBody(path string, msg ports.NewMessage, date time.Time) error {
	f, err := openFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(msg.Body, msg.Size))
	if err == nil && n != msg.Size {
		err = fmt.Errorf("message body shorter than its size %d", msg.Size)
	}
	if err == nil {
		var one [1]byte
		if k, _ := io.ReadFull(msg.Body, one[:]); k > 0 {
			err = fmt.Errorf("message body longer than its size %d", msg.Size)
		}
	}
	if err == nil {
		// Before the fsync, which makes the time durable with the data.
		err = os.Chtimes(path, date, date)
	}
	if err == nil {
		err = fsync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// deliver writes msg to tmp/ under a new unique name, outside any lock,
// and returns the name and the file's path.
func deliver(m *mailbox, msg ports.NewMessage, date time.Time) (string, string, error) {
	if msg.Size < 0 || msg.Body == nil {
		return "", "", errors.New("no message body")
	}
	unique := uniqueName(msg.Size)
	tmp := filepath.Join(m.tmp(), unique)
	if err := writeBody(tmp, msg, date); err != nil {
		os.Remove(tmp)
		return "", "", err
	}
	return unique, tmp, nil
}

// addMessage moves a delivered file into cur/ under a name that carries
// uid (see uidName) and records it in x (the caller holds the lock, has
// read m's keyword letters with useLetters, and makes cur/ durable after). On failure the file is removed again.
func addMessage(m *mailbox, x *index, tmp, unique string, uid imap.UID, flags []string, msg ports.NewMessage, date time.Time) error {
	file := m.fileFor(uidName(unique, uid), flags)
	dst := filepath.Join(m.cur(), file)
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	err := func() error {
		cache, err := openCache(m, x)
		if err != nil {
			return err
		}
		defer cache.Close()
		off, err := cache.add(msg.Structure)
		if err != nil {
			return err
		}
		if err := cache.sync(); err != nil {
			return err
		}
		// The index knows cur/ as it is now, our own file included.
		if mt, err := dirMtime(m.cur()); err == nil {
			x.curMtime = mt
		}
		_, zone := date.Zone()
		x.highest++
		e := entry{uid: uid, modseq: x.highest, date: date.Unix(), zone: int32(zone), size: msg.Size,
			soff: off, slen: int64(len(msg.Structure)), file: file, flags: entryFlags(file, keywords(flags)),
			saved: time.Now().Unix()}
		if !msg.SaveDate.IsZero() {
			e.saved = msg.SaveDate.Unix()
		}
		i, _ := x.find(uid)
		x.msgs.insert(i, e)
		x.uidNext = max(x.uidNext, uid+1)
		return nil
	}()
	if err != nil {
		os.Remove(dst)
	}
	return err
}

// Append stores one message: written and fsynced in tmp/, moved into cur/
// (folder fsynced), then recorded in the index, which is written
// atomically before Append returns.
func (s *Store) Append(ctx context.Context, user, name string, msg ports.NewMessage) (ports.AppendResult, error) {
	res, err := s.AppendAll(ctx, user, name, []ports.NewMessage{msg})
	if err != nil {
		return ports.AppendResult{}, err
	}
	return res[0], nil
}

// AppendAll writes every message to tmp/ first, outside any lock, then
// links them all into cur/ and records them in one index write; if one
// fails, the ones already linked are removed again, so none is stored.
func (s *Store) AppendAll(ctx context.Context, user, name string, msgs []ports.NewMessage) (_ []ports.AppendResult, err error) {
	const op = "append"
	flags := make([][]string, len(msgs))
	dates := make([]time.Time, len(msgs))
	for i, msg := range msgs {
		var err error
		if flags[i], err = imap.NormalizeFlags(msg.Flags); err != nil {
			return nil, wrapErr(op, err)
		}
		if dates[i] = msg.InternalDate; dates[i].IsZero() {
			dates[i] = time.Now()
		}
	}
	m, err := s.resolve(ctx, op, user, name, imap.ErrTryCreate)
	if err != nil {
		return nil, err
	}
	uniques := make([]string, 0, len(msgs))
	tmps := make([]string, 0, len(msgs))
	defer func() {
		for _, t := range tmps {
			os.Remove(t) // a no-op once the file has moved to cur/
		}
	}()
	for i, msg := range msgs {
		unique, tmp, err := deliver(m, msg, dates[i])
		if err != nil {
			return nil, wrapErr(op, err)
		}
		uniques, tmps = append(uniques, unique), append(tmps, tmp)
	}
	var res []ports.AppendResult
	var total int64
	for _, msg := range msgs {
		total += msg.Size
	}
	var hold *quotaHold
	defer func() { hold.done(err == nil) }()
	_, err = s.update(ctx, op, []*mailbox{m}, []error{imap.ErrTryCreate}, func(xs []*index) (bool, error) {
		x := xs[0]
		res = res[:0]
		if uint64(x.uidNext)+uint64(len(msgs)) > maxUID {
			return false, imap.Errorf(op, imap.ErrCannot, "mailbox %q has used every UID", name)
		}
		if err := admitKeywords(op, x, imap.NewKeywordSet().Missing(flags...)); err != nil {
			return false, err
		}
		var err error
		if hold, err = s.holdQuota(ctx, m.root, user); err != nil {
			return false, err
		}
		if err := hold.charge(op, total, int64(len(msgs))); err != nil {
			return false, err
		}
		given, err := m.useLetters(x, flags...)
		if err != nil {
			return false, err
		}
		if _, err := letterCarriers(m, x, given, nil); err != nil {
			return false, err
		}
		var linked []string
		undo := func() {
			for _, f := range linked {
				os.Remove(f)
			}
		}
		lazy := true
		for i, msg := range msgs {
			uid := x.uidNext
			if err := addMessage(m, x, tmps[i], uniques[i], uid, flags[i], msg, dates[i]); err != nil {
				undo()
				return false, err
			}
			linked = append(linked, filepath.Join(m.cur(), m.fileFor(uidName(uniques[i], uid), flags[i])))
			res = append(res, ports.AppendResult{UIDValidity: x.uidValidity, UID: uid})
			lazy = lazy && reproducible(flags[i], msg, dates[i])
		}
		if err := syncDir(m.cur()); err != nil {
			undo()
			return false, err
		}
		// The folder now tells all the frame would: see lazyFrame.
		if x.lazy = lazy && x.uidNext <= x.reserved; lazy && !x.lazy {
			x.reserved = min(x.uidNext+reserveAhead, maxUID)
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	tmps = nil // all in cur/ now
	writeSortFrames(m, appendedSortFrames(msgs, res))
	return res, nil
}

// UpdateFlags changes flags: system flags by renaming the files (the
// letters after ":2,"), keywords in the index and, while letters are
// free, as lowercase letters in the file names (see dovecotkw.go). Every changed message gets
// the same new mod-sequence.
func (s *Store) UpdateFlags(ctx context.Context, user, name string, uids []imap.UID, op ports.FlagOp, flags []string) ([]ports.MessageMeta, error) {
	out, _, err := s.updateFlags(ctx, user, name, uids, op, flags, nil)
	return out, err
}

// UpdateFlagsIf is UpdateFlags for the messages not modified after
// unchangedSince (RFC 7162 UNCHANGEDSINCE), checked under the same lock.
func (s *Store) UpdateFlagsIf(ctx context.Context, user, name string, uids []imap.UID, op ports.FlagOp, flags []string, unchangedSince uint64) ([]ports.MessageMeta, []imap.UID, error) {
	return s.updateFlags(ctx, user, name, uids, op, flags, &unchangedSince)
}

func (s *Store) updateFlags(ctx context.Context, user, name string, uids []imap.UID, op ports.FlagOp, flags []string, unchangedSince *uint64) ([]ports.MessageMeta, []imap.UID, error) {
	const opName = "store"
	want := sortedUIDs(uids)
	flags, err := imap.NormalizeFlags(flags)
	if err != nil {
		return nil, nil, wrapErr(opName, err)
	}
	m, err := s.resolve(ctx, opName, user, name, imap.ErrNonexistent)
	if err != nil {
		return nil, nil, err
	}
	var out []ports.MessageMeta
	var modified []imap.UID
	_, err = s.update(ctx, opName, []*mailbox{m}, []error{imap.ErrNonexistent}, func(xs []*index) (bool, error) {
		x := xs[0]
		out, modified = nil, nil
		modseq := x.highest + 1
		changed, renamed := false, false
		pos := picked(x, want)
		if unchangedSince != nil {
			pos = slices.DeleteFunc(pos, func(i int) bool {
				if e := x.msgs.at(i); e.modseq > *unchangedSince {
					modified = append(modified, e.uid)
					return true
				}
				return false
			})
		}
		if op != ports.FlagsRemove && len(pos) > 0 {
			// Keywords the touched messages carry are in the mailbox
			// already; only others can take it past the limit.
			known := imap.NewKeywordSet()
			for _, i := range pos {
				for _, f := range x.msgs.at(i).flags {
					known.Add(f)
				}
			}
			if err := admitKeywords(opName, x, known.Missing(flags)); err != nil {
				return false, err
			}
		}
		var given []string // keywords given a letter now
		for _, i := range pos {
			e := x.msgs.at(i)
			next, diff := op.Apply(e.flags, flags)
			if diff {
				// Keywords have letters in file names (dovecotkw.go).
				g, err := m.useLetters(x, next)
				if err != nil {
					return changed, err
				}
				given = append(given, g...)
				e = x.msgs.mut(i)
				unique, _ := splitFile(e.file)
				file := m.fileFor(unique, next)
				if file != e.file {
					if err := os.Rename(filepath.Join(m.cur(), e.file), filepath.Join(m.cur(), file)); err != nil {
						return changed, err
					}
					renamed = true
				}
				// System flags first, as entryFlags orders them.
				e.file, e.flags, e.modseq = file, entryFlags(file, keywords(next)), modseq
				changed = true
			}
			out = append(out, e.meta())
		}
		// Files of other messages with a keyword given a letter now
		// take it too: a change of name, not of flags.
		carried, err := letterCarriers(m, x, given, nil)
		if err != nil {
			return changed, err
		}
		if renamed = renamed || carried; renamed {
			if err := syncDir(m.cur()); err != nil {
				return changed, err
			}
			if mt, err := dirMtime(m.cur()); err == nil {
				x.curMtime = mt
			}
		}
		if changed {
			x.highest = modseq
		}
		return changed || carried, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, modified, nil
}

// Expunge removes the \Deleted messages among uids (all for nil): files
// first, then the index with tombstones; a crash in between leaves entries
// without files, which the next operation turns into the same expunges.
func (s *Store) Expunge(ctx context.Context, user, name string, uids []imap.UID) (_ []imap.UID, err error) {
	const op = "expunge"
	var want []imap.UID
	if uids != nil {
		if want = sortedUIDs(uids); len(want) == 0 {
			return nil, nil
		}
	}
	m, err := s.resolve(ctx, op, user, name, imap.ErrNonexistent)
	if err != nil {
		return nil, err
	}
	var gone []imap.UID
	var hold *quotaHold
	defer func() { hold.done(err == nil) }()
	_, err = s.update(ctx, op, []*mailbox{m}, []error{imap.ErrNonexistent}, func(xs []*index) (bool, error) {
		x := xs[0]
		gone = nil
		var victims []int
		if want == nil {
			for i := range x.msgs.len() {
				victims = append(victims, i)
			}
		} else {
			victims = picked(x, want)
		}
		victims = slices.DeleteFunc(victims, func(i int) bool { return !imap.HasFlag(x.msgs.at(i).flags, imap.FlagDeleted) })
		if len(victims) == 0 {
			return false, nil
		}
		var freed int64
		for _, i := range victims {
			gone = append(gone, x.msgs.at(i).uid)
			freed += x.msgs.at(i).size
		}
		var err error
		if hold, err = s.holdQuota(ctx, m.root, user); err != nil {
			return false, err
		}
		if err := hold.charge(op, -freed, -int64(len(victims))); err != nil {
			return false, err
		}
		return true, removeEntries(m, x, victims, true)
	})
	if err != nil {
		return nil, err
	}
	return gone, nil
}

// removeEntries drops the entries at the given positions (ascending) from
// x with tombstones sharing one new mod-sequence, unlinking their files
// first when unlink is set.
func removeEntries(m *mailbox, x *index, pos []int, unlink bool) error {
	if unlink {
		for _, i := range pos {
			if err := os.Remove(filepath.Join(m.cur(), x.msgs.at(i).file)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		if err := syncDir(m.cur()); err != nil {
			return err
		}
	}
	if mt, err := dirMtime(m.cur()); err == nil {
		x.curMtime = mt
	}
	x.highest++
	drop := make(map[int]bool, len(pos))
	for _, i := range pos {
		drop[i] = true
		x.tombs = appendTombs(x.tombs, tomb{x.msgs.at(i).uid, x.highest})
	}
	x.msgs.remove(func(i int) bool { return drop[i] })
	sortTombs(x)
	return nil
}

// Copy copies messages to dest with their flags and internal dates, as
// hard links to the same files where the file system allows.
func (s *Store) Copy(ctx context.Context, user, name string, uids []imap.UID, dest string) (ports.CopyResult, error) {
	return s.transfer(ctx, "copy", user, name, uids, dest, false)
}

// Move moves messages to dest (RFC 6851): each file is renamed into the
// destination's cur/, the destination's index is written, then the
// source's with tombstones. A crash between the two leaves the source's
// entries without files, which its next operation reports as expunged, so
// a message is never in both mailboxes nor in neither.
func (s *Store) Move(ctx context.Context, user, name string, uids []imap.UID, dest string) (ports.CopyResult, error) {
	return s.transfer(ctx, "move", user, name, uids, dest, true)
}

func (s *Store) transfer(ctx context.Context, op, user, name string, uids []imap.UID, dest string, move bool) (_ ports.CopyResult, err error) {
	want := sortedUIDs(uids)
	var res ports.CopyResult
	src, err := s.resolve(ctx, op, user, name, imap.ErrNonexistent)
	if err != nil {
		return res, err
	}
	dst, err := s.resolve(ctx, op, user, dest, imap.ErrTryCreate)
	if err != nil {
		return res, err
	}
	var hold *quotaHold
	defer func() { hold.done(err == nil) }()
	var srcValidity uint32
	_, err = s.update(ctx, op, []*mailbox{src, dst}, []error{imap.ErrNonexistent, imap.ErrTryCreate}, func(xs []*index) (bool, error) {
		xs0, xd := xs[0], xs[1]
		srcValidity = xs0.uidValidity
		res = ports.CopyResult{UIDValidity: xd.uidValidity}
		pos := picked(xs0, want)
		if len(pos) == 0 {
			return false, nil
		}
		if uint64(xd.uidNext)+uint64(len(pos)) > maxUID {
			return false, imap.Errorf(op, imap.ErrCannot, "mailbox %q has too few UIDs left", dest)
		}
		// The keyword letters of dest, before the entries are taken: in
		// the same mailbox the carriers' files may be renamed.
		lists := make([][]string, len(pos))
		for k, i := range pos {
			lists[k] = xs0.msgs.at(i).flags
		}
		given, err := dst.useLetters(xd, lists...)
		if err != nil {
			return false, err
		}
		if _, err := letterCarriers(dst, xd, given, nil); err != nil {
			return false, err
		}
		// The entries to copy, taken before dest (maybe the same index)
		// grows.
		ents := make([]entry, len(pos))
		for k, i := range pos {
			ents[k] = *xs0.msgs.at(i)
		}
		if src.path != dst.path {
			copied := make([][]string, len(ents))
			for k := range ents {
				copied[k] = ents[k].flags
			}
			if err := admitKeywords(op, xd, imap.NewKeywordSet().Missing(copied...)); err != nil {
				return false, err
			}
		}
		if !move {
			// A move stays in the user's quota root: it adds nothing.
			var total int64
			for k := range ents {
				total += ents[k].size
			}
			var err error
			if hold, err = s.holdQuota(ctx, src.root, user); err != nil {
				return false, err
			}
			if err := hold.charge(op, total, int64(len(ents))); err != nil {
				return false, err
			}
		}
		return true, copyEntries(src, dst, xs0, xd, pos, ents, move, &res)
	})
	if err != nil {
		return ports.CopyResult{}, err
	}
	copySortFrames(src, dst, srcValidity, res)
	return res, nil
}

// copyEntries puts the files of ents into dst's cur/ under new unique
// names (renamed for a move, linked or copied otherwise), records them in
// xd and, for a move, drops the originals from xs with tombstones. On
// failure it undoes what it did to the folders.
func copyEntries(src, dst *mailbox, xs, xd *index, pos []int, ents []entry, move bool, res *ports.CopyResult) (err error) {
	type done struct{ from, to string }
	var made []done
	defer func() {
		if err == nil {
			return
		}
		for _, d := range made {
			if move {
				os.Rename(d.to, d.from)
			} else {
				os.Remove(d.to)
			}
		}
	}()
	var srcCache *os.File
	if f, err := openRead(src.file(xs.cacheName())); err == nil {
		srcCache = f
		defer f.Close()
	}
	cache, err := openCache(dst, xd)
	if err != nil {
		return err
	}
	defer cache.Close()
	var added []entry
	next := xd.uidNext
	for _, e := range ents {
		// The new name's ",S=" is the file's own size, as asCRLF reads it:
		// a file delivered with bare LFs is smaller than its entry says.
		from := filepath.Join(src.cur(), e.file)
		raw := e.size
		if sizeInName(e.file) != e.size {
			if fi, err := os.Stat(from); err == nil {
				raw = fi.Size()
			}
		}
		file := dst.fileFor(uniqueName(raw), e.flags)
		to := filepath.Join(dst.cur(), file)
		if move {
			err = os.Rename(from, to)
		} else {
			err = linkOrCopy(from, to, dst.tmp())
		}
		if err != nil {
			return err
		}
		made = append(made, done{from, to})
		var blob []byte
		if srcCache != nil {
			if blob, err = readBlob(srcCache, &e); err != nil {
				return err
			}
		}
		off, err := cache.add(blob)
		if err != nil {
			return err
		}
		n := e
		n.uid, n.file, n.soff, n.slen = next, file, off, int64(len(blob))
		n.saved = time.Now().Unix()
		n.flags = entryFlags(file, keywords(e.flags))
		added = append(added, n)
		res.Source = append(res.Source, e.uid)
		res.Dest = append(res.Dest, next)
		next++
	}
	if err := cache.sync(); err != nil {
		return err
	}
	if err := syncDir(dst.cur()); err != nil {
		return err
	}
	if move && src.path != dst.path {
		if err := syncDir(src.cur()); err != nil {
			return err
		}
	}
	if move {
		// Tombstones first: in the same mailbox the new entries must not
		// shift the positions.
		if err := removeEntries(src, xs, pos, false); err != nil {
			return err
		}
	}
	xd.highest++
	for i := range added {
		added[i].modseq = xd.highest
	}
	xd.msgs.push(added...)
	xd.uidNext = next
	if mt, err := dirMtime(dst.cur()); err == nil {
		xd.curMtime = mt
	}
	return nil
}

// linkOrCopy makes to a hard link of from, or a copy (written in tmp, then
// renamed) where links are not possible.
func linkOrCopy(from, to, tmpDir string) error {
	if err := os.Link(from, to); err == nil {
		return nil
	}
	in, err := openRead(from)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	tmp := filepath.Join(tmpDir, uniqueName(fi.Size()))
	out, err := openFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = fsync(out)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		os.Chtimes(tmp, fi.ModTime(), fi.ModTime())
		err = os.Rename(tmp, to)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// ClaimRecent hands the not yet claimed UIDs to the caller and moves the
// mark to UIDNEXT, under the mailbox lock.
func (s *Store) ClaimRecent(ctx context.Context, user, name string) (from, to imap.UID, err error) {
	const op = "claim recent"
	// Most calls find nothing to claim: after a change every session of
	// the mailbox polls and one of them claims. The index, read without
	// the lock, answers those; taking the lock would wake every watcher
	// of the mailbox again. The sessions of this process that find
	// something at once (a thousand in IDLE, woken by one delivery) leave
	// the claim to the first and look again once it is done, rather than
	// each taking the lock in turn to find nothing left.
	for waited := false; ; {
		m, x, err := s.view(ctx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return 0, 0, err
		}
		if x.recentUID >= x.uidNext {
			return x.uidNext, x.uidNext, nil
		}
		done, err := s.flights.lead(ctx, "claim "+m.path, &waited)
		if err != nil {
			return 0, 0, wrapErr(op, err)
		}
		if done == nil {
			continue
		}
		defer done() // even if the update panics: the waiters go on
		_, err = s.update(ctx, op, []*mailbox{m}, []error{imap.ErrNonexistent}, func(xs []*index) (bool, error) {
			x := xs[0]
			from, to = x.recentUID, x.uidNext
			if from >= to {
				from = to
				return false, nil
			}
			x.recentUID = to
			// A claim lost in a crash shows the messages as \Recent
			// once more, which harms nothing: its frame is not
			// fsynced (see lazyFrame).
			x.lazy = true
			return true, nil
		})
		return from, to, err
	}
}

// Watch wakes the caller after changes to the mailbox's folders: cur/ and
// new/ (messages delivered, flagged, expunged, by us or any program) and
// the folder itself, where the index is replaced.
func (s *Store) Watch(ctx context.Context, user, name string) (<-chan struct{}, error) {
	m, err := s.resolve(ctx, "watch", user, name, imap.ErrNonexistent)
	if err != nil {
		return nil, err
	}
	return fswatch.Watch(ctx, fswatch.Fallback, m.path, m.cur(), m.new())
}

// WatchUser watches what Watch watches for every mailbox the user has
// now: INBOX's folder is the Maildir++ root, where every other folder,
// the subscriptions file and the tree's own files live, so a mailbox
// created, deleted or renamed (a folder appearing or going in the root)
// and a subscription change wake the caller too.
func (s *Store) WatchUser(ctx context.Context, user string) (<-chan struct{}, error) {
	const op = "watch"
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	names, err := s.names(op, user)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	paths := make([]string, 0, 3*len(names))
	for _, n := range names {
		m, err := s.box(op, user, n)
		if err != nil || !m.exists() {
			continue // gone meanwhile: the root's event tells of it
		}
		paths = append(paths, m.path, m.cur(), m.new())
	}
	if len(paths) == 0 {
		return nil, imap.Errorf(op, imap.ErrNoUser, "%q", user)
	}
	return fswatch.Watch(ctx, fswatch.Fallback, paths...)
}

// admitKeywords fails with imap.ErrLimit when adding the keywords want to
// the mailbox of x, whose lock the caller holds, would take it past
// imap.MaxKeywords. Newest messages first: they are the likeliest to carry
// the same keywords, and the search stops once all of want are found.
func admitKeywords(op string, x *index, want []string) error {
	return imap.AdmitKeywords(op, want, func(yield func([]string) bool) {
		for i := x.msgs.len() - 1; i >= 0; i-- {
			if !yield(x.msgs.at(i).flags) {
				return
			}
		}
	})
}
