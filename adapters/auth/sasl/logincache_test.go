package sasl

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/imapd-go/imapd/domain/imap"
)

func newTextLogger(w *bytes.Buffer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

func mkfifo(path string) error { return unix.Mkfifo(path, 0o600) }

func closeFD(fd int) { unix.Close(fd) }

// kdfs counts the bcrypt comparisons made while the test runs.
func kdfs(t *testing.T) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	orig := compareHash
	compareHash = func(h, p []byte) error { n.Add(1); return orig(h, p) }
	t.Cleanup(func() { compareHash = orig })
	return &n
}

// cacheEnv is one configdirectory whose processes share a login cache in
// parent; each call of open is another process.
type cacheEnv struct {
	t                 *testing.T
	configDir, parent string
	ttl               time.Duration
}

func newCacheEnv(t *testing.T) *cacheEnv {
	t.Helper()
	needRAMFS = false // t.TempDir() need not be a tmpfs
	t.Cleanup(func() { needRAMFS = true })
	e := &cacheEnv{t: t, configDir: t.TempDir(), parent: t.TempDir(), ttl: time.Minute}
	if err := Open(e.configDir).Add("ann", "first"); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *cacheEnv) open() *UserDB {
	return OpenWithCache(e.configDir, CacheOptions{Dir: e.parent, TTL: e.ttl})
}

// dir is the cache folder, once the key exists.
func (e *cacheEnv) dir() string {
	e.t.Helper()
	key, err := readKey(e.configDir, true)
	if err != nil {
		e.t.Fatal(err)
	}
	return filepath.Join(e.parent, dirName(key))
}

func (e *cacheEnv) entry(user string) string {
	e.t.Helper()
	key, err := readKey(e.configDir, true)
	if err != nil {
		e.t.Fatal(err)
	}
	return filepath.Join(e.dir(), entryName(key, user))
}

// verify checks ann's password with db and wants ok, at the cost of
// wantKDFs bcrypt comparisons.
func (e *cacheEnv) verify(db *UserDB, password string, ok bool, wantKDFs int64) {
	e.t.Helper()
	n := kdfs(e.t)
	err := db.Verify("ann", password)
	if ok && err != nil || !ok && !errors.Is(err, imap.ErrAuthFailed) {
		e.t.Errorf("Verify(ann, %q) = %v, want ok=%v", password, err, ok)
	}
	if got := n.Load(); got != wantKDFs {
		e.t.Errorf("Verify(ann, %q) cost %d bcrypt checks, want %d", password, got, wantKDFs)
	}
}

// A check made by one process spares bcrypt to another on the same
// configdirectory; a wrong password costs bcrypt every time.
func TestLoginCacheSharedBetweenProcesses(t *testing.T) {
	e := newCacheEnv(t)
	a, b := e.open(), e.open()
	e.verify(a, "first", true, 1)
	e.verify(b, "first", true, 0)
	e.verify(b, "wrong", false, 1)
	e.verify(b, "wrong", false, 1)
	e.verify(e.open(), "first", true, 0)

	// Layout: a 0700 folder with one 0600 file named without the user
	// name, and a 0600 key of 32 bytes in configdirectory.
	fi, err := os.Lstat(e.dir())
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("cache folder: %v %v", fi, err)
	}
	ents, _ := os.ReadDir(e.dir())
	var entries []string
	for _, d := range ents {
		if !strings.HasPrefix(d.Name(), ".") {
			entries = append(entries, d.Name())
		}
	}
	if len(entries) != 1 || entries[0] != filepath.Base(e.entry("ann")) || strings.Contains(entries[0], "ann") {
		t.Errorf("entries %v", entries)
	}
	fi, err = os.Lstat(e.entry("ann"))
	if err != nil || fi.Mode() != 0o600 || fi.Size() != entryLen {
		t.Errorf("entry: %v %v", fi, err)
	}
	data, _ := os.ReadFile(e.entry("ann"))
	if bytes.Contains(data, []byte("first")) {
		t.Error("the entry holds the password")
	}
	fi, err = os.Lstat(filepath.Join(e.configDir, KeyFile))
	if err != nil || fi.Mode() != 0o600 || fi.Size() != keyLen {
		t.Errorf("key file: %v %v", fi, err)
	}
	// A copy of the folder elsewhere is no help without the key's file.
	other := &cacheEnv{t: t, configDir: t.TempDir(), parent: e.parent, ttl: e.ttl}
	if err := os.WriteFile(filepath.Join(other.configDir, PasswdFile), mustRead(t, filepath.Join(e.configDir, PasswdFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	e.verify(other.open(), "first", true, 1)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoginCacheExpiry(t *testing.T) {
	e := newCacheEnv(t)
	e.verify(e.open(), "first", true, 1)
	b := e.open()
	b.logins.now = func() time.Time { return time.Now().Add(e.ttl - time.Second) }
	e.verify(b, "first", true, 0)
	b.logins.now = func() time.Time { return time.Now().Add(e.ttl + time.Second) }
	e.verify(b, "first", true, 1)

	// An entry made under a longer TTL lives no longer than the TTL of
	// the process that reads it.
	long := OpenWithCache(e.configDir, CacheOptions{Dir: e.parent, TTL: time.Hour})
	e.verify(long, "first", true, 0) // still valid from b's check
	os.Remove(e.entry("ann"))
	e.verify(long, "first", true, 1)
	e.verify(long, "first", true, 0)
	e.verify(e.open(), "first", true, 1)

	// TTL 0 remembers nothing, in the folder or in memory.
	os.Remove(e.entry("ann"))
	off := OpenWithCache(e.configDir, CacheOptions{Dir: e.parent, TTL: 0})
	e.verify(off, "first", true, 1)
	e.verify(off, "first", true, 1)
	if _, err := os.Lstat(e.entry("ann")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("TTL 0 wrote an entry: %v", err)
	}
}

// Changing the password or deleting the user (imapctl's UserDB, another
// process) removes the entry at once, and an entry made with the old
// stored hash never matches the new one.
func TestLoginCacheInvalidation(t *testing.T) {
	e := newCacheEnv(t)
	a, b, ctl := e.open(), e.open(), e.open()
	e.verify(a, "first", true, 1)
	oldHash := mustUsers(t, a)["ann"].hash

	if err := ctl.SetPassword("ann", "second"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(e.entry("ann")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("entry left after SetPassword: %v", err)
	}
	e.verify(b, "first", false, 1)
	// A process that checked the old password just before the change
	// writes its entry just after: it does not match the new hash.
	a.logins.remember("ann", oldHash, "first")
	e.verify(b, "first", false, 1)
	e.verify(a, "first", false, 1)
	e.verify(b, "second", true, 1)
	e.verify(a, "second", true, 0)

	if err := ctl.Delete("ann"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(e.entry("ann")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("entry left after Delete: %v", err)
	}
	e.verify(b, "second", false, 1) // the dummy hash
	if err := ctl.Add("ann", "second"); err != nil {
		t.Fatal(err)
	}
	e.verify(b, "second", true, 1)
	e.verify(a, "second", true, 0)

	// Without a key there is nothing to forget, and nothing is created.
	fresh := &cacheEnv{t: t, configDir: t.TempDir(), parent: t.TempDir(), ttl: e.ttl}
	if err := fresh.open().Add("bob", "pw"); err != nil {
		t.Fatal(err)
	}
	if err := fresh.open().SetPassword("bob", "pw2"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(fresh.configDir, KeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("imapctl made a key: %v", err)
	}
	if ents, _ := os.ReadDir(fresh.parent); len(ents) != 0 {
		t.Errorf("imapctl made a cache folder: %v", ents)
	}
}

func mustUsers(t *testing.T, db *UserDB) map[string]entry {
	t.Helper()
	u, err := db.users()
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// nobody returns the uid and gid of nobody when the test runs as root.
func nobody(t *testing.T) (int, int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("changing a file's owner needs root")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skip(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uid, gid
}

// An entry that is not a private regular file of ours, or whose contents
// were changed, is a miss: the password goes through bcrypt, and the
// process then writes a good entry in its place.
func TestLoginCacheEntryRefused(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, path string)
	}{
		{"group readable", func(t *testing.T, p string) { os.Chmod(p, 0o640) }},
		{"others writable", func(t *testing.T, p string) { os.Chmod(p, 0o602) }},
		{"owned by nobody", func(t *testing.T, p string) {
			uid, gid := nobody(t)
			if err := os.Chown(p, uid, gid); err != nil {
				t.Fatal(err)
			}
		}},
		{"symbolic link", func(t *testing.T, p string) {
			// to a good copy of the entry
			target := filepath.Join(t.TempDir(), "copy")
			if err := os.WriteFile(target, mustRead(t, p), 0o600); err != nil {
				t.Fatal(err)
			}
			os.Remove(p)
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
		}},
		{"MAC changed", func(t *testing.T, p string) { flipByte(t, p, entryLen-1) }},
		{"expiry changed", func(t *testing.T, p string) { flipByte(t, p, 8) }},
		{"version changed", func(t *testing.T, p string) { flipByte(t, p, 0) }},
		{"truncated", func(t *testing.T, p string) { os.Truncate(p, entryLen-1) }},
		{"longer", func(t *testing.T, p string) {
			f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			f.Write([]byte{0})
			f.Close()
		}},
		{"a folder", func(t *testing.T, p string) {
			os.Remove(p)
			os.Mkdir(p, 0o700)
		}},
		{"a FIFO", func(t *testing.T, p string) {
			os.Remove(p)
			if err := mkfifo(p); err != nil {
				t.Skip(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newCacheEnv(t)
			e.verify(e.open(), "first", true, 1)
			e.verify(e.open(), "first", true, 0)
			tt.tamper(t, e.entry("ann"))
			b := e.open()
			e.verify(b, "first", true, 1)
			if tt.name != "a folder" {
				e.verify(e.open(), "first", true, 0) // b replaced it
			}
		})
	}
}

func flipByte(t *testing.T, path string, i int) {
	t.Helper()
	b := mustRead(t, path)
	b[i] ^= 1
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A cache folder or key that others could read or write, or that is not
// ours, is not used: the process remembers checks in its own memory.
func TestLoginCacheFolderRefused(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, e *cacheEnv)
	}{
		{"folder readable by group", func(t *testing.T, e *cacheEnv) { os.Chmod(e.dir(), 0o750) }},
		{"folder writable by others", func(t *testing.T, e *cacheEnv) { os.Chmod(e.dir(), 0o703) }},
		{"folder owned by nobody", func(t *testing.T, e *cacheEnv) {
			uid, gid := nobody(t)
			if err := os.Chown(e.dir(), uid, gid); err != nil {
				t.Fatal(err)
			}
		}},
		{"folder is a symbolic link", func(t *testing.T, e *cacheEnv) {
			target := filepath.Join(t.TempDir(), "elsewhere")
			if err := os.Rename(e.dir(), target); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, e.dir()); err != nil {
				t.Fatal(err)
			}
		}},
		{"folder is a file", func(t *testing.T, e *cacheEnv) {
			os.RemoveAll(e.dir())
			os.WriteFile(e.dir(), nil, 0o600)
		}},
		{"key readable by others", func(t *testing.T, e *cacheEnv) {
			os.Chmod(filepath.Join(e.configDir, KeyFile), 0o604)
		}},
		{"key owned by nobody", func(t *testing.T, e *cacheEnv) {
			uid, gid := nobody(t)
			if err := os.Chown(filepath.Join(e.configDir, KeyFile), uid, gid); err != nil {
				t.Fatal(err)
			}
		}},
		{"key is a symbolic link", func(t *testing.T, e *cacheEnv) {
			k := filepath.Join(e.configDir, KeyFile)
			os.Rename(k, k+".real")
			os.Symlink(k+".real", k)
		}},
		{"key of the wrong size", func(t *testing.T, e *cacheEnv) {
			os.Truncate(filepath.Join(e.configDir, KeyFile), keyLen-1)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newCacheEnv(t)
			e.verify(e.open(), "first", true, 1)
			dir := e.dir()
			tt.tamper(t, e)
			var warnings bytes.Buffer
			b := OpenWithCache(e.configDir, CacheOptions{Dir: e.parent, TTL: e.ttl, Log: newTextLogger(&warnings)})
			e.verify(b, "first", true, 1)
			e.verify(b, "first", true, 0) // in memory
			e.verify(b, "wrong", false, 1)
			e.verify(b, "first", true, 0)
			if !strings.Contains(warnings.String(), "login cache") || strings.Count(warnings.String(), "\n") != 1 {
				t.Errorf("warnings: %q, want one", warnings.String())
			}
			if fi, err := os.Lstat(dir); err == nil && fi.IsDir() {
				if ents, _ := os.ReadDir(dir); len(ents) > 2 {
					t.Errorf("entries written in a refused folder: %v", ents)
				}
			}
		})
	}
}

// The folder must be on tmpfs or ramfs, so that no entry reaches a disk.
func TestLoginCacheNeedsTmpfs(t *testing.T) {
	e := newCacheEnv(t)
	needRAMFS = true
	if out, err := os.ReadFile("/proc/self/mountinfo"); err == nil && bytes.Contains(out, []byte(" tmpfs ")) {
		// t.TempDir() may be on a tmpfs itself.
		if fd, _, err := openCacheDir(e.configDir, e.parent); err == nil {
			closeFD(fd)
			t.Skipf("%s is on tmpfs", e.parent)
		}
	}
	var warnings bytes.Buffer
	b := OpenWithCache(e.configDir, CacheOptions{Dir: e.parent, TTL: e.ttl, Log: newTextLogger(&warnings)})
	e.verify(b, "first", true, 1)
	e.verify(b, "first", true, 0)
	if !strings.Contains(warnings.String(), "not on tmpfs") {
		t.Errorf("warnings: %q", warnings.String())
	}
	if ents, _ := os.ReadDir(e.dir()); len(ents) != 0 {
		t.Errorf("entries on a disk: %v", ents)
	}
	if _, err := os.Stat("/dev/shm"); err == nil {
		shm := &cacheEnv{t: t, configDir: e.configDir, parent: "/dev/shm", ttl: e.ttl}
		fd, _, err := openCacheDir(shm.configDir, shm.parent)
		if err != nil {
			t.Fatalf("/dev/shm refused: %v", err)
		}
		closeFD(fd)
		os.RemoveAll(shm.dir())
	}
}

// Many processes starting at once agree on one key.
func TestLoginCacheKeyRace(t *testing.T) {
	e := newCacheEnv(t)
	var wg sync.WaitGroup
	keys := make([][]byte, 16)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fd, key, err := openCacheDir(e.configDir, e.parent)
			if err != nil {
				t.Error(err)
				return
			}
			closeFD(fd)
			keys[i] = key
		}()
	}
	wg.Wait()
	for _, k := range keys {
		if !bytes.Equal(k, keys[0]) || len(k) != keyLen {
			t.Fatalf("keys differ: %x", keys)
		}
	}
	ents, _ := os.ReadDir(e.configDir)
	for _, d := range ents {
		if strings.Contains(d.Name(), ".tmp") {
			t.Errorf("left behind: %s", d.Name())
		}
	}
}

// Expired entries and old temporary files are swept; a folder removed
// while a process uses it is made again.
func TestLoginCacheSweepAndRemovedFolder(t *testing.T) {
	e := newCacheEnv(t)
	a := e.open()
	e.verify(a, "first", true, 1)
	dir := e.dir()
	os.WriteFile(filepath.Join(dir, tmpPrefix+"old"), nil, 0o600)
	old := time.Now().Add(-2 * time.Minute)
	os.Chtimes(filepath.Join(dir, tmpPrefix+"old"), old, old)
	os.WriteFile(filepath.Join(dir, tmpPrefix+"new"), nil, 0o600)
	os.WriteFile(filepath.Join(dir, "unrelated"), nil, 0o600)

	fd, _, err := openCacheDir(e.configDir, e.parent)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFD(fd)
	sweep(fd, time.Now())
	names := func() string {
		ents, _ := os.ReadDir(dir)
		var s []string
		for _, d := range ents {
			if d.Name() != sweepStamp {
				s = append(s, d.Name())
			}
		}
		return strings.Join(s, " ")
	}
	if got, want := names(), tmpPrefix+"new "+filepath.Base(e.entry("ann"))+" unrelated"; got != want {
		t.Errorf("after a sweep: %q, want %q", got, want)
	}
	sweep(fd, time.Now().Add(e.ttl+time.Second))
	if got, want := names(), "unrelated"; got != want {
		t.Errorf("after the TTL: %q, want %q", got, want)
	}

	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	e.verify(a, "first", true, 1) // miss; the write finds the folder gone
	e.verify(a, "first", true, 1) // makes it again
	e.verify(e.open(), "first", true, 0)
}

// The folders of configdirectories that are gone are removed after a day
// without a write; others' folders, fresh ones and links are left alone.
func TestLoginCacheSweepStale(t *testing.T) {
	parent := t.TempDir()
	now := time.Now()
	old := now.Add(-staleAfter - time.Hour)
	mk := func(name string, files ...string) string {
		d := filepath.Join(parent, name)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			os.WriteFile(filepath.Join(d, f), []byte("x"), 0o600)
		}
		os.Chtimes(d, old, old)
		return d
	}
	stale := mk(cacheDirPrefix+"stale", "a", ".sweep", tmpPrefix+"b")
	own := mk(cacheDirPrefix+"own", "a")
	fresh := mk(cacheDirPrefix+"fresh", "a")
	os.Chtimes(fresh, now, now)
	other := mk("unrelated", "a")
	target := mk("target", "a")
	if err := os.Symlink(target, filepath.Join(parent, cacheDirPrefix+"link")); err != nil {
		t.Fatal(err)
	}
	var foreign string
	if os.Geteuid() == 0 {
		uid, gid := nobody(t)
		foreign = mk(cacheDirPrefix+"foreign", "a")
		os.Chown(foreign, uid, gid)
	}
	sweepStale(parent, cacheDirPrefix+"own", now)
	if _, err := os.Lstat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale folder left: %v", err)
	}
	for _, d := range []string{own, fresh, other, target, foreign} {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "a")); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
}

// imapctl run as root removes the entry from the folder of an imapd that
// runs as another user, with that user's key.
func TestLoginCacheForgetAsRoot(t *testing.T) {
	e := newCacheEnv(t)
	e.verify(e.open(), "first", true, 1)
	uid, gid := nobody(t)
	entry := e.entry("ann")
	for _, p := range []string{filepath.Join(e.configDir, KeyFile), e.dir(), entry} {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.open().SetPassword("ann", "second"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(entry); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("entry left: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(e.configDir, KeyFile)); err != nil || fi.Sys().(*syscall.Stat_t).Uid != uint32(uid) {
		t.Errorf("key replaced: %v", err)
	}
}

// Sessions of one process and of others check at once, while the folder
// is removed under them: every right password passes, no wrong one does.
func TestLoginCacheConcurrent(t *testing.T) {
	e := newCacheEnv(t)
	dbs := []*UserDB{e.open(), e.open()}
	e.verify(dbs[0], "first", true, 1)
	dir := e.dir()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := dbs[i%2]
			for j := range 30 {
				pw := "first"
				if j%7 == 3 {
					pw = "wrong"
				}
				if err := db.Verify("ann", pw); (err == nil) != (pw == "first") {
					t.Errorf("Verify(ann, %q) = %v", pw, err)
				}
				if i == 0 && j%10 == 5 {
					os.RemoveAll(dir)
				}
			}
		}()
	}
	wg.Wait()
}
