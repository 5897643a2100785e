package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// appendMsg appends msg through the client and returns its UID.
func appendMsg(t *testing.T, c *imapclient.Client, mailbox, msg string, opts *imap.AppendOptions) imap.UID {
	t.Helper()
	cmd := c.Append(mailbox, int64(len(msg)), opts)
	if _, err := cmd.Write([]byte(msg)); err != nil {
		t.Fatalf("APPEND write: %v", err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatalf("APPEND close: %v", err)
	}
	data, err := cmd.Wait()
	if err != nil {
		t.Fatalf("APPEND: %v", err)
	}
	if data.UID == 0 || data.UIDValidity == 0 {
		t.Fatalf("APPEND: no APPENDUID in %+v", data)
	}
	return data.UID
}

func flagStrings(fs []imap.Flag) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f)
	}
	sort.Strings(out)
	return out
}

func fetchOne(t *testing.T, c *imapclient.Client, seq uint32, opts *imap.FetchOptions) *imapclient.FetchMessageBuffer {
	t.Helper()
	msgs, err := c.Fetch(imap.SeqSetNum(seq), opts).Collect()
	if err != nil {
		t.Fatalf("FETCH %d: %v", seq, err)
	}
	if len(msgs) != 1 {
		t.Fatalf("FETCH %d: %d messages", seq, len(msgs))
	}
	return msgs[0]
}

func TestClientLoginFailsWithWrongPassword(t *testing.T) {
	e := newEnv(t)
	c := e.client(nil)
	if err := c.Login("alice", "wrong").Wait(); err == nil {
		t.Fatal("LOGIN with a wrong password succeeded")
	}
	if err := c.Login("nobody", "secret").Wait(); err == nil {
		t.Fatal("LOGIN of an unknown user succeeded")
	}
	if err := c.Login("alice", "secret").Wait(); err != nil {
		t.Fatalf("LOGIN after failures: %v", err)
	}
	// go-imap's reader goroutine may record the new state just after
	// LOGIN's Wait returns; a NOOP answered after it orders the two.
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if c.State() != imap.ConnStateAuthenticated {
		t.Fatalf("state %v", c.State())
	}
}

func listNames(t *testing.T, c *imapclient.Client, pattern string) []string {
	t.Helper()
	list, err := c.List("", pattern, nil).Collect()
	if err != nil {
		t.Fatalf("LIST %q: %v", pattern, err)
	}
	var names []string
	for _, l := range list {
		names = append(names, l.Mailbox)
		if l.Delim != '/' {
			t.Errorf("LIST %s: delimiter %q", l.Mailbox, l.Delim)
		}
	}
	sort.Strings(names)
	return names
}

func TestClientMailboxes(t *testing.T) {
	e := newEnv(t)
	c := e.login("alice", nil)
	// go-imap sends mailbox names in UTF-8 as soon as the server
	// advertises IMAP4rev2, enabled or not; the server takes UTF-8 names
	// only once UTF8=ACCEPT or IMAP4rev2 is enabled (RFC 6855 3, RFC 9051
	// 5.1), as Cyrus and Dovecot do.
	if _, err := c.Enable(imap.CapUTF8Accept).Wait(); err != nil {
		t.Fatalf("ENABLE UTF8=ACCEPT: %v", err)
	}

	if got := listNames(t, c, "*"); !slices.Equal(got, []string{"INBOX"}) {
		t.Fatalf("LIST * on a new account = %q", got)
	}
	for _, name := range []string{"Work", "Work/Projects", "Archive/2024", "Déjà vu"} {
		if err := c.Create(name, nil).Wait(); err != nil {
			t.Fatalf("CREATE %q: %v", name, err)
		}
	}
	if err := c.Create("Work", nil).Wait(); err == nil {
		t.Fatal("CREATE of an existing mailbox succeeded")
	}
	want := []string{"Archive", "Archive/2024", "Déjà vu", "INBOX", "Work", "Work/Projects"}
	if got := listNames(t, c, "*"); !slices.Equal(got, want) {
		t.Fatalf("LIST * = %q, want %q", got, want)
	}
	if got := listNames(t, c, "%"); !slices.Equal(got, []string{"Archive", "Déjà vu", "INBOX", "Work"}) {
		t.Fatalf("LIST %% = %q", got)
	}
	if got := listNames(t, c, "Work/%"); !slices.Equal(got, []string{"Work/Projects"}) {
		t.Fatalf("LIST Work/%% = %q", got)
	}

	if err := c.Rename("Work", "Job", nil).Wait(); err != nil {
		t.Fatalf("RENAME: %v", err)
	}
	if got := listNames(t, c, "*"); !slices.Equal(got, []string{"Archive", "Archive/2024", "Déjà vu", "INBOX", "Job", "Job/Projects"}) {
		t.Fatalf("LIST * after RENAME = %q (children move with their parent)", got)
	}
	if err := c.Rename("Nosuch", "Other", nil).Wait(); err == nil {
		t.Fatal("RENAME of a missing mailbox succeeded")
	}
	if err := c.Rename("Job", "Archive", nil).Wait(); err == nil {
		t.Fatal("RENAME onto an existing mailbox succeeded")
	}
	if err := c.Delete("Job/Projects").Wait(); err != nil {
		t.Fatalf("DELETE: %v", err)
	}
	if err := c.Delete("Déjà vu").Wait(); err != nil {
		t.Fatalf("DELETE of a non-ASCII name: %v", err)
	}
	if err := c.Delete("Nosuch").Wait(); err == nil {
		t.Fatal("DELETE of a missing mailbox succeeded")
	}
	if err := c.Delete("INBOX").Wait(); err == nil {
		t.Fatal("DELETE INBOX succeeded")
	}
	if got := listNames(t, c, "*"); !slices.Equal(got, []string{"Archive", "Archive/2024", "INBOX", "Job"}) {
		t.Fatalf("LIST * after DELETE = %q", got)
	}

	// Subscriptions, through LSUB (go-imap has no LSUB: raw).
	if err := c.Subscribe("Archive/2024").Wait(); err != nil {
		t.Fatalf("SUBSCRIBE: %v", err)
	}
	if err := c.Subscribe("INBOX").Wait(); err != nil {
		t.Fatalf("SUBSCRIBE: %v", err)
	}
	if err := c.Unsubscribe("INBOX").Wait(); err != nil {
		t.Fatalf("UNSUBSCRIBE: %v", err)
	}
	tc := e.rawLogin("alice")
	tc.ok(`s1 LSUB "" "*"`)
	if len(tc.untagged) != 1 || !tc.has(`* LSUB () "/" Archive/2024`) {
		// RFC 3501 6.3.9: only "%" lists an unsubscribed parent.
		t.Errorf("LSUB * = %q, want only the subscribed Archive/2024", tc.untagged)
	}
	tc.ok(`s2 LSUB "" "%"`)
	if !tc.has(`* LSUB (\Noselect) "/" Archive`) || len(tc.untagged) != 1 {
		t.Errorf("LSUB %% = %q, want the parent as \\Noselect (RFC 3501 6.3.9)", tc.untagged)
	}
	tc.ok("s3 LOGOUT")

	if err := c.Logout().Wait(); err != nil {
		t.Fatalf("LOGOUT: %v", err)
	}
}

func TestClientAppendAndFetchEverything(t *testing.T) {
	e := newEnv(t)
	c := e.login("alice", nil)
	msg := strings.ReplaceAll(`From: Alice <alice@example.com>
To: Bob <bob@example.com>, "Carol C." <carol@example.org>
Subject: Quarterly report
Date: Wed, 5 Jun 2024 09:30:00 +0200
Message-ID: <q2@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Numbers attached.
--b1
Content-Type: application/octet-stream; name="q2.bin"
Content-Transfer-Encoding: base64

AAECAwQFBgcICQ==
--b1--
`, "\n", "\r\n")
	date := time.Date(2024, 6, 5, 10, 11, 12, 0, time.FixedZone("", 2*3600))
	uid := appendMsg(t, c, "INBOX", msg, &imap.AppendOptions{Flags: []imap.Flag{imap.FlagFlagged, "$Report"}, Time: date})

	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatalf("SELECT: %v", err)
	}
	if sel.NumMessages != 1 || sel.UIDNext != uid+1 || sel.UIDValidity == 0 {
		t.Fatalf("SELECT data %+v", sel)
	}
	if !slices.Contains(sel.Flags, "$Report") {
		t.Errorf("FLAGS %q lack the keyword in use", sel.Flags)
	}

	header := msg[:strings.Index(msg, "\r\n\r\n")+4]
	text := msg[len(header):]
	secFull := &imap.FetchItemBodySection{Peek: true}
	secHeader := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	secText := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierText, Peek: true}
	secPartial := &imap.FetchItemBodySection{Peek: true, Partial: &imap.SectionPartial{Offset: 10, Size: 20}}
	sec1MIME := &imap.FetchItemBodySection{Part: []int{1}, Specifier: imap.PartSpecifierMIME, Peek: true}
	sec1 := &imap.FetchItemBodySection{Part: []int{1}, Peek: true}
	secFields := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Subject", "From"}, Peek: true}
	m := fetchOne(t, c, 1, &imap.FetchOptions{
		UID: true, Flags: true, Envelope: true, RFC822Size: true, InternalDate: true,
		BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		BodySection:   []*imap.FetchItemBodySection{secFull, secHeader, secText, secPartial, sec1MIME, sec1, secFields},
	})
	if m.UID != uid {
		t.Errorf("UID %d, want %d", m.UID, uid)
	}
	if got := flagStrings(m.Flags); !slices.Equal(got, []string{"$Report", `\Flagged`, `\Recent`}) {
		t.Errorf("FLAGS %q", got)
	}
	if m.RFC822Size != int64(len(msg)) {
		t.Errorf("RFC822.SIZE %d, want %d", m.RFC822Size, len(msg))
	}
	if !m.InternalDate.Equal(date) {
		t.Errorf("INTERNALDATE %v, want %v", m.InternalDate, date)
	}
	env := m.Envelope
	if env == nil || env.Subject != "Quarterly report" || env.MessageID != "q2@example.com" ||
		len(env.From) != 1 || env.From[0].Addr() != "alice@example.com" || env.From[0].Name != "Alice" ||
		len(env.To) != 2 || env.To[1].Addr() != "carol@example.org" || env.To[1].Name != "Carol C." ||
		len(env.Sender) != 1 || len(env.ReplyTo) != 1 {
		t.Errorf("ENVELOPE %+v", env)
	}
	if env != nil && !env.Date.Equal(time.Date(2024, 6, 5, 7, 30, 0, 0, time.UTC)) {
		t.Errorf("ENVELOPE date %v", env.Date)
	}
	mp, ok := m.BodyStructure.(*imap.BodyStructureMultiPart)
	if !ok || !strings.EqualFold(mp.Subtype, "mixed") || len(mp.Children) != 2 {
		t.Fatalf("BODYSTRUCTURE %#v", m.BodyStructure)
	}
	if p, ok := mp.Children[1].(*imap.BodyStructureSinglePart); !ok || !strings.EqualFold(p.Type, "application") ||
		!strings.EqualFold(p.Encoding, "base64") || p.Size != 16 {
		t.Errorf("BODYSTRUCTURE part 2 %#v", mp.Children[1])
	}
	checks := []struct {
		name string
		sec  *imap.FetchItemBodySection
		want string
	}{
		{"BODY[]", secFull, msg},
		{"BODY[HEADER]", secHeader, header},
		{"BODY[TEXT]", secText, text},
		{"BODY[]<10.20>", secPartial, msg[10:30]},
		{"BODY[1.MIME]", sec1MIME, "Content-Type: text/plain; charset=utf-8\r\n\r\n"},
		{"BODY[1]", sec1, "Numbers attached."},
		{"BODY[HEADER.FIELDS (Subject From)]", secFields, "From: Alice <alice@example.com>\r\nSubject: Quarterly report\r\n\r\n"},
	}
	for _, ck := range checks {
		if got := m.FindBodySection(ck.sec); string(got) != ck.want {
			t.Errorf("%s = %q, want %q", ck.name, got, ck.want)
		}
	}

	// A peek leaves \Seen alone; BODY[] sets it and reports FLAGS.
	if got := flagStrings(fetchOne(t, c, 1, &imap.FetchOptions{Flags: true}).Flags); slices.Contains(got, `\Seen`) {
		t.Fatalf("BODY.PEEK[] set \\Seen: %q", got)
	}
	m = fetchOne(t, c, 1, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierText}}})
	if string(m.FindBodySection(&imap.FetchItemBodySection{Specifier: imap.PartSpecifierText})) != text {
		t.Errorf("BODY[TEXT] differs")
	}
	if got := flagStrings(m.Flags); !slices.Contains(got, `\Seen`) {
		t.Errorf("FETCH BODY[TEXT] did not report \\Seen in FLAGS: %q", got)
	}
	st, err := c.Status("INBOX", &imap.StatusOptions{NumUnseen: true, NumMessages: true}).Wait()
	if err != nil {
		t.Fatalf("STATUS: %v", err)
	}
	if *st.NumUnseen != 0 || *st.NumMessages != 1 {
		t.Errorf("STATUS after BODY[]: unseen %d messages %d", *st.NumUnseen, *st.NumMessages)
	}
}

func TestClientExamineIsReadOnly(t *testing.T) {
	e := newEnv(t)
	c := e.login("alice", nil)
	appendMsg(t, c, "INBOX", testMessage("one", "first"), nil)
	appendMsg(t, c, "INBOX", testMessage("two", "second"), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagDeleted}})

	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatalf("EXAMINE: %v", err)
	}
	m := fetchOne(t, c, 1, &imap.FetchOptions{Flags: true, BodySection: []*imap.FetchItemBodySection{{}}})
	if string(m.FindBodySection(&imap.FetchItemBodySection{})) != testMessage("one", "first") {
		t.Errorf("BODY[] in EXAMINE differs")
	}
	if _, err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Collect(); err == nil {
		t.Error("STORE in EXAMINE succeeded")
	}
	if _, err := c.Expunge().Collect(); err == nil {
		t.Error("EXPUNGE in EXAMINE succeeded")
	}
	if err := c.Unselect().Wait(); err != nil {
		t.Fatalf("UNSELECT: %v", err)
	}
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true, NumUnseen: true}).Wait()
	if err != nil {
		t.Fatalf("STATUS: %v", err)
	}
	if *st.NumMessages != 2 {
		t.Errorf("EXPUNGE in EXAMINE removed messages: %d left", *st.NumMessages)
	}
	if *st.NumUnseen != 2 {
		t.Errorf("FETCH BODY[] in EXAMINE set \\Seen: %d unseen", *st.NumUnseen)
	}
	// CLOSE after EXAMINE must not expunge either (RFC 3501 6.4.2).
	tc := e.rawLogin("alice")
	tc.ok("x1 EXAMINE INBOX")
	if !strings.Contains(tc.run("x2 NOOP"), "OK") {
		t.Fatal("NOOP")
	}
	tc.ok("x3 CLOSE")
	tc.ok("x4 STATUS INBOX (MESSAGES)")
	tc.mustHave(`* STATUS INBOX (MESSAGES 2)`)
}

func TestClientFlagsCopyExpungeSearch(t *testing.T) {
	e := newEnv(t)
	c := e.login("alice", nil)
	if err := c.Create("Saved", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	subjects := []string{"apple pie", "banana split", "cherry tart", "apple crumble"}
	var uids []imap.UID
	for _, s := range subjects {
		uids = append(uids, appendMsg(t, c, "INBOX", testMessage(s, "recipe for "+s), nil))
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}

	store := func(set imap.NumSet, op imap.StoreFlagsOp, flags ...imap.Flag) {
		t.Helper()
		if _, err := c.Store(set, &imap.StoreFlags{Op: op, Flags: flags}, nil).Collect(); err != nil {
			t.Fatalf("STORE: %v", err)
		}
	}
	flagsOf := func(seq uint32) []string {
		t.Helper()
		return flagStrings(fetchOne(t, c, seq, &imap.FetchOptions{Flags: true}).Flags)
	}
	store(imap.SeqSetNum(1, 2), imap.StoreFlagsAdd, imap.FlagFlagged, "Dessert")
	if got := flagsOf(1); !slices.Equal(got, []string{"Dessert", `\Flagged`, `\Recent`}) {
		t.Fatalf("after +FLAGS: %q", got)
	}
	store(imap.SeqSetNum(1), imap.StoreFlagsDel, "Dessert")
	if got := flagsOf(1); !slices.Equal(got, []string{`\Flagged`, `\Recent`}) {
		t.Fatalf("after -FLAGS: %q", got)
	}
	store(imap.SeqSetNum(2), imap.StoreFlagsSet, imap.FlagAnswered, "$Label1")
	if got := flagsOf(2); !slices.Equal(got, []string{"$Label1", `\Answered`, `\Recent`}) {
		t.Fatalf("after FLAGS: %q", got)
	}
	// UID STORE answers with the UID in each FETCH.
	var uset imap.UIDSet
	uset.AddNum(uids[2])
	res, err := c.Store(uset, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}}, nil).Collect()
	if err != nil || len(res) != 1 || res[0].UID != uids[2] {
		t.Fatalf("UID STORE: %v %+v", err, res)
	}

	// Searches.
	searches := []struct {
		name string
		crit imap.SearchCriteria
		want []uint32 // sequence numbers
	}{
		{"all", imap.SearchCriteria{}, []uint32{1, 2, 3, 4}},
		{"flagged", imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}, []uint32{1}},
		{"unseen", imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, []uint32{1, 2, 4}},
		{"keyword", imap.SearchCriteria{Flag: []imap.Flag{"$Label1"}}, []uint32{2}},
		{"subject", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "apple"}}}, []uint32{1, 4}},
		{"body", imap.SearchCriteria{Body: []string{"CHERRY"}}, []uint32{3}},
		{"text", imap.SearchCriteria{Text: []string{"split"}}, []uint32{2}},
		{"and", imap.SearchCriteria{Text: []string{"apple"}, NotFlag: []imap.Flag{imap.FlagFlagged}}, []uint32{4}},
		{"or", imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{{Flag: []imap.Flag{imap.FlagAnswered}}, {Flag: []imap.Flag{imap.FlagSeen}}}}}, []uint32{2, 3}},
		{"not", imap.SearchCriteria{Not: []imap.SearchCriteria{{Text: []string{"apple"}}}}, []uint32{2, 3}},
		{"larger", imap.SearchCriteria{Larger: 1}, []uint32{1, 2, 3, 4}},
		{"smaller", imap.SearchCriteria{Smaller: 10}, nil},
		{"sentsince", imap.SearchCriteria{SentSince: time.Date(2024, 6, 4, 0, 0, 0, 0, time.UTC)}, []uint32{1, 2, 3, 4}},
		{"sentbefore", imap.SearchCriteria{SentBefore: time.Date(2024, 6, 4, 0, 0, 0, 0, time.UTC)}, nil},
		{"seqset", imap.SearchCriteria{SeqNum: []imap.SeqSet{imap.SeqSetNum(2, 3, 4)}, Text: []string{"a"}}, []uint32{2, 3, 4}},
	}
	for _, s := range searches {
		data, err := c.Search(&s.crit, nil).Wait()
		if err != nil {
			t.Errorf("SEARCH %s: %v", s.name, err)
			continue
		}
		if got := data.AllSeqNums(); !slices.Equal(got, s.want) {
			t.Errorf("SEARCH %s = %v, want %v", s.name, got, s.want)
		}
		udata, err := c.UIDSearch(&s.crit, nil).Wait()
		if err != nil {
			t.Errorf("UID SEARCH %s: %v", s.name, err)
			continue
		}
		var wantUIDs []imap.UID
		for _, seq := range s.want {
			wantUIDs = append(wantUIDs, uids[seq-1])
		}
		if got := udata.AllUIDs(); !slices.Equal(got, wantUIDs) {
			t.Errorf("UID SEARCH %s = %v, want %v", s.name, got, wantUIDs)
		}
	}

	// COPY answers COPYUID and keeps the flags.
	cp, err := c.Copy(imap.SeqSetNum(1, 2), "Saved").Wait()
	if err != nil {
		t.Fatalf("COPY: %v", err)
	}
	src, _ := cp.SourceUIDs.Nums()
	dst, _ := cp.DestUIDs.Nums()
	if cp.UIDValidity == 0 || !slices.Equal(src, uids[:2]) || len(dst) != 2 {
		t.Fatalf("COPYUID %+v", cp)
	}
	if _, err := c.Copy(imap.SeqSetNum(1), "Nosuch").Wait(); err == nil || !strings.Contains(err.Error(), "TRYCREATE") {
		t.Errorf("COPY to a missing mailbox: %v, want NO [TRYCREATE]", err)
	}

	// Expunge 1 and 3: the client sees 3 then 1 (or 1 then 2).
	store(imap.SeqSetNum(1, 3), imap.StoreFlagsAdd, imap.FlagDeleted)
	gone, err := c.Expunge().Collect()
	if err != nil {
		t.Fatalf("EXPUNGE: %v", err)
	}
	if len(gone) != 2 || !(gone[0] == 1 && gone[1] == 2 || gone[0] == 3 && gone[1] == 1) {
		t.Fatalf("EXPUNGE responses %v", gone)
	}
	data, err := c.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
	if err != nil || !slices.Equal(data.AllUIDs(), []imap.UID{uids[1], uids[3]}) {
		t.Fatalf("UID SEARCH ALL after EXPUNGE: %v %v", err, data)
	}

	st, err := c.Status("Saved", &imap.StatusOptions{NumMessages: true, UIDNext: true, UIDValidity: true, NumUnseen: true}).Wait()
	if err != nil {
		t.Fatalf("STATUS: %v", err)
	}
	if *st.NumMessages != 2 || st.UIDNext != dst[1]+1 || st.UIDValidity != cp.UIDValidity || *st.NumUnseen != 2 {
		t.Errorf("STATUS Saved %+v", st)
	}
	if _, err := c.Select("Saved", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if got := flagsOf(1); !slices.Contains(got, `\Flagged`) {
		t.Errorf("COPY lost the flags: %q", got)
	}
	if got := flagsOf(2); !slices.Contains(got, "$Label1") || !slices.Contains(got, `\Answered`) {
		t.Errorf("COPY lost the flags: %q", got)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Fatalf("LOGOUT: %v", err)
	}
}

// fixture is the expected FETCH data of one message in test/testdata.
type fixture struct {
	Size          int64  `json:"size"`
	Envelope      string `json:"envelope"`
	BodyStructure string `json:"bodystructure"`
	Body          string `json:"body"`
	Sections      []struct {
		Section string `json:"section"`
		Want    string `json:"want"`
	} `json:"sections"`
}

const fixtureDir = "../testdata/messages"

func TestFixturesThroughTheServer(t *testing.T) {
	emls, err := filepath.Glob(filepath.Join(fixtureDir, "*.eml"))
	if err != nil || len(emls) == 0 {
		t.Fatalf("no fixtures in %s: %v", fixtureDir, err)
	}
	e := newEnv(t)
	c := e.login("alice", nil)
	tc := e.rawLogin("alice")
	tc.ok("f0 SELECT INBOX")
	for i, eml := range emls {
		seq := i + 1
		name := strings.TrimSuffix(filepath.Base(eml), ".eml")
		raw, err := os.ReadFile(eml)
		if err != nil {
			t.Fatal(err)
		}
		js, err := os.ReadFile(strings.TrimSuffix(eml, ".eml") + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var fx fixture
		if err := json.Unmarshal(js, &fx); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		appendMsg(t, c, "INBOX", string(raw), nil)
		tc.ok("f1 NOOP")
		t.Run(name, func(t *testing.T) {
			n := strconv.Itoa(seq)
			tc.t = t
			defer func() { tc.t = e.t }()
			items := []struct{ item, want string }{
				{"ENVELOPE", fx.Envelope},
				{"BODYSTRUCTURE", fx.BodyStructure},
				{"BODY", fx.Body},
				{"RFC822.SIZE", strconv.FormatInt(fx.Size, 10)},
			}
			for _, it := range items {
				tc.ok("f2 FETCH " + n + " " + it.item)
				want := "* " + n + " FETCH (" + it.item + " " + it.want + ")"
				if len(tc.untagged) != 1 || tc.untagged[0] != want {
					t.Errorf("FETCH %s:\n got %q\nwant %q", it.item, tc.untagged, want)
				}
			}
			tc.ok("f3 FETCH " + n + " BODY.PEEK[]")
			want := "* " + n + " FETCH (BODY[] " + literal(string(raw)) + ")"
			if len(tc.untagged) != 1 || tc.untagged[0] != want {
				t.Errorf("BODY[] is not byte-identical:\n got %q\nwant %q", tc.untagged, want)
			}
			for _, s := range fx.Sections {
				tc.ok("f4 FETCH " + n + " BODY.PEEK[" + s.Section + "]")
				got := tc.withPrefix("* " + n + " FETCH (BODY[")
				if len(got) != 1 {
					t.Errorf("BODY[%s]: %q", s.Section, tc.untagged)
					continue
				}
				// The value follows the section name, as a quoted
				// string, a literal or NIL; compare the bytes.
				_, val, _ := strings.Cut(got[0], "] ")
				val = strings.TrimSuffix(val, ")")
				if v, ok := unstring(val); !ok || v != s.Want {
					t.Errorf("BODY[%s] = %q, want %q", s.Section, val, s.Want)
				}
			}
		})
	}
}

// unstring decodes an IMAP string (quoted or literal) or NIL (as "").
func unstring(s string) (string, bool) {
	switch {
	case s == "NIL":
		return "", true
	case strings.HasPrefix(s, `"`) && strings.HasSuffix(s, `"`) && len(s) >= 2:
		var b bytes.Buffer
		in := s[1 : len(s)-1]
		for i := 0; i < len(in); i++ {
			if in[i] == '\\' && i+1 < len(in) {
				i++
			}
			b.WriteByte(in[i])
		}
		return b.String(), true
	case strings.HasPrefix(s, "{"):
		head, body, ok := strings.Cut(s, "}\r\n")
		if !ok {
			return "", false
		}
		n, err := strconv.Atoi(strings.TrimSuffix(head[1:], "+"))
		if err != nil || n != len(body) {
			return "", false
		}
		return body, true
	}
	return "", false
}
