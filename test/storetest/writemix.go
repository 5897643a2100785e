package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// mixNames are the mailboxes WriteMix writes in (those that exist at
// the time) and creates, renames and deletes.
var mixNames = []string{"INBOX", "a", "a/b", "c", "d"}

// mixFlags are the flags WriteMix sets, in both spellings a client may
// use for \Seen, which the counters depend on.
var mixFlags = []string{imap.FlagSeen, `\seen`, imap.FlagDeleted, imap.FlagFlagged, imap.FlagAnswered, "$k"}

// WriteMix makes n writes of every kind a store offers, chosen at random
// from seed, on user's mailboxes through handles (each one a process's
// view of the same store, as Opener gives them), each write through one
// of them at random: appends one by one and in batches, flag changes
// (conditional ones too), expunges, copies, moves, replaces, imports,
// \Recent claims, mailboxes created, renamed (INBOX too), deleted, the
// user deleted and made again, and quotas that refuse some of it. Writes
// a store refuses (over quota, a name that exists, a body shorter than
// its size) are part of the mix: a refused write must change nothing.
// After each write, check is called with a description of it. The user
// must exist. Stores check their own bookkeeping against the messages
// with it (the suite's CountersRandom checks Status).
func WriteMix(t testing.TB, handles []ports.Store, user string, seed uint64, n int, check func(step string)) {
	t.Helper()
	m := &mix{t: t, ctx: context.Background(), handles: handles, user: user, r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	ops := []struct {
		weight int
		name   string
		fn     func(h ports.Store) (string, error)
	}{
		{6, "append", m.append},
		{3, "append all", m.appendAll},
		{1, "append short", m.appendShort},
		{6, "store", m.store},
		{2, "store if", m.storeIf},
		{3, "expunge", m.expunge},
		{3, "copy", m.copy},
		{3, "move", m.move},
		{2, "replace", m.replace},
		{2, "import", m.importMessage},
		{1, "import mailbox", m.importMailbox},
		{2, "create", m.create},
		{1, "delete", m.delete},
		{1, "rename", m.rename},
		{2, "claim recent", m.claim},
		{2, "quota", m.quota},
	}
	total := 0
	for _, op := range ops {
		total += op.weight
	}
	for i := range n {
		h := handles[m.r.IntN(len(handles))]
		pick := m.r.IntN(total + 1) // one chance in total+1: delete the user
		if pick == total {
			if err := h.DeleteUser(m.ctx, user); err != nil {
				t.Fatalf("step %d: DeleteUser: %v", i, err)
			}
			if err := h.EnsureUser(m.ctx, user); err != nil {
				t.Fatalf("step %d: EnsureUser: %v", i, err)
			}
			check(fmt.Sprintf("step %d: user deleted and made again", i))
			continue
		}
		for _, op := range ops {
			if pick -= op.weight; pick >= 0 {
				continue
			}
			what, err := op.fn(h)
			var ie *imap.Error
			if err != nil && !errors.As(err, &ie) && op.name != "append short" {
				t.Fatalf("step %d: %s %s: %v", i, op.name, what, err)
			}
			if err != nil {
				what += " (refused: " + err.Error() + ")"
			}
			check(fmt.Sprintf("step %d: %s %s", i, op.name, what))
			break
		}
	}
}

// mix is the state of one WriteMix.
type mix struct {
	t       testing.TB
	ctx     context.Context
	handles []ports.Store
	user    string
	r       *rand.Rand
	made    int // messages made so far, for their bodies
}

// box picks one of mixNames, existing or not.
func (m *mix) box() string { return mixNames[m.r.IntN(len(mixNames))] }

// existing picks a mailbox of the user that exists.
func (m *mix) existing(h ports.Store) string {
	m.t.Helper()
	infos, err := h.ListMailboxes(m.ctx, m.user)
	if err != nil {
		m.t.Fatalf("ListMailboxes: %v", err)
	}
	if len(infos) == 0 {
		return "INBOX"
	}
	return infos[m.r.IntN(len(infos))].Name
}

// message is a new message with random flags and size.
func (m *mix) message() ports.NewMessage {
	m.made++
	body := fmt.Sprintf("Subject: %d\r\n\r\n%s\r\n", m.made, strings.Repeat("x", m.r.IntN(300)))
	return newMessage(body, m.flags()...)
}

// flags picks a few of mixFlags.
func (m *mix) flags() []string {
	var out []string
	for _, f := range mixFlags {
		if m.r.IntN(3) == 0 {
			out = append(out, f)
		}
	}
	return out
}

// uids picks some of the UIDs of box (a missing one now and then).
func (m *mix) uids(h ports.Store, box string) []imap.UID {
	m.t.Helper()
	st, metas, err := h.Snapshot(m.ctx, m.user, box)
	if err != nil {
		return []imap.UID{1}
	}
	var out []imap.UID
	keep := m.r.IntN(4) // 0: one of them; else about keep/4 of them
	for _, meta := range metas {
		if keep > 0 && m.r.IntN(4) < keep {
			out = append(out, meta.UID)
		}
	}
	if keep == 0 && len(metas) > 0 {
		out = append(out, metas[m.r.IntN(len(metas))].UID)
	}
	if m.r.IntN(5) == 0 {
		out = append(out, st.UIDNext)
	}
	return out
}

func (m *mix) append(h ports.Store) (string, error) {
	box := m.existing(h)
	msg := m.message()
	_, err := h.Append(m.ctx, m.user, box, msg)
	return fmt.Sprintf("%q %q %d bytes", box, msg.Flags, msg.Size), err
}

func (m *mix) appendAll(h ports.Store) (string, error) {
	box := m.existing(h)
	msgs := make([]ports.NewMessage, 1+m.r.IntN(4))
	for i := range msgs {
		msgs[i] = m.message()
	}
	_, err := h.AppendAll(m.ctx, m.user, box, msgs)
	return fmt.Sprintf("%q %d messages", box, len(msgs)), err
}

// appendShort appends a batch whose last body is shorter than its size:
// the store must refuse the whole batch.
func (m *mix) appendShort(h ports.Store) (string, error) {
	box := m.existing(h)
	msgs := []ports.NewMessage{m.message(), m.message()}
	msgs[1].Size++
	_, err := h.AppendAll(m.ctx, m.user, box, msgs)
	if err == nil {
		m.t.Fatalf("AppendAll to %q took a body shorter than its size", box)
	}
	return fmt.Sprintf("%q", box), err
}

func (m *mix) store(h ports.Store) (string, error) {
	box := m.existing(h)
	uids, op, flags := m.uids(h, box), ports.FlagOp(m.r.IntN(3)), m.flags()
	_, err := h.UpdateFlags(m.ctx, m.user, box, uids, op, flags)
	return fmt.Sprintf("%q %v op %d %q", box, uids, op, flags), err
}

func (m *mix) storeIf(h ports.Store) (string, error) {
	box := m.existing(h)
	st, err := h.Status(m.ctx, m.user, box)
	if err != nil {
		return "", err
	}
	since := st.HighestModSeq - uint64(m.r.IntN(int(min(st.HighestModSeq, 4))))
	uids, op, flags := m.uids(h, box), ports.FlagOp(m.r.IntN(3)), m.flags()
	_, _, err = h.UpdateFlagsIf(m.ctx, m.user, box, uids, op, flags, since)
	return fmt.Sprintf("%q %v op %d %q unchanged since %d", box, uids, op, flags, since), err
}

func (m *mix) expunge(h ports.Store) (string, error) {
	box := m.existing(h)
	var uids []imap.UID // nil: every \Deleted message
	if m.r.IntN(2) == 0 {
		uids = m.uids(h, box)
	}
	_, err := h.Expunge(m.ctx, m.user, box, uids)
	return fmt.Sprintf("%q %v", box, uids), err
}

func (m *mix) copy(h ports.Store) (string, error) {
	box, dest := m.existing(h), m.box()
	uids := m.uids(h, box)
	_, err := h.Copy(m.ctx, m.user, box, uids, dest)
	return fmt.Sprintf("%q %v to %q", box, uids, dest), err
}

func (m *mix) move(h ports.Store) (string, error) {
	box, dest := m.existing(h), m.box()
	uids := m.uids(h, box)
	_, err := h.Move(m.ctx, m.user, box, uids, dest)
	return fmt.Sprintf("%q %v to %q", box, uids, dest), err
}

func (m *mix) replace(h ports.Store) (string, error) {
	rp, ok := h.(ports.Replacer)
	if !ok {
		return m.append(h)
	}
	box, dest := m.existing(h), m.box()
	old := imap.UID(1) // when box is empty: one that is not there
	if uids := m.uids(h, box); len(uids) > 0 {
		old = uids[0]
	}
	msg := m.message()
	_, err := rp.Replace(m.ctx, m.user, box, old, dest, msg)
	return fmt.Sprintf("%q %d by %q in %q", box, old, msg.Flags, dest), err
}

func (m *mix) importMessage(h ports.Store) (string, error) {
	im, ok := h.(ports.Importer)
	if !ok {
		return m.append(h)
	}
	box := m.existing(h)
	st, err := h.Status(m.ctx, m.user, box)
	if err != nil {
		return "", err
	}
	// Past UIDNEXT, or at one that may be in use or expunged.
	uid := st.UIDNext + imap.UID(m.r.IntN(3))
	if m.r.IntN(3) == 0 && st.UIDNext > 1 {
		uid = 1 + imap.UID(m.r.IntN(int(st.UIDNext-1)))
	}
	msg := m.message()
	err = im.ImportMessage(m.ctx, m.user, box, uid, msg)
	return fmt.Sprintf("%q UID %d %q", box, uid, msg.Flags), err
}

func (m *mix) importMailbox(h ports.Store) (string, error) {
	im, ok := h.(ports.Importer)
	if !ok {
		return m.create(h)
	}
	box := m.box()
	v, next := uint32(1000+m.r.IntN(1000)), imap.UID(1+m.r.IntN(50))
	err := im.ImportMailbox(m.ctx, m.user, box, v, next)
	return fmt.Sprintf("%q UIDVALIDITY %d UIDNEXT %d", box, v, next), err
}

func (m *mix) create(h ports.Store) (string, error) {
	box := m.box()
	return fmt.Sprintf("%q", box), h.CreateMailbox(m.ctx, m.user, box)
}

func (m *mix) delete(h ports.Store) (string, error) {
	box := m.existing(h)
	return fmt.Sprintf("%q", box), h.DeleteMailbox(m.ctx, m.user, box)
}

func (m *mix) rename(h ports.Store) (string, error) {
	from, to := m.existing(h), m.box()
	if m.r.IntN(3) == 0 {
		from = "INBOX" // its messages move to a new mailbox
	}
	return fmt.Sprintf("%q to %q", from, to), h.RenameMailbox(m.ctx, m.user, from, to)
}

func (m *mix) claim(h ports.Store) (string, error) {
	box := m.existing(h)
	_, _, err := h.ClaimRecent(m.ctx, m.user, box)
	return fmt.Sprintf("%q", box), err
}

// quota sets limits a little above the usage, which refuse some of the
// writes that follow, or takes them away.
func (m *mix) quota(h ports.Store) (string, error) {
	q, ok := h.(ports.Quotas)
	if !ok {
		return m.claim(h)
	}
	l := ports.Unlimited
	if m.r.IntN(2) == 0 {
		cur, err := q.Quota(m.ctx, m.user)
		if err != nil {
			return "", err
		}
		l.Storage = cur.Usage.Storage + int64(m.r.IntN(1000))
		l.Messages = cur.Usage.Messages + int64(m.r.IntN(5))
	}
	return fmt.Sprintf("%+v", l), q.SetQuota(m.ctx, m.user, l)
}

// testCountersRandom checks that Status, through every handle, counts
// what the mailbox holds after every write of a random mix made through
// two handles: messages, unseen ones, \Recent ones and their total size,
// as Snapshot and Fetch show them.
func testCountersRandom(t *testing.T, e *env) {
	e.user("u")
	handles := []ports.Store{e.s, e.handle()}
	for _, seed := range []uint64{1, 2, 3} {
		WriteMix(t, handles, "u", seed, 150, func(step string) {
			t.Helper()
			infos, err := e.s.ListMailboxes(e.ctx, "u")
			if err != nil {
				t.Fatalf("%s: ListMailboxes: %v", step, err)
			}
			for _, info := range infos {
				want := e.counted("u", info.Name)
				for i, h := range handles {
					st, err := h.Status(e.ctx, "u", info.Name)
					if err != nil || st != want {
						t.Fatalf("seed %d, %s: handle %d: Status(%q) = %+v, %v; the mailbox holds %+v",
							seed, step, i, info.Name, st, err, want)
					}
				}
			}
		})
	}
}

// counted is the mailbox's status with its counters counted from the
// messages Snapshot and Fetch give.
func (e *env) counted(user, box string) ports.MailboxStatus {
	e.t.Helper()
	st, metas, err := e.s.Snapshot(e.ctx, user, box)
	if err != nil {
		e.t.Fatalf("Snapshot(%q): %v", box, err)
	}
	uids := make([]imap.UID, len(metas))
	st.Messages, st.Unseen, st.Recent, st.Size = uint32(len(metas)), 0, 0, 0
	for i, meta := range metas {
		uids[i] = meta.UID
		if !slices.Contains(meta.Flags, imap.FlagSeen) {
			st.Unseen++
		}
		if meta.UID >= st.RecentUID {
			st.Recent++
		}
	}
	recs, err := e.s.Fetch(e.ctx, user, box, uids)
	if err != nil || len(recs) != len(uids) {
		e.t.Fatalf("Fetch(%q) = %d records, %v; want %d", box, len(recs), err, len(uids))
	}
	for _, r := range recs {
		st.Size += r.Size
	}
	return st
}
