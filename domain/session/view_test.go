package session

import (
	"reflect"
	"slices"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
)

func view(uids ...imap.UID) *View {
	var es []Entry
	for _, u := range uids {
		es = append(es, Entry{UID: u, ModSeq: 1})
	}
	return NewView(es, 1)
}

func TestSeqsAndUIDs(t *testing.T) {
	v := view(3, 5, 9)
	seqs, ok := v.Seqs(imap.NumSet{{Start: 2, Stop: 0}})
	if !ok || !reflect.DeepEqual(seqs, []uint32{2, 3}) {
		t.Fatalf("Seqs = %v %v", seqs, ok)
	}
	if _, ok := v.Seqs(imap.NumSet{{Start: 4, Stop: 4}}); ok {
		t.Fatal("sequence number 4 of 3 must be refused")
	}
	if _, ok := view().Seqs(imap.NumSet{{Start: 0, Stop: 0}}); ok {
		t.Fatal("* on an empty mailbox must be refused")
	}
	if got := v.UIDSeqs(imap.NumSet{{Start: 4, Stop: 9}}); !reflect.DeepEqual(got, []uint32{2, 3}) {
		t.Fatalf("UIDSeqs = %v", got)
	}
	// RFC 3501 6.4.8: "n:*" with n above the largest UID names the last message.
	if got := v.UIDSeqs(imap.NumSet{{Start: 100, Stop: 0}}); !reflect.DeepEqual(got, []uint32{3}) {
		t.Fatalf("UIDSeqs(100:*) = %v", got)
	}
}

func TestApplyDefersExpunges(t *testing.T) {
	v := view(1, 2, 3, 4)
	up := v.Apply(nil, []imap.UID{2, 4}, 5, false)
	if len(up.Expunged) != 0 || v.Len() != 4 || !v.IsGhost(2) {
		t.Fatalf("expunges must wait: %+v len=%d", up, v.Len())
	}
	up = v.Apply([]Entry{{UID: 7, ModSeq: 6}}, nil, 6, true)
	// Highest first, so no number shifts before it is sent: 4 then 2.
	if !reflect.DeepEqual(up.Expunged, []uint32{4, 2}) || !up.Exists || v.Len() != 3 {
		t.Fatalf("got %+v len=%d", up, v.Len())
	}
	if v.SeqOf(7) != 3 || v.SeqOf(3) != 2 {
		t.Fatal("sequence numbers wrong after expunge")
	}
}

func TestApplyFlagsSkipsOwnChanges(t *testing.T) {
	v := view(1, 2)
	v.SetFlags(1, []string{imap.FlagSeen}, 10)
	up := v.Apply([]Entry{{UID: 1, Flags: []string{imap.FlagSeen}, ModSeq: 10}, {UID: 2, Flags: []string{"$Junk"}, ModSeq: 11}}, nil, 11, true)
	if !reflect.DeepEqual(up.Flags, []uint32{2}) {
		t.Fatalf("Flags = %v", up.Flags)
	}
	if v.ModSeq != 11 {
		t.Fatalf("ModSeq = %d", v.ModSeq)
	}
}

func TestRecent(t *testing.T) {
	v := view(1, 2, 3)
	v.AddRecent(2, 4)
	if v.IsRecent(1) || !v.IsRecent(2) || !v.IsRecent(3) || v.RecentCount() != 2 {
		t.Fatal("recent range")
	}
	if seqs, uids := v.Expunge([]imap.UID{3}); !reflect.DeepEqual(seqs, []uint32{3}) || !reflect.DeepEqual(uids, []imap.UID{3}) {
		t.Fatalf("Expunge = %v %v", seqs, uids)
	}
	if v.RecentCount() != 1 {
		t.Fatalf("RecentCount = %d", v.RecentCount())
	}
}

// The view is kept by every idle session: a flag set shared by many
// messages is stored once, and changing one message's flags leaves the
// others' alone.
func TestViewSharesFlagSets(t *testing.T) {
	var es []Entry
	for u := imap.UID(1); u <= 1000; u++ {
		flags := []string{imap.FlagSeen}
		if u%2 == 0 {
			flags = []string{imap.FlagSeen, "$Junk"}
		}
		es = append(es, Entry{UID: u, Flags: flags, ModSeq: 1})
	}
	v := NewView(es, 1)
	if len(v.sets) != 2 {
		t.Fatalf("%d flag sets kept for two distinct ones", len(v.sets))
	}
	v.SetFlags(3, []string{imap.FlagSeen, imap.FlagFlagged}, 2)
	up := v.Apply([]Entry{{UID: 5, Flags: nil, ModSeq: 3}}, nil, 3, true)
	if len(up.Flags) != 1 || up.Flags[0] != 5 {
		t.Fatalf("Apply reported flag changes at %v, want [5]", up.Flags)
	}
	for seq, want := range map[uint32][]string{
		1: {imap.FlagSeen}, 2: {imap.FlagSeen, "$Junk"}, 3: {imap.FlagSeen, imap.FlagFlagged},
		5: nil, 7: {imap.FlagSeen},
	} {
		if e := v.Entry(seq); !slices.Equal(e.Flags, want) || e.UID != imap.UID(seq) {
			t.Errorf("message %d: UID %d flags %v, want %v", seq, e.UID, e.Flags, want)
		}
	}
	if e := v.Entry(3); e.ModSeq != 2 {
		t.Errorf("message 3: mod-sequence %d, want 2", e.ModSeq)
	}
	if len(v.sets) != 4 {
		t.Errorf("%d flag sets, want 4", len(v.sets))
	}
}
