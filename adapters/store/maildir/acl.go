package maildir

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/imapd-go/imapd/adapters/store/internal/grants"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

const (
	// aclFile, inside each mailbox's folder (so that it moves with a
	// RENAME and goes with a DELETE), holds the mailbox's ACL as Cyrus
	// writes one (identifier, tab, rights, tab...); no file, no ACL set.
	aclFile = "imapd-acl"
	// seenFile, in a user's root, holds the seen state the user keeps of
	// other users' mailboxes (ports.SeenStates), as JSON.
	seenFile = "imapd-seen"
)

var (
	_ ports.ACLs       = (*Store)(nil)
	_ ports.SeenStates = (*Store)(nil)
)

// readACL returns the ACL in the mailbox's folder and whether it has one.
func readACL(m *mailbox) (imap.ACL, bool, error) {
	b, err := readFile(m.file(aclFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return imap.ParseACL(string(b)), true, nil
}

// inheritACL gives the new mailbox a copy of the ACL of its nearest
// existing superior, or of INBOX for a top-level name (ports.ACLs); the
// caller holds the tree lock.
func (s *Store) inheritACL(m *mailbox) error {
	parents := imap.Parents(m.name)
	if m.name != inbox && len(parents) == 0 {
		parents = []string{inbox}
	}
	for _, p := range slices.Backward(parents) {
		pm, err := s.box("create", m.user, p)
		if err != nil || !pm.exists() {
			continue
		}
		b, err := readFile(pm.file(aclFile))
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		return writeAtomic(m.path, aclFile, b)
	}
	return nil
}

// MailboxACL returns the mailbox's ACL.
func (s *Store) MailboxACL(ctx context.Context, user, name string) (imap.ACL, bool, error) {
	const op = "get acl"
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	m, err := s.box(op, user, name)
	if err != nil || !m.exists() {
		return nil, false, imap.Errorf(op, imap.ErrNonexistent, "%q", name)
	}
	acl, set, err := readACL(m)
	return acl, set, wrapErr(op, err)
}

// ModifyACL rewrites the mailbox's ACL file under the user's tree lock,
// which RENAME and DELETE take too.
func (s *Store) ModifyACL(ctx context.Context, user, name string, fn func(imap.ACL, bool) (imap.ACL, error)) (imap.ACL, error) {
	const op = "set acl"
	m, err := s.box(op, user, name)
	if err != nil {
		return nil, imap.Errorf(op, imap.ErrNonexistent, "%q", name)
	}
	if _, err := os.Stat(m.root); err != nil {
		return nil, imap.Errorf(op, imap.ErrNonexistent, "%q", name)
	}
	tl, err := s.treeLock(ctx, m.root)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	defer tl.unlock()
	if !m.exists() {
		return nil, imap.Errorf(op, imap.ErrNonexistent, "%q", name)
	}
	cur, set, err := readACL(m)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	next, err := fn(cur, set)
	if err != nil {
		return nil, err
	}
	next = imap.ParseACL(next.String())
	if err := grants.Record(filepath.Join(s.dir, globalDir), user, next); err != nil {
		return nil, wrapErr(op, err)
	}
	if err := writeAtomic(m.path, aclFile, []byte(next.String())); err != nil {
		return nil, wrapErr(op, err)
	}
	return next, nil
}

// seenEntry is one set in a user's seen file.
type seenEntry struct {
	UIDs    string `json:"uids"`
	Version uint64 `json:"version"`
}

func readSeen(root string) (map[string]seenEntry, error) {
	b, err := readFile(filepath.Join(root, seenFile))
	if errors.Is(err, os.ErrNotExist) {
		return map[string]seenEntry{}, nil
	}
	if err != nil {
		return nil, err
	}
	m := map[string]seenEntry{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// LoadSeen reads the reader's set for key.
func (s *Store) LoadSeen(ctx context.Context, reader, key string) ([]imap.UID, uint64, error) {
	const op = "load seen"
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	root, err := s.userRoot(op, reader)
	if err != nil {
		return nil, 0, err
	}
	all, err := readSeen(root)
	if err != nil {
		return nil, 0, wrapErr(op, err)
	}
	e := all[key]
	uids, _ := imap.UIDsOfSet(e.UIDs)
	return uids, e.Version, nil
}

// UpdateSeen rewrites the reader's seen file under the reader's tree lock.
func (s *Store) UpdateSeen(ctx context.Context, reader, key string, uids []imap.UID, seen bool) (uint64, error) {
	const op = "update seen"
	root, err := s.userRoot(op, reader)
	if err != nil {
		return 0, err
	}
	tl, err := s.treeLock(ctx, root)
	if err != nil {
		return 0, wrapErr(op, err)
	}
	defer tl.unlock()
	all, err := readSeen(root)
	if err != nil {
		return 0, wrapErr(op, err)
	}
	e := all[key]
	cur, _ := imap.UIDsOfSet(e.UIDs)
	e.UIDs = imap.SetOfUIDs(imap.ChangeUIDs(cur, uids, seen))
	e.Version++
	all[key] = e
	b, err := json.Marshal(all)
	if err != nil {
		return 0, wrapErr(op, err)
	}
	return e.Version, wrapErr(op, writeAtomic(root, seenFile, b))
}

// SeenKeys lists the keys of the reader's seen file.
func (s *Store) SeenKeys(ctx context.Context, reader string, f func(string) error) error {
	const op = "seen keys"
	root, err := s.userRoot(op, reader)
	if err != nil {
		return err
	}
	all, err := readSeen(root)
	if err != nil {
		return wrapErr(op, err)
	}
	for k := range all {
		if err := f(k); err != nil {
			return err
		}
	}
	return nil
}

// Owners lists the user folders of the partition (userRoot's spelling
// undone); folders starting with a dot are the adapter's own.
func (s *Store) Owners(ctx context.Context, f func(string) error) error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return wrapErr("owners", err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := e.Name()
		if !e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		if rest, ok := strings.CutPrefix(name, "%2E"); ok {
			name = "." + rest
		}
		if err := f(name); err != nil {
			return err
		}
	}
	return nil
}

// Grantors reads the grants index.
func (s *Store) Grantors(ctx context.Context, ids []string, f func(string) error) error {
	return grants.Grantors(ctx, filepath.Join(s.dir, globalDir), ids, f)
}
