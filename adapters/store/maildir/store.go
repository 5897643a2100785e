// Package maildir keeps users' mailboxes as Maildir++ folders and
// implements ports.Store on them, so that mail stays readable by any
// standard maildir program (mutt, a backup script, another IMAP server).
//
// Layout, under the partition directory:
//
//	<partition>/<user>/                 the user's Maildir++ root = INBOX
//	    cur/ new/ tmp/                  INBOX's messages
//	    .<level>.<level>/               one folder per other mailbox
//	    subscriptions                   subscribed names, one per line
//	    imapd-index imapd-cache.<n> imapd-lock   (see below)
//	    imapd-tree-lock                 serialises hierarchy changes
//	<partition>/.imapd/                 partition-wide state (UIDVALIDITY)
//
// Mailbox names map to folder names level by level: "/" becomes ".", and
// within a level the bytes '.', '/', '%' and '~' are written as %XX (upper
// case hex), so "a.b/c" is the folder ".a%2Eb.c" and the mapping is
// reversible. Levels "." and "..", control characters and invalid UTF-8
// are refused. A folder name longer than a file name may be is replaced
// by ".~" and a hash of the mailbox name, with the name kept in the file
// imapd-name inside the folder.
//
// Message files carry the standard flags in their names
// ("<unique>:2,<letters>", D Draft, F Flagged, R Answered, S Seen, T
// Deleted, letters sorted), then, as Dovecot writes them, lowercase
// letters for the keywords the folder's dovecot-keywords names (see
// dovecotkw.go), and their modification time is the internal date. What maildir has no place for lives in the adapter's own files
// beside cur/ new/ tmp/, never inside them: imapd-index (UIDVALIDITY,
// UIDNEXT, HIGHESTMODSEQ, the \Recent mark, and per message its UID,
// mod-sequence, internal date with zone, size, keywords and file name,
// plus expunge tombstones), a snapshot, and imapd-cache.<n>, the structure
// blobs followed by the log of the changes made since the snapshot (see
// log.go). A write appends one frame to the log and makes it durable with
// one fdatasync, while holding an flock on imapd-lock, which every
// process respects; readers need no lock and read only the frames added
// since their last look. Now and then a writer compacts: the live blobs
// go to the next cache file and a new snapshot (write temp, fsync,
// rename, fsync folder) names it. In memory, the versions of an index
// share its messages in chunks (msglist.go): a change copies the chunks
// it touches and its frame is found from them, so that a flag change on
// a few messages of a large mailbox costs about as much as on a small one.
//
// Files another program puts into new/ or cur/ are given fresh UIDs (and
// their structure is computed) at the next operation on the mailbox; a
// file removed from outside is reported as expunged. A crash at any
// moment leaves the snapshot and the log up to their last whole frame; a
// message file that reached cur/ without its index entry is picked up as
// a new message, and an index entry whose file is gone becomes an
// expunge, so no UID is ever reused and no entry outlives its file.
//
// An APPEND costs two fsyncs: the message file in tmp/ (before it is
// renamed into cur/, so that no reader nor crash sees part of it) and cur/
// (its new name, which carries its UID); its log frame is written but not
// fsynced, since the folder tells all it holds (see lazyFrame in
// recover.go). One with keywords, or a date in another zone, also
// fdatasyncs its frame (blocks the file already has: no journal commit).
package maildir

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/imapd-go/imapd/adapters/store/internal/fsname"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
	"golang.org/x/sys/unix"
)

const (
	inbox = "INBOX"
	// maxFolderLen is the longest folder name written as the name itself;
	// longer ones are hashed (NAME_MAX is 255 on common file systems).
	maxFolderLen = 200
	// File names of the adapter inside a mailbox folder.
	indexFile   = "imapd-index"
	cachePrefix = "imapd-cache."
	lockFile    = "imapd-lock"
	nameFile    = "imapd-name"
	// specialUseFile holds the mailbox's RFC 6154 attributes.
	specialUseFile = "imapd-specialuse"
	// File names inside a user's root.
	treeLockFile = "imapd-tree-lock"
	subsFile     = "subscriptions"
	// globalDir holds the partition-wide state; user folders never start
	// with a dot, so it cannot collide with one.
	globalDir = ".imapd"
)

// Store is a ports.Store on a partition of Maildir++ trees. It is safe for
// concurrent use by many goroutines and by many processes.
type Store struct {
	dir string

	mu    sync.Mutex
	cache map[string]*index // mailbox folder -> last index read or written
	// emptyNew: mailbox folder -> ctime of its new/ when last read and
	// found empty (pendingNew)
	emptyNew map[string]int64
	flights  flights // work under way on a mailbox (view, ClaimRecent)

	text textDBs // full-text index databases (textindex.go)

	structures structures // blobs read lately, of one mailbox (structures.go)

	threads threadCache // thread indexes read lately (objectid.go)

	lfMaps lfMaps // where files delivered with bare LFs have them (crlf.go)
}

var (
	_ ports.Store    = (*Store)(nil)
	_ ports.Importer = (*Store)(nil)
)

// Open opens (creating if needed) the maildir store kept in dir.
func Open(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("maildir: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(abs, globalDir), 0o750); err != nil {
		return nil, fmt.Errorf("maildir: %w", err)
	}
	return &Store{dir: abs, cache: map[string]*index{}}, nil
}

// Close closes the full-text index databases; the store holds no other
// open files between calls.
func (s *Store) Close() error { return s.closeText() }

// userRoot returns the user's Maildir++ root. A user name that is not a
// single safe file name is imap.ErrNoUser.
func (s *Store) userRoot(op, user string) (string, error) {
	if user == "" || user == "." || user == ".." || strings.ContainsAny(user, "/\x00") || !utf8.ValidString(user) {
		return "", imap.Errorf(op, imap.ErrNoUser, "%q", user)
	}
	// A leading dot would hide the folder (and could meet globalDir).
	if user[0] == '.' {
		user = "%2E" + user[1:]
	}
	return filepath.Join(s.dir, user), nil
}

// escapeLevel writes the bytes that have a meaning in folder names as %XX.
func escapeLevel(level string) string {
	var b strings.Builder
	for i := 0; i < len(level); i++ {
		switch c := level[i]; c {
		case '.', '/', '%', '~':
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// folderName returns the folder (relative to the user's root) of a valid
// mailbox name other than INBOX.
func folderName(name string) string {
	levels := strings.Split(name, string(imap.Separator))
	for i, l := range levels {
		levels[i] = escapeLevel(l)
	}
	f := "." + strings.Join(levels, ".")
	if len(f) > maxFolderLen {
		sum := sha256.Sum256([]byte(name))
		f = ".~" + hex.EncodeToString(sum[:20])
	}
	return f
}

// mailboxName decodes a folder name of the user's root; ok is false for
// entries that are not mailbox folders.
func mailboxName(root, folder string) (string, bool) {
	if len(folder) < 2 || folder[0] != '.' || folder == ".." {
		return "", false
	}
	if strings.HasPrefix(folder, ".~") {
		b, err := readFile(filepath.Join(root, folder, nameFile))
		if err != nil {
			return "", false
		}
		return strings.TrimSuffix(string(b), "\n"), true
	}
	levels := strings.Split(folder[1:], ".")
	for i, l := range levels {
		v, ok := fsname.Unescape(l)
		if !ok || v == "" {
			return "", false
		}
		levels[i] = v
	}
	return strings.Join(levels, string(imap.Separator)), true
}

// mailbox is one mailbox's place on disk.
type mailbox struct {
	user, name string
	root       string     // the user's Maildir++ root
	path       string     // the mailbox's folder
	letters    *letterMap // its keyword letters, once read (dovecotkw.go)
}

// box resolves a mailbox name without looking at the disk.
func (s *Store) box(op, user, name string) (*mailbox, error) {
	root, err := s.userRoot(op, user)
	if err != nil {
		return nil, err
	}
	m := &mailbox{user: user, name: name, root: root, path: root}
	if name != inbox {
		if err := imap.CheckMailboxName(op, name); err != nil {
			return nil, err
		}
		m.path = filepath.Join(root, folderName(name))
	}
	return m, nil
}

func (m *mailbox) cur() string             { return filepath.Join(m.path, "cur") }
func (m *mailbox) new() string             { return filepath.Join(m.path, "new") }
func (m *mailbox) tmp() string             { return filepath.Join(m.path, "tmp") }
func (m *mailbox) file(name string) string { return filepath.Join(m.path, name) }

// exists reports whether the mailbox is complete on disk: cur/ is made
// last when a mailbox is created, so its presence marks a usable mailbox.
func (m *mailbox) exists() bool {
	_, ok := m.curMtime()
	return ok
}

// curMtime returns cur/'s modification time in nanoseconds, and whether
// the mailbox exists (see exists).
func (m *mailbox) curMtime() (int64, bool) {
	var st unix.Stat_t
	if statPath(m.cur(), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return 0, false
	}
	return st.Mtim.Nano(), true
}

// flights lets the goroutines of a process that want the same work done
// on a mailbox at the same moment leave it to one of them.
type flights struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

// lead makes the caller the one to do the work named key and returns
// done, which the caller calls once the work is over. When that work is
// under way already and *waited is false, it waits for it instead, sets
// *waited and returns nil: the caller looks again, since the work it
// waited for may have begun before what it needs. Having waited once, the
// caller does the work alongside (as every caller did before flights), so
// a stream of others' work never holds it up for long.
func (f *flights) lead(ctx context.Context, key string, waited *bool) (done func(), err error) {
	f.mu.Lock()
	ch := f.m[key]
	if ch != nil {
		f.mu.Unlock()
		if *waited {
			return func() {}, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		*waited = true
		return nil, nil
	}
	if f.m == nil {
		f.m = map[string]chan struct{}{}
	}
	ch = make(chan struct{})
	f.m[key] = ch
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		delete(f.m, key)
		f.mu.Unlock()
		close(ch)
	}, nil
}

// lock is an flock held on a lock file.
type lock struct{ f *os.File }

// flock opens path (creating it) and takes the lock: exclusive, or shared.
// The lock is per open file, so goroutines of one process exclude each
// other as processes do.
func flock(ctx context.Context, path string, exclusive bool) (*lock, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := openFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &lock{f}, nil
}

func (l *lock) unlock() {
	if l != nil {
		l.f.Close() // closing the last descriptor releases the flock
	}
}

// writeAtomic replaces dir/name with data: a temporary file in the same
// folder, fsynced, renamed over the old one, and the folder fsynced, so
// that readers and a crash see either the old or the new content.
func writeAtomic(dir, name string, data []byte) error {
	tmp := filepath.Join(dir, fmt.Sprintf(".%s.%d.%d", name, os.Getpid(), rand.Uint64()))
	err := writeSynced(tmp, data)
	if err == nil {
		crashPoint("rename " + name)
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	crashPoint("renamed " + name)
	return syncDir(dir)
}

// syncDir makes the entries of a folder (renames, links, removals) durable.
func syncDir(dir string) error {
	d, err := openRead(dir)
	if err != nil {
		return err
	}
	err = fsync(d)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// newUIDValidity returns a UIDVALIDITY no mailbox of the partition had
// before: the time in seconds, or one more than the last value handed out
// if the clock has not moved on; the last value is kept in a file under
// an flock, so deleted and recreated mailboxes never repeat one.
func (s *Store) newUIDValidity(ctx context.Context) (uint32, error) {
	g := filepath.Join(s.dir, globalDir)
	l, err := flock(ctx, filepath.Join(g, "uidvalidity.lock"), true)
	if err != nil {
		return 0, err
	}
	defer l.unlock()
	var last int64
	if b, err := readFile(filepath.Join(g, "uidvalidity")); err == nil {
		last, _ = strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	} else if !errors.Is(err, os.ErrNotExist) {
		return 0, err
	}
	v := max(last+1, time.Now().Unix())
	if v > 1<<32-1 {
		return 0, errors.New("UIDVALIDITY space exhausted")
	}
	if err := writeAtomic(g, "uidvalidity", []byte(strconv.FormatInt(v, 10)+"\n")); err != nil {
		return 0, err
	}
	return uint32(v), nil
}

// uniqueCounter makes unique file names within one process.
var uniqueCounter atomic.Uint64

// hostname is the host part of unique names, with '/' and ':' written as
// the maildir convention asks (\057, \072).
var hostname = func() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "localhost"
	}
	return strings.NewReplacer("/", `\057`, ":", `\072`, ",", `\054`).Replace(h)
}()

// uniqueName returns a new maildir unique name (the part before ":2,"):
// seconds, microseconds, pid and a counter, the host, and the size.
func uniqueName(size int64) string {
	now := time.Now()
	return fmt.Sprintf("%d.M%dP%dQ%dR%x.%s,S=%d", now.Unix(), now.Nanosecond()/1000, os.Getpid(),
		uniqueCounter.Add(1), rand.Uint32(), hostname, size)
}

// wrapErr keeps the domain kinds and context errors as they are and labels
// everything else with the operation.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var ie *imap.Error
	if errors.As(err, &ie) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("maildir: %s: %w", op, err)
}
