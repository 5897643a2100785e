package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/domain/search"
	"github.com/imapd-go/imapd/ports"
)

// RunTextIndex checks the promises of ports.TextIndex against a store
// that implements it (it skips one that does not, or whose index cannot
// answer): the candidates of a query hold every message of the mailbox
// that matches it and no UID the mailbox does not hold, after APPEND,
// EXPUNGE, COPY, MOVE, RENAME and a mailbox deleted and made again; and
// once BuildTextIndex has run, a string no message holds has no
// candidate.
func RunTextIndex(t *testing.T, open Opener) {
	e := &env{t: t, open: open, dir: t.TempDir(), ctx: context.Background()}
	e.s = e.handle()
	ti, ok := e.s.(ports.TextIndex)
	if !ok {
		t.Skip("the store keeps no full-text index")
	}
	e.user("u")
	if _, ok, err := ti.TextCandidates(e.ctx, "u", "INBOX", textQuery(t, Key(search.OpBody, "", "anything"))); err != nil || !ok {
		if err != nil {
			t.Fatal(err)
		}
		t.Skip("the store's index cannot answer (FTS5 not built in)")
	}
	e.create("u", "dest", "other")
	msgs := []string{
		"From: Carol Jones <carol@example.net>\r\nTo: bob@example.org\r\nSubject: Quarterly report\r\nX-Foo: frobnicate 7\r\n\r\nWe meet in Zanzibar.\r\n",
		"From: =?UTF-8?Q?J=C3=B6rg?= <j@x.example>\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n\r\nKöln\r\n",
		"From: dave@example.org\r\nSubject: lunch\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nWmFuemliYXIgYWdhaW4=\r\n",
		"From: erin@example.org\r\nSubject: pictures\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: image/png\r\n\r\nzanzibar in binary\r\n--b--\r\n",
	}
	var uids []imap.UID
	for _, m := range msgs {
		r, err := e.s.Append(e.ctx, "u", "INBOX", RealMessage(t, m))
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, r.UID)
	}
	keys := []search.Key{
		Key(search.OpHeader, "Subject", "quarterly"),
		Key(search.OpHeader, "From", "carol jones <carol@"),
		Key(search.OpHeader, "From", "jörg"),
		Key(search.OpHeader, "Subject", "GRÜSSE"),
		Key(search.OpHeader, "Subject", "grüße"),
		Key(search.OpHeader, "X-Foo", "frobnicate"),
		Key(search.OpBody, "", "zanzibar"),
		Key(search.OpText, "", "zanzibar"),
		Key(search.OpText, "", "lunch"),
		Key(search.OpBody, "", "köln"),
		{Op: search.OpOr, Sub: []search.Key{Key(search.OpBody, "", "köln"), Key(search.OpHeader, "Subject", "lunch")}},
		{Op: search.OpAnd, Sub: []search.Key{Key(search.OpBody, "", "zanzibar"), Key(search.OpHeader, "From", "dave")}},
	}
	check := func(when, box string) {
		t.Helper()
		for _, k := range keys {
			CheckCandidates(t, e.s, "u", box, k, when)
		}
	}
	check("after APPEND", "INBOX")

	e.setFlags("u", "INBOX", ports.FlagsAdd, []string{`\Deleted`}, uids[0])
	if _, err := e.s.Expunge(e.ctx, "u", "INBOX", nil); err != nil {
		t.Fatal(err)
	}
	check("after EXPUNGE", "INBOX")

	if _, err := e.s.Copy(e.ctx, "u", "INBOX", uids[1:], "dest"); err != nil {
		t.Fatal(err)
	}
	check("after COPY, in the source", "INBOX")
	check("after COPY, in the destination", "dest")
	if _, err := e.s.Move(e.ctx, "u", "dest", uids[2:3], "other"); err != nil {
		t.Fatal(err)
	}
	check("after MOVE, in the source", "dest")
	check("after MOVE, in the destination", "other")
	if err := e.s.RenameMailbox(e.ctx, "u", "other", "renamed"); err != nil {
		t.Fatal(err)
	}
	check("after RENAME", "renamed")
	if err := e.s.DeleteMailbox(e.ctx, "u", "dest"); err != nil {
		t.Fatal(err)
	}
	e.create("u", "dest")
	if _, err := e.s.Append(e.ctx, "u", "dest", RealMessage(t, "Subject: plain\r\n\r\nnothing here\r\n")); err != nil {
		t.Fatal(err)
	}
	check("in a mailbox deleted and made again", "dest")

	if err := ti.BuildTextIndex(e.ctx, "u", false, nil); err != nil {
		t.Fatal(err)
	}
	for _, box := range []string{"INBOX", "dest", "renamed"} {
		got, _, err := ti.TextCandidates(e.ctx, "u", box, textQuery(t, Key(search.OpText, "", "qzxjvw")))
		if err != nil || len(got) != 0 {
			t.Errorf("%s after BuildTextIndex: candidates of a string no message holds = %v, %v", box, got, err)
		}
	}
	var calls, last int
	if err := ti.BuildTextIndex(e.ctx, "u", true, func(done, total int) { calls, last = calls+1, total }); err != nil {
		t.Fatal(err)
	}
	if calls == 0 || last == 0 {
		t.Errorf("BuildTextIndex rebuild: %d progress calls, total %d", calls, last)
	}
	check("after a rebuild", "INBOX")
	if _, _, err := ti.TextCandidates(e.ctx, "u", "missing", textQuery(t, Key(search.OpBody, "", "zanzibar"))); err == nil {
		t.Error("TextCandidates of a missing mailbox: no error")
	}

	// IndexMailbox, as the server calls it after each write, leaves the
	// candidates exact; it is idempotent, and a missing mailbox is
	// imap.ErrNonexistent.
	if _, err := e.s.Append(e.ctx, "u", "INBOX", RealMessage(t, "Subject: late\r\n\r\nZanzibar at last\r\n")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := ti.IndexMailbox(e.ctx, "u", "INBOX"); err != nil {
			t.Fatalf("IndexMailbox: %v", err)
		}
	}
	check("after IndexMailbox", "INBOX")
	if err := ti.IndexMailbox(e.ctx, "u", "missing"); !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("IndexMailbox of a missing mailbox = %v, want imap.ErrNonexistent", err)
	}
}

// Key is a search key on a field or a string.
func Key(op search.Op, field, value string) search.Key {
	return search.Key{Op: op, Field: field, Value: value}
}

func textQuery(t testing.TB, k search.Key) search.TextQuery {
	t.Helper()
	q, ok := search.Narrowing(k)
	if !ok {
		t.Fatalf("%+v does not narrow", k)
	}
	return q
}

// RealMessage is a message to append with its real structure, as the
// server computes it, so that an index can read its text.
func RealMessage(t testing.TB, raw string) ports.NewMessage {
	t.Helper()
	st, err := message.Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return ports.NewMessage{InternalDate: date, Size: int64(len(raw)), Body: strings.NewReader(raw), Structure: b}
}

// CheckCandidates checks TextCandidates for k on the mailbox: a superset
// of the messages k matches, all of them held by the mailbox.
func CheckCandidates(t testing.TB, s ports.Store, user, box string, k search.Key, when string) {
	t.Helper()
	ctx := context.Background()
	ti := s.(ports.TextIndex)
	q := textQuery(t, k)
	cands, ok, err := ti.TextCandidates(ctx, user, box, q)
	if err != nil || !ok {
		t.Fatalf("%s: TextCandidates(%s, %+v) = %v, %v", when, box, q, ok, err)
	}
	if !slices.IsSorted(cands) {
		t.Errorf("%s: candidates %v not ascending", when, cands)
	}
	_, metas, err := s.Snapshot(ctx, user, box)
	if err != nil {
		t.Fatal(err)
	}
	held := map[imap.UID]bool{}
	for _, m := range metas {
		held[m.UID] = true
	}
	for _, u := range cands {
		if !held[u] {
			t.Errorf("%s: %s: candidate %d of %+v is not in the mailbox", when, box, u, k)
		}
	}
	matches, err := exactMatches(ctx, s, user, box, k)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range matches {
		if _, found := slices.BinarySearch(cands, u); !found {
			t.Errorf("%s: %s: UID %d matches %+v but is no candidate (candidates %v)", when, box, u, k, cands)
		}
	}
	checkCandidateRecords(t, s, user, box, q, cands, when)
}

// checkCandidateRecords checks, of a store that returns them, that the
// candidates' records are those of the candidates, as Fetch returns them.
func checkCandidateRecords(t testing.TB, s ports.Store, user, box string, q search.TextQuery, cands []imap.UID, when string) {
	t.Helper()
	tr, ok := s.(ports.TextRecords)
	if !ok {
		return
	}
	ctx := context.Background()
	recs, ok, err := tr.TextCandidateRecords(ctx, user, box, q)
	if err != nil || !ok {
		t.Fatalf("%s: TextCandidateRecords(%s, %+v) = %v, %v", when, box, q, ok, err)
	}
	got := make([]imap.UID, len(recs))
	for i := range recs {
		got[i] = recs[i].UID
	}
	if !slices.Equal(got, cands) {
		t.Fatalf("%s: %s: TextCandidateRecords names %v, TextCandidates %v", when, box, got, cands)
	}
	want, err := s.Fetch(ctx, user, box, cands)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		g, w := recs[i], want[i]
		if g.UID != w.UID || g.ModSeq != w.ModSeq || !slices.Equal(g.Flags, w.Flags) || !g.InternalDate.Equal(w.InternalDate) ||
			g.InternalDate.Format(time.RFC3339) != w.InternalDate.Format(time.RFC3339) || g.Size != w.Size ||
			!g.SaveDate.Equal(w.SaveDate) || !bytes.Equal(g.Structure, w.Structure) {
			t.Errorf("%s: %s: TextCandidateRecords' record %+v, Fetch's %+v", when, box, g, w)
		}
	}
	if _, _, err := tr.TextCandidateRecords(ctx, user, "missing", q); !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("TextCandidateRecords of a missing mailbox = %v, want imap.ErrNonexistent", err)
	}
}

// exactMatches evaluates k on every message of the mailbox, as SEARCH
// without an index does.
func exactMatches(ctx context.Context, s ports.Store, user, box string, k search.Key) ([]imap.UID, error) {
	_, metas, err := s.Snapshot(ctx, user, box)
	if err != nil {
		return nil, err
	}
	recs, err := s.Fetch(ctx, user, box, uidsOf(metas))
	if err != nil {
		return nil, err
	}
	var out []imap.UID
	for _, r := range recs {
		st, err := message.Unmarshal(r.Structure)
		if err != nil {
			continue // not a message's structure: nothing to match
		}
		b, err := s.Open(ctx, user, box, r.UID)
		if err != nil {
			return nil, err
		}
		ok, err := search.Match(search.Context{}, k, &search.Message{UID: r.UID, Structure: st, Raw: b, Size: r.Size})
		b.Close()
		if err != nil {
			return nil, fmt.Errorf("UID %d: %w", r.UID, err)
		}
		if ok {
			out = append(out, r.UID)
		}
	}
	return out, nil
}

// checkCrashIndex checks, after the crash tests, that the index of a store
// that keeps one names every stored message its subject search matches.
func checkCrashIndex(t *testing.T, s ports.Store, metas []ports.MessageMeta) {
	if _, ok := s.(ports.TextIndex); !ok {
		return
	}
	ctx := context.Background()
	if _, ok, err := s.(ports.TextIndex).TextCandidates(ctx, childUser, childBox, textQuery(t, Key(search.OpBody, "", "xyz"))); err != nil || !ok {
		return
	}
	for i, m := range metas {
		if i%3 != 0 {
			continue // a third of them is plenty
		}
		b, err := s.Open(ctx, childUser, childBox, m.UID)
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, 40)
		n, _ := b.ReadAt(head, 0)
		b.Close()
		subject, _, _ := strings.Cut(strings.TrimPrefix(string(head[:n]), "Subject: "), "\r\n")
		CheckCandidates(t, s, childUser, childBox, Key(search.OpHeader, "Subject", subject), "after the crashes")
	}
}
