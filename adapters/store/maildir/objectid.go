package maildir

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// File names of the RFC 8474 state: mailboxIDFile inside each mailbox's
// folder (so that it moves with a RENAME), threadsFile and its lock in
// the user's root.
const (
	mailboxIDFile   = "imapd-mailboxid"
	threadsFile     = "imapd-threads"
	threadsLockFile = "imapd-threads-lock"
)

var _ ports.ObjectIDs = (*Store)(nil)

// MailboxID returns the mailbox's MAILBOXID. A folder of a tree written
// before ids were kept gets one now: written aside, then linked in place,
// so that of two processes doing this at once both read the one that won.
func (s *Store) MailboxID(ctx context.Context, user, name string) (string, error) {
	const op = "mailboxid"
	m, err := s.box(op, user, name)
	if err != nil {
		if errors.Is(err, imap.ErrInvalidName) {
			return "", imap.Errorf(op, imap.ErrNonexistent, "%q", name)
		}
		return "", err
	}
	if !m.exists() {
		return "", imap.Errorf(op, imap.ErrNonexistent, "%q", name)
	}
	id, err := readMailboxID(m)
	return id, wrapErr(op, err)
}

// readMailboxID reads the folder's id, giving it one when it has none.
func readMailboxID(m *mailbox) (string, error) {
	for range 3 {
		b, err := readFile(m.file(mailboxIDFile))
		if err == nil {
			if id := string(bytes.TrimSpace(b)); imap.IsObjectID(id) {
				return id, nil
			}
			return "", fmt.Errorf("%s: not an object id", m.file(mailboxIDFile))
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		tmp := m.file(fmt.Sprintf(".%s.%d.%d", mailboxIDFile, os.Getpid(), rand.Uint64()))
		if err := writeSynced(tmp, []byte(imap.NewObjectID(imap.MailboxIDPrefix)+"\n")); err != nil {
			os.Remove(tmp)
			return "", err
		}
		err = os.Link(tmp, m.file(mailboxIDFile))
		os.Remove(tmp)
		if err != nil && !errors.Is(err, os.ErrExist) {
			return "", err
		}
		if err == nil {
			if err := syncDir(m.path); err != nil {
				return "", err
			}
		}
	}
	return "", errors.New("mailbox id: the file keeps changing")
}

// writeSynced creates the file at path with data, durably.
func writeSynced(path string, data []byte) error {
	f, err := openFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = fsync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeMailboxID gives the folder the id, replacing any it had.
func writeMailboxID(m *mailbox, id string) error {
	return writeAtomic(m.path, mailboxIDFile, []byte(id+"\n"))
}

// SetMailboxID gives the mailbox the id (migration).
func (s *Store) SetMailboxID(ctx context.Context, user, name, id string) error {
	const op = "set mailboxid"
	if !imap.IsObjectID(id) {
		return imap.Errorf(op, imap.ErrCannot, "invalid object id %q", id)
	}
	m, err := s.box(op, user, name)
	if err != nil {
		return err
	}
	l, err := flock(ctx, m.file(lockFile), true)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return imap.Errorf(op, imap.ErrNonexistent, "%q", name)
		}
		return wrapErr(op, err)
	}
	defer l.unlock()
	if !m.exists() {
		return imap.Errorf(op, imap.ErrNonexistent, "%q", name)
	}
	return wrapErr(op, writeMailboxID(m, id))
}

// AssignThread looks msgIDs up in the user's thread index, a file of
// "<msgid> <threadid> ." lines that only grows, and appends the entries it
// lacks, under the index's lock. The lines are not fsynced: the index only
// guides the threading of later messages, and a crash that loses its last
// lines costs no stored data. The process keeps what it has read of the
// file (threadCache) and reads only what was added since.
func (s *Store) AssignThread(ctx context.Context, user string, msgIDs []string, fresh string) (string, error) {
	const op = "thread"
	var ids []string
	for _, m := range msgIDs {
		if m != "" && !strings.ContainsAny(m, " \t\r\n") {
			ids = append(ids, m)
		}
	}
	if len(ids) == 0 {
		return fresh, nil
	}
	root, err := s.userRoot(op, user)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(root, 0o750); err != nil {
		return "", wrapErr(op, err)
	}
	l, err := flock(ctx, filepath.Join(root, threadsLockFile), true)
	if err != nil {
		return "", wrapErr(op, err)
	}
	defer l.unlock()
	f, err := openFile(filepath.Join(root, threadsFile), os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return "", wrapErr(op, err)
	}
	defer f.Close()
	x, err := s.threads.catchUp(root, f)
	if err != nil {
		return "", wrapErr(op, err)
	}
	thread := fresh
	for _, m := range ids {
		if t, ok := x.ids[m]; ok {
			thread = t
			break
		}
	}
	var add bytes.Buffer
	if x.partial {
		add.WriteByte('\n') // end a line a crash cut short
	}
	for _, m := range ids {
		if _, ok := x.ids[m]; !ok {
			x.ids[m] = thread
			fmt.Fprintf(&add, "%s %s .\n", m, thread)
		}
	}
	if add.Len() == 1 && x.partial || add.Len() == 0 {
		return thread, nil
	}
	if _, err := f.Write(add.Bytes()); err != nil {
		s.threads.forget(root)
		return "", wrapErr(op, err)
	}
	x.off += int64(add.Len())
	x.partial = false
	return thread, nil
}

// threadCache keeps, per user root, the thread index as far as this
// process has read it.
type threadCache struct {
	mu sync.Mutex
	m  map[string]*threadIndex
}

// maxCachedThreadIndexes bounds the users whose index a process keeps.
const maxCachedThreadIndexes = 8

type threadIndex struct {
	ino     uint64
	off     int64 // bytes read: up to the end of the last whole line
	partial bool  // the file goes on after off without a line end
	ids     map[string]string
}

// catchUp returns the cached index of root brought up to the end of f
// (the index file, locked by the caller).
func (c *threadCache) catchUp(root string, f *os.File) (*threadIndex, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = st.Ino
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > maxCachedThreadIndexes {
		c.m = map[string]*threadIndex{}
	}
	x := c.m[root]
	if x == nil || x.ino != ino || fi.Size() < x.off {
		x = &threadIndex{ino: ino, ids: map[string]string{}}
		c.m[root] = x
	}
	if fi.Size() == x.off {
		return x, nil
	}
	buf := make([]byte, fi.Size()-x.off)
	if _, err := f.ReadAt(buf, x.off); err != nil {
		delete(c.m, root)
		return nil, err
	}
	whole := bytes.LastIndexByte(buf, '\n') + 1
	for _, line := range strings.Split(string(buf[:whole]), "\n") {
		if m, t, ok := threadLine(line); ok {
			if _, known := x.ids[m]; !known {
				x.ids[m] = t
			}
		}
	}
	x.off += int64(whole)
	x.partial = whole < len(buf)
	if x.partial {
		// The cut line is ended by the next write; count it as read.
		x.off = fi.Size()
	}
	return x, nil
}

func (c *threadCache) forget(root string) {
	c.mu.Lock()
	delete(c.m, root)
	c.mu.Unlock()
}

// threadLine splits a line of the thread index, "<msgid> <threadid> .":
// the final dot tells a whole line from one a crash cut short.
func threadLine(line string) (msgID, threadID string, ok bool) {
	rest, ok := strings.CutSuffix(line, " .")
	if !ok {
		return "", "", false
	}
	msgID, threadID, ok = strings.Cut(rest, " ")
	return msgID, threadID, ok && msgID != "" && imap.IsObjectID(threadID)
}

// readThreads calls f with each whole line of the user's thread index.
func readThreads(root string, f func(msgID, threadID string) error) error {
	file, err := openRead(filepath.Join(root, threadsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		m, t, ok := threadLine(sc.Text())
		if !ok {
			continue // a line cut short by a crash
		}
		if err := f(m, t); err != nil {
			return err
		}
	}
	return sc.Err()
}

// Threads calls f with every entry of the user's thread index.
func (s *Store) Threads(ctx context.Context, user string, f func(msgID, threadID string) error) error {
	const op = "threads"
	root, err := s.userRoot(op, user)
	if err != nil {
		return err
	}
	return readThreads(root, f)
}
