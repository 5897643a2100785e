package sasl

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The login cache remembers, for a while, that a user's password passed
// the bcrypt check, so that the next LOGIN of that user with that password,
// in any imapd process of the same configdirectory, costs microseconds
// instead of the tens of milliseconds bcrypt is meant to cost an attacker.
//
// It is kept in a folder of a tmpfs (logincache_dir, /dev/shm by default),
// never on persistent disk: one file per user, named by a keyed hash of the
// user name, holding the entry's expiry and a keyed hash of the user name,
// the stored bcrypt hash, the expiry and the password. The 32-byte key is a
// file in configdirectory (KeyFile), so that a copy of the tmpfs alone is
// useless and a backup of configdirectory holds no entry. The folder's own
// name is a keyed hash too, so no one without the key can create it first.
// Since the stored hash is part of what is hashed, a password changed by
// any means (imapctl, or an edit of imapd.passwd) never matches an entry
// made with the old one; imapctl removes a user's entry at once anyway.
//
// Anything unexpected (a folder or file not owned by the process's
// effective uid, readable or writable by others, a symbolic link, a folder
// outside tmpfs or ramfs, an entry of the wrong size or whose hash does not
// match) is a miss, logged once, and the password goes through bcrypt. A
// process that cannot use the shared folder remembers checks in its own
// memory instead, under the same TTL. Failed checks are never remembered.

// Login cache defaults and names.
const (
	KeyFile         = "imapd.logincache.key" // in configdirectory, mode 0600
	DefaultCacheDir = "/dev/shm"             // logincache_dir
	DefaultCacheTTL = 10 * time.Minute       // logincache_ttl

	cacheDirPrefix = "imapd-logincache-"
	keyLen         = 32
	entryVersion   = 1
	entryLen       = 1 + 8 + sha256.Size // version, expiry (Unix ns), MAC
	tmpPrefix      = ".tmp-"
	sweepStamp     = ".sweep"
	memCacheMax    = 10000 // entries the in-process map holds before it starts over
)

// CacheOptions configure the login cache of OpenWithCache.
type CacheOptions struct {
	// Dir is logincache_dir: the tmpfs folder in which the cache's own
	// folder is made; "" is DefaultCacheDir.
	Dir string
	// TTL is logincache_ttl: how long a successful check is remembered;
	// 0 remembers nothing.
	TTL time.Duration
	// Log receives, once each, the reasons the shared folder or one of
	// its entries is not used.
	Log *slog.Logger
}

// needRAMFS makes the cache refuse a folder outside tmpfs and ramfs; tests
// of this package turn it off to work in t.TempDir().
var needRAMFS = true

// loginCache is what UserDB.Verify consults before bcrypt.
type loginCache struct {
	configDir string
	parent    string // logincache_dir; "" when there is no shared folder
	ttl       time.Duration
	log       *slog.Logger
	now       func() time.Time

	// dirMu guards dirfd and key: readers use them under RLock, and
	// setting them up (or dropping a folder that was removed) takes Lock.
	dirMu   sync.RWMutex
	dirfd   int    // the open cache folder, or -1
	key     []byte // KeyFile's contents once dirfd is open
	retryAt time.Time

	mu        sync.Mutex
	mem       map[string]memEntry // when the shared folder cannot be used
	warned    map[string]bool
	nextSweep time.Time
}

type memEntry struct {
	mac     [32]byte
	expires time.Time
}

func newLoginCache(configDir, parent string, ttl time.Duration, log *slog.Logger) *loginCache {
	return &loginCache{configDir: configDir, parent: parent, ttl: ttl, log: log, now: time.Now, dirfd: -1}
}

// check reports whether password is the one a recent successful check of
// name against hash was made with.
func (c *loginCache) check(name, hash, password string) bool {
	if c == nil || c.ttl <= 0 {
		return false
	}
	hit, shared := false, false
	c.withDir(func(fd int, key []byte) {
		shared = true
		hit = c.checkShared(fd, key, name, hash, password)
	})
	if !shared {
		hit = c.checkMem(name, hash, password)
	}
	return hit
}

// remember records a successful check of password for name against hash.
func (c *loginCache) remember(name, hash, password string) {
	if c == nil || c.ttl <= 0 {
		return
	}
	shared, gone := false, false
	c.withDir(func(fd int, key []byte) {
		shared = true
		err := c.writeEntry(fd, key, name, hash, password)
		if errors.Is(err, unix.ENOENT) {
			gone = true // the folder was removed: make it again next time
		} else if err != nil {
			c.warnOnce("write", "login cache: cannot write an entry", "err", err)
		} else {
			c.maybeSweep(fd, key)
		}
	})
	if gone {
		c.dropDir()
		return
	}
	if !shared {
		c.rememberMem(name, hash, password)
	}
}

// forget removes name's entry at once: imapctl calls it when a user's
// password changes or the user goes. It never creates the key or the
// folder, and works for root on a folder another uid owns.
func (c *loginCache) forget(name string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.mem, name)
	c.mu.Unlock()
	if c.parent == "" {
		return
	}
	key, err := readKey(c.configDir, false)
	if errors.Is(err, os.ErrNotExist) {
		return // no key, so no entries
	}
	if err != nil {
		c.warnOnce("forget", "login cache: cannot remove an entry", "user", name, "err", err)
		return
	}
	fd, err := unix.Open(filepath.Join(c.parent, dirName(key)), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return
	}
	if err != nil {
		c.warnOnce("forget", "login cache: cannot remove an entry", "user", name, "err", err)
		return
	}
	defer unix.Close(fd)
	if err := unix.Unlinkat(fd, entryName(key, name), 0); err != nil && !errors.Is(err, unix.ENOENT) {
		c.warnOnce("forget", "login cache: cannot remove an entry", "user", name, "err", err)
	}
}

// withDir runs f with the open cache folder and the key, setting them up
// on first use; it does not run f when the shared folder cannot be used.
func (c *loginCache) withDir(f func(fd int, key []byte)) {
	if c.parent == "" {
		return
	}
	c.dirMu.RLock()
	if c.dirfd < 0 {
		c.dirMu.RUnlock()
		if !c.setup() {
			return
		}
		c.dirMu.RLock()
	}
	defer c.dirMu.RUnlock()
	if c.dirfd >= 0 {
		f(c.dirfd, c.key)
	}
}

// setup opens (creating them if need be) the key and the cache folder. A
// failure is logged once and tried again after a minute.
func (c *loginCache) setup() bool {
	c.dirMu.Lock()
	defer c.dirMu.Unlock()
	if c.dirfd >= 0 {
		return true
	}
	if time.Now().Before(c.retryAt) {
		return false
	}
	fd, key, err := openCacheDir(c.configDir, c.parent)
	if err != nil {
		c.retryAt = time.Now().Add(time.Minute)
		c.warnOnce("setup", "login cache: not shared between processes", "err", err)
		return false
	}
	c.dirfd, c.key = fd, key
	return true
}

// dropDir forgets the open folder, so that the next use makes it again.
func (c *loginCache) dropDir() {
	c.dirMu.Lock()
	defer c.dirMu.Unlock()
	if c.dirfd >= 0 {
		unix.Close(c.dirfd)
		c.dirfd, c.key = -1, nil
	}
}

func (c *loginCache) warnOnce(kind, msg string, args ...any) {
	c.mu.Lock()
	if c.warned == nil {
		c.warned = map[string]bool{}
	}
	seen := c.warned[kind]
	c.warned[kind] = true
	c.mu.Unlock()
	if !seen && c.log != nil {
		c.log.Warn(msg, args...)
	}
}

// openCacheDir returns the open cache folder of configDir inside parent,
// and the key, creating either when absent.
func openCacheDir(configDir, parent string) (int, []byte, error) {
	key, err := readKey(configDir, true)
	if errors.Is(err, os.ErrNotExist) {
		key, err = createKey(configDir)
	}
	if err != nil {
		return -1, nil, err
	}
	path := filepath.Join(parent, dirName(key))
	if err := os.Mkdir(path, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return -1, nil, err
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			err = errors.New("not a folder (a symbolic link?)")
		}
		return -1, nil, fmt.Errorf("%s: %w", path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("%s: %w", path, err)
	}
	if why := unsafeFile(&st, unix.S_IFDIR, true); why != "" {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("%s: %s", path, why)
	}
	if needRAMFS {
		var fs unix.Statfs_t
		if err := unix.Fstatfs(fd, &fs); err != nil {
			unix.Close(fd)
			return -1, nil, fmt.Errorf("%s: %w", path, err)
		}
		if fs.Type != unix.TMPFS_MAGIC && fs.Type != unix.RAMFS_MAGIC {
			unix.Close(fd)
			return -1, nil, fmt.Errorf("%s: not on tmpfs or ramfs (logincache_dir)", path)
		}
	}
	return fd, key, nil
}

// unsafeFile tells why a file (of type kind) cannot be trusted, or "": it
// must be of that type, owned by the effective uid when owner is set, and
// give no access to group or others.
func unsafeFile(st *unix.Stat_t, kind uint32, owner bool) string {
	switch {
	case st.Mode&unix.S_IFMT != kind:
		return fmt.Sprintf("unexpected file type %#o", st.Mode&unix.S_IFMT)
	case owner && int(st.Uid) != os.Geteuid():
		return fmt.Sprintf("owned by uid %d, not %d", st.Uid, os.Geteuid())
	case st.Mode&0o077 != 0:
		return fmt.Sprintf("mode %#o gives access to group or others", st.Mode&0o777)
	}
	return ""
}

// readKey reads configDir's KeyFile; strict also requires it to be owned by
// the effective uid (imapctl run as root only removes entries with it).
func readKey(configDir string, strict bool) ([]byte, error) {
	path := filepath.Join(configDir, KeyFile)
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("%s: a symbolic link", path)
		}
		return nil, err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, err
	}
	if why := unsafeFile(&st, unix.S_IFREG, strict); why != "" {
		return nil, fmt.Errorf("%s: %s", path, why)
	}
	key := make([]byte, keyLen+1)
	n, err := io.ReadFull(f, key)
	if n != keyLen || !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("%s: not a key of %d bytes", path, keyLen)
	}
	return key[:keyLen], nil
}

// createKey makes KeyFile, or reads the one another process made first:
// the key is written to a temporary file, synced, then linked to its name,
// which fails if the name exists, so no process ever reads half a key.
func createKey(configDir string) ([]byte, error) {
	key := make([]byte, keyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(configDir, KeyFile+".tmp*") // mode 0600
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	err = os.Link(tmp.Name(), filepath.Join(configDir, KeyFile))
	if errors.Is(err, os.ErrExist) {
		return readKey(configDir, true)
	}
	if err != nil {
		return nil, err
	}
	if d, err := os.Open(configDir); err == nil {
		d.Sync()
		d.Close()
	}
	return key, nil
}

// keyed returns HMAC-SHA256 under key of the length-prefixed parts.
func keyed(key []byte, parts ...[]byte) [32]byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		m.Write(n[:])
		m.Write(p)
	}
	var out [32]byte
	m.Sum(out[:0])
	return out
}

// dirName is the cache folder's name in logincache_dir.
func dirName(key []byte) string {
	h := keyed(key, []byte("imapd login cache folder"))
	return cacheDirPrefix + hex.EncodeToString(h[:16])
}

// entryName is the name of user's entry in the cache folder.
func entryName(key []byte, user string) string {
	h := keyed(key, []byte("user:"+user))
	return hex.EncodeToString(h[:])
}

func entryMAC(key []byte, name, hash string, expires int64, password string) [32]byte {
	var exp [8]byte
	binary.BigEndian.PutUint64(exp[:], uint64(expires))
	return keyed(key, []byte("imapd login cache entry 1"), []byte(name), []byte(hash), exp[:], []byte(password))
}

func (c *loginCache) checkShared(dirfd int, key []byte, name, hash, password string) bool {
	fd, err := unix.Openat(dirfd, entryName(key, name), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if !errors.Is(err, unix.ENOENT) {
			c.warnOnce("entry", "login cache: entry refused", "user", name, "err", err)
		}
		return false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false
	}
	if why := unsafeFile(&st, unix.S_IFREG, true); why != "" {
		c.warnOnce("entry", "login cache: entry refused", "user", name, "reason", why)
		return false
	}
	if st.Size != entryLen {
		return false
	}
	var buf [entryLen]byte
	if n, err := unix.Pread(fd, buf[:], 0); err != nil || n != entryLen || buf[0] != entryVersion {
		return false
	}
	expires := int64(binary.BigEndian.Uint64(buf[1:9]))
	now := c.now().UnixNano()
	// An entry lives no longer than the TTL from now, also one written
	// under a longer TTL or before the clock went back.
	if expires <= now || expires-now > int64(c.ttl) {
		return false
	}
	mac := entryMAC(key, name, hash, expires, password)
	return hmac.Equal(mac[:], buf[9:])
}

// writeEntry writes name's entry to a temporary file and renames it into
// place, so that readers see the old entry or the new one. The file's
// modification time is its expiry, for the sweep.
func (c *loginCache) writeEntry(dirfd int, key []byte, name, hash, password string) error {
	expires := c.now().Add(c.ttl).UnixNano()
	var buf [entryLen]byte
	buf[0] = entryVersion
	binary.BigEndian.PutUint64(buf[1:9], uint64(expires))
	mac := entryMAC(key, name, hash, expires, password)
	copy(buf[9:], mac[:])

	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := tmpPrefix + hex.EncodeToString(rnd[:])
	fd, err := unix.Openat(dirfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	n, err := unix.Write(fd, buf[:])
	if err == nil && n != entryLen {
		err = io.ErrShortWrite
	}
	if err == nil {
		ts := unix.NsecToTimespec(expires)
		err = unix.UtimesNanoAt(dirfd, tmp, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(dirfd, tmp, dirfd, entryName(key, name))
	}
	if err != nil {
		unix.Unlinkat(dirfd, tmp, 0)
	}
	return err
}

// maybeSweep removes expired entries, at most once per TTL (and at least
// a minute apart) across all processes: the stamp file's modification
// time tells when the last sweep began. Entries of users who stopped
// logging in would otherwise stay in memory until the next boot; so would
// the folders of configdirectories that are gone, which sweepStale
// removes.
func (c *loginCache) maybeSweep(dirfd int, key []byte) {
	now := c.now()
	c.mu.Lock()
	due := !now.Before(c.nextSweep)
	every := max(c.ttl, time.Minute)
	if due {
		c.nextSweep = now.Add(every)
	}
	c.mu.Unlock()
	if !due {
		return
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, sweepStamp, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil &&
		now.Sub(time.Unix(st.Mtim.Unix())) < every {
		return
	}
	fd, err := unix.Openat(dirfd, sweepStamp, unix.O_WRONLY|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return
	}
	ts := unix.NsecToTimespec(now.UnixNano())
	unix.UtimesNanoAt(dirfd, sweepStamp, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
	unix.Close(fd)
	sweep(dirfd, now)
	sweepStale(c.parent, dirName(key), now)
}

// sweep removes the entries that expired before now and temporary files
// a writer left more than a minute ago.
func sweep(dirfd int, now time.Time) {
	fd, err := unix.Openat(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	d := os.NewFile(uintptr(fd), "logincache")
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	for _, n := range names {
		var limit time.Time
		switch {
		case len(n) == 2*sha256.Size && strings.Trim(n, "0123456789abcdef") == "":
			limit = now
		case strings.HasPrefix(n, tmpPrefix):
			limit = now.Add(-time.Minute)
		default:
			continue
		}
		var st unix.Stat_t
		if unix.Fstatat(dirfd, n, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && time.Unix(st.Mtim.Unix()).Before(limit) {
			unix.Unlinkat(dirfd, n, 0)
		}
	}
}

// staleAfter is how long a cache folder goes without a write before any
// process of the same uid may remove it: every LOGIN that misses writes
// in its folder, so one unused that long holds no live entry unless its
// TTL is longer, and removing a live folder only costs one bcrypt check.
const staleAfter = 24 * time.Hour

// sweepStale removes the cache folders in parent, other than own, that
// belong to the effective uid and were not written for staleAfter.
func sweepStale(parent, own string, now time.Time) {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, cacheDirPrefix) && n != own && e.IsDir() {
			removeStale(filepath.Join(parent, n), now)
		}
	}
}

func removeStale(path string, now time.Time) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	d := os.NewFile(uintptr(fd), path)
	defer d.Close()
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || int(st.Uid) != os.Geteuid() || now.Sub(time.Unix(st.Mtim.Unix())) < staleAfter {
		return
	}
	names, _ := d.Readdirnames(-1)
	for _, n := range names {
		unix.Unlinkat(fd, n, 0) // files only: a folder inside stays, and so does this one
	}
	unix.Rmdir(path) // fails, harmlessly, if path is no longer this folder
}

// The in-process map, when the shared folder cannot be used: the MAC's key
// is random per process.
var (
	memKeyOnce sync.Once
	memKey     [32]byte
)

func memMAC(name, hash, password string) [32]byte {
	memKeyOnce.Do(func() { rand.Read(memKey[:]) })
	return keyed(memKey[:], []byte(name), []byte(hash), []byte(password))
}

func (c *loginCache) checkMem(name, hash, password string) bool {
	c.mu.Lock()
	v, ok := c.mem[name]
	c.mu.Unlock()
	if !ok || !c.now().Before(v.expires) {
		return false
	}
	mac := memMAC(name, hash, password)
	return hmac.Equal(mac[:], v.mac[:])
}

func (c *loginCache) rememberMem(name, hash, password string) {
	mac := memMAC(name, hash, password)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mem == nil || len(c.mem) >= memCacheMax {
		c.mem = map[string]memEntry{}
	}
	c.mem[name] = memEntry{mac: mac, expires: c.now().Add(c.ttl)}
}
