package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// keywordsUpTo returns n distinct keywords.
func keywordsUpTo(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("$kw%03d", i)
	}
	return out
}

// testKeywordLimit: a mailbox holds at most imap.MaxKeywords keywords. A
// change that would add more fails with imap.ErrLimit and changes nothing;
// keywords in use can always be set; a keyword no message has any more
// frees its place.
func testKeywordLimit(t *testing.T, e *env) {
	e.user("u")
	e.create("u", "other")
	full := keywordsUpTo(imap.MaxKeywords)
	a := e.append("u", "INBOX", "a\r\n", full[:imap.MaxKeywords/2]...)
	b := e.append("u", "INBOX", "b\r\n")
	e.setFlags("u", "INBOX", ports.FlagsAdd, full, a.UID) // exactly at the limit

	// unchanged fails the test if INBOX moved from what it was here.
	st0, metas0 := e.snapshot("u", "INBOX")
	unchanged := func(what string) {
		t.Helper()
		st, metas := e.snapshot("u", "INBOX")
		if st != st0 || fmt.Sprint(metas) != fmt.Sprint(metas0) {
			t.Errorf("%s changed INBOX: %+v %v, was %+v %v", what, st, metas, st0, metas0)
		}
	}
	other := e.handle() // another process sees the same limit
	for _, op := range []ports.FlagOp{ports.FlagsAdd, ports.FlagsReplace} {
		_, err := e.s.UpdateFlags(e.ctx, "u", "INBOX", []imap.UID{b.UID}, op, []string{`\Seen`, "$new"})
		wantKind(t, fmt.Sprintf("UpdateFlags(%v) of a new keyword at the limit", op), err, imap.ErrLimit)
		unchanged("a refused UpdateFlags")
		_, _, err = other.UpdateFlagsIf(e.ctx, "u", "INBOX", []imap.UID{a.UID, b.UID}, op, []string{"$new"}, st0.HighestModSeq)
		wantKind(t, fmt.Sprintf("UpdateFlagsIf(%v) of a new keyword at the limit", op), err, imap.ErrLimit)
		unchanged("a refused UpdateFlagsIf")
	}
	_, err := e.s.Append(e.ctx, "u", "INBOX", newMessage("c\r\n", full[0], "$new"))
	wantKind(t, "Append with a new keyword at the limit", err, imap.ErrLimit)
	_, err = e.s.AppendAll(e.ctx, "u", "INBOX", []ports.NewMessage{newMessage("d\r\n", full[1]), newMessage("e\r\n", "$new")})
	wantKind(t, "AppendAll with a new keyword at the limit", err, imap.ErrLimit)
	unchanged("a refused Append")
	f := e.append("u", "other", "f\r\n", "$foreign", full[2])
	_, err = e.s.Copy(e.ctx, "u", "other", []imap.UID{f.UID}, "INBOX")
	wantKind(t, "Copy bringing a new keyword at the limit", err, imap.ErrLimit)
	_, err = e.s.Move(e.ctx, "u", "other", []imap.UID{f.UID}, "INBOX")
	wantKind(t, "Move bringing a new keyword at the limit", err, imap.ErrLimit)
	unchanged("a refused Copy or Move")
	if st := e.status("u", "other"); st.Messages != 1 {
		t.Errorf("a refused Move took the message from its source: %+v", st)
	}

	// Keywords in use can be set, in any case, on any message, by any means.
	upper := strings.ToUpper(full[3])
	metas := e.setFlags("u", "INBOX", ports.FlagsAdd, []string{upper, full[4]}, b.UID)
	if len(metas) != 1 || len(metas[0].Flags) != 2 {
		t.Errorf("UpdateFlags of keywords in use at the limit = %+v", metas)
	}
	e.append("u", "INBOX", "g\r\n", full[5], `\Seen`)
	g := e.append("u", "other", "g\r\n", full[6])
	if _, err := e.s.Copy(e.ctx, "u", "other", []imap.UID{g.UID}, "INBOX"); err != nil {
		t.Errorf("Copy of a message with keywords in use at the limit: %v", err)
	}
	if _, err := e.s.Copy(e.ctx, "u", "INBOX", []imap.UID{a.UID}, "INBOX"); err != nil {
		t.Errorf("Copy within the mailbox at the limit: %v", err)
	}

	// Once no message has a keyword, its place is free again.
	_, metas = e.snapshot("u", "INBOX")
	e.setFlags("u", "INBOX", ports.FlagsRemove, []string{full[0]}, uidsOf(metas)...)
	e.setFlags("u", "INBOX", ports.FlagsAdd, []string{"$new"}, b.UID)
	_, err = e.s.UpdateFlags(e.ctx, "u", "INBOX", []imap.UID{b.UID}, ports.FlagsAdd, []string{full[0]})
	wantKind(t, "UpdateFlags of a freed keyword once its place is taken", err, imap.ErrLimit)

	// One command that brings more than the limit at once into an empty
	// mailbox stores nothing either.
	e.create("u", "empty")
	_, err = e.s.Append(e.ctx, "u", "empty", newMessage("h\r\n", keywordsUpTo(imap.MaxKeywords+1)...))
	wantKind(t, "Append of a message with too many keywords", err, imap.ErrLimit)
	if st := e.status("u", "empty"); st.Messages != 0 || st.UIDNext != 1 {
		t.Errorf("a refused Append changed the mailbox: %+v", st)
	}
}

// testKeywordLimitRace: with one place left, two handles (two processes)
// adding a different new keyword at once: exactly one of them succeeds.
func testKeywordLimitRace(t *testing.T, e *env) {
	e.user("u")
	full := keywordsUpTo(imap.MaxKeywords + 1)
	a := e.append("u", "INBOX", "a\r\n", full[:imap.MaxKeywords-1]...)
	handles := []ports.Store{e.s, e.handle()}
	errs := make(chan error, len(handles))
	for i, s := range handles {
		go func() {
			_, err := s.UpdateFlags(e.ctx, "u", "INBOX", []imap.UID{a.UID}, ports.FlagsAdd, []string{full[imap.MaxKeywords-1+i]})
			errs <- err
		}()
	}
	refused := 0
	for range handles {
		switch err := <-errs; {
		case errors.Is(err, imap.ErrLimit):
			refused++
		case err != nil:
			t.Errorf("UpdateFlags: %v", err)
		}
	}
	_, metas := e.snapshot("u", "INBOX")
	if refused != 1 || len(metas) != 1 || len(metas[0].Flags) != imap.MaxKeywords {
		t.Errorf("%d of two refused; the message has %d keywords, want one refused and %d", refused, len(metas[0].Flags), imap.MaxKeywords)
	}
}
