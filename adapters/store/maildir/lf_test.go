package maildir_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/adapters/store/maildir"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// A file another program delivers with bare LFs is the CRLF message to
// every reader: its size in STATUS, in the records, in the quota usage and
// in Open, and its bytes, also after a copy and a move.
func TestLFDeliveryIsCRLF(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	defer s.Close()
	if err := s.EnsureUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateMailbox(ctx, "alice", "Other"); err != nil {
		t.Fatal(err)
	}
	lf := "Subject: lf\n\nfirst\r\nsecond\n\n"
	crlf := strings.ReplaceAll(strings.ReplaceAll(lf, "\r\n", "\n"), "\n", "\r\n")
	if err := os.WriteFile(filepath.Join(dir, "alice", "new", "1717495200.M1P42.mta"), []byte(lf), 0o600); err != nil {
		t.Fatal(err)
	}

	st, metas, err := s.Snapshot(ctx, "alice", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if len(metas) != 1 || st.Size != int64(len(crlf)) {
		t.Fatalf("STATUS size %d of %d messages, want %d of 1", st.Size, len(metas), len(crlf))
	}
	uid := metas[0].UID
	recs, err := s.Fetch(ctx, "alice", "INBOX", []imap.UID{uid})
	if err != nil || len(recs) != 1 || recs[0].Size != int64(len(crlf)) {
		t.Fatalf("Fetch: %v, %+v", err, recs)
	}
	q, err := s.(ports.Quotas).Quota(ctx, "alice")
	if err != nil || q.Usage.Storage != int64(len(crlf)) {
		t.Fatalf("quota usage %d (%v), want %d", q.Usage.Storage, err, len(crlf))
	}
	read := func(name string, uid imap.UID) {
		t.Helper()
		b, err := s.Open(ctx, "alice", name, uid)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		got, err := io.ReadAll(io.NewSectionReader(b, 0, b.Size()))
		if err != nil || b.Size() != int64(len(crlf)) || !bytes.Equal(got, []byte(crlf)) {
			t.Fatalf("%s UID %d: size %d, %q (%v), want %q", name, uid, b.Size(), got, err, crlf)
		}
	}
	read("INBOX", uid)

	res, err := s.Copy(ctx, "alice", "INBOX", []imap.UID{uid}, "Other")
	if err != nil {
		t.Fatal(err)
	}
	read("Other", res.Dest[0])
	res, err = s.Move(ctx, "alice", "INBOX", []imap.UID{uid}, "Other")
	if err != nil {
		t.Fatal(err)
	}
	read("Other", res.Dest[0])
	// A fresh process sees the same.
	s2, err := maildir.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	s = s2
	read("Other", res.Dest[0])
	q, err = s.(ports.Quotas).Quota(ctx, "alice")
	if err != nil || q.Usage.Storage != 2*int64(len(crlf)) {
		t.Fatalf("quota usage %d (%v), want %d", q.Usage.Storage, err, 2*len(crlf))
	}
}
