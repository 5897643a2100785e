package maildir

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// TestFetchOldViewCompacted: a FETCH that read the index (the cache file
// it names is generation 0) just before another process compacted twice,
// which removed that file, still returns every structure: it reads them
// through a fresh look at the index.
func TestFetchOldViewCompacted(t *testing.T) {
	defer func(old int64) { logLimit = old }(logLimit)
	logLimit = 1 << 40
	writer, dir := userStore(t)
	ctx := context.Background()
	appendN := func(from, to int) {
		for i := from; i < to; i++ {
			body := fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i)
			if _, err := writer.Append(ctx, "u", "INBOX", ports.NewMessage{InternalDate: time.Now(), Size: int64(len(body)),
				Body: strings.NewReader(body), Structure: []byte(fmt.Sprintf("structure of %d", i))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendN(0, 10)
	reader, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, x, err := reader.view(ctx, "fetch", "u", "INBOX", imap.ErrNonexistent)
	if err != nil {
		t.Fatal(err)
	}
	var uids []imap.UID
	for i := range x.msgs.len() {
		uids = append(uids, x.msgs.at(i).uid)
	}
	logLimit = 0 // every write compacts
	appendN(10, 12)
	logLimit = 1 << 40
	if _, err := os.Stat(filepath.Join(dir, "u", x.cacheName())); !os.IsNotExist(err) {
		t.Fatalf("%s still there (%v): no compaction removed it", x.cacheName(), err)
	}
	recs, err := reader.fetch(ctx, "u", "INBOX", uids, m, x)
	if err != nil || len(recs) != 10 {
		t.Fatalf("fetch with the old view: %d records, %v", len(recs), err)
	}
	for i, r := range recs {
		if want := fmt.Sprintf("structure of %d", i); string(r.Structure) != want {
			t.Errorf("UID %d: structure %q, want %q", r.UID, r.Structure, want)
		}
	}
}
