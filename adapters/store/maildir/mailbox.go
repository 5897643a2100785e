package maildir

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// treeLock takes the user's tree lock exclusively, creating the user's
// root if needed: hierarchy changes exclude every mailbox write. A
// replacement a crash interrupted is finished first, while its folders
// are where its record says.
func (s *Store) treeLock(ctx context.Context, root string) (*lock, error) {
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, err
	}
	tl, err := flock(ctx, filepath.Join(root, treeLockFile), true)
	if err != nil {
		return nil, err
	}
	if err := s.finishReplaces(ctx, root); err != nil {
		tl.unlock()
		return nil, err
	}
	return tl, nil
}

// createFolder makes an empty mailbox with the given identity: the index
// first, cur/ last, so that a crash half way leaves a folder that does not
// count as a mailbox and is completed by the next create.
func (s *Store) createFolder(m *mailbox, uidValidity uint32, uidNext imap.UID) error {
	if err := os.Mkdir(m.path, 0o750); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	if m.name != inbox {
		if strings.HasPrefix(filepath.Base(m.path), ".~") {
			if err := writeAtomic(m.path, nameFile, []byte(m.name+"\n")); err != nil {
				return err
			}
		}
		// The Maildir++ mark of a sub-folder.
		if err := os.WriteFile(m.file("maildirfolder"), nil, 0o600); err != nil {
			return err
		}
	}
	// RFC 8474: a new mailbox gets a new id, never one of another.
	if err := writeMailboxID(m, imap.NewObjectID(imap.MailboxIDPrefix)); err != nil {
		return err
	}
	x := freshIndex(uidValidity, uidNext)
	for _, d := range []string{"tmp", "new", "cur"} {
		if err := os.Mkdir(m.file(d), 0o750); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	// Written after cur/ exists, so that it records cur/'s time, but cur/
	// is empty and no other process writes here before we drop the tree
	// lock... except that readers could see cur/ before the index: they
	// create one under the mailbox lock, which we hold too.
	if _, err := s.startLog(m, x); err != nil {
		return err
	}
	if err := syncDir(m.path); err != nil {
		return err
	}
	return syncDir(m.root)
}

// create makes one mailbox with a new UIDVALIDITY; the caller holds the
// tree lock.
func (s *Store) create(ctx context.Context, m *mailbox) error {
	v, err := s.newUIDValidity(ctx)
	if err != nil {
		return err
	}
	if err := s.createWith(ctx, m, v, 1); err != nil {
		return err
	}
	return s.inheritACL(m)
}

func (s *Store) createWith(ctx context.Context, m *mailbox, v uint32, next imap.UID) error {
	if err := os.MkdirAll(m.path, 0o750); err != nil {
		return err
	}
	l, err := flock(ctx, m.file(lockFile), true)
	if err != nil {
		return err
	}
	defer l.unlock()
	s.forget(m.path)
	return s.createFolder(m, v, next)
}

// createParents creates the missing superior levels of name.
func (s *Store) createParents(ctx context.Context, op, user, name string) error {
	for _, p := range imap.Parents(name) {
		pm, err := s.box(op, user, p)
		if err != nil {
			return err
		}
		if !pm.exists() {
			if err := s.create(ctx, pm); err != nil {
				return err
			}
		}
	}
	return nil
}

// EnsureUser makes sure the user's root and INBOX exist.
func (s *Store) EnsureUser(ctx context.Context, user string) error {
	const op = "ensure user"
	m, err := s.box(op, user, inbox)
	if err != nil {
		return err
	}
	if m.exists() {
		return nil
	}
	tl, err := s.treeLock(ctx, m.root)
	if err != nil {
		return wrapErr(op, err)
	}
	defer tl.unlock()
	if m.exists() {
		return nil
	}
	return wrapErr(op, s.create(ctx, m))
}

// trash moves a folder out of the tree (to a name no maildir reader takes
// for a mailbox) and removes it.
func trash(path, into string) error {
	t := filepath.Join(into, fmt.Sprintf("imapd-deleted-%d-%x", os.Getpid(), rand.Uint64()))
	if err := os.Rename(path, t); err != nil {
		return err
	}
	syncDir(filepath.Dir(path))
	return os.RemoveAll(t)
}

// DeleteUser removes the user's root with everything in it.
func (s *Store) DeleteUser(ctx context.Context, user string) error {
	const op = "delete user"
	root, err := s.userRoot(op, user)
	if err != nil {
		return err
	}
	if _, err := os.Stat(root); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	tl, err := flock(ctx, filepath.Join(root, treeLockFile), true)
	if err != nil {
		return wrapErr(op, err)
	}
	defer tl.unlock()
	s.forgetUnder(root)
	if err := trash(root, filepath.Join(s.dir, globalDir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return wrapErr(op, err)
	}
	return nil
}

func (s *Store) forgetUnder(root string) {
	s.mu.Lock()
	under := func(p string) bool { return p == root || strings.HasPrefix(p, root+string(filepath.Separator)) }
	maps.DeleteFunc(s.cache, func(p string, _ *index) bool { return under(p) })
	maps.DeleteFunc(s.emptyNew, func(p string, _ int64) bool { return under(p) })
	s.mu.Unlock()
}

// names returns every mailbox of the user, sorted.
func (s *Store) names(op, user string) ([]string, error) {
	root, err := s.userRoot(op, user)
	if err != nil {
		return nil, err
	}
	d, err := openRead(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	entries, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, err
	}
	var out []string
	if fi, err := os.Stat(filepath.Join(root, "cur")); err == nil && fi.IsDir() {
		out = append(out, inbox)
	}
	for _, e := range entries {
		name, ok := mailboxName(root, e)
		if !ok || imap.CheckMailboxName(op, name) != nil || name == inbox {
			continue
		}
		if fi, err := os.Stat(filepath.Join(root, e, "cur")); err == nil && fi.IsDir() {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// ListMailboxes returns the user's mailboxes sorted by name (byte order).
func (s *Store) ListMailboxes(ctx context.Context, user string) ([]ports.MailboxInfo, error) {
	const op = "list"
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	names, err := s.names(op, user)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	out := make([]ports.MailboxInfo, len(names))
	for i, n := range names {
		out[i] = ports.MailboxInfo{Name: n}
		if m, err := s.box(op, user, n); err == nil {
			if b, err := readFile(filepath.Join(m.path, specialUseFile)); err == nil {
				out[i].SpecialUse = strings.Fields(string(b))
			}
		}
	}
	return out, nil
}

// SetSpecialUse keeps the attributes in a file inside the mailbox's
// folder, so that they move with it on RENAME and go with it on DELETE.
func (s *Store) SetSpecialUse(ctx context.Context, user, name string, uses []string) error {
	const op = "special-use"
	m, err := s.box(op, user, name)
	if err != nil {
		return err
	}
	tl, err := s.treeLock(ctx, m.root)
	if err != nil {
		return wrapErr(op, err)
	}
	defer tl.unlock()
	if !m.exists() {
		return imap.Errorf(op, imap.ErrNonexistent, "%q", name)
	}
	if len(uses) == 0 {
		err := os.Remove(filepath.Join(m.path, specialUseFile))
		if errors.Is(err, os.ErrNotExist) {
			err = nil
		}
		return wrapErr(op, err)
	}
	return wrapErr(op, writeAtomic(m.path, specialUseFile, []byte(strings.Join(uses, " ")+"\n")))
}

// CreateMailbox creates the mailbox and its missing superior levels.
func (s *Store) CreateMailbox(ctx context.Context, user, name string) error {
	const op = "create"
	if err := imap.CheckMailboxName(op, name); err != nil {
		return err
	}
	m, err := s.box(op, user, name)
	if err != nil {
		return err
	}
	tl, err := s.treeLock(ctx, m.root)
	if err != nil {
		return wrapErr(op, err)
	}
	defer tl.unlock()
	if m.exists() {
		return imap.Errorf(op, imap.ErrAlreadyExists, "%q", name)
	}
	if err := s.admitMailboxes(op, user, m.root, name); err != nil { // quota.go
		return wrapErr(op, err)
	}
	if err := s.createParents(ctx, op, user, name); err != nil {
		return wrapErr(op, err)
	}
	return wrapErr(op, s.create(ctx, m))
}

// DeleteMailbox deletes the mailbox's folder; children, being folders of
// their own, remain.
func (s *Store) DeleteMailbox(ctx context.Context, user, name string) error {
	const op = "delete"
	if name == inbox {
		return imap.Errorf(op, imap.ErrCannot, "INBOX cannot be deleted")
	}
	m, err := s.box(op, user, name)
	if err != nil || !m.exists() {
		return imap.Errorf(op, imap.ErrNonexistent, "%q", name)
	}
	tl, err := s.treeLock(ctx, m.root)
	if err != nil {
		return wrapErr(op, err)
	}
	defer tl.unlock()
	if !m.exists() {
		return imap.Errorf(op, imap.ErrNonexistent, "%q", name)
	}
	s.forget(m.path)
	// Its messages leave the quota root; the next holder of the quota
	// counts (no count runs while the tree lock is held exclusively).
	defer markStale(m.root)
	return wrapErr(op, trash(m.path, m.root))
}

// RenameMailbox renames the mailbox's folder and every child's, or moves
// INBOX's messages to a new mailbox.
func (s *Store) RenameMailbox(ctx context.Context, user, from, to string) error {
	const op = "rename"
	if err := imap.CheckMailboxName(op, to); err != nil {
		return err
	}
	src, err := s.box(op, user, from)
	if err != nil || !src.exists() {
		return imap.Errorf(op, imap.ErrNonexistent, "%q", from)
	}
	dst, err := s.box(op, user, to)
	if err != nil {
		return err
	}
	tl, err := s.treeLock(ctx, src.root)
	if err != nil {
		return wrapErr(op, err)
	}
	defer tl.unlock()
	if !src.exists() {
		return imap.Errorf(op, imap.ErrNonexistent, "%q", from)
	}
	if dst.exists() || to == from {
		return imap.Errorf(op, imap.ErrAlreadyExists, "%q", to)
	}
	if from == inbox {
		if err := s.admitMailboxes(op, user, src.root, to); err != nil { // quota.go
			return wrapErr(op, err)
		}
		return wrapErr(op, s.renameInbox(ctx, src, dst))
	}
	if strings.HasPrefix(to, from+string(imap.Separator)) {
		return imap.Errorf(op, imap.ErrCannot, "cannot move %q into itself", from)
	}
	all, err := s.names(op, user)
	if err != nil {
		return wrapErr(op, err)
	}
	moving := map[string]string{}
	for _, n := range all {
		if n == from || strings.HasPrefix(n, from+string(imap.Separator)) {
			moving[n] = to + n[len(from):]
		}
	}
	for _, n := range all {
		if _, ok := moving[n]; ok {
			continue
		}
		for _, nn := range moving {
			if nn == n {
				return imap.Errorf(op, imap.ErrAlreadyExists, "%q", nn)
			}
		}
	}
	for _, nn := range moving {
		if err := imap.CheckMailboxName(op, nn); err != nil {
			return err
		}
	}
	if i := strings.LastIndexByte(to, imap.Separator); i > 0 {
		// The moved mailboxes keep their count; new superior levels of
		// the new name add to it.
		if err := s.admitMailboxes(op, user, src.root, to[:i]); err != nil { // quota.go
			return wrapErr(op, err)
		}
	}
	for _, n := range slices.Sorted(mapKeys(moving)) {
		om, _ := s.box(op, user, n)
		nm, _ := s.box(op, user, moving[n])
		if err := s.moveFolder(om, nm); err != nil {
			return wrapErr(op, err)
		}
	}
	return wrapErr(op, s.createParents(ctx, op, user, to))
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// moveFolder renames one mailbox's folder; a hashed folder name gets its
// name file rewritten first.
func (s *Store) moveFolder(om, nm *mailbox) error {
	if _, err := os.Stat(nm.path); err == nil {
		// A folder left by a crashed create, not a mailbox (no cur/).
		if err := trash(nm.path, nm.root); err != nil {
			return err
		}
	}
	if strings.HasPrefix(filepath.Base(nm.path), ".~") {
		if err := writeAtomic(om.path, nameFile, []byte(nm.name+"\n")); err != nil {
			return err
		}
	} else {
		os.Remove(om.file(nameFile))
	}
	s.forget(om.path, nm.path)
	if err := os.Rename(om.path, nm.path); err != nil {
		return err
	}
	return syncDir(nm.root)
}

// renameInbox implements RFC 3501 6.3.5's special case: INBOX's messages
// move to a new mailbox (with its own UIDVALIDITY and UIDs 1..n in the
// old order), and INBOX stays, empty, with its UIDVALIDITY and UIDNEXT.
func (s *Store) renameInbox(ctx context.Context, src, dst *mailbox) error {
	if err := s.createParents(ctx, "rename", src.user, dst.name); err != nil {
		return err
	}
	if err := s.create(ctx, dst); err != nil {
		return err
	}
	// RFC 8474 section 4.2: the new mailbox takes INBOX's MAILBOXID and
	// INBOX gets a new one (INBOX's first, so that a crash between the
	// two never leaves one id on two mailboxes).
	id, err := readMailboxID(src)
	if err != nil {
		return err
	}
	if err := writeMailboxID(src, imap.NewObjectID(imap.MailboxIDPrefix)); err != nil {
		return err
	}
	if err := writeMailboxID(dst, id); err != nil {
		return err
	}
	_, err = s.updateHeld(ctx, "rename", []*mailbox{src, dst}, []error{imap.ErrNonexistent, imap.ErrNonexistent}, func(xs []*index) (bool, error) {
		if xs[0].msgs.len() == 0 {
			return false, nil
		}
		pos := make([]int, xs[0].msgs.len())
		lists := make([][]string, len(pos))
		for i := range pos {
			pos[i], lists[i] = i, xs[0].msgs.at(i).flags
		}
		// The new folder's keyword letters (dovecotkw.go).
		if _, err := dst.useLetters(xs[1], lists...); err != nil {
			return false, err
		}
		var res ports.CopyResult
		return true, copyEntries(src, dst, xs[0], xs[1], pos, xs[0].msgs.flat(0), true, &res)
	})
	return err
}

// readSubs reads the user's subscriptions file.
func readSubs(root string) ([]string, error) {
	f, err := openRead(filepath.Join(root, subsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); l != "" {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

// SetSubscribed adds or removes a name in the subscriptions file.
func (s *Store) SetSubscribed(ctx context.Context, user, name string, subscribed bool) error {
	const op = "subscribe"
	if subscribed {
		if err := imap.CheckMailboxName(op, name); err != nil && name != inbox {
			return err
		}
	}
	root, err := s.userRoot(op, user)
	if err != nil {
		return err
	}
	if _, err := os.Stat(root); !subscribed && errors.Is(err, os.ErrNotExist) {
		return nil
	}
	tl, err := s.treeLock(ctx, root)
	if err != nil {
		return wrapErr(op, err)
	}
	defer tl.unlock()
	subs, err := readSubs(root)
	if err != nil {
		return wrapErr(op, err)
	}
	has := slices.Contains(subs, name)
	switch {
	case subscribed && !has:
		subs = append(subs, name)
	case !subscribed && has:
		subs = slices.DeleteFunc(subs, func(n string) bool { return n == name })
	default:
		return nil
	}
	slices.Sort(subs)
	data := strings.Join(subs, "\n")
	if data != "" {
		data += "\n"
	}
	return wrapErr(op, writeAtomic(root, subsFile, []byte(data)))
}

// Subscriptions returns the subscribed names, sorted.
func (s *Store) Subscriptions(ctx context.Context, user string) ([]string, error) {
	const op = "subscriptions"
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	root, err := s.userRoot(op, user)
	if err != nil {
		return nil, err
	}
	subs, err := readSubs(root)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	slices.Sort(subs)
	return subs, nil
}
