package maildir

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// ImportMailbox creates the mailbox with the given identity, or raises an
// existing one's UIDNEXT, as ports.Importer describes.
func (s *Store) ImportMailbox(ctx context.Context, user, name string, uidValidity uint32, uidNext imap.UID) error {
	const op = "import mailbox"
	if name != inbox {
		if err := imap.CheckMailboxName(op, name); err != nil {
			return err
		}
	}
	if uidValidity == 0 || uidNext == 0 {
		return imap.Errorf(op, imap.ErrCannot, "UIDVALIDITY and UIDNEXT must not be zero")
	}
	m, err := s.box(op, user, name)
	if err != nil {
		return err
	}
	tl, err := s.treeLock(ctx, m.root)
	if err != nil {
		return wrapErr(op, err)
	}
	if !m.exists() {
		defer tl.unlock()
		if err := s.createParents(ctx, op, user, name); err != nil {
			return wrapErr(op, err)
		}
		return wrapErr(op, s.createWith(ctx, m, uidValidity, uidNext))
	}
	tl.unlock()
	_, err = s.update(ctx, op, []*mailbox{m}, []error{imap.ErrNonexistent}, func(xs []*index) (bool, error) {
		x := xs[0]
		switch {
		case x.uidValidity == uidValidity:
			if x.uidNext >= uidNext {
				return false, nil
			}
			x.uidNext = uidNext
		case x.uidNext == 1 && x.msgs.len() == 0:
			x.uidValidity, x.uidNext, x.recentUID = uidValidity, uidNext, uidNext
		default:
			return false, imap.Errorf(op, imap.ErrAlreadyExists, "%q has UIDVALIDITY %d", name, x.uidValidity)
		}
		return true, nil
	})
	return err
}

// ImportMessage stores msg under the given UID.
func (s *Store) ImportMessage(ctx context.Context, user, name string, uid imap.UID, msg ports.NewMessage) (err error) {
	const op = "import message"
	if uid == 0 {
		return imap.Errorf(op, imap.ErrCannot, "UID 0")
	}
	flags, err := imap.NormalizeFlags(msg.Flags)
	if err != nil {
		return wrapErr(op, err)
	}
	m, err := s.resolve(ctx, op, user, name, imap.ErrNonexistent)
	if err != nil {
		return err
	}
	date := msg.InternalDate
	if date.IsZero() {
		date = time.Now()
	}
	unique, tmp, err := deliver(m, msg, date)
	if err != nil {
		return wrapErr(op, err)
	}
	defer os.Remove(tmp)
	var hold *quotaHold
	defer func() { hold.done(err == nil) }()
	var uidValidity uint32
	_, err = s.update(ctx, op, []*mailbox{m}, []error{imap.ErrNonexistent}, func(xs []*index) (bool, error) {
		x := xs[0]
		uidValidity = x.uidValidity
		if _, ok := x.find(uid); ok {
			return false, imap.Errorf(op, imap.ErrAlreadyExists, "UID %d", uid)
		}
		// Imported mail counts, but is never refused (ports.Quotas).
		var err error
		if hold, err = s.holdQuota(ctx, m.root, user); err != nil {
			return false, err
		}
		if err := hold.record(msg.Size, 1); err != nil {
			return false, err
		}
		// A tombstone of the same UID (an interrupted run's message,
		// expunged since) no longer holds.
		for i, t := range x.tombs {
			if t.uid == uid {
				x.tombs = append(x.tombs[:i:i], x.tombs[i+1:]...)
				break
			}
		}
		given, err := m.useLetters(x, flags)
		if err != nil {
			return false, err
		}
		if _, err := letterCarriers(m, x, given, nil); err != nil {
			return false, err
		}
		if err := addMessage(m, x, tmp, unique, uid, flags, msg, date); err != nil {
			return false, err
		}
		if err := syncDir(m.cur()); err != nil {
			os.Remove(filepath.Join(m.cur(), m.fileFor(uidName(unique, uid), flags)))
			return false, err
		}
		return true, nil
	})
	if errors.Is(err, os.ErrNotExist) {
		return imap.Errorf(op, imap.ErrNonexistent, "%q", name)
	}
	if err == nil && msg.SortRecord != nil {
		writeSortFrames(m, appendSortFrame(nil, uidValidity, uid, msg.SortRecord))
	}
	return err
}
