package maildir_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// fixture copies a store kept under test/testdata into a fresh folder and
// returns it. Git keeps no empty folders: the new/ and tmp/ every maildir
// has are made again.
func fixture(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("..", "..", "..", "test", "testdata", name)
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			if err := os.MkdirAll(to, 0o750); err != nil {
				return err
			}
			if d.Name() == "cur" {
				for _, sub := range []string{"new", "tmp"} {
					if err := os.MkdirAll(filepath.Join(filepath.Dir(to), sub), 0o750); err != nil {
						return err
					}
				}
			}
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestFixtureV2: a store written by the version before the chunked index
// (test/testdata/maildir-v2: INBOX compacted, then appended to, flagged
// and expunged; Sub never compacted; cache files cut at their last frame
// as a crash before the padding leaves them) reads as it was written and
// takes new changes, which another store then sees.
func TestFixtureV2(t *testing.T) {
	dir := fixture(t, "maildir-v2")
	s := open(t, dir)
	ctx := context.Background()
	type want struct {
		uid   imap.UID
		flags []string
		n     int // the fixture's message number
	}
	check := func(s ports.Store, box string, wants []want) {
		t.Helper()
		_, metas, err := s.Snapshot(ctx, "u", box)
		if err != nil {
			t.Fatal(err)
		}
		var uids []imap.UID
		for _, m := range metas {
			uids = append(uids, m.UID)
		}
		recs, err := s.Fetch(ctx, "u", box, uids)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != len(wants) {
			t.Fatalf("%s: %d messages, want %d", box, len(recs), len(wants))
		}
		for i, w := range wants {
			r := recs[i]
			date := time.Unix(1700000000+int64(w.n)*3600, 0)
			_, zone := r.InternalDate.Zone()
			if r.UID != w.uid || !slices.Equal(r.Flags, w.flags) || string(r.Structure) != fmt.Sprintf("structure of %d", w.n) ||
				!r.InternalDate.Equal(date) || zone != 3600 {
				t.Errorf("%s: %+v %q %v, want UID %d flags %q message %d", box, r.MessageMeta, r.Structure, r.InternalDate, w.uid, w.flags, w.n)
			}
		}
	}
	inbox := []want{{1, []string{`\Seen`, "$k0"}, 0}, {3, []string{`\Seen`, "$k2"}, 2},
		{4, []string{`\Answered`, "$Later"}, 3}, {5, nil, 4}, {6, nil, 5}}
	check(s, "INBOX", inbox)
	check(s, "Sub", []want{{1, []string{`\Draft`}, 10}, {2, []string{`\Draft`}, 11}})
	ch, err := s.ChangesSince(ctx, "u", "INBOX", 1)
	if err != nil || !slices.Equal(ch.Expunged, []imap.UID{2}) {
		t.Errorf("expunged since 1: %+v, %v", ch.Expunged, err)
	}
	// New changes on the old files.
	body := "Subject: new\r\n\r\nnew\r\n"
	r, err := s.Append(ctx, "u", "INBOX", ports.NewMessage{InternalDate: time.Unix(1700000000+6*3600, 0).In(time.FixedZone("", 3600)),
		Size: int64(len(body)), Body: strings.NewReader(body), Structure: []byte("structure of 6"), Flags: []string{"$New"}})
	if err != nil || r.UID != 7 {
		t.Fatalf("Append: %+v, %v", r, err)
	}
	if _, err := s.UpdateFlags(ctx, "u", "INBOX", []imap.UID{5}, ports.FlagsAdd, []string{imap.FlagFlagged}); err != nil {
		t.Fatal(err)
	}
	inbox[3].flags = []string{`\Flagged`}
	inbox = append(inbox, want{7, []string{"$New"}, 6})
	check(s, "INBOX", inbox)
	check(open(t, dir), "INBOX", inbox)
	if q, ok := s.(ports.Quotas); ok {
		// The fixture's usage, with the new message.
		if u, err := q.Quota(ctx, "u"); err != nil || u.Usage.Messages != 8 || u.Usage.Storage != 361+int64(len(body)) {
			t.Errorf("Quota: %+v, %v", u, err)
		}
	}
}
