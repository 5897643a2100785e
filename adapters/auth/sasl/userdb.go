package sasl

import (
	"bufio"
	"bytes"
	"context"
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
	PasswdFile = "imapd.passwd"      // one "name:bcrypt-hash[:credential...]" per line
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
// separate lock file for the whole read-modify-write. Opened with OpenSQL,
// it holds the same entries in a PostgreSQL table instead (sql.go), with
// the same checks and login cache.
type UserDB struct {
	dir string

	mu    sync.Mutex
	stamp fileStamp        // identity of the file the cache was read from
	cache map[string]entry // name -> credentials

	logins *loginCache // recent successful password checks

	sql *sqlUsers // the users are in SQL instead of the file (OpenSQL)
}

// entry is what one line holds after "name:": the bcrypt hash, then, each
// after a ':', further credentials tagged with their kind. Lines written
// before SCRAM keys were kept have the hash alone and still load; kinds
// this version does not know are kept as they are on rewrite.
type entry struct {
	hash  string
	scram *ScramKeys
	other []string
}

func (e entry) String() string {
	s := e.hash
	if e.scram != nil {
		s += ":" + e.scram.String()
	}
	for _, o := range e.other {
		s += ":" + o
	}
	return s
}

func parseEntry(s string) (entry, error) {
	fields := strings.Split(s, ":")
	e := entry{hash: fields[0]}
	if e.hash == "" {
		return e, errors.New("empty password hash")
	}
	for _, f := range fields[1:] {
		kind, _, _ := strings.Cut(f, "$")
		switch {
		case f == "":
			return e, errors.New("empty credential")
		case strings.EqualFold(kind, scramKind):
			k, err := ParseScramKeys(f)
			if err != nil {
				return e, err
			}
			e.scram = &k
		default:
			e.other = append(e.other, f)
		}
	}
	return e, nil
}

// fileStamp identifies one version of the password file.
type fileStamp struct {
	ok    bool
	ino   uint64
	size  int64
	mtime int64
}

// Open returns the user database kept in configDir. Nothing is read until
// it is used; a missing file is an empty database. Successful password
// checks are remembered for DefaultCacheTTL in this process's memory only;
// OpenWithCache shares them between processes.
func Open(configDir string) *UserDB {
	return &UserDB{dir: configDir, logins: newLoginCache(configDir, "", DefaultCacheTTL, nil)}
}

// OpenWithCache is Open with the login cache shared by every process of
// configDir, in a folder of a tmpfs (see logincache.go and README.md);
// changing a password or deleting a user removes the user's entry.
func OpenWithCache(configDir string, o CacheOptions) *UserDB {
	parent := o.Dir
	if parent == "" {
		parent = DefaultCacheDir
	}
	return &UserDB{dir: configDir, logins: newLoginCache(configDir, parent, o.TTL, o.Log)}
}

// OpenSQL returns the user database kept in SQL (sasl_auxprop_plugin:
// sql, see sql.go), with the login cache of OpenWithCache. No connection
// is made until one is needed; a configuration that cannot work (see
// SQLConfig.Check) is the error of every use. Close ends the connections.
func OpenSQL(configDir string, o CacheOptions, cfg SQLConfig) *UserDB {
	db := OpenWithCache(configDir, o)
	db.sql = newSQLUsers(cfg)
	return db
}

// InSQL tells whether the users are in SQL rather than in the password
// file.
func (db *UserDB) InSQL() bool { return db.sql != nil }

// Err reports a configuration of the SQL source that cannot work.
func (db *UserDB) Err() error {
	if db.sql != nil {
		return db.sql.err
	}
	return nil
}

// Close ends the SQL source's connections; a password file has none.
func (db *UserDB) Close() {
	if db.sql != nil {
		db.sql.close()
	}
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
func (db *UserDB) users() (map[string]entry, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	fi, err := os.Stat(db.Path())
	if errors.Is(err, os.ErrNotExist) {
		db.stamp, db.cache = fileStamp{}, map[string]entry{}
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

func parsePasswd(path string, f *os.File) (map[string]entry, error) {
	users := map[string]entry{}
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		l := sc.Text()
		if l == "" {
			continue
		}
		name, rest, ok := strings.Cut(l, ":")
		if !ok || ValidName(name) != nil {
			return nil, fmt.Errorf("%s:%d: malformed entry", path, line)
		}
		e, err := parseEntry(rest)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: malformed entry: %v", path, line, err)
		}
		users[name] = e
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return users, nil
}

// update runs change on the current contents under the writers' lock and
// replaces the file atomically with the result; then the login cache
// forgets user, whose entry no longer matches (a new user of an old name
// has a new hash too, but no entry should outlive its user).
func (db *UserDB) update(change func(users map[string]entry) error, user string) error {
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
	users := make(map[string]entry, len(current)+1)
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
		buf.WriteString(n + ":" + users[n].String() + "\n")
	}
	if err := writeAtomic(db.dir, PasswdFile, buf.Bytes()); err != nil {
		return err
	}
	db.logins.forget(user)
	return nil
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

// credentials computes every kind of stored credential for password: the
// bcrypt hash for plaintext checks and the SCRAM-SHA-256 keys.
func credentials(password string) (entry, error) {
	if password == "" {
		return entry{}, fmt.Errorf("%w: empty", ErrBadPassword)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return entry{}, fmt.Errorf("%w: %v", ErrBadPassword, err)
	}
	k, err := NewScramKeys(password, ScramIterations)
	if err != nil {
		return entry{}, fmt.Errorf("%w: %v", ErrBadPassword, err)
	}
	return entry{hash: string(h), scram: &k}, nil
}

// Add creates a user with a bcrypt hash and SCRAM-SHA-256 keys of
// password; ErrUserExists if the name is taken.
func (db *UserDB) Add(name, password string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	h, err := credentials(password)
	if err != nil {
		return err
	}
	if db.sql != nil {
		err := db.sql.add(context.Background(), name, h)
		db.logins.forget(name)
		return err
	}
	return db.update(func(users map[string]entry) error {
		if _, ok := users[name]; ok {
			return fmt.Errorf("%w: %s", ErrUserExists, name)
		}
		users[name] = h
		return nil
	}, name)
}

// SetPassword changes a user's password (its bcrypt hash and SCRAM keys,
// dropping credentials of other kinds, which the old password made); an
// error wrapping imap.ErrNoUser if there is no such user.
func (db *UserDB) SetPassword(name, password string) error {
	h, err := credentials(password)
	if err != nil {
		return err
	}
	if db.sql != nil {
		err := db.sql.setPassword(context.Background(), name, h)
		db.logins.forget(name)
		return err
	}
	return db.update(func(users map[string]entry) error {
		if _, ok := users[name]; !ok {
			return fmt.Errorf("%w: %s", imap.ErrNoUser, name)
		}
		users[name] = h
		return nil
	}, name)
}

// Delete removes a user; an error wrapping imap.ErrNoUser if there is no
// such user.
func (db *UserDB) Delete(name string) error {
	if db.sql != nil {
		err := db.sql.delete(context.Background(), name)
		db.logins.forget(name)
		return err
	}
	return db.update(func(users map[string]entry) error {
		if _, ok := users[name]; !ok {
			return fmt.Errorf("%w: %s", imap.ErrNoUser, name)
		}
		delete(users, name)
		return nil
	}, name)
}

// CanDelete reports why Delete would be refused whoever the user (a site's
// own SQL table without sql_delete), so that a caller can stop before
// doing anything else.
func (db *UserDB) CanDelete() error {
	if db.sql != nil {
		return db.sql.canDelete()
	}
	return nil
}

// List returns the user names, sorted.
func (db *UserDB) List() ([]string, error) {
	if db.sql != nil {
		names, err := db.sql.list(context.Background())
		sort.Strings(names)
		return names, err
	}
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
	return db.exists(context.Background(), name)
}

func (db *UserDB) exists(ctx context.Context, name string) (bool, error) {
	if db.sql != nil {
		_, ok, err := db.sql.lookup(ctx, name)
		return ok, err
	}
	users, err := db.users()
	if err != nil {
		return false, err
	}
	_, ok := users[name]
	return ok, nil
}

// Verify checks name's password. Unknown users and wrong passwords both
// give an error wrapping imap.ErrAuthFailed, and take about as long (a hash
// is compared either way, see dummyCheck), so that neither answer nor
// timing tells them apart. For an unknown user the error wraps
// imap.ErrNoUser too, for the server's own log (Cyrus's badlogin line says
// "user not found"). With the SQL source, a database that cannot be asked
// gives an error wrapping imap.ErrUnavailable.
func (db *UserDB) Verify(name, password string) error {
	return db.verify(context.Background(), name, password)
}

func (db *UserDB) verify(ctx context.Context, name, password string) error {
	var e entry
	var ok bool
	var err error
	if db.sql != nil {
		e, ok, err = db.sql.lookup(ctx, name)
	} else {
		var users map[string]entry
		users, err = db.users()
		e, ok = users[name]
	}
	if err != nil {
		return err
	}
	return db.checkEntry(name, e, ok, password)
}

// checkEntry checks password against a user's entry (ok false: no such
// user), through the login cache.
func (db *UserDB) checkEntry(name string, e entry, ok bool, password string) error {
	if !ok {
		dummyCheck(password)
		return fmt.Errorf("%w: %w: %s", imap.ErrAuthFailed, imap.ErrNoUser, name)
	}
	// A successful check is remembered (the login cache), never a failed
	// one: a wrong password always costs the hash.
	if db.logins.check(name, e.hash, password) {
		return nil
	}
	noteCost(e.hash)
	if err := compareHash([]byte(e.hash), []byte(password)); err != nil {
		if errors.Is(err, ErrUnknownHash) {
			return fmt.Errorf("password of %s: %w", name, err)
		}
		return fmt.Errorf("%w: %s", imap.ErrAuthFailed, name)
	}
	db.logins.remember(name, e.hash, password)
	return nil
}

// compareHash is checkHash; tests count its calls.
var compareHash = checkHash

// ScramKeys returns name's SCRAM-SHA-256 keys; ok is false when there is no
// such user or the user's line has no keys (it was written before they were
// kept: setting the password again adds them).
func (db *UserDB) ScramKeys(name string) (keys ScramKeys, ok bool, err error) {
	return db.scramKeys(context.Background(), name)
}

func (db *UserDB) scramKeys(ctx context.Context, name string) (keys ScramKeys, ok bool, err error) {
	var e entry
	var found bool
	if db.sql != nil {
		e, found, err = db.sql.lookup(ctx, name)
	} else {
		var users map[string]entry
		users, err = db.users()
		e, found = users[name]
	}
	if err != nil {
		return ScramKeys{}, false, err
	}
	if !found || e.scram == nil {
		return ScramKeys{}, false, nil
	}
	return *e.scram, true, nil
}
