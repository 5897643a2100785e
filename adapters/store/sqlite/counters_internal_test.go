package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
	"github.com/imapd-go/imapd/test/storetest"
)

// recount is how status counted a mailbox's messages before schema
// version 12 kept the counters: a scan of all of them. It is the
// reference the kept counters are held to.
func recount(ctx context.Context, tx *sql.Tx, m mailbox) (ports.MailboxStatus, error) {
	st := ports.MailboxStatus{
		UIDValidity:   m.uidValidity,
		UIDNext:       m.uidNext,
		HighestModSeq: m.highest,
		RecentUID:     m.recentUID,
	}
	err := tx.QueryRowContext(ctx, `
		SELECT count(*),
			coalesce(sum(instr(' ' || flags || ' ', ' \Seen ') = 0), 0),
			coalesce(sum(uid >= ?), 0),
			coalesce(sum(size), 0)
		FROM messages WHERE mailbox_id = ?`, m.recentUID, m.id).
		Scan(&st.Messages, &st.Unseen, &st.Recent, &st.Size)
	return st, err
}

// miscounted describes every mailbox of the database whose kept
// counters differ from the recount, and every counters row left of a
// mailbox that is gone, all seen in one read transaction.
func miscounted(ctx context.Context, db *sql.DB) ([]string, error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT id, uidvalidity, uidnext, highestmodseq, recentuid FROM mailboxes`)
	if err != nil {
		return nil, err
	}
	var boxes []mailbox
	for rows.Next() {
		var m mailbox
		if err := rows.Scan(&m.id, &m.uidValidity, &m.uidNext, &m.highest, &m.recentUID); err != nil {
			rows.Close()
			return nil, err
		}
		boxes = append(boxes, m)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	var bad []string
	for _, m := range boxes {
		kept, err := keptStatus(ctx, tx, m)
		if err != nil {
			return nil, err
		}
		want, err := recount(ctx, tx, m)
		if err != nil {
			return nil, err
		}
		if kept != want {
			bad = append(bad, fmt.Sprintf("mailbox %d: kept %+v, counted %+v", m.id, kept, want))
		}
	}
	var orphans int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM mailbox_counts
		WHERE mailbox_id NOT IN (SELECT id FROM mailboxes)`).Scan(&orphans); err != nil {
		return nil, err
	}
	if orphans > 0 {
		bad = append(bad, fmt.Sprintf("%d counters of mailboxes that are gone", orphans))
	}
	return bad, nil
}

// checkCounted fails the test when the user's kept counters differ
// from the recount.
func checkCounted(t *testing.T, s *Store, user, step string) {
	t.Helper()
	u, err := s.acquire(user)
	if err != nil {
		t.Fatal(err)
	}
	defer s.release(u)
	bad, err := miscounted(context.Background(), u.r)
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	if len(bad) > 0 {
		t.Fatalf("%s:\n%s", step, strings.Join(bad, "\n"))
	}
}

// TestCountersRandom: after every write of a random mix of all kinds,
// through two handles on one store (two processes), the counters the
// database keeps equal the full count, as each handle reads them.
func TestCountersRandom(t *testing.T) {
	s, _ := userStore(t)
	other, err := Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	handles := []ports.Store{s, other}
	for _, seed := range []uint64{11, 12, 13} {
		storetest.WriteMix(t, handles, "u", seed, 200, func(step string) {
			t.Helper()
			step = fmt.Sprintf("seed %d, %s", seed, step)
			checkCounted(t, s, "u", step)
			checkCounted(t, other, "u", step)
		})
	}
}

// downgradeCounters are the statements that take a database back to
// schema version 11, before the counters were kept.
var downgradeCounters = []string{
	`DROP TRIGGER mailbox_counts_new`, `DROP TRIGGER mailbox_counts_gone`, `DROP TRIGGER mailbox_counts_changed`,
	`DROP TRIGGER mailbox_counts_dropped`, `DROP TABLE mailbox_counts`, `PRAGMA user_version = 11`,
}

// TestUpgradeFromVersion11: a per-user database of version 11 (before
// the counters were kept) is upgraded in place: every mailbox's counters
// are counted from its messages, and kept from then on.
func TestUpgradeFromVersion11(t *testing.T) {
	s, ctx := userStore(t)
	for _, n := range []string{"box", "empty"} {
		if err := s.CreateMailbox(ctx, "u", n); err != nil {
			t.Fatal(err)
		}
	}
	for i, flags := range [][]string{nil, {imap.FlagSeen}, {imap.FlagFlagged}, {imap.FlagSeen, imap.FlagDeleted}} {
		body := strings.Repeat("x", 10*(i+1))
		if _, err := s.Append(ctx, "u", "INBOX", ports.NewMessage{Flags: flags, Size: int64(len(body)), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Copy(ctx, "u", "INBOX", []imap.UID{1, 2}, "box"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Expunge(ctx, "u", "INBOX", nil); err != nil {
		t.Fatal(err)
	}
	before := map[string]ports.MailboxStatus{}
	for _, name := range []string{"INBOX", "box", "empty"} {
		st, err := s.Status(ctx, "u", name)
		if err != nil {
			t.Fatal(err)
		}
		before[name] = st
	}
	if st := before["INBOX"]; st.Messages != 3 || st.Unseen != 2 || st.Recent != 3 || st.Size != 60 {
		t.Fatalf("INBOX before the downgrade: %+v", st)
	}
	s = downgraded(t, s, downgradeCounters...)
	for name, want := range before {
		if st, err := s.Status(ctx, "u", name); err != nil || st != want {
			t.Errorf("%s after the upgrade: Status %+v, %v; want %+v", name, st, err, want)
		}
	}
	checkCounted(t, s, "u", "after the upgrade")
	storetest.WriteMix(t, []ports.Store{s}, "u", 21, 60, func(step string) {
		checkCounted(t, s, "u", step)
	})
}

// TestSplitCounters: a store of the shared layout at version 11 is
// upgraded (its counters counted) and split; each user's database has
// its own counters, right, and keeps them.
func TestSplitCounters(t *testing.T) {
	dir := t.TempDir()
	ref := makeShared(t, dir, fillMail(t), downgradeCounters...)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for _, user := range []string{"alice", "bob.smith@example.org"} {
		checkCounted(t, s, user, user+" after the split")
		for _, name := range []string{"INBOX", "Work/2026"} {
			got, err := s.Status(ctx, user, name)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ref.Status(ctx, user, name)
			if err != nil || got != want || got.Messages == 0 {
				t.Errorf("%s %s after the split: Status %+v, want %+v (%v)", user, name, got, want, err)
			}
		}
	}
	storetest.WriteMix(t, []ports.Store{s}, "alice", 31, 40, func(step string) {
		checkCounted(t, s, "alice", step)
	})
}

// Miscounted is miscounted for the package's outside tests, on the
// database file at path.
func Miscounted(path string) ([]string, error) {
	db, err := sql.Open("sqlite3", "file:"+escapePath(path))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return miscounted(context.Background(), db)
}
