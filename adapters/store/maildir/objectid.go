package maildir

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
		b, err := os.ReadFile(m.file(mailboxIDFile))
		if err == nil {
			if id := string(bytes.TrimSpace(b)); imap.IsObjectID(id) {
				return id, nil
			}
			return "", fmt.Errorf("%s: not an object id", m.file(mailboxIDFile))
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		tmp := m.file(fmt.Sprintf(".%s.%d", mailboxIDFile, os.Getpid()))
		if err := os.WriteFile(tmp, []byte(imap.NewObjectID(imap.MailboxIDPrefix)+"\n"), 0o600); err != nil {
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
// "<msgid> <threadid>" lines that only grows, and appends the entries it
// lacks, under the index's lock. The lines are not fsynced: the index only
// guides the threading of later messages, and a crash that loses its last
// lines costs no stored data.
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
	known := map[string]string{}
	want := map[string]bool{}
	for _, m := range ids {
		want[m] = true
	}
	err = readThreads(root, func(m, t string) error {
		if want[m] {
			known[m] = t
		}
		return nil
	})
	if err != nil {
		return "", wrapErr(op, err)
	}
	thread := fresh
	for _, m := range ids {
		if t, ok := known[m]; ok {
			thread = t
			break
		}
	}
	var add bytes.Buffer
	for _, m := range ids {
		if _, ok := known[m]; !ok {
			known[m] = thread
			fmt.Fprintf(&add, "%s %s\n", m, thread)
		}
	}
	if add.Len() == 0 {
		return thread, nil
	}
	f, err := os.OpenFile(filepath.Join(root, threadsFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return "", wrapErr(op, err)
	}
	_, err = f.Write(add.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return thread, wrapErr(op, err)
}

// readThreads calls f with each whole line of the user's thread index.
func readThreads(root string, f func(msgID, threadID string) error) error {
	file, err := os.Open(filepath.Join(root, threadsFile))
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
		m, t, ok := strings.Cut(sc.Text(), " ")
		if !ok || !imap.IsObjectID(t) {
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
