package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/imapd-go/imapd/adapters/store/internal/fsname"
)

// UsersDir is the folder, inside the store's directory, that holds one
// folder per user: users/NAME/mail.db with its WAL, shared memory and
// NotifyFile. NAME is the user name as userFolder spells it.
const UsersDir = "users"

// maxOpenUsers bounds the user databases a process keeps open when no
// operation uses them, unless KeepOpen says otherwise: a process under
// master that serves one session at a time sees few users, and imapctl,
// which may go through every user, needs none kept.
const maxOpenUsers = 8

// KeepOpen sets how many user databases the store keeps open when no
// operation uses them (maxOpenUsers by default). A process with many
// sessions at once serves many users in turn: closing a database
// checkpoints its WAL, and the next session of that user opens it again,
// milliseconds each time, so such a process keeps more. Idle connections
// close after idleConnTime whatever the bound, so a database kept open
// costs a few descriptors and kilobytes, not its page cache.
func (s *Store) KeepOpen(n int) {
	s.mu.Lock()
	s.keepOpen = max(n, 1)
	evicted := s.evictLocked()
	s.mu.Unlock()
	for _, e := range evicted {
		e.close()
	}
}

// userDB is a user's open database, counted while operations use it.
type userDB struct {
	*db
	user string
	refs int    // operations (and open message bodies) using it
	used uint64 // Store.tick at the last release
}

// userFolder spells a user name as a file name: ASCII letters, digits and
// "-_@+=" as they are, every other byte (and a leading ".") as %XX, so
// that two names never share a folder and none is "." or "..". A name too
// long for a file name ends in a hash of the whole name instead.
func userFolder(user string) string {
	name := fsname.Escape(user)
	if len(name) > 200 {
		sum := sha256.Sum256([]byte(user))
		return name[:136] + "%" + hex.EncodeToString(sum[:])
	}
	return name
}

// userPath is the file of the user's database in the store at dir.
func userPath(dir, user string) string {
	return filepath.Join(dir, UsersDir, userFolder(user), FileName)
}

// acquire returns the user's database, opening (and creating) it if
// needed; the caller must release it.
func (s *Store) acquire(user string) (*userDB, error) {
	s.mu.Lock()
	if u := s.dbs[user]; u != nil {
		u.refs++
		s.mu.Unlock()
		return u, nil
	}
	s.mu.Unlock()

	path := userPath(s.dir, user)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	d, err := openDB(path)
	if err != nil {
		return nil, err
	}
	hasText, err := d.initText()
	if err == nil && !hasText {
		err = d.ensureTextTable(context.Background())
	}
	if err != nil {
		d.close()
		return nil, err
	}

	s.mu.Lock()
	if u := s.dbs[user]; u != nil {
		// Another goroutine opened it meanwhile.
		u.refs++
		s.mu.Unlock()
		d.close()
		return u, nil
	}
	u := &userDB{db: d, user: user, refs: 1}
	s.dbs[user] = u
	evicted := s.evictLocked()
	s.mu.Unlock()
	// Closing checkpoints the WAL (with fsyncs): never under s.mu, which
	// every operation of every user takes.
	for _, e := range evicted {
		e.close()
	}
	return u, nil
}

// release ends one use of u.
func (s *Store) release(u *userDB) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.refs--
	s.tick++
	u.used = s.tick
}

// evictLocked takes the least recently used idle databases beyond the
// bound (KeepOpen) out of s.dbs and returns them, for the caller to close
// once it has let go of s.mu. A database in use is never taken.
func (s *Store) evictLocked() (evicted []*userDB) {
	keep := s.keepOpen
	if keep == 0 {
		keep = maxOpenUsers
	}
	for len(s.dbs) > keep {
		var oldest *userDB
		for _, u := range s.dbs {
			if u.refs == 0 && (oldest == nil || u.used < oldest.used) {
				oldest = u
			}
		}
		if oldest == nil {
			return
		}
		delete(s.dbs, oldest.user)
		evicted = append(evicted, oldest)
	}
	return evicted
}
