package sasl

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/imapd-go/imapd/domain/imap"
)

// File names inside configdirectory.
const (
	PasswdFile = "imapd.passwd"      // one "name:bcrypt-hash" per line
	lockFile   = "imapd.passwd.lock" // flock'd while the file is rewritten
)

// MaxNameLen is the longest user name accepted, in bytes.
const MaxNameLen = 64

// DefaultCost is the bcrypt work factor of new hashes.
const DefaultCost = 10

// bcryptCost is DefaultCost; tests lower it to keep the race detector fast.
var bcryptCost = DefaultCost

// Errors of the user database besides the imap kinds.
var (
	ErrUserExists  = errors.New("user already exists")
	ErrInvalidName = errors.New("invalid user name")
	ErrBadPassword = errors.New("unusable password")
)

// UserDB is the password file {configdirectory}/imapd.passwd. Several
// processes may use it at once: readers see either the old or the new file
// (it is replaced by rename), and writers take an exclusive lock on a
// separate lock file for the whole read-modify-write.
type UserDB struct {
	dir string

	mu    sync.Mutex
	stamp fileStamp         // identity of the file the cache was read from
	cache map[string]string // name -> hash
}

// fileStamp identifies one version of the password file.
type fileStamp struct {
	ok    bool
	ino   uint64
	size  int64
	mtime int64
}

// Open returns the user database kept in configDir. Nothing is read until
// it is used; a missing file is an empty database.
func Open(configDir string) *UserDB {
	return &UserDB{dir: configDir}
}

// Path is the password file's path.
func (db *UserDB) Path() string { return filepath.Join(db.dir, PasswdFile) }

// ValidName reports why name cannot be a user name, or nil: it must be
// 1 to MaxNameLen bytes of UTF-8 without ':', '/', spaces or control
// characters, and not "." or "..". Names are case-sensitive, as in Cyrus.
func ValidName(name string) error {
	if name == "" || len(name) > MaxNameLen || name == "." || name == ".." || !utf8.ValidString(name) {
		return fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	for _, r := range name {
		if r == ':' || r == '/' || r == ' ' || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u00a0' {
			return fmt.Errorf("%w: %q", ErrInvalidName, name)
		}
	}
	return nil
}

func stampOf(fi os.FileInfo) fileStamp {
	s := fileStamp{ok: true, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.ino = st.Ino
	}
	return s
}

// users returns the current contents, re-reading the file when it changed.
func (db *UserDB) users() (map[string]string, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	fi, err := os.Stat(db.Path())
	if errors.Is(err, os.ErrNotExist) {
		db.stamp, db.cache = fileStamp{}, map[string]string{}
		return db.cache, nil
	}
	if err != nil {
		return nil, err
	}
	if st := stampOf(fi); db.cache != nil && st == db.stamp {
		return db.cache, nil
	}
	f, err := os.Open(db.Path())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Stamp the file actually opened: a rename between Stat and Open must
	// not leave new contents cached under the old stamp.
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	users, err := parsePasswd(db.Path(), f)
	if err != nil {
		return nil, err
	}
	db.stamp, db.cache = stampOf(fi), users
	return users, nil
}

func parsePasswd(path string, f *os.File) (map[string]string, error) {
	users := map[string]string{}
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		l := sc.Text()
		if l == "" {
			continue
		}
		name, hash, ok := strings.Cut(l, ":")
		if !ok || ValidName(name) != nil || hash == "" {
			return nil, fmt.Errorf("%s:%d: malformed entry", path, line)
		}
		users[name] = hash
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return users, nil
}

// update runs change on the current contents under the writers' lock and
// replaces the file atomically with the result.
func (db *UserDB) update(change func(users map[string]string) error) error {
	lock, err := os.OpenFile(filepath.Join(db.dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := flock(lock); err != nil {
		return fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	// Closing the file releases the lock.

	current, err := db.users()
	if err != nil {
		return err
	}
	users := make(map[string]string, len(current)+1)
	for k, v := range current {
		users[k] = v
	}
	if err := change(users); err != nil {
		return err
	}
	names := make([]string, 0, len(users))
	for n := range users {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	for _, n := range names {
		buf.WriteString(n + ":" + users[n] + "\n")
	}
	return writeAtomic(db.dir, PasswdFile, buf.Bytes())
}

func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// writeAtomic replaces dir/name with data: write a temporary file, fsync
// it, rename it over the old one, fsync the folder.
func writeAtomic(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, name+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func hashPassword(password string) (string, error) {
	if password == "" {
		return "", fmt.Errorf("%w: empty", ErrBadPassword)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadPassword, err)
	}
	return string(h), nil
}

// Add creates a user; ErrUserExists if the name is taken.
func (db *UserDB) Add(name, password string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	h, err := hashPassword(password)
	if err != nil {
		return err
	}
	return db.update(func(users map[string]string) error {
		if _, ok := users[name]; ok {
			return fmt.Errorf("%w: %s", ErrUserExists, name)
		}
		users[name] = h
		return nil
	})
}

// SetPassword changes a user's password; an error wrapping imap.ErrNoUser
// if there is no such user.
func (db *UserDB) SetPassword(name, password string) error {
	h, err := hashPassword(password)
	if err != nil {
		return err
	}
	return db.update(func(users map[string]string) error {
		if _, ok := users[name]; !ok {
			return fmt.Errorf("%w: %s", imap.ErrNoUser, name)
		}
		users[name] = h
		return nil
	})
}

// Delete removes a user; an error wrapping imap.ErrNoUser if there is no
// such user.
func (db *UserDB) Delete(name string) error {
	return db.update(func(users map[string]string) error {
		if _, ok := users[name]; !ok {
			return fmt.Errorf("%w: %s", imap.ErrNoUser, name)
		}
		delete(users, name)
		return nil
	})
}

// List returns the user names, sorted.
func (db *UserDB) List() ([]string, error) {
	users, err := db.users()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(users))
	for n := range users {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// Exists reports whether name is a user.
func (db *UserDB) Exists(name string) (bool, error) {
	users, err := db.users()
	if err != nil {
		return false, err
	}
	_, ok := users[name]
	return ok, nil
}

var (
	dummyOnce sync.Once
	dummyHash []byte
)

// Verify checks name's password. Unknown users and wrong passwords both
// give an error wrapping imap.ErrAuthFailed, and take about as long (a hash
// is compared either way), so that neither answer nor timing tells them
// apart.
func (db *UserDB) Verify(name, password string) error {
	users, err := db.users()
	if err != nil {
		return err
	}
	hash, ok := users[name]
	if !ok {
		dummyOnce.Do(func() {
			dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a password"), bcryptCost)
		})
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return fmt.Errorf("%w: %s", imap.ErrAuthFailed, name)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)); err != nil {
		return fmt.Errorf("%w: %s", imap.ErrAuthFailed, name)
	}
	return nil
}
