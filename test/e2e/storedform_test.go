package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/ports"
)

// Messages stored with an earlier format of the structure blob (before
// it carried the rendered ENVELOPE and BODYSTRUCTURE) answer FETCH exactly
// as the same messages appended now: testdata of domain/message holds the
// blobs format 1 wrote for the fixture messages.
func TestStoredFormVersion1(t *testing.T) {
	blobs, err := filepath.Glob("../../domain/message/testdata/v1/*.blob")
	if err != nil || len(blobs) == 0 {
		t.Fatalf("no version 1 blobs: %v", err)
	}
	e := newEnv(t)
	tc := e.rawLogin("alice")
	date := time.Date(2024, 6, 5, 10, 11, 12, 0, time.UTC)
	var raws []string
	for _, f := range blobs {
		blob, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(filepath.Join("../testdata/messages", strings.TrimSuffix(filepath.Base(f), ".blob")+".eml"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.Append(e.ctx, "alice", "INBOX", ports.NewMessage{
			InternalDate: date, Size: int64(len(raw)), Body: bytes.NewReader(raw), Structure: blob,
		}); err != nil {
			t.Fatal(err)
		}
		raws = append(raws, string(raw))
	}
	for _, raw := range raws {
		tc.ok(`a APPEND INBOX () "05-Jun-2024 10:11:12 +0000" ` + literal(raw))
	}
	tc.ok("s EXAMINE INBOX")
	n := len(raws)
	tc.ok("f FETCH 1:* (ENVELOPE BODYSTRUCTURE BODY RFC822.SIZE BINARY.SIZE[1] BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])")
	for i := 1; i <= n; i++ {
		old := tc.withPrefix("* " + strconv.Itoa(i) + " FETCH (")
		now := tc.withPrefix("* " + strconv.Itoa(i+n) + " FETCH (")
		if len(old) != 1 || len(now) != 1 {
			t.Fatalf("FETCH %d and %d: %q", i, i+n, tc.untagged)
		}
		_, o, _ := strings.Cut(old[0], " FETCH ")
		_, w, _ := strings.Cut(now[0], " FETCH ")
		if o != w || !strings.Contains(o, "ENVELOPE (") || !strings.Contains(o, "BODYSTRUCTURE (") {
			t.Errorf("%s:\nstored in format 1: %s\n          appended: %s", blobs[i-1], o, w)
		}
	}
}

// FETCH FLAGS shows \Recent after the stored flags, in a list of its own
// when there are none, and never once IMAP4rev2 is on (RFC 9051 removed it).
func TestFetchFlagsRecent(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("a1 APPEND INBOX () " + literal(testMessage("one", "1")))
	tc.ok(`a2 APPEND INBOX (\Seen) ` + literal(testMessage("two", "2")))
	tc.ok("s SELECT INBOX")
	tc.ok("f FETCH 1:2 FLAGS")
	tc.mustHave(`* 1 FETCH (FLAGS (\Recent))`)
	tc.mustHave(`* 2 FETCH (FLAGS (\Seen \Recent))`)
	tc2 := e.rawLogin("alice")
	tc2.ok("e ENABLE IMAP4rev2")
	tc2.ok("s EXAMINE INBOX")
	tc2.ok("f FETCH 1:2 FLAGS")
	tc2.mustHave(`* 1 FETCH (FLAGS ())`)
	tc2.mustHave(`* 2 FETCH (FLAGS (\Seen))`)
}
