package e2e

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/store/ftsindex"
	"github.com/imapd-go/imapd/app"
)

// TestIndexFollowsWrites: with search_index_on_write, the full-text index
// is kept current by the writes themselves, not by the first SEARCH. After
// APPEND, COPY, MOVE and EXPUNGE, with no SEARCH ever sent, the store's
// index comes to hold every message (read from the store's own files:
// sqlite's and postgres's search_pending empties, maildir's search database gets a
// document per message, and loses those of messages moved away or
// expunged). Without the option, the writes leave the indexing to the
// next SEARCH.
func TestIndexFollowsWrites(t *testing.T) {
	if !ftsindex.Available() {
		t.Skip("SQLite without FTS5 (build with -tags sqlite_fts5)")
	}
	for _, onWrite := range []bool{true, false} {
		t.Run(fmt.Sprintf("on-write=%v", onWrite), func(t *testing.T) { indexFollowsWrites(t, onWrite) })
	}
}

func indexFollowsWrites(t *testing.T, onWrite bool) {
	e := newEnvOpts(t, app.Options{IndexOnWrite: onWrite})
	tc := e.rawLogin("alice")
	spool := filepath.Join(e.dir, "spool")
	unindexed := func(messages int) (int, error) {
		switch e2eStore() {
		case "sqlite":
			db, err := sql.Open("sqlite3", "file:"+filepath.Join(spool, "users", "alice", "mail.db")+"?mode=ro")
			if err != nil {
				return 0, err
			}
			defer db.Close()
			var n int
			err = db.QueryRow(`SELECT count(*) FROM search_pending`).Scan(&n)
			return n, err
		case "postgres":
			return postgresPending(t, spool)
		default:
			files, err := filepath.Glob(filepath.Join(spool, "*", "imapd-search.db"))
			if err != nil || len(files) != 1 {
				return messages, err
			}
			db, err := sql.Open("sqlite3", "file:"+files[0]+"?mode=ro")
			if err != nil {
				return 0, err
			}
			defer db.Close()
			var n int
			err = db.QueryRow(`SELECT count(*) FROM docs`).Scan(&n)
			return messages - n, err
		}
	}
	// waitIndexed waits until the index holds exactly the messages.
	waitIndexed := func(messages int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			n, err := unindexed(messages)
			if err == nil && n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d messages still not indexed 10 s after the writes (%v)", n, messages, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for _, s := range []string{"zanzibar one", "timbuktu two", "samarkand three"} {
		tc.ok("a APPEND INBOX " + literal("Subject: "+s+"\r\n\r\nbody of "+s+"\r\n"))
	}
	tc.ok("b CREATE Other")
	tc.ok("c CREATE Third")
	tc.ok("d SELECT INBOX")
	tc.ok("e COPY 1 Other")
	tc.ok("f MOVE 2 Third")
	tc.ok("g APPEND INBOX " + literal("Subject: gone\r\n\r\nsoon expunged\r\n"))
	if onWrite {
		// The new message has its document before it goes, so that
		// the EXPUNGE must take a document away.
		waitIndexed(5)
	}
	tc.ok("h UID STORE 4 +FLAGS (\\Deleted)")
	tc.ok("i EXPUNGE")
	if !onWrite {
		// Given time, nothing is indexed until a search asks.
		time.Sleep(300 * time.Millisecond)
		if n, err := unindexed(4); err != nil || n == 0 {
			t.Fatalf("without search_index_on_write, %d messages unindexed after the writes (%v); want some", n, err)
		}
		tc.ok("s1 SELECT Other")
		tc.ok("s2 SEARCH TEXT zanzibar")
		tc.ok("s3 SELECT Third")
		tc.ok("s4 SEARCH TEXT zanzibar")
		tc.ok("s5 SELECT INBOX")
		tc.ok("s6 SEARCH TEXT zanzibar")
	}
	// INBOX keeps 1 and 3, Other has 1's copy, Third has 2; the moved
	// and the expunged messages have left the index.
	waitIndexed(4)
	tc.ok("j LOGOUT")
}
