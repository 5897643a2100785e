package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// UsersDir is the folder, inside the store's directory, that holds one
// folder per user: users/NAME/mail.db with its WAL, shared memory and
// NotifyFile. NAME is the user name as userFolder spells it.
const UsersDir = "users"

// maxOpenUsers bounds the user databases a process keeps open when no
// operation uses them: a process under master serves one session at a
// time, but imapctl may go through every user.
const maxOpenUsers = 8

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
	var b strings.Builder
	for i := 0; i < len(user); i++ {
		c := user[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-_@+=", c) >= 0, c == '.' && i > 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	if b.Len() > 200 {
		sum := sha256.Sum256([]byte(user))
		return b.String()[:136] + "%" + hex.EncodeToString(sum[:])
	}
	return b.String()
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
	defer s.mu.Unlock()
	if u := s.dbs[user]; u != nil {
		// Another goroutine opened it meanwhile.
		d.close()
		u.refs++
		return u, nil
	}
	u := &userDB{db: d, user: user, refs: 1}
	s.dbs[user] = u
	s.evictLocked()
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

// evictLocked closes the least recently used idle databases beyond
// maxOpenUsers. A database in use is never closed.
func (s *Store) evictLocked() {
	for len(s.dbs) > maxOpenUsers {
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
		oldest.close()
	}
}
