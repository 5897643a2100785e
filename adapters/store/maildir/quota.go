package maildir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// The user's quota root (ports.Quotas) lives in three files of the user's
// root, beside the tree lock:
//
//	imapd-quota        limits and usage, four lines "name value"
//	imapd-quota-lock   the flock every change of the usage holds
//	imapd-quota-dirty  made before a change's index commit, removed once
//	                   imapd-quota holds the change: a crash in between
//	                   leaves it, and the usage is counted again
//	imapd-quota-stale  made after a change the quota lock did not cover
//	                   (files another program added or removed, a
//	                   deleted mailbox, an import): the usage is counted
//	                   again, from the indexes, by the next holder
//
// Every write that adds or removes messages takes the quota lock after
// its mailbox locks (and the tree lock, shared), judges and records the
// change under it, commits its index, writes imapd-quota and only then
// lets go; so the usage never needs a count per APPEND, and processes
// appending at once cannot both take the last bytes. Hierarchy changes
// hold the tree lock exclusively, so no count runs meanwhile.
const (
	quotaFile      = "imapd-quota"
	quotaLockFile  = "imapd-quota-lock"
	quotaDirtyFile = "imapd-quota-dirty"
	quotaStaleFile = "imapd-quota-stale"
)

var _ ports.Quotas = (*Store)(nil)

// quotaHold is the user's quota lock, with the quota read under it.
type quotaHold struct {
	s       *Store
	root    string
	user    string
	l       *lock
	q       ports.Quota
	changed bool
}

// holdQuota takes the user's quota lock and reads the quota, counting the
// usage again when the file is missing or a marker says it may be behind.
// The caller holds the tree lock (shared or exclusive).
func (s *Store) holdQuota(ctx context.Context, root, user string) (*quotaHold, error) {
	l, err := flock(ctx, filepath.Join(root, quotaLockFile), true)
	if err != nil {
		return nil, err
	}
	h := &quotaHold{s: s, root: root, user: user, l: l}
	q, ok := readQuotaFile(root)
	h.q = q
	_, derr := os.Stat(filepath.Join(root, quotaDirtyFile))
	_, serr := os.Stat(filepath.Join(root, quotaStaleFile))
	if !ok || derr == nil || serr == nil {
		// The stale mark goes first: a change marked after this count
		// began leaves its mark for the next one.
		os.Remove(filepath.Join(root, quotaStaleFile))
		u, err := s.countUsage(user)
		if err != nil {
			l.unlock()
			return nil, err
		}
		h.q.Usage = u
		if err := h.write(); err != nil {
			l.unlock()
			return nil, err
		}
	}
	return h, nil
}

// charge judges and records a change of bytes and msgs (negative for
// removals) that the caller is about to commit: growth past a limit is
// imap.ErrOverQuota. From here until done, imapd-quota may be behind the
// indexes, which the dirty mark says.
func (h *quotaHold) charge(op string, bytes, msgs int64) error {
	if bytes == 0 && msgs == 0 {
		return nil
	}
	if !h.q.Limits.Admits(h.q.Usage, bytes, msgs) {
		return imap.Errorf(op, imap.ErrOverQuota, "%d bytes in %d messages would exceed the quota", bytes, msgs)
	}
	return h.record(bytes, msgs)
}

// record is charge without the judgement (imported mail is never refused).
func (h *quotaHold) record(bytes, msgs int64) error {
	if !h.changed {
		f, err := os.OpenFile(filepath.Join(h.root, quotaDirtyFile), os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		f.Close()
	}
	h.q.Usage.Storage += bytes
	h.q.Usage.Messages += msgs
	h.changed = true
	return nil
}

// done ends the hold: after a committed change (ok) imapd-quota gets the
// new usage and the dirty mark goes; after a failed one the mark stays,
// so that the next holder counts again.
func (h *quotaHold) done(ok bool) {
	if h == nil {
		return
	}
	if h.changed && ok {
		if h.write() == nil {
			os.Remove(filepath.Join(h.root, quotaDirtyFile))
		}
	}
	h.l.unlock()
}

// write replaces imapd-quota (under the quota lock). It is not fsynced: a
// power cut that loses it loses the dirty mark's removal no later.
func (h *quotaHold) write() error {
	q := h.q
	data := fmt.Appendf(nil, "storage-limit %d\nmessage-limit %d\nstorage-used %d\nmessage-used %d\n",
		q.Limits.Storage, q.Limits.Messages, q.Usage.Storage, q.Usage.Messages)
	tmp := filepath.Join(h.root, fmt.Sprintf("%s.tmp.%d.%d", quotaFile, os.Getpid(), rand.Uint64()))
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, filepath.Join(h.root, quotaFile)); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// readQuotaFile reads imapd-quota; ok is false when it is missing or not
// whole (then the limits are none and the usage must be counted).
func readQuotaFile(root string) (q ports.Quota, ok bool) {
	q.Limits = ports.Unlimited
	data, err := os.ReadFile(filepath.Join(root, quotaFile))
	if err != nil {
		return q, false
	}
	seen := 0
	for _, line := range bytes.Split(data, []byte("\n")) {
		name, val, found := bytes.Cut(line, []byte(" "))
		if !found {
			continue
		}
		n, err := strconv.ParseInt(string(val), 10, 64)
		if err != nil {
			return q, false
		}
		switch string(name) {
		case "storage-limit":
			q.Limits.Storage = n
		case "message-limit":
			q.Limits.Messages = n
		case "storage-used":
			q.Usage.Storage = n
		case "message-used":
			q.Usage.Messages = n
		default:
			continue
		}
		seen++
	}
	return q, seen == 4
}

// markStale says the usage may be behind the indexes (a change made
// without the quota lock): the next holder counts again.
func markStale(root string) {
	if f, err := os.OpenFile(filepath.Join(root, quotaStaleFile), os.O_WRONLY|os.O_CREATE, 0o600); err == nil {
		f.Close()
	}
}

// countUsage sums the messages of every mailbox of the user from their
// indexes (read without locks: the caller's quota lock keeps every
// counted change out meanwhile).
func (s *Store) countUsage(user string) (ports.QuotaUsage, error) {
	var u ports.QuotaUsage
	names, err := s.names("quota", user)
	if err != nil {
		return u, err
	}
	for _, name := range names {
		m, err := s.box("quota", user, name)
		if err != nil {
			continue
		}
		x, err := s.readIndex(m)
		if errors.Is(err, os.ErrNotExist) {
			continue // a folder without an index yet holds nothing counted
		}
		if err != nil {
			return u, err
		}
		for i := range x.msgs {
			u.Storage += x.msgs[i].size
		}
		u.Messages += int64(len(x.msgs))
	}
	return u, nil
}

// userQuota runs fn with the user's quota held, under the tree lock
// (shared); imap.ErrNonexistent when the user has no INBOX.
func (s *Store) userQuota(ctx context.Context, op, user string, fn func(h *quotaHold) error) error {
	m, err := s.box(op, user, inbox)
	if err != nil {
		return err
	}
	if !m.exists() {
		return imap.Errorf(op, imap.ErrNonexistent, "no user %q", user)
	}
	tl, err := flock(ctx, filepath.Join(m.root, treeLockFile), false)
	if err != nil {
		return wrapErr(op, err)
	}
	defer tl.unlock()
	h, err := s.holdQuota(ctx, m.root, user)
	if err != nil {
		return wrapErr(op, err)
	}
	err = fn(h)
	h.done(err == nil)
	return wrapErr(op, err)
}

// Quota returns the user's limits and usage.
func (s *Store) Quota(ctx context.Context, user string) (ports.Quota, error) {
	var q ports.Quota
	err := s.userQuota(ctx, "quota", user, func(h *quotaHold) error {
		q = h.q
		return nil
	})
	return q, err
}

// SetQuota replaces the user's limits.
func (s *Store) SetQuota(ctx context.Context, user string, l ports.QuotaLimits) error {
	return s.userQuota(ctx, "set quota", user, func(h *quotaHold) error {
		h.q.Limits = ports.QuotaLimits{Storage: max(l.Storage, ports.NoLimit), Messages: max(l.Messages, ports.NoLimit)}
		return h.write()
	})
}
