package e2e

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// perMsgCalls is a store that notes the lower bound of each read of the
// records it keeps per message (and offers no other optional interface
// than the saved lists and those records).
type perMsgCalls struct {
	ports.Store
	ports.SortRecords
	perMsg ports.MessageSortRecords

	mu    sync.Mutex
	froms []imap.UID
}

func (p *perMsgCalls) MessageSortRecords(ctx context.Context, user, name string, from imap.UID) (uint32, []imap.UID, [][]byte, error) {
	p.mu.Lock()
	p.froms = append(p.froms, from)
	p.mu.Unlock()
	return p.perMsg.MessageSortRecords(ctx, user, name, from)
}

func (p *perMsgCalls) calls() []imap.UID {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.froms)
}

// TestSortRecordsListFirst: a process reads the mailbox's saved list
// first, and the records kept per message only of the messages that
// arrived since the list was saved; the first SORT of a mailbox whose
// records are all kept per message saves them as its list, so that the
// next process already reads the list alone.
func TestSortRecordsListFirst(t *testing.T) {
	e := newEnv(t)
	p := &perMsgCalls{Store: e.store, SortRecords: e.store.(ports.SortRecords), perMsg: e.store.(ports.MessageSortRecords)}
	e.store = p
	e = e.restarted()
	tc := sortMailboxOn(e) // UIDs 2:6, each with its record
	tc.ok("a1 SORT (SUBJECT) UTF-8 ALL")
	tc.mustHave("* SORT 2 4 1 3 5")
	if got := p.calls(); !slices.Equal(got, []imap.UID{0}) {
		t.Errorf("first process read the records per message from %v, want [0] (no list yet)", got)
	}
	if uids, _ := storedSortRecords(t, e, []imap.UID{2, 3, 4, 5, 6}); !slices.Equal(uids, []imap.UID{2, 3, 4, 5, 6}) {
		t.Errorf("list saved of UIDs %v, want 2:6", uids)
	}

	// A message arrives: a new process reads the list, then the record
	// of UID 7 only.
	tc.ok(`a2 APPEND INBOX "06-Feb-2024 10:00:00 +0000" ` + literal(sortMail("Re: apple", "gil@x.example", "", "",
		"Tue, 2 Jan 2024 10:00:00 +0000", "<a3@x>", "", 5)))
	for _, cmd := range []struct{ cmd, want string }{
		{"b2 SORT (SUBJECT) UTF-8 ALL", "* SORT 2 4 6 1 3 5"},
		{"b2 THREAD REFERENCES UTF-8 ALL", "* THREAD (5)(2 (6)(4))(3 1)"},
	} {
		tc2 := e.restarted().rawLogin("alice")
		tc2.ok("b1 SELECT INBOX")
		tc2.ok(cmd.cmd)
		tc2.mustHave(cmd.want)
	}
	if got := p.calls(); !slices.Equal(got, []imap.UID{0, 7, 7}) {
		t.Errorf("read the records per message from %v, want [0 7 7]", got)
	}

	// Nothing new: the list alone answers.
	tc.ok("a3 STORE 6 +FLAGS (\\Deleted)")
	tc.ok("a4 EXPUNGE")
	tc3 := e.restarted().rawLogin("alice")
	tc3.ok("c1 SELECT INBOX")
	tc3.ok("c2 SORT (SUBJECT) UTF-8 ALL")
	tc3.mustHave("* SORT 2 4 1 3 5")
	if got := p.calls(); len(got) != 3 {
		t.Errorf("read the records per message from %v, want [0 7 7]", got)
	}
}
