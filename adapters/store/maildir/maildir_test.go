package maildir_test

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/adapters/store/maildir"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
	"github.com/imapd-go/imapd/test/storetest"
)

func open(t testing.TB, dir string) ports.Store {
	s, err := maildir.Open(dir)
	if err != nil {
		t.Fatalf("maildir.Open: %v", err)
	}
	return s
}

// TestMain lets the test binary serve as the suite's child process.
func TestMain(m *testing.M) {
	// Children of the compaction tests compact after a few appends.
	if n, err := strconv.ParseInt(os.Getenv(logLimitEnv), 10, 64); err == nil {
		maildir.SetLogLimit(n)
	}
	// Children of TestCompactCrash die at a moment of their compactions.
	if at := os.Getenv(crashAtEnv); at != "" {
		setCrashAt(at)
	}
	storetest.Child(func(dir string) (ports.Store, error) { return maildir.Open(dir) })
	os.Exit(m.Run())
}

func TestContract(t *testing.T)    { storetest.Run(t, open) }
func TestImporter(t *testing.T)    { storetest.RunImporter(t, open) }
func TestObjectIDs(t *testing.T)   { storetest.RunObjectIDs(t, open) }
func TestSortRecords(t *testing.T) { storetest.RunSortRecords(t, open) }
func TestACLs(t *testing.T)        { storetest.RunACLs(t, open) }
func TestTextIndex(t *testing.T)   { storetest.RunTextIndex(t, open) }
func TestProcesses(t *testing.T)   { storetest.RunProcesses(t, open, storetest.ReExec) }
func TestCrash(t *testing.T)       { storetest.RunCrash(t, open, storetest.ReExec) }
func TestMetadata(t *testing.T)    { storetest.RunMetadata(t, open) }
func TestReplace(t *testing.T)     { storetest.RunReplace(t, open) }
func TestReplaceCrash(t *testing.T) {
	storetest.RunReplaceCrash(t, open, storetest.ReExec)
}
func TestMessageSortRecords(t *testing.T) { storetest.RunMessageSortRecords(t, open) }

// A tree written before mailboxes had ids gets them when first asked,
// and keeps them.
func TestMailboxIDUpgrade(t *testing.T) {
	dir := t.TempDir()
	s, err := maildir.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.EnsureUser(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateMailbox(ctx, "u", "a"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{filepath.Join(dir, "u", "imapd-mailboxid"), filepath.Join(dir, "u", ".a", "imapd-mailboxid")} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	in, err := s.MailboxID(ctx, "u", "INBOX")
	if err != nil || !imap.IsObjectID(in) {
		t.Fatalf("MailboxID(INBOX) = %q, %v", in, err)
	}
	a, err := s.MailboxID(ctx, "u", "a")
	if err != nil || a == in {
		t.Fatalf("MailboxID(a) = %q, %v (INBOX %q)", a, err, in)
	}
	if again, _ := s.MailboxID(ctx, "u", "INBOX"); again != in {
		t.Errorf("INBOX id changed from %q to %q", in, again)
	}
}

// The thread index survives a line cut short by a crash: the cut line is
// ignored, and what comes after it reads, in this process and another.
func TestThreadIndexCutLine(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := open(t, dir).(*maildir.Store)
	defer s.Close()
	if err := s.EnsureUser(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if th, err := s.AssignThread(ctx, "u", []string{"a@x"}, "T1"); err != nil || th != "T1" {
		t.Fatalf("AssignThread = %q, %v", th, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "u", "imapd-threads"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("cut@x T1 ")
	f.Close()
	for _, st := range []*maildir.Store{s, open(t, dir).(*maildir.Store)} {
		if th, err := st.AssignThread(ctx, "u", []string{"b@x", "a@x"}, "T9"); err != nil || th != "T1" {
			t.Errorf("AssignThread(b, a) = %q, %v; want T1", th, err)
		}
	}
	other := open(t, dir).(*maildir.Store)
	defer other.Close()
	for _, id := range []string{"a@x", "b@x"} {
		if th, err := other.AssignThread(ctx, "u", []string{id}, "T5"); err != nil || th != "T1" {
			t.Errorf("%s: thread %q, %v; want T1", id, th, err)
		}
	}
	if th, err := other.AssignThread(ctx, "u", []string{"c@x"}, "T7"); err != nil || th != "T7" {
		t.Errorf("c: thread %q, %v; want T7", th, err)
	}
	if th, err := s.AssignThread(ctx, "u", []string{"c@x"}, "T8"); err != nil || th != "T7" {
		t.Errorf("c from the first handle: thread %q, %v; want T7", th, err)
	}
	// The cut line is no entry.
	if th, err := other.AssignThread(ctx, "u", []string{"cut@x"}, "T6"); err != nil || th != "T6" {
		t.Errorf("cut: thread %q, %v; want T6", th, err)
	}
}

func TestQuotas(t *testing.T)         { storetest.RunQuotas(t, open) }
func TestQuotaProcesses(t *testing.T) { storetest.RunQuotaProcesses(t, open, storetest.ReExec) }

// A message another program drops into new/ counts in the quota once the
// store has seen it, and so does one it removes.
func TestQuotaOutsideChanges(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := open(t, dir)
	defer s.Close()
	if err := s.EnsureUser(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	q := s.(ports.Quotas)
	if _, err := q.Quota(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	msg := "Subject: dropped\r\n\r\nhello\r\n"
	if err := os.WriteFile(filepath.Join(dir, "u", "new", "1.dropped"), []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Status(ctx, "u", "INBOX"); err != nil {
		t.Fatal(err)
	}
	if got, err := q.Quota(ctx, "u"); err != nil || got.Usage != (ports.QuotaUsage{Storage: int64(len(msg)), Messages: 1, Mailboxes: 1}) {
		t.Fatalf("after a drop: %+v, %v", got, err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "u", "cur", "*"))
	for _, f := range files {
		os.Remove(f)
	}
	if _, err := s.Status(ctx, "u", "INBOX"); err != nil {
		t.Fatal(err)
	}
	if got, err := q.Quota(ctx, "u"); err != nil || got.Usage != (ports.QuotaUsage{Mailboxes: 1}) {
		t.Fatalf("after a removal: %+v, %v", got, err)
	}
}

// A quota record left dirty (a crash between an index commit and the
// record's update) or torn is not trusted: the usage is counted again,
// and the limits of a dirty record are kept.
func TestQuotaRecordRecovery(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := open(t, dir)
	defer s.Close()
	if err := s.EnsureUser(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	msg := "Subject: x\r\n\r\nhello\r\n"
	if _, err := s.Append(ctx, "u", "INBOX", ports.NewMessage{Size: int64(len(msg)), Body: strings.NewReader(msg)}); err != nil {
		t.Fatal(err)
	}
	q := s.(ports.Quotas)
	if err := q.SetQuota(ctx, "u", ports.QuotaLimits{Storage: 7, Messages: 9, Mailboxes: 5}); err != nil {
		t.Fatal(err)
	}
	want := ports.Quota{Limits: ports.QuotaLimits{Storage: 7, Messages: 9, Mailboxes: 5}, Usage: ports.QuotaUsage{Storage: int64(len(msg)), Messages: 1, Mailboxes: 1}}
	path := filepath.Join(dir, "u", "imapd-quota")
	rec := fmt.Appendf(nil, "imapd-quota dirty %20d %20d %20d %20d %20d ", 7, 9, 5, 5000, 40)
	rec = fmt.Appendf(rec, "%08x\n", crc32.ChecksumIEEE(rec))
	if err := os.WriteFile(path, rec, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := q.Quota(ctx, "u"); err != nil || got != want {
		t.Errorf("after a dirty record: %+v, %v; want %+v", got, err, want)
	}
	torn := bytes.Replace(rec, []byte("dirty"), []byte("clean"), 1) // checksum no longer holds
	if err := os.WriteFile(path, torn, 0o600); err != nil {
		t.Fatal(err)
	}
	want.Limits = ports.Unlimited
	if got, err := q.Quota(ctx, "u"); err != nil || got != want {
		t.Errorf("after a torn record: %+v, %v; want %+v", got, err, want)
	}
}
