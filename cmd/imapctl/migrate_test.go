package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/auth/sasl"
	"github.com/imapd-go/imapd/adapters/store/maildir"
	"github.com/imapd-go/imapd/adapters/store/sqlite"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/ports"
)

// site is one configuration with its own configdirectory and store.
type site struct {
	conf, dir, store string
}

func newSite(t *testing.T, store string) site {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "imapd.conf")
	text := "configdirectory: " + dir + "\nstore: " + store + "\n"
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return site{conf: conf, dir: dir, store: store}
}

func (s site) open(t *testing.T) ports.Store {
	t.Helper()
	var st ports.Store
	var err error
	switch s.store {
	case "maildir":
		st, err = maildir.Open(filepath.Join(s.dir, "spool"))
	case "postgres":
		st, err = openPostgresSite(s)
	default:
		st, err = sqlite.Open(filepath.Join(s.dir, "spool"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// imapctl runs the command in this process and returns its exit status
// and output.
func imapctl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var o, e bytes.Buffer
	code := run(args, "", os.Stdin, &o, &e)
	return code, o.String(), e.String()
}

// fill gives alice mailboxes, messages with flags, keywords, dates and
// zones, UID gaps from expunges, and subscriptions.
func fill(t *testing.T, s ports.Store) {
	t.Helper()
	ctx := context.Background()
	if err := s.EnsureUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"Archive/2024", "Sent", "a.b"} {
		if err := s.CreateMailbox(ctx, "alice", n); err != nil {
			t.Fatal(err)
		}
	}
	flagSets := [][]string{{`\Seen`}, {`\Flagged`, "$Work"}, nil, {`\Answered`, `\Draft`, "Later"}, {`\Deleted`}}
	for i := range 40 {
		box := []string{"INBOX", "Archive/2024", "Sent"}[i%3]
		body := fmt.Sprintf("Subject: message %d\r\n\r\n%s\r\n", i, strings.Repeat("x", i*37))
		date := time.Date(2020, 1, 1+i, 10, i, 0, 0, time.FixedZone("", (i%5-2)*3600))
		st, err := message.Parse(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		blob, err := st.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		// Stored without a sort record, as before records were kept.
		if _, err := s.Append(ctx, "alice", box, ports.NewMessage{Flags: flagSets[i%5], InternalDate: date,
			Size: int64(len(body)), Body: strings.NewReader(body), Structure: blob}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Expunge(ctx, "alice", "INBOX", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSubscribed(ctx, "alice", "Sent", true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSpecialUse(ctx, "alice", "Sent", []string{`\Sent`}); err != nil {
		t.Fatal(err)
	}
	st, err := s.Status(ctx, "alice", "Sent")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.(ports.SortRecords).SaveSortRecords(ctx, "alice", "Sent", st.UIDValidity, []byte("sort records of Sent")); err != nil {
		t.Fatal(err)
	}
	ids := s.(ports.ObjectIDs)
	for _, e := range [][]string{{"T1", "root@x", "reply@x"}, {"T2", "other@x"}} {
		if _, err := ids.AssignThread(ctx, "alice", e[1:], e[0]); err != nil {
			t.Fatal(err)
		}
	}
}

// sameObjectIDs fails unless b has a's MAILBOXIDs and thread index for
// alice (EMAILID and THREADID are in the structures sameMail compares).
func sameObjectIDs(t *testing.T, a, b ports.Store) {
	t.Helper()
	ctx := context.Background()
	ia, ib := a.(ports.ObjectIDs), b.(ports.ObjectIDs)
	boxes, _ := a.ListMailboxes(ctx, "alice")
	for _, mb := range boxes {
		x, err := ia.MailboxID(ctx, "alice", mb.Name)
		if err != nil {
			t.Fatal(err)
		}
		if y, err := ib.MailboxID(ctx, "alice", mb.Name); err != nil || x != y {
			t.Errorf("%s: MAILBOXID %q, %v; want %q", mb.Name, y, err, x)
		}
	}
	threads := func(s ports.ObjectIDs) map[string]string {
		m := map[string]string{}
		if err := s.Threads(ctx, "alice", func(id, th string) error { m[id] = th; return nil }); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if x, y := threads(ia), threads(ib); fmt.Sprint(x) != fmt.Sprint(y) {
		t.Errorf("thread index %v, want %v", y, x)
	}
	// The saved sort records, with their UIDVALIDITY.
	for _, mb := range boxes {
		v1, d1, err1 := a.(ports.SortRecords).LoadSortRecords(ctx, "alice", mb.Name)
		v2, d2, err2 := b.(ports.SortRecords).LoadSortRecords(ctx, "alice", mb.Name)
		if err1 != nil || err2 != nil || v1 != v2 || string(d1) != string(d2) {
			t.Errorf("%s: sort records %d %q %v, want %d %q %v", mb.Name, v2, d2, err2, v1, d1, err1)
		}
		// Every message the target holds came with its own record.
		st, err := b.Status(ctx, "alice", mb.Name)
		if err != nil {
			t.Fatal(err)
		}
		_, uids, _, err := b.(ports.MessageSortRecords).MessageSortRecords(ctx, "alice", mb.Name, 0)
		if err != nil || len(uids) != int(st.Messages) {
			t.Errorf("%s: %d records of messages kept, %v; want %d", mb.Name, len(uids), err, st.Messages)
		}
	}
}

// sameMail fails unless b holds exactly a's mail for alice: mailboxes,
// UIDVALIDITY, UIDNEXT, UIDs, flags, internal dates with zones, bytes and
// structure, and subscriptions.
func sameMail(t *testing.T, a, b ports.Store) {
	t.Helper()
	ctx := context.Background()
	la, _ := a.ListMailboxes(ctx, "alice")
	lb, _ := b.ListMailboxes(ctx, "alice")
	if !slices.EqualFunc(la, lb, func(x, y ports.MailboxInfo) bool {
		return x.Name == y.Name && slices.Equal(x.SpecialUse, y.SpecialUse)
	}) {
		t.Fatalf("mailboxes %v, want %v", lb, la)
	}
	sa, _ := a.Subscriptions(ctx, "alice")
	sb, _ := b.Subscriptions(ctx, "alice")
	if !slices.Equal(sa, sb) {
		t.Errorf("subscriptions %q, want %q", sb, sa)
	}
	for _, mb := range la {
		sta, ma, err := a.Snapshot(ctx, "alice", mb.Name)
		if err != nil {
			t.Fatal(err)
		}
		stb, mbs, err := b.Snapshot(ctx, "alice", mb.Name)
		if err != nil {
			t.Fatal(err)
		}
		if sta.UIDValidity != stb.UIDValidity || sta.UIDNext != stb.UIDNext || sta.Messages != stb.Messages {
			t.Errorf("%s: status %+v, want %+v", mb.Name, stb, sta)
		}
		if !slices.Equal(uidList(ma), uidList(mbs)) {
			t.Errorf("%s: UIDs %v, want %v", mb.Name, uidList(mbs), uidList(ma))
			continue
		}
		ra, _ := a.Fetch(ctx, "alice", mb.Name, uidList(ma))
		rb, _ := b.Fetch(ctx, "alice", mb.Name, uidList(ma))
		for i := range ra {
			x, y := ra[i], rb[i]
			_, za := x.InternalDate.Zone()
			_, zb := y.InternalDate.Zone()
			if !imap.SameFlags(x.Flags, y.Flags) || !x.InternalDate.Equal(y.InternalDate) || za != zb ||
				x.Size != y.Size || !bytes.Equal(x.Structure, y.Structure) {
				t.Errorf("%s UID %d: %+v, want %+v", mb.Name, x.UID, y, x)
			}
			if ba, bb := readAll(t, a, mb.Name, x.UID), readAll(t, b, mb.Name, x.UID); ba != bb {
				t.Errorf("%s UID %d: bytes differ", mb.Name, x.UID)
			}
		}
	}
}

func uidList(metas []ports.MessageMeta) []imap.UID {
	var out []imap.UID
	for _, m := range metas {
		out = append(out, m.UID)
	}
	return out
}

func readAll(t *testing.T, s ports.Store, box string, uid imap.UID) string {
	t.Helper()
	b, err := s.Open(context.Background(), "alice", box, uid)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	data, _ := io.ReadAll(io.NewSectionReader(b, 0, b.Size()))
	return string(data)
}

func TestMigrateRoundTrip(t *testing.T) {
	from, mid, back := newSite(t, "sqlite"), newSite(t, "maildir"), newSite(t, "sqlite")
	if err := sasl.Open(from.dir).Add("alice", "secret"); err != nil {
		t.Fatal(err)
	}
	src := from.open(t)
	fill(t, src)

	code, out, errOut := imapctl(t, "-C", from.conf, "migrate", mid.conf)
	if code != 0 {
		t.Fatalf("migrate to maildir: exit %d, %s %s", code, out, errOut)
	}
	if !strings.Contains(errOut, "migrate alice: ") {
		t.Errorf("no progress on stderr: %q", errOut)
	}
	m := mid.open(t)
	sameMail(t, src, m)
	sameObjectIDs(t, src, m)
	if err := sasl.Open(mid.dir).Verify("alice", "secret"); err != nil {
		t.Errorf("password not migrated: %v", err)
	}

	// An interrupted migration: a few messages and a whole mailbox are
	// missing from the target; running again completes it.
	ctx := context.Background()
	_, metas, _ := m.Snapshot(ctx, "alice", "Archive/2024")
	gone := uidList(metas)[:3]
	m.UpdateFlags(ctx, "alice", "Archive/2024", gone, ports.FlagsAdd, []string{imap.FlagDeleted})
	if _, err := m.Expunge(ctx, "alice", "Archive/2024", gone); err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteMailbox(ctx, "alice", "Sent"); err != nil {
		t.Fatal(err)
	}
	// The flags of those messages are restored from the source too.
	src.UpdateFlags(ctx, "alice", "Archive/2024", gone, ports.FlagsRemove, []string{imap.FlagDeleted})
	if code, out, errOut := imapctl(t, "-C", from.conf, "migrate", mid.conf, "alice"); code != 0 {
		t.Fatalf("resumed migrate: exit %d, %s %s", code, out, errOut)
	}
	sameMail(t, src, m)

	// And back to SQLite: the same UIDs, dates, flags and bytes.
	if code, out, errOut := imapctl(t, "-C", mid.conf, "migrate", back.conf); code != 0 {
		t.Fatalf("migrate back: exit %d, %s %s", code, out, errOut)
	}
	sameMail(t, src, back.open(t))
	sameObjectIDs(t, src, back.open(t))

	// A target that differs where a restart does not copy (flags of a
	// message already there) is reported, with a failing status.
	_, metas, _ = m.Snapshot(ctx, "alice", "INBOX")
	if _, err := m.UpdateFlags(ctx, "alice", "INBOX", uidList(metas)[:1], ports.FlagsAdd, []string{"$Changed"}); err != nil {
		t.Fatal(err)
	}
	code, out, _ = imapctl(t, "-C", mid.conf, "migrate", back.conf)
	if code == 0 || !strings.Contains(out, "mismatch:") {
		t.Errorf("migrate onto a differing target: exit %d, %q", code, out)
	}
}

func TestImportMboxAndMaildir(t *testing.T) {
	for _, store := range []string{"sqlite", "maildir"} {
		t.Run(store, func(t *testing.T) {
			s := newSite(t, store)
			if err := sasl.Open(s.dir).Add("alice", "secret"); err != nil {
				t.Fatal(err)
			}
			mbox := filepath.Join(s.dir, "old.mbox")
			text := "From alice@example.org Tue Jun  4 10:00:00 2024\n" +
				"Subject: one\nStatus: RO\nX-Status: AF\n\n>From the start\n>>From quoted\nbody\n\n" +
				"From bob@example.org Wed Jun  5 11:30:00 2024\n" +
				"Subject: two\n\nsecond\n"
			if err := os.WriteFile(mbox, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			if code, out, errOut := imapctl(t, "-C", s.conf, "import", "alice", "Old", mbox); code != 0 {
				t.Fatalf("import mbox: %d %s %s", code, out, errOut)
			}
			md := filepath.Join(s.dir, "other-maildir")
			for _, d := range []string{"cur", "new", "tmp"} {
				os.MkdirAll(filepath.Join(md, d), 0o700)
			}
			os.WriteFile(filepath.Join(md, "cur", "1.a.host:2,RS"), []byte("Subject: replied\n\nx\n"), 0o600)
			os.WriteFile(filepath.Join(md, "new", "2.b.host"), []byte("Subject: fresh\n\ny\n"), 0o600)
			old := time.Date(2019, 5, 6, 7, 8, 9, 0, time.UTC)
			os.Chtimes(filepath.Join(md, "cur", "1.a.host:2,RS"), old, old)
			if code, out, errOut := imapctl(t, "-C", s.conf, "import", "alice", "INBOX", md); code != 0 {
				t.Fatalf("import maildir: %d %s %s", code, out, errOut)
			}
			st := s.open(t)
			ctx := context.Background()
			_, metas, err := st.Snapshot(ctx, "alice", "Old")
			if err != nil || len(metas) != 2 {
				t.Fatalf("Old: %+v, %v", metas, err)
			}
			recs, _ := st.Fetch(ctx, "alice", "Old", uidList(metas))
			if want := []string{`\Seen`, `\Answered`, `\Flagged`}; !imap.SameFlags(recs[0].Flags, want) {
				t.Errorf("mbox flags %q, want %q", recs[0].Flags, want)
			}
			if want := time.Date(2024, 6, 4, 10, 0, 0, 0, time.UTC); !recs[0].InternalDate.Equal(want) {
				t.Errorf("mbox date %v, want %v", recs[0].InternalDate, want)
			}
			b, err := st.Open(ctx, "alice", "Old", metas[0].UID)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(io.NewSectionReader(b, 0, b.Size()))
			b.Close()
			want := "Subject: one\r\nStatus: RO\r\nX-Status: AF\r\n\r\nFrom the start\r\n>From quoted\r\nbody\r\n"
			if string(data) != want {
				t.Errorf("mbox message = %q, want %q", data, want)
			}
			if got := readAll(t, st, "Old", metas[1].UID); got != "Subject: two\r\n\r\nsecond\r\n" {
				t.Errorf("second mbox message = %q", got)
			}
			// Imported messages are stamped as APPEND stamps them (RFC 8474,
			// RFC 8970).
			for _, r := range recs {
				x, err := message.ExtrasOf(r.Structure)
				if err != nil || !imap.IsObjectID(x.EmailID) || !imap.IsObjectID(x.ThreadID) || !x.HasPreview {
					t.Errorf("UID %d: extras %+v, %v", r.UID, x, err)
				}
			}
			if x, _ := message.ExtrasOf(recs[1].Structure); x.Preview != "second" {
				t.Errorf("preview %q, want %q", x.Preview, "second")
			}
			_, metas, _ = st.Snapshot(ctx, "alice", "INBOX")
			recs, _ = st.Fetch(ctx, "alice", "INBOX", uidList(metas))
			if len(recs) != 2 || !imap.SameFlags(recs[0].Flags, []string{`\Seen`, `\Answered`}) || !recs[0].InternalDate.Equal(old) ||
				len(recs[1].Flags) != 0 {
				t.Errorf("maildir import = %+v", recs)
			}
			if code, _, _ := imapctl(t, "-C", s.conf, "import", "alice", "X", filepath.Join(s.dir, "missing")); code == 0 {
				t.Error("import of a missing path succeeded")
			}
		})
	}
}

// TestMigrateMetadata: METADATA entries of mailboxes and of the server,
// /shared and /private, binary values too, reach the other store.
func TestMigrateMetadata(t *testing.T) {
	from, to := newSite(t, "sqlite"), newSite(t, "maildir")
	if err := sasl.Open(from.dir).Add("alice", "secret"); err != nil {
		t.Fatal(err)
	}
	src := from.open(t)
	fill(t, src)
	ctx := context.Background()
	md := src.(ports.Metadata)
	sets := map[string][]ports.MetadataEntry{
		"INBOX":        {{Name: "/private/comment", Value: []byte("inbox")}, {Name: "/shared/vendor/x/bin", Value: []byte("a\x00b")}},
		"Archive/2024": {{Name: "/shared/comment", Value: []byte("old mail")}},
		"":             {{Name: "/shared/admin", Value: []byte("mailto:root@example.org")}, {Name: "/private/comment", Value: []byte("mine")}},
	}
	for box, entries := range sets {
		if err := md.SetMetadata(ctx, "alice", box, entries, 0); err != nil {
			t.Fatal(err)
		}
	}
	if code, out, errOut := imapctl(t, "-C", from.conf, "migrate", to.conf); code != 0 {
		t.Fatalf("migrate: exit %d, %s %s", code, out, errOut)
	}
	dst := to.open(t).(ports.Metadata)
	for box := range sets {
		want, _ := md.GetMetadata(ctx, "alice", box)
		got, err := dst.GetMetadata(ctx, "alice", box)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%q: got %q, %v; want %q", box, got, err, want)
		}
	}
}
