package maildir

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

var _ ports.Replacer = (*Store)(nil)

// A replacement (RFC 8508 REPLACE) changes two files, in one folder or in
// two: the new message moves into the destination's cur/ and the old one
// leaves the source's. No order of the two makes a crash between them
// harmless (both, or neither), so a record of the intent, in the user's
// replaceDir, is made durable before either: once the record exists, the
// new file's presence in cur/ decides. A replacement the crash caught
// before the new file reached cur/ did not happen (its file in tmp/ is
// removed); one whose new file is in cur/ did, and the old file is
// removed if it is still there. Every operation of the user finishes
// such records first (finishReplaces), before it believes an index: a
// write does it under the tree lock, a read whenever a record is there.

// replaceDir is the folder of the user's root that holds the records.
const replaceDir = "imapd-replace"

// replaceRecord is one replacement in progress. Folders are relative to
// the user's root ("" for INBOX), files are names in them.
type replaceRecord struct {
	Src     string `json:"src"`
	Old     string `json:"old"` // the old file's unique part, in Src's cur/
	Dst     string `json:"dst"`
	Tmp     string `json:"tmp"` // the new file in Dst's tmp/
	New     string `json:"new"` // its name in Dst's cur/
	file    string // the record's own path
	srcPath string
	dstPath string
}

// Replace writes the new message to the destination's tmp/ outside any
// lock; then, under both mailboxes' locks, records the intent, moves the
// new file into cur/, removes the old one, and writes both indexes.
func (s *Store) Replace(ctx context.Context, user, name string, old imap.UID, dest string, msg ports.NewMessage) (ports.AppendResult, error) {
	const op = "replace"
	flags, err := imap.NormalizeFlags(msg.Flags)
	if err != nil {
		return ports.AppendResult{}, wrapErr(op, err)
	}
	date := msg.InternalDate
	if date.IsZero() {
		date = time.Now()
	}
	src, err := s.resolve(ctx, op, user, name, imap.ErrNonexistent)
	if err != nil {
		return ports.AppendResult{}, err
	}
	dst, err := s.resolve(ctx, op, user, dest, imap.ErrTryCreate)
	if err != nil {
		return ports.AppendResult{}, err
	}
	unique, tmp, err := deliver(dst, msg, date)
	if err != nil {
		return ports.AppendResult{}, wrapErr(op, err)
	}
	defer os.Remove(tmp) // a no-op once the file has moved to cur/
	var res ports.AppendResult
	var hold *quotaHold
	defer func() { hold.done(err == nil) }()
	_, err = s.update(ctx, op, []*mailbox{src, dst}, []error{imap.ErrNonexistent, imap.ErrTryCreate}, func(xs []*index) (bool, error) {
		xs0, xd := xs[0], xs[1]
		pos := picked(xs0, []imap.UID{old})
		if len(pos) == 0 {
			return false, imap.Errorf(op, imap.ErrNoMessage, "UID %d of %q", old, name)
		}
		if uint64(xd.uidNext)+1 > maxUID {
			return false, imap.Errorf(op, imap.ErrCannot, "mailbox %q has used every UID", dest)
		}
		if err := admitKeywords(op, xd, imap.NewKeywordSet().Missing(flags)); err != nil {
			return false, err
		}
		// Both mailboxes are in the user's one quota root: it changes
		// by the difference of the two sizes.
		var err error
		if hold, err = s.holdQuota(ctx, src.root, user); err != nil {
			return false, err
		}
		if err := hold.charge(op, msg.Size-xs0.msgs.at(pos[0]).size, 0); err != nil {
			return false, err
		}
		given, err := dst.useLetters(xd, flags)
		if err != nil {
			return false, err
		}
		if _, err := letterCarriers(dst, xd, given, nil); err != nil {
			return false, err
		}
		oldUnique, _ := splitFile(xs0.msgs.at(pos[0]).file)
		uid := xd.uidNext
		newFile := dst.fileFor(uidName(unique, uid), flags)
		rec, err := writeReplaceRecord(src, dst, oldUnique, filepath.Base(tmp), newFile)
		if err != nil {
			return false, err
		}
		// Decided: from here on a crash completes the replacement.
		undo := func() {
			os.Remove(filepath.Join(dst.cur(), newFile))
			syncDir(dst.cur())
			os.Remove(rec.file)
		}
		if err := addMessage(dst, xd, tmp, unique, uid, flags, msg, date); err != nil {
			os.Remove(rec.file)
			return false, err
		}
		if err := syncDir(dst.cur()); err != nil {
			undo()
			return false, err
		}
		// The new entry went last (its UID is the highest), so pos still
		// points at the old one when both are in one index.
		if err := removeEntries(src, xs0, pos, true); err != nil {
			undo()
			return false, err
		}
		// Both folders are as the replacement leaves them: the record
		// is no longer needed (a crash that keeps it finds nothing to do).
		os.Remove(rec.file)
		xd.lazy = false
		res = ports.AppendResult{UIDValidity: xd.uidValidity, UID: uid}
		return true, nil
	})
	if err != nil {
		return ports.AppendResult{}, err
	}
	return res, nil
}

// writeReplaceRecord makes the record of a replacement durable.
func writeReplaceRecord(src, dst *mailbox, oldUnique, tmp, newFile string) (*replaceRecord, error) {
	rel := func(m *mailbox) string {
		if m.path == m.root {
			return ""
		}
		return filepath.Base(m.path)
	}
	rec := &replaceRecord{Src: rel(src), Old: oldUnique, Dst: rel(dst), Tmp: tmp, New: newFile}
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(src.root, replaceDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	name, _ := splitFile(newFile)
	rec.file = filepath.Join(dir, name)
	if err := writeSynced(rec.file, data); err != nil {
		os.Remove(rec.file)
		return nil, err
	}
	if err := syncDir(dir); err != nil {
		os.Remove(rec.file)
		return nil, err
	}
	return rec, nil
}

// pendingReplaces reports whether the user's root holds records of
// replacements in progress (or interrupted by a crash).
func pendingReplaces(root string) bool {
	names, err := readNames(filepath.Join(root, replaceDir))
	return err == nil && len(names) > 0
}

// finishReplaces finishes the replacements a crash interrupted (and waits
// for those in progress, whose locks it takes): each under the locks of
// its two mailboxes, taken in path order as update takes them. The caller
// holds the tree lock and no mailbox lock.
func (s *Store) finishReplaces(ctx context.Context, root string) error {
	dir := filepath.Join(root, replaceDir)
	names, err := readNames(dir)
	if err != nil || len(names) == 0 {
		return nil // no folder: nothing ever replaced
	}
	for _, n := range names {
		data, err := readFile(filepath.Join(dir, n))
		if errors.Is(err, os.ErrNotExist) {
			continue // finished meanwhile
		}
		if err != nil {
			return err
		}
		var rec replaceRecord
		if err := json.Unmarshal(data, &rec); err != nil || strings.ContainsAny(rec.Src+rec.Dst, `/\`) {
			// Torn: written but not yet fsynced when the crash came, so
			// nothing was moved after it.
			os.Remove(filepath.Join(dir, n))
			continue
		}
		rec.file = filepath.Join(dir, n)
		rec.srcPath, rec.dstPath = filepath.Join(root, rec.Src), filepath.Join(root, rec.Dst)
		if err := finishReplace(ctx, &rec); err != nil {
			return err
		}
	}
	return nil
}

// finishReplace completes or abandons one record under its mailboxes'
// locks; it does nothing when the record is gone once they are held.
func finishReplace(ctx context.Context, rec *replaceRecord) error {
	paths := slices.Compact(slices.Sorted(slices.Values([]string{rec.srcPath, rec.dstPath})))
	for _, p := range paths {
		l, err := flock(ctx, filepath.Join(p, lockFile), true)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // the mailbox is gone, and its files with it
			}
			return err
		}
		defer l.unlock()
	}
	if _, err := os.Stat(rec.file); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	newUnique, _ := splitFile(rec.New)
	if placed, err := hasUnique(filepath.Join(rec.dstPath, "cur"), newUnique); err != nil {
		return err
	} else if placed {
		// The new message is in place: the old one must go.
		srcCur := filepath.Join(rec.srcPath, "cur")
		names, err := readNames(srcCur)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		for _, n := range names {
			if u, _ := splitFile(n); u == rec.Old {
				if err := os.Remove(filepath.Join(srcCur, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
		}
		if len(names) > 0 {
			if err := syncDir(srcCur); err != nil {
				return err
			}
		}
	}
	os.Remove(filepath.Join(rec.dstPath, "tmp", rec.Tmp))
	return os.Remove(rec.file)
}

// hasUnique reports whether the folder holds a file with the unique part
// (under whatever flags another program may have given it since).
func hasUnique(dir, unique string) (bool, error) {
	names, err := readNames(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	for _, n := range names {
		if u, _ := splitFile(n); u == unique {
			return true, nil
		}
	}
	return false, err
}
