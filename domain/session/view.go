// Package session holds the state of one IMAP session that the protocol
// defines: the state machine and the view a session has of its selected
// mailbox (sequence numbers, the flags it has been told, the expunges and
// changes it still owes the client, and which messages are \Recent to it).
// It is pure: the app feeds it what the store reports.
package session

import (
	"slices"

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
// number n is the n-th message. Messages expunged by others stay in the view
// (as "ghosts") until the client may be told, so sequence numbers never
// shift under a command that forbids EXPUNGE responses.
//
// A session keeps its view while idle, so the view is compact: 16 bytes a
// message (UID, mod-sequence, and the number of its flag set in a table of
// the distinct sets the view met, which few mailboxes have many of).
type View struct {
	uids    []imap.UID
	modseqs []uint64
	flags   []uint32   // index in sets
	sets    [][]string // distinct flag sets
	setIDs  map[string]uint32
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
	v := &View{
		uids:    make([]imap.UID, 0, len(entries)),
		modseqs: make([]uint64, 0, len(entries)),
		flags:   make([]uint32, 0, len(entries)),
		ghosts:  map[imap.UID]bool{},
		ModSeq:  modseq,
	}
	for _, e := range entries {
		v.add(e)
	}
	return v
}

// add appends a message.
func (v *View) add(e Entry) {
	v.uids = append(v.uids, e.UID)
	v.modseqs = append(v.modseqs, e.ModSeq)
	v.flags = append(v.flags, v.setID(e.Flags))
}

// setID returns the number of a flag set, adding it to the table when new.
// Sets are told apart by their flags in order, as the client is shown them.
func (v *View) setID(flags []string) uint32 {
	if v.setIDs == nil {
		v.setIDs = map[string]uint32{}
	}
	var key []byte
	var buf [128]byte
	key = buf[:0]
	for i, f := range flags {
		if i > 0 {
			key = append(key, ' ') // no flag holds a space
		}
		key = append(key, f...)
	}
	if id, ok := v.setIDs[string(key)]; ok {
		return id
	}
	id := uint32(len(v.sets))
	v.sets = append(v.sets, flags)
	v.setIDs[string(key)] = id
	return id
}

// Len is the number of messages the client knows of (EXISTS).
func (v *View) Len() uint32 { return uint32(len(v.uids)) }

// Entry returns the message with sequence number seq (1-based). Its Flags
// are shared with the view: the caller must not change them.
func (v *View) Entry(seq uint32) Entry {
	i := seq - 1
	return Entry{UID: v.uids[i], Flags: v.sets[v.flags[i]], ModSeq: v.modseqs[i]}
}

// UID returns the UID of the message with sequence number seq (1-based).
func (v *View) UID(seq uint32) imap.UID { return v.uids[seq-1] }

// MaxUID is the UID of the last message, 0 when empty.
func (v *View) MaxUID() imap.UID {
	if len(v.uids) == 0 {
		return 0
	}
	return v.uids[len(v.uids)-1]
}

// SeqOf returns the sequence number of uid, 0 when not in the view.
func (v *View) SeqOf(uid imap.UID) uint32 {
	i, found := slices.BinarySearch(v.uids, uid)
	if found {
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
	for _, uid := range v.uids {
		if v.IsRecent(uid) {
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
	for i, uid := range v.uids {
		for _, r := range bounds {
			if uint32(uid) >= r.Start && uint32(uid) <= r.Stop {
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
			v.add(e)
			last = e.UID
			u.Exists = true
			continue
		}
		seq := v.SeqOf(e.UID)
		if seq == 0 || v.ghosts[e.UID] {
			continue
		}
		i := seq - 1
		if e.ModSeq <= v.modseqs[i] {
			continue // this session already knows (its own change)
		}
		changed := !imap.SameFlags(v.sets[v.flags[i]], e.Flags)
		v.flags[i], v.modseqs[i] = v.setID(e.Flags), e.ModSeq
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
	for i := len(v.uids) - 1; i >= 0; i-- {
		if v.ghosts[v.uids[i]] {
			seqs = append(seqs, uint32(i+1))
			uids = append(uids, v.uids[i])
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
	k := 0
	for i, uid := range v.uids {
		if gone[uid] {
			continue
		}
		v.uids[k], v.modseqs[k], v.flags[k] = uid, v.modseqs[i], v.flags[i]
		k++
	}
	v.uids, v.modseqs, v.flags = v.uids[:k], v.modseqs[:k], v.flags[:k]
}

// SetFlags records flags this session itself changed (their new
// mod-sequence, so the change feed does not report them back).
func (v *View) SetFlags(uid imap.UID, flags []string, modseq uint64) (seq uint32) {
	seq = v.SeqOf(uid)
	if seq != 0 {
		v.flags[seq-1], v.modseqs[seq-1] = v.setID(flags), modseq
	}
	return seq
}
