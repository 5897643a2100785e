package maildir

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// The user's quota root (ports.Quotas) lives in three files of the user's
// root, beside the tree lock:
//
//	imapd-quota        one fixed-size record (quotaRecordLen bytes,
//	                   rewritten in place, never renamed): limits, usage,
//	                   a state (clean, or dirty while a change's index
//	                   commit may be ahead of it) and a checksum
//	imapd-quota-lock   the flock every change of the usage holds
//	imapd-quota-stale  made after a change the quota lock did not cover
//	                   (files another program added or removed, a
//	                   deleted mailbox): the next holder counts again
//
// Every write that adds or removes messages takes the quota lock after
// its mailbox locks (and the tree lock, shared), judges the change and
// marks the record dirty, commits its index, writes the new usage as
// clean and only then lets go; so the usage never needs a count per
// APPEND, and processes appending at once cannot both take the last
// bytes. A crash in between leaves the record dirty (or torn, which the
// checksum shows), and the next holder counts the usage again from the
// indexes. The record is rewritten in place, without fsync: no name
// changes in the user's folder, whose metadata an APPEND's fsync of cur/
// would otherwise carry too. Hierarchy changes hold the tree lock
// exclusively, so no count runs meanwhile.
const (
	quotaFile      = "imapd-quota"
	quotaLockFile  = "imapd-quota-lock"
	quotaStaleFile = "imapd-quota-stale"
)

// quotaRecordLen is the size of imapd-quota's record.
const quotaRecordLen = len("imapd-quota clean ") + 5*21 + 9

var _ ports.Quotas = (*Store)(nil)

// quotaHold is the user's quota lock, with the quota read under it.
type quotaHold struct {
	s       *Store
	root    string
	user    string
	l       *lock
	f       *os.File // imapd-quota, read and written through one descriptor
	q       ports.Quota
	changed bool
}

// holdQuota takes the user's quota lock and reads the quota, counting the
// usage again when the record is missing, torn or dirty, or the stale
// mark is there. The caller holds the tree lock (shared or exclusive).
func (s *Store) holdQuota(ctx context.Context, root, user string) (*quotaHold, error) {
	l, err := flock(ctx, filepath.Join(root, quotaLockFile), true)
	if err != nil {
		return nil, err
	}
	f, err := openFile(filepath.Join(root, quotaFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		l.unlock()
		return nil, err
	}
	h := &quotaHold{s: s, root: root, user: user, l: l, f: f}
	buf := make([]byte, quotaRecordLen+1)
	n, _ := f.ReadAt(buf, 0)
	q, clean := parseQuota(buf[:n])
	h.q = q
	_, serr := os.Stat(filepath.Join(root, quotaStaleFile))
	if !clean || serr == nil {
		// The stale mark goes first: a change marked after this count
		// began leaves its mark for the next one.
		os.Remove(filepath.Join(root, quotaStaleFile))
		u, err := s.countUsage(user)
		if err != nil {
			h.release()
			return nil, err
		}
		h.q.Usage = u
		if err := h.write(true); err != nil {
			h.release()
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
		if err := h.write(false); err != nil {
			return err
		}
	}
	h.q.Usage.Storage += bytes
	h.q.Usage.Messages += msgs
	h.changed = true
	return nil
}

// done ends the hold: after a committed change (ok) the record gets the
// new usage, clean; after a failed one it stays dirty, so that the next
// holder counts again.
func (h *quotaHold) done(ok bool) {
	if h == nil {
		return
	}
	if h.changed && ok {
		h.write(true)
	}
	h.release()
}

func (h *quotaHold) release() {
	h.f.Close()
	h.l.unlock()
}

// write rewrites imapd-quota's record in place (under the quota lock),
// clean or dirty.
func (h *quotaHold) write(clean bool) error {
	state := "dirty"
	if clean {
		state = "clean"
	}
	q := h.q
	rec := fmt.Appendf(nil, "imapd-quota %s %20d %20d %20d %20d %20d ", state,
		q.Limits.Storage, q.Limits.Messages, q.Limits.Mailboxes, q.Usage.Storage, q.Usage.Messages)
	rec = fmt.Appendf(rec, "%08x\n", crc32.ChecksumIEEE(rec))
	_, err := h.f.WriteAt(rec, 0)
	return err
}

// readQuotaFile reads imapd-quota's record; clean is false when it is
// missing, torn or dirty (then the usage must be counted; the limits are
// none when it cannot be read at all).
func readQuotaFile(root string) (q ports.Quota, clean bool) {
	q.Limits = ports.Unlimited
	data, err := readFile(filepath.Join(root, quotaFile))
	if err != nil {
		return q, false
	}
	return parseQuota(data)
}

// parseQuota reads a quota record, as readQuotaFile.
func parseQuota(data []byte) (q ports.Quota, clean bool) {
	q.Limits = ports.Unlimited
	if len(data) != quotaRecordLen {
		return q, false
	}
	body, sum := data[:quotaRecordLen-9], data[quotaRecordLen-9:quotaRecordLen-1]
	if fmt.Sprintf("%08x", crc32.ChecksumIEEE(body)) != string(sum) {
		return q, false
	}
	f := strings.Fields(string(body))
	if len(f) != 7 || f[0] != quotaFile {
		return q, false
	}
	var n [5]int64
	for i := range n {
		var err error
		if n[i], err = strconv.ParseInt(f[2+i], 10, 64); err != nil {
			return ports.Quota{Limits: ports.Unlimited}, false
		}
	}
	q.Limits = ports.QuotaLimits{Storage: n[0], Messages: n[1], Mailboxes: n[2]}
	q.Usage = ports.QuotaUsage{Storage: n[3], Messages: n[4]}
	return q, f[1] == "clean"
}

// markStale says the usage may be behind the indexes (a change made
// without the quota lock): the next holder counts again.
func markStale(root string) {
	if f, err := openFile(filepath.Join(root, quotaStaleFile), os.O_WRONLY|os.O_CREATE, 0o600); err == nil {
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
		for i := range x.msgs.len() {
			u.Storage += x.msgs.at(i).size
		}
		u.Messages += int64(x.msgs.len())
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
		names, err := s.names("quota", user)
		q.Usage.Mailboxes = int64(len(names))
		return err
	})
	return q, err
}

// admitMailboxes fails with imap.ErrOverQuota when creating names, with
// their missing superior levels, would take the user's root past its
// MAILBOX limit. The caller holds the tree lock exclusively: no other
// hierarchy change, and no SetQuota, runs meanwhile.
func (s *Store) admitMailboxes(op, user, root string, names ...string) error {
	q, _ := readQuotaFile(root) // a dirty record's limits hold
	if q.Limits.Mailboxes < 0 {
		return nil
	}
	all, err := s.names(op, user)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, n := range all {
		have[n] = true
	}
	add := map[string]bool{}
	for _, n := range names {
		for i := 0; i <= len(n); i++ {
			if i == len(n) || n[i] == imap.Separator {
				if !have[n[:i]] {
					add[n[:i]] = true
				}
			}
		}
	}
	if !q.Limits.AdmitsMailboxes(ports.QuotaUsage{Mailboxes: int64(len(all))}, int64(len(add))) {
		return imap.Errorf(op, imap.ErrOverQuota, "%d more mailboxes would exceed the quota of %d", len(add), q.Limits.Mailboxes)
	}
	return nil
}

// SetQuota replaces the user's limits.
func (s *Store) SetQuota(ctx context.Context, user string, l ports.QuotaLimits) error {
	return s.userQuota(ctx, "set quota", user, func(h *quotaHold) error {
		h.q.Limits = ports.QuotaLimits{Storage: max(l.Storage, ports.NoLimit), Messages: max(l.Messages, ports.NoLimit),
			Mailboxes: max(l.Mailboxes, ports.NoLimit)}
		return h.write(true)
	})
}
