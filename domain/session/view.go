// Package session holds the state of one IMAP session that the protocol
// defines: the state machine and the view a session has of its selected
// mailbox (sequence numbers, the flags it has been told, the expunges and
// changes it still owes the client, and which messages are \Recent to it).
// It is pure: the app feeds it what the store reports.
package session

import (
	"sort"

	"github.com/imapd-go/imapd/domain/imap"
)

// State is the RFC 3501 connection state.
type State int

const (
	NotAuthenticated State = iota
	Authenticated
	Selected
	Logout
)

// Entry is what the view knows of one message.
type Entry struct {
	UID    imap.UID
	Flags  []string
	ModSeq uint64
}

// View is the selected mailbox as the client currently sees it. Sequence
// number n is Entries[n-1]. Messages expunged by others stay in the view
// (as "ghosts") until the client may be told, so sequence numbers never
// shift under a command that forbids EXPUNGE responses.
type View struct {
	entries []Entry
	ghosts  map[imap.UID]bool // expunged in the store, not yet reported
	recent  []imap.Range      // UIDs \Recent in this session
	// ModSeq is the highest mod-sequence the view has applied from the
	// store's change feed; the next poll asks for changes after it.
	ModSeq uint64
	// UIDValidity and UIDNext as last reported.
	UIDValidity uint32
	UIDNext     imap.UID
}

// NewView builds a view from a snapshot (entries in UID order).
func NewView(entries []Entry, modseq uint64) *View {
	return &View{entries: entries, ghosts: map[imap.UID]bool{}, ModSeq: modseq}
}

// Len is the number of messages the client knows of (EXISTS).
func (v *View) Len() uint32 { return uint32(len(v.entries)) }

// Entry returns the message with sequence number seq (1-based).
func (v *View) Entry(seq uint32) *Entry { return &v.entries[seq-1] }

// MaxUID is the UID of the last message, 0 when empty.
func (v *View) MaxUID() imap.UID {
	if len(v.entries) == 0 {
		return 0
	}
	return v.entries[len(v.entries)-1].UID
}

// SeqOf returns the sequence number of uid, 0 when not in the view.
func (v *View) SeqOf(uid imap.UID) uint32 {
	i := sort.Search(len(v.entries), func(i int) bool { return v.entries[i].UID >= uid })
	if i < len(v.entries) && v.entries[i].UID == uid {
		return uint32(i + 1)
	}
	return 0
}

// IsGhost reports whether uid was expunged by another session and not yet
// reported.
func (v *View) IsGhost(uid imap.UID) bool { return v.ghosts[uid] }

// AddRecent records that UIDs in [from, to) were claimed as \Recent by
// this session (or, for a read-only view, are shown as recent).
func (v *View) AddRecent(from, to imap.UID) {
	if from < to {
		v.recent = append(v.recent, imap.Range{Start: uint32(from), Stop: uint32(to - 1)})
	}
}

// IsRecent reports whether uid is \Recent in this session.
func (v *View) IsRecent(uid imap.UID) bool {
	for _, r := range v.recent {
		if uint32(uid) >= r.Start && uint32(uid) <= r.Stop {
			return true
		}
	}
	return false
}

// RecentCount is the number of \Recent messages in the view.
func (v *View) RecentCount() uint32 {
	n := uint32(0)
	for _, e := range v.entries {
		if v.IsRecent(e.UID) {
			n++
		}
	}
	return n
}

// Seqs resolves a message sequence set to the sequence numbers it names
// that exist, ascending, without duplicates. ok is false when a number is
// out of range (RFC 3501 wants BAD for a non-existent sequence number; "*"
// on an empty mailbox is out of range too).
func (v *View) Seqs(set imap.NumSet) (seqs []uint32, ok bool) {
	n := v.Len()
	for _, r := range set.Bounds(n) {
		if r.Start < 1 || r.Stop > n {
			return nil, false
		}
	}
	for seq := uint32(1); seq <= n; seq++ {
		if set.Contains(seq, n) {
			seqs = append(seqs, seq)
		}
	}
	return seqs, true
}

// UIDSeqs resolves a UID set to the sequence numbers of the messages it
// names, ascending. Non-existent UIDs are ignored (RFC 3501 6.4.8); "*" is
// the largest UID in the view.
func (v *View) UIDSeqs(set imap.NumSet) []uint32 {
	var seqs []uint32
	star := uint32(v.MaxUID())
	bounds := set.Bounds(star)
	for i, e := range v.entries {
		for _, r := range bounds {
			if uint32(e.UID) >= r.Start && uint32(e.UID) <= r.Stop {
				seqs = append(seqs, uint32(i+1))
				break
			}
		}
	}
	return seqs
}

// Update is what the client must be told after applying store changes.
type Update struct {
	Expunged []uint32   // sequence numbers, in the order the EXPUNGE responses must be sent
	Vanished []imap.UID // the same messages' UIDs, ascending (for RFC 7162 VANISHED)
	Exists   bool       // send EXISTS (and RECENT)
	Flags    []uint32   // sequence numbers whose FLAGS changed (after the expunges above)
}

// Apply folds a change feed into the view: updated (and new) messages in UID
// order, expunged UIDs, and the feed's mod-sequence. When allowExpunge is
// false (during FETCH, STORE and SEARCH, RFC 3501 7.4.1) expunged messages
// stay as ghosts. New messages are those with a UID above the view's last
// one.
func (v *View) Apply(updated []Entry, expunged []imap.UID, modseq uint64, allowExpunge bool) Update {
	var u Update
	for _, uid := range expunged {
		if v.SeqOf(uid) != 0 {
			v.ghosts[uid] = true
		}
	}
	if allowExpunge {
		u.Expunged, u.Vanished = v.flushGhosts()
	}
	last := v.MaxUID()
	for _, e := range updated {
		if e.UID > last {
			v.entries = append(v.entries, e)
			last = e.UID
			u.Exists = true
			continue
		}
		seq := v.SeqOf(e.UID)
		if seq == 0 || v.ghosts[e.UID] {
			continue
		}
		cur := &v.entries[seq-1]
		if e.ModSeq <= cur.ModSeq {
			continue // this session already knows (its own change)
		}
		changed := !imap.SameFlags(cur.Flags, e.Flags)
		cur.Flags, cur.ModSeq = e.Flags, e.ModSeq
		if changed {
			u.Flags = append(u.Flags, seq)
		}
	}
	if modseq > v.ModSeq {
		v.ModSeq = modseq
	}
	return u
}

// flushGhosts removes ghosts from the view and returns the EXPUNGE sequence
// numbers to send, each valid at the moment it is sent (highest first, so
// that no number shifts before it is reported).
func (v *View) flushGhosts() ([]uint32, []imap.UID) {
	if len(v.ghosts) == 0 {
		return nil, nil
	}
	var seqs []uint32
	var uids []imap.UID
	for i := len(v.entries) - 1; i >= 0; i-- {
		if v.ghosts[v.entries[i].UID] {
			seqs = append(seqs, uint32(i+1))
			uids = append(uids, v.entries[i].UID)
		}
	}
	v.removeUIDs(v.ghosts)
	v.ghosts = map[imap.UID]bool{}
	for i, j := 0, len(uids)-1; i < j; i, j = i+1, j-1 {
		uids[i], uids[j] = uids[j], uids[i]
	}
	return seqs, uids
}

// Expunge removes messages this session expunged itself and returns the
// EXPUNGE sequence numbers to send (highest first) and the UIDs removed
// (ascending). Pending ghosts are flushed too.
func (v *View) Expunge(uids []imap.UID) ([]uint32, []imap.UID) {
	for _, uid := range uids {
		if v.SeqOf(uid) != 0 {
			v.ghosts[uid] = true
		}
	}
	return v.flushGhosts()
}

func (v *View) removeUIDs(gone map[imap.UID]bool) {
	kept := v.entries[:0]
	for _, e := range v.entries {
		if gone[e.UID] {
			continue
		}
		kept = append(kept, e)
	}
	v.entries = kept
}

// SetFlags records flags this session itself changed (their new
// mod-sequence, so the change feed does not report them back).
func (v *View) SetFlags(uid imap.UID, flags []string, modseq uint64) (seq uint32) {
	seq = v.SeqOf(uid)
	if seq != 0 {
		e := &v.entries[seq-1]
		e.Flags, e.ModSeq = flags, modseq
	}
	return seq
}
