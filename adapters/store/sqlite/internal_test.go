package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

func TestCheckName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"INBOX", true},
		{"a/b/c", true},
		{"Entwürfe", true},
		{"with space", true},
		{strings.Repeat("x", imap.MaxMailboxName), true},
		{"", false},
		{"a//b", false},
		{"/a", false},
		{"a/", false},
		{"a\x00", false},
		{"a\x1fb", false},
		{"a\u0085b", false}, // C1 control
		{"\xff", false},
		{strings.Repeat("x", imap.MaxMailboxName+1), false},
		{".", false},
		{"..", false},
		{"INBOX/..", false},
		{"../bob", false},
		{".hidden", true},
		{"...", true},
	}
	for _, tt := range tests {
		err := checkName("test", tt.name)
		if tt.ok && err != nil {
			t.Errorf("checkName(%q) = %v", tt.name, err)
		}
		if !tt.ok && !errors.Is(err, imap.ErrInvalidName) {
			t.Errorf("checkName(%q) = %v, want ErrInvalidName", tt.name, err)
		}
	}
}

// TestLegacyDotNames: a mailbox with a "." or ".." level, which the store
// took before imap.CheckMailboxName refused such levels, is still found,
// so that it can be renamed (before imapctl migrate) or deleted.
func TestLegacyDotNames(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.EnsureUser(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{".", ".."} {
		err := s.write(ctx, "u", "legacy", func(tx *sql.Tx) error {
			uid, err := userID(ctx, tx, "u", false)
			if err != nil {
				return err
			}
			_, _, err = createOne(ctx, tx, uid, n)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Status(ctx, "u", n); err != nil {
			t.Errorf("status %q: %v", n, err)
		}
	}
	if err := s.RenameMailbox(ctx, "u", ".", "dot"); err != nil {
		t.Errorf("rename: %v", err)
	}
	if err := s.DeleteMailbox(ctx, "u", ".."); err != nil {
		t.Errorf("delete: %v", err)
	}
	boxes, err := s.ListMailboxes(ctx, "u")
	if err != nil || len(boxes) != 2 || boxes[0].Name != "INBOX" || boxes[1].Name != "dot" {
		t.Errorf("mailboxes: %+v, %v", boxes, err)
	}
}

func TestHasDeleted(t *testing.T) {
	for _, in := range []string{"", `\Seen`, `\Seen $Label \Draft`, `\DeletedX`} {
		if hasDeleted([]byte(in)) {
			t.Errorf("hasDeleted(%q)", in)
		}
	}
	if !hasDeleted([]byte(`$X \Deleted`)) {
		t.Error("hasDeleted")
	}
}

func TestUIDRanges(t *testing.T) {
	if got := uidRanges([]imap.UID{1, 2, 3, 7, 9, 10}); !slices.Equal(got, [][2]imap.UID{{1, 3}, {7, 7}, {9, 10}}) {
		t.Errorf("uidRanges = %v", got)
	}
	var dense, sparse []imap.UID
	for i := range 100 {
		dense = append(dense, imap.UID(1+2*i))
		sparse = append(sparse, imap.UID(1+1000*i))
	}
	if got := uidRanges(dense); len(got) != 1 || got[0] != [2]imap.UID{1, 199} {
		t.Errorf("dense ranges = %v", got)
	}
	if got := uidRanges(sparse); len(got) != 100 {
		t.Errorf("sparse: %d ranges", len(got))
	}
}

// TestManyUIDs drives the span scan and the point queries of uidQuery
// through Fetch, UpdateFlags, Copy and Expunge.
func TestManyUIDs(t *testing.T) {
	s, ctx := userStore(t)
	if err := s.CreateMailbox(ctx, "u", "dest"); err != nil {
		t.Fatal(err)
	}
	if err := BulkAppend(s, "u", "INBOX", 3000, []byte("x\r\n"), ""); err != nil {
		t.Fatal(err)
	}
	for _, step := range []int{2, 3, 97} {
		var want []imap.UID
		for u := 1; u <= 3000; u += step {
			want = append(want, imap.UID(u))
		}
		asked := append(slices.Clone(want), 5000, 0) // missing UIDs are skipped
		recs, err := s.Fetch(ctx, "u", "INBOX", asked)
		if err != nil {
			t.Fatal(err)
		}
		var got []imap.UID
		for _, r := range recs {
			got = append(got, r.UID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("step %d: Fetch returned %d UIDs, want %d", step, len(got), len(want))
		}
		metas, err := s.UpdateFlags(ctx, "u", "INBOX", asked, ports.FlagsAdd, []string{imap.FlagDeleted})
		if err != nil || len(metas) != len(want) {
			t.Errorf("step %d: UpdateFlags touched %d, %v", step, len(metas), err)
		}
		res, err := s.Copy(ctx, "u", "INBOX", asked, "dest")
		if err != nil || !slices.Equal(res.Source, want) {
			t.Errorf("step %d: Copy sources %d, %v", step, len(res.Source), err)
		}
	}
	// Every UID that is 1 mod 2, 3 or 97 carries \Deleted now; expunge a
	// dense subset, then the rest.
	var evens []imap.UID
	for u := imap.UID(2); u <= 3000; u += 2 {
		evens = append(evens, u)
	}
	gone, err := s.Expunge(ctx, "u", "INBOX", evens)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range gone {
		if u%2 != 0 || (u-1)%3 != 0 && (u-1)%97 != 0 {
			t.Fatalf("expunged UID %d without \\Deleted", u)
		}
	}
	st, err := s.Status(ctx, "u", "INBOX")
	if err != nil || int(st.Messages) != 3000-len(gone) {
		t.Errorf("status %+v after expunging %d", st, len(gone))
	}
}

// TestConcurrentOpen opens a new database from many handles at once, as
// preforked processes do on first start.
func TestConcurrentOpen(t *testing.T) {
	dir := t.TempDir()
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			s, err := Open(dir)
			if err == nil {
				err = s.EnsureUser(context.Background(), "u")
				s.Close()
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestUpgradeFromVersion1: a shared database written before mailboxes had
// special-use attributes is upgraded in place when opened, then split.
func TestUpgradeFromVersion1(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	makeShared(t, dir, func(s *Store) {
		if err := s.EnsureUser(ctx, "u"); err != nil {
			t.Fatal(err)
		}
	}, `ALTER TABLE mailboxes DROP COLUMN specialuse`, `ALTER TABLE mailboxes DROP COLUMN keywords`,
		`ALTER TABLE messages DROP COLUMN savedate`, `ALTER TABLE mailboxes DROP COLUMN mailboxid`, `DROP TABLE threads`,
		`PRAGMA user_version = 1`)
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("opening a version 1 database: %v", err)
	}
	defer s.Close()
	if err := s.SetSpecialUse(ctx, "u", "INBOX", []string{`\Flagged`}); err != nil {
		t.Fatal(err)
	}
	infos, err := s.ListMailboxes(ctx, "u")
	if err != nil || len(infos) != 1 || len(infos[0].SpecialUse) != 1 {
		t.Fatalf("ListMailboxes = %+v, %v", infos, err)
	}
	// Version 6: the mailbox got an id, kept, and the thread index works.
	id, err := s.MailboxID(ctx, "u", "INBOX")
	if err != nil || !imap.IsObjectID(id) {
		t.Fatalf("MailboxID = %q, %v", id, err)
	}
	if again, _ := s.MailboxID(ctx, "u", "INBOX"); again != id {
		t.Errorf("MailboxID changed from %q to %q", id, again)
	}
	if th, err := s.AssignThread(ctx, "u", []string{"a@b"}, "T1"); err != nil || th != "T1" {
		t.Errorf("AssignThread = %q, %v", th, err)
	}
}

// TestUpgradeFromVersion5: a per-user database of version 5 (before RFC
// 8474) is upgraded in place: every mailbox gets its own id.
func TestUpgradeFromVersion5(t *testing.T) {
	s, ctx := userStore(t)
	for _, n := range []string{"a", "b"} {
		if err := s.CreateMailbox(ctx, "u", n); err != nil {
			t.Fatal(err)
		}
	}
	s = downgraded(t, s, `ALTER TABLE mailboxes DROP COLUMN mailboxid`, `DROP TABLE threads`, `DROP TABLE sortrecords`,
		`PRAGMA user_version = 5`)
	seen := map[string]bool{}
	for _, n := range []string{"INBOX", "a", "b"} {
		id, err := s.MailboxID(ctx, "u", n)
		if err != nil || !imap.IsObjectID(id) || seen[id] {
			t.Fatalf("%s: MailboxID = %q, %v (seen %v)", n, id, err, seen[id])
		}
		seen[id] = true
	}
	if th, err := s.AssignThread(ctx, "u", []string{"a@b"}, "T1"); err != nil || th != "T1" {
		t.Errorf("AssignThread = %q, %v", th, err)
	}
}

// TestKeywordBound: the mailbox row's keyword bound follows what changes
// keywords, an import included (which leaves it unknown), so the limit
// holds whichever way the keywords came.
func TestKeywordBound(t *testing.T) {
	s, ctx := userStore(t)
	if err := s.ImportMailbox(ctx, "u", "old", 7, 1); err != nil {
		t.Fatal(err)
	}
	full := make([]string, imap.MaxKeywords)
	for i := range full {
		full[i] = "k" + strings.Repeat("x", i)
	}
	body := "Subject: x\r\n\r\nx\r\n"
	msg := func(flags ...string) ports.NewMessage {
		return ports.NewMessage{Flags: flags, Size: int64(len(body)), Body: strings.NewReader(body)}
	}
	if err := s.ImportMessage(ctx, "u", "old", 3, msg(full...)); err != nil {
		t.Fatal(err)
	}
	u, err := s.acquire("u")
	if err != nil {
		t.Fatal(err)
	}
	defer s.release(u)
	bound := func() (string, bool) {
		var b *string
		if err := u.r.QueryRowContext(ctx, `SELECT keywords FROM mailboxes WHERE name = 'old'`).Scan(&b); err != nil {
			t.Fatal(err)
		}
		if b == nil {
			return "", false
		}
		return *b, true
	}
	if _, known := bound(); known {
		t.Fatal("an import left a keyword bound")
	}
	if _, err := s.Append(ctx, "u", "old", msg("new")); !errors.Is(err, imap.ErrLimit) {
		t.Fatalf("Append of a new keyword to an imported mailbox at the limit: %v", err)
	}
	if _, err := s.Append(ctx, "u", "old", msg(strings.ToUpper(full[1]))); err != nil {
		t.Fatal(err)
	}
	if b, known := bound(); !known || len(strings.Fields(b)) != imap.MaxKeywords {
		t.Fatalf("keyword bound after a count: %q, %v", b, known)
	}
}

// TestBodyPoolMapsTheFile: reads of bodies go through a memory map; the
// read pool's short reads and the writes do not.
func TestBodyPoolMapsTheFile(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := s.acquire("u")
	if err != nil {
		t.Fatal(err)
	}
	defer s.release(u)
	for _, tc := range []struct {
		name string
		db   *sql.DB
		want int64
	}{{"read", u.r, 0}, {"body", u.b, mmapSize}, {"write", u.w, 0}} {
		var got int64
		if err := tc.db.QueryRow("PRAGMA mmap_size").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s pool: mmap_size %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestDatabasesAreWAL: every user database is in WAL mode, whether
// created by a login or by the split of a shared store, though the
// connections no longer ask for it.
func TestDatabasesAreWAL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	makeShared(t, dir, func(s *Store) {
		if err := s.EnsureUser(ctx, "old"); err != nil {
			t.Fatal(err)
		}
	})
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.EnsureUser(ctx, "new"); err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"old", "new"} {
		db, err := sql.Open("sqlite3", userPath(dir, user))
		if err != nil {
			t.Fatal(err)
		}
		var mode string
		if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("%s: journal_mode %q, %v", user, mode, err)
		}
		db.Close()
	}
}

// TestLightWriteKeepsWritesDurable: a light write (ClaimRecent) runs
// without its own fsync on a write connection, which then goes back to
// synchronous=FULL for the durable writes that follow on it.
func TestLightWriteKeepsWritesDurable(t *testing.T) {
	s, ctx := userStore(t)
	u, err := s.acquire("u")
	if err != nil {
		t.Fatal(err)
	}
	defer s.release(u)
	u.w.SetMaxOpenConns(1) // the light write and the check share one connection
	if _, err := s.Append(ctx, "u", "INBOX", ports.NewMessage{Size: 3, Body: strings.NewReader("x\r\n")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ClaimRecent(ctx, "u", "INBOX"); err != nil {
		t.Fatal(err)
	}
	var mode int
	if err := u.w.QueryRow("PRAGMA synchronous").Scan(&mode); err != nil || mode != 2 {
		t.Fatalf("write connection after a light write: synchronous = %d, %v; want 2 (FULL)", mode, err)
	}
}

// TestOpenReadsEveryChunk reads bodies around the chunk size whole, in
// pieces, across chunk boundaries and after Close.
func TestOpenReadsEveryChunk(t *testing.T) {
	s, ctx := userStore(t)
	for _, size := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 3*chunkSize + 7} {
		msg := make([]byte, size)
		for i := range msg {
			msg[i] = byte('a' + i%26 + i/chunkSize)
		}
		res, err := s.Append(ctx, "u", "INBOX", ports.NewMessage{Size: int64(size), Body: strings.NewReader(string(msg)), Structure: []byte("s")})
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Open(ctx, "u", "INBOX", res.UID)
		if err != nil {
			t.Fatal(err)
		}
		for _, piece := range []int{7, 16 << 10, chunkSize, size + 1} {
			got := make([]byte, 0, size)
			buf := make([]byte, max(piece, 1))
			for off := int64(0); off < int64(size); {
				n, err := b.ReadAt(buf, off)
				if err != nil && !errors.Is(err, io.EOF) {
					t.Fatalf("size %d piece %d: %v", size, piece, err)
				}
				got = append(got, buf[:n]...)
				off += int64(n)
			}
			if string(got) != string(msg) {
				t.Errorf("size %d piece %d: bytes differ", size, piece)
			}
		}
		b.Close()
		if size > 0 {
			var one [1]byte
			if _, err := b.ReadAt(one[:], int64(size-1)); err != nil || one[0] != msg[size-1] {
				t.Errorf("size %d: read after Close: %q, %v", size, one, err)
			}
			b.Close()
		}
	}
	if _, err := s.Open(ctx, "u", "INBOX", 999); !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("Open of a missing UID: %v", err)
	}
	if _, err := s.Open(ctx, "u", "Nope", 1); !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("Open in a missing mailbox: %v", err)
	}
}

// TestWantedRecords: pickRecords and wantedRecords (which shares a run of
// consecutive records) give the same records.
func TestWantedRecords(t *testing.T) {
	var recs []ports.MessageRecord
	for _, u := range []imap.UID{2, 3, 4, 7, 8, 10} {
		recs = append(recs, ports.MessageRecord{MessageMeta: ports.MessageMeta{UID: u}})
	}
	tests := []struct {
		want, got []imap.UID
	}{
		{[]imap.UID{2, 3, 4, 7, 8, 10}, []imap.UID{2, 3, 4, 7, 8, 10}},
		{[]imap.UID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, []imap.UID{2, 3, 4, 7, 8, 10}},
		{[]imap.UID{1}, nil},
		{[]imap.UID{11, 12}, nil},
		{[]imap.UID{3, 4}, []imap.UID{3, 4}},
		{[]imap.UID{4, 5, 6, 7}, []imap.UID{4, 7}},
		{[]imap.UID{2, 8, 9, 10}, []imap.UID{2, 8, 10}},
		{[]imap.UID{5, 6, 9}, nil},
	}
	for _, tt := range tests {
		for _, pick := range []func([]ports.MessageRecord, []imap.UID) []ports.MessageRecord{pickRecords, wantedRecords} {
			var got []imap.UID
			picked := pick(recs, tt.want)
			for _, r := range picked {
				got = append(got, r.UID)
			}
			if !slices.Equal(got, tt.got) {
				t.Errorf("%v: got %v, want %v", tt.want, got, tt.got)
			}
			shared := false // picked is a part of recs
			for k := range recs {
				shared = shared || len(picked) > 0 && &recs[k] == &picked[0]
			}
			if shared && cap(picked) != len(picked) {
				t.Errorf("%v: cap %d beyond len %d: appending would write into the records", tt.want, cap(picked), len(picked))
			}
		}
	}
}

func TestMergeRecords(t *testing.T) {
	recs := func(spec ...uint64) []ports.MessageRecord { // UID, ModSeq pairs
		var out []ports.MessageRecord
		for i := 0; i < len(spec); i += 2 {
			out = append(out, ports.MessageRecord{MessageMeta: ports.MessageMeta{UID: imap.UID(spec[i]), ModSeq: spec[i+1]}})
		}
		return out
	}
	tests := []struct {
		name         string
		old, changed []ports.MessageRecord
		gone         []imap.UID
		want         []ports.MessageRecord
	}{
		{"nothing", recs(1, 1, 2, 1), nil, nil, recs(1, 1, 2, 1)},
		{"flags", recs(1, 1, 2, 1, 3, 1), recs(2, 5), nil, recs(1, 1, 2, 5, 3, 1)},
		{"new at the end", recs(1, 1), recs(4, 5, 6, 5), nil, recs(1, 1, 4, 5, 6, 5)},
		{"expunged", recs(1, 1, 2, 1, 3, 1), nil, []imap.UID{1, 3}, recs(2, 1)},
		{"all of it", recs(1, 1, 3, 1, 5, 1), recs(2, 7, 5, 7, 6, 7), []imap.UID{3, 4}, recs(1, 1, 2, 7, 5, 7, 6, 7)},
		{"from nothing", nil, recs(2, 3), []imap.UID{1}, recs(2, 3)},
		{"to nothing", recs(1, 1), nil, []imap.UID{1}, []ports.MessageRecord{}},
	}
	for _, tt := range tests {
		before := slices.Clone(tt.old)
		got := mergeRecords(tt.old, tt.changed, tt.gone)
		if !slices.EqualFunc(got, tt.want, func(a, b ports.MessageRecord) bool { return a.UID == b.UID && a.ModSeq == b.ModSeq }) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
		if !slices.EqualFunc(before, tt.old, func(a, b ports.MessageRecord) bool { return a.UID == b.UID && a.ModSeq == b.ModSeq }) {
			t.Errorf("%s: the old records changed", tt.name)
		}
	}
}

// TestOpenRefusesChunkOfWrongSize: a chunk whose stored length disagrees
// with its body's size is an error, in the chunk Open reads with the
// lookup as in one a later read loads, never bytes past the chunk's end.
func TestOpenRefusesChunkOfWrongSize(t *testing.T) {
	s, ctx := userStore(t)
	for _, tc := range []struct {
		size int
		seq  int // the chunk cut short
	}{
		{100, 0},
		{2*chunkSize + 10, 1},
	} {
		msg := strings.Repeat("x", tc.size)
		res, err := s.Append(ctx, "u", "INBOX", ports.NewMessage{Size: int64(tc.size), Body: strings.NewReader(msg), Structure: []byte("s")})
		if err != nil {
			t.Fatal(err)
		}
		u, err := s.acquire("u")
		if err != nil {
			t.Fatal(err)
		}
		_, err = u.w.Exec(`UPDATE chunks SET data = substr(data, 1, 10)
			WHERE seq = ? AND body_id = (SELECT max(id) FROM bodies)`, tc.seq)
		s.release(u)
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Open(ctx, "u", "INBOX", res.UID)
		if err == nil {
			buf := make([]byte, tc.size)
			_, err = b.ReadAt(buf, 0)
			b.Close()
		}
		if err == nil || errors.Is(err, imap.ErrNonexistent) {
			t.Errorf("size %d, chunk %d cut to 10 bytes: read gave %v, want an error", tc.size, tc.seq, err)
		}
	}
}

// TestOpenWhileExpunging reads bodies from several goroutines while
// another appends and expunges, so that chunk rows come and go (and their
// rowids are reused): every read gives the message's own bytes or says it
// was expunged, never another message's bytes.
func TestOpenWhileExpunging(t *testing.T) {
	s, ctx := userStore(t)
	var mu sync.Mutex
	bodies := map[imap.UID]string{}
	appendOne := func(i int) imap.UID {
		msg := fmt.Sprintf("Subject: %d\r\n\r\n%s", i, strings.Repeat(string(rune('a'+i%26)), 1000+i%3*chunkSize/2+i%2*5))
		// Under mu: a reader may open the message as soon as it is
		// committed, and then waits for its bytes to compare.
		mu.Lock()
		defer mu.Unlock()
		res, err := s.Append(ctx, "u", "INBOX", ports.NewMessage{Size: int64(len(msg)), Body: strings.NewReader(msg), Structure: []byte("s")})
		if err != nil {
			t.Error(err)
			return 0
		}
		bodies[res.UID] = msg
		return res.UID
	}
	var uids []imap.UID
	for i := range 20 {
		uids = append(uids, appendOne(i))
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for r := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				uid := imap.UID(1 + (i*7+r)%60)
				b, err := s.Open(ctx, "u", "INBOX", uid)
				if errors.Is(err, imap.ErrNonexistent) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				got := make([]byte, b.Size())
				_, err = b.ReadAt(got, 0)
				b.Close()
				if errors.Is(err, imap.ErrNonexistent) {
					continue
				}
				mu.Lock()
				want := bodies[uid]
				mu.Unlock()
				if err != nil || string(got) != want {
					t.Errorf("UID %d: read %d bytes (%v), want its own %d", uid, len(got), err, len(want))
					return
				}
			}
		}()
	}
	for i := 20; i < 60; i++ {
		uids = append(uids, appendOne(i))
		// The newest message half the time: its chunks have the
		// highest rowids, which the next append takes again.
		old := uids[0]
		if i%2 == 0 {
			old = uids[len(uids)-1]
			uids = uids[:len(uids)-1]
		} else {
			uids = uids[1:]
		}
		if _, err := s.UpdateFlags(ctx, "u", "INBOX", []imap.UID{old}, ports.FlagsAdd, []string{`\Deleted`}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Expunge(ctx, "u", "INBOX", []imap.UID{old}); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
}

// TestReadAfterExpungeAndReuse: a body's later chunks are read after
// Open, by statements of their own; if the message is expunged meanwhile
// and a new one takes its body's id (and its chunks' rowids), the read
// says the message was expunged instead of giving the new one's bytes.
func TestReadAfterExpungeAndReuse(t *testing.T) {
	s, ctx := userStore(t)
	put := func(c string) imap.UID {
		msg := strings.Repeat(c, 2*chunkSize)
		res, err := s.Append(ctx, "u", "INBOX", ports.NewMessage{Size: int64(len(msg)), Body: strings.NewReader(msg), Structure: []byte("s")})
		if err != nil {
			t.Fatal(err)
		}
		return res.UID
	}
	for _, reopen := range []bool{false, true} {
		uid := put("a")
		b, err := s.Open(ctx, "u", "INBOX", uid)
		if err != nil {
			t.Fatal(err)
		}
		var first [1]byte
		if _, err := b.ReadAt(first[:], 0); err != nil || first[0] != 'a' {
			t.Fatalf("first byte %q, %v", first, err)
		}
		if reopen {
			// Close drops the kept chunk: chunk 0 is read again.
			b.Close()
		}
		if _, err := s.UpdateFlags(ctx, "u", "INBOX", []imap.UID{uid}, ports.FlagsAdd, []string{`\Deleted`}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Expunge(ctx, "u", "INBOX", []imap.UID{uid}); err != nil {
			t.Fatal(err)
		}
		put("b")
		for _, off := range []int64{chunkSize, 0} {
			var got [1]byte
			// The chunk kept from before the expunge is the message's
			// own: reading from it is right too.
			_, err := b.ReadAt(got[:], off)
			if !errors.Is(err, imap.ErrNonexistent) && (err != nil || got[0] != 'a') {
				t.Errorf("reopen %v: byte %d of the expunged message: %q, %v; want 'a' or ErrNonexistent", reopen, off, got, err)
			}
		}
		b.Close()
	}
}

// userStore opens a store in a temporary folder, closed when the test
// ends, with user "u" made.
func userStore(t *testing.T) (*Store, context.Context) {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	if err := s.EnsureUser(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	return s, ctx
}

// A store keeps maxOpenUsers idle user databases open unless KeepOpen
// says how many; the least recently used beyond the bound are closed, and
// lowering the bound closes the surplus at once.
func TestKeepOpen(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	open := func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.dbs)
	}
	use := func(n int) {
		for i := range n {
			if err := s.EnsureUser(ctx, fmt.Sprintf("u%d", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	use(20)
	if got := open(); got != maxOpenUsers {
		t.Errorf("default: %d open, want %d", got, maxOpenUsers)
	}
	s.KeepOpen(30)
	use(40)
	if got := open(); got != 30 {
		t.Errorf("KeepOpen(30): %d open, want 30", got)
	}
	s.mu.Lock()
	_, newest := s.dbs["u39"]
	_, oldest := s.dbs["u0"]
	s.mu.Unlock()
	if !newest || oldest {
		t.Errorf("kept u39 %v (want true), u0 %v (want false)", newest, oldest)
	}
	s.KeepOpen(5)
	if got := open(); got != 5 {
		t.Errorf("KeepOpen(5): %d open, want 5", got)
	}
	if _, _, err := s.Snapshot(ctx, "u0", "INBOX"); err != nil {
		t.Errorf("a closed user's database opens again: %v", err)
	}
}

// ReleaseMemory closes the idle connections of each open database,
// leaving the databases open and usable.
func TestReleaseMemory(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.EnsureUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateMailbox(ctx, "alice", "Work"); err != nil {
		t.Fatal(err)
	}
	u, err := s.acquire("alice")
	if err != nil {
		t.Fatal(err)
	}
	defer s.release(u)
	busyReads(t, u)
	if st := u.r.Stats(); st.Idle != maxConns {
		t.Fatalf("before: %d idle connections, want %d", st.Idle, maxConns)
	}
	s.ReleaseMemory()
	if st := u.r.Stats(); st.OpenConnections != 0 {
		t.Errorf("after: %d read connections open, want 0", st.OpenConnections)
	}
	if st := u.w.Stats(); st.OpenConnections != 0 {
		t.Errorf("after: %d write connections open, want 0", st.OpenConnections)
	}
	if _, _, err := s.Snapshot(ctx, "alice", "INBOX"); err != nil {
		t.Errorf("after ReleaseMemory: %v", err)
	}
	// A busy user may keep maxConns idle again.
	busyReads(t, u)
	if st := u.r.Stats(); st.Idle != maxConns {
		t.Errorf("busy again: %d idle connections, want %d", st.Idle, maxConns)
	}
}

// Closing a database's last connection checkpoints and removes its WAL;
// that is no commit, and must not wake the sessions watching the user
// (they would all open connections again at once), nor must another
// session's Watch. A commit by another process still wakes them.
func TestReleaseDoesNotWakeWatchers(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.EnsureUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "alice", "INBOX", rawMessage("one")); err != nil {
		t.Fatal(err)
	}
	ch, err := s.Watch(ctx, "alice", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	wal := userPath(dir, "alice") + "-wal"
	if _, err := os.Stat(wal); err != nil {
		t.Fatalf("no WAL before the release: %v", err)
	}
	for len(ch) > 0 {
		<-ch
	}
	// Nor does another session starting to watch the same user.
	if _, err := s.Watch(ctx, "alice", "INBOX"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
		t.Fatal("a watcher was woken by another Watch")
	case <-time.After(300 * time.Millisecond):
	}
	s.ReleaseMemory()
	if _, err := os.Stat(wal); !os.IsNotExist(err) {
		t.Fatalf("the WAL is still there after the last connection closed (%v): the test shows nothing", err)
	}
	select {
	case <-ch:
		t.Fatal("a watcher was woken by the release of the connections")
	case <-time.After(300 * time.Millisecond):
	}
	other, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Append(ctx, "alice", "INBOX", rawMessage("two")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("a commit by another store did not wake the watcher")
	}
}

// rawMessage is a small message whose subject is subj.
func rawMessage(subj string) ports.NewMessage {
	msg := "Subject: " + subj + "\r\n\r\nbody\r\n"
	return ports.NewMessage{Size: int64(len(msg)), Body: strings.NewReader(msg)}
}

// busyReads has maxConns read connections of u in use at once, then
// gives them back: as many idle connections as the pool keeps.
func busyReads(t *testing.T, u *userDB) {
	t.Helper()
	var conns []*sql.Conn
	for range maxConns {
		c, err := u.r.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Close()
	}
}

// TestUpgradeFromVersion6: a per-user database of version 6 (before the
// saved sort records) is upgraded in place: its mailboxes keep lists.
func TestUpgradeFromVersion6(t *testing.T) {
	s, ctx := userStore(t)
	s = downgraded(t, s, `DROP TABLE sortrecords`, `PRAGMA user_version = 6`)
	st, err := s.Status(ctx, "u", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if v, data, err := s.LoadSortRecords(ctx, "u", "INBOX"); err != nil || data != nil {
		t.Fatalf("LoadSortRecords after the upgrade = %d, %q, %v", v, data, err)
	}
	if err := s.SaveSortRecords(ctx, "u", "INBOX", st.UIDValidity, []byte("list")); err != nil {
		t.Fatal(err)
	}
	if v, data, err := s.LoadSortRecords(ctx, "u", "INBOX"); err != nil || v != st.UIDValidity || string(data) != "list" {
		t.Errorf("LoadSortRecords = %d, %q, %v", v, data, err)
	}
}

// downgraded runs queries on user u's database of s (taking it back to an
// older schema), closes s and returns the store opened again, which
// upgrades it; the test closes it at its end.
func downgraded(t *testing.T, s *Store, queries ...string) *Store {
	t.Helper()
	u, err := s.acquire("u")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range queries {
		if _, err := u.w.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.release(u)
	s.Close()
	again, err := Open(s.dir)
	if err != nil {
		t.Fatalf("reopening the downgraded database: %v", err)
	}
	t.Cleanup(func() { again.Close() })
	return again
}
