package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// RunImporter checks the promises of ports.Importer, which the stores
// open returns must implement.
func RunImporter(t *testing.T, open Opener) {
	e := &env{t: t, open: open, dir: t.TempDir(), ctx: context.Background()}
	e.s = e.handle()
	im, ok := e.s.(ports.Importer)
	if !ok {
		t.Fatalf("%T does not implement ports.Importer", e.s)
	}
	e.user("u")
	ctx := e.ctx
	msg := func(body string, date time.Time, flags ...string) ports.NewMessage {
		return ports.NewMessage{Flags: flags, InternalDate: date, Size: int64(len(body)),
			Body: strings.NewReader(body), Structure: []byte("structure of " + body)}
	}
	// A fresh INBOX takes the imported identity.
	if err := im.ImportMailbox(ctx, "u", "INBOX", 12345, 50); err != nil {
		t.Fatalf("ImportMailbox(INBOX): %v", err)
	}
	if st := e.status("u", "INBOX"); st.UIDValidity != 12345 || st.UIDNext != 50 || st.Messages != 0 {
		t.Errorf("imported INBOX status = %+v", st)
	}
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.FixedZone("", -5*3600))
	if err := im.ImportMessage(ctx, "u", "INBOX", 7, msg("seven\r\n", old, `\Seen`, "$Old")); err != nil {
		t.Fatalf("ImportMessage 7: %v", err)
	}
	if err := im.ImportMessage(ctx, "u", "INBOX", 60, msg("sixty\r\n", old)); err != nil {
		t.Fatalf("ImportMessage 60: %v", err)
	}
	if err := im.ImportMessage(ctx, "u", "INBOX", 20, msg("twenty\r\n", old, `\Deleted`)); err != nil {
		t.Fatalf("ImportMessage 20: %v", err)
	}
	st, metas := e.snapshot("u", "INBOX")
	if got := uidsOf(metas); !slices.Equal(got, []imap.UID{7, 20, 60}) {
		t.Fatalf("imported UIDs = %v", got)
	}
	if st.UIDValidity != 12345 || st.UIDNext != 61 || st.Messages != 3 {
		t.Errorf("status after imports = %+v", st)
	}
	recs, err := e.s.Fetch(ctx, "u", "INBOX", []imap.UID{7})
	if err != nil || len(recs) != 1 {
		t.Fatalf("Fetch = %+v, %v", recs, err)
	}
	if r := recs[0]; !sameSet(r.Flags, []string{`\Seen`, "$Old"}) || !r.InternalDate.Equal(old) || r.Size != 7 ||
		string(r.Structure) != "structure of seven\r\n" || r.ModSeq == 0 || r.ModSeq > st.HighestModSeq {
		t.Errorf("imported record = %+v", r)
	}
	if _, off := recs[0].InternalDate.Zone(); off != -5*3600 {
		t.Errorf("imported date zone offset %d", off)
	}
	if got := e.read(e.s, "u", "INBOX", 20); got != "twenty\r\n" {
		t.Errorf("imported bytes = %q", got)
	}
	err = im.ImportMessage(ctx, "u", "INBOX", 7, msg("again", old))
	wantKind(t, "import of a present UID", err, imap.ErrAlreadyExists)
	wantKind(t, "import of UID 0", im.ImportMessage(ctx, "u", "INBOX", 0, msg("zero", old)), imap.ErrCannot)
	wantKind(t, "import into a missing mailbox", im.ImportMessage(ctx, "u", "nope", 1, msg("x", old)), imap.ErrNonexistent)
	// A mailbox that held messages keeps its identity.
	wantKind(t, "new UIDVALIDITY on a used mailbox", im.ImportMailbox(ctx, "u", "INBOX", 999, 5), imap.ErrAlreadyExists)
	// Appends continue after the imported UIDs.
	if r := e.append("u", "INBOX", "appended\r\n"); r.UID != 61 || r.UIDValidity != 12345 {
		t.Errorf("Append after import = %+v, want UID 61", r)
	}
	// A new mailbox, with its superior levels; a restart only raises UIDNEXT.
	if err := im.ImportMailbox(ctx, "u", "a/b", 777, 10); err != nil {
		t.Fatalf("ImportMailbox(a/b): %v", err)
	}
	if got := e.list("u"); !slices.Equal(got, []string{"INBOX", "a", "a/b"}) {
		t.Errorf("list = %q", got)
	}
	for _, tt := range []struct {
		next, want imap.UID
	}{{5, 10}, {10, 10}, {20, 20}} {
		if err := im.ImportMailbox(ctx, "u", "a/b", 777, tt.next); err != nil {
			t.Fatalf("ImportMailbox again: %v", err)
		}
		if st := e.status("u", "a/b"); st.UIDValidity != 777 || st.UIDNext != tt.want {
			t.Errorf("after ImportMailbox(next %d): %+v, want UIDNEXT %d", tt.next, st, tt.want)
		}
	}
	if err := im.ImportMessage(ctx, "u", "a/b", 3, msg("three", old)); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"x//y", "..", "x/.", "../u"} {
		wantKind(t, fmt.Sprintf("import %q", n), im.ImportMailbox(ctx, "u", n, 1, 1), imap.ErrInvalidName)
	}
	// Another handle sees the same.
	other := e.handle()
	st2, err := other.Status(ctx, "u", "a/b")
	if err != nil || st2.UIDValidity != 777 || st2.UIDNext != 20 || st2.Messages != 1 {
		t.Errorf("second handle: %+v, %v", st2, err)
	}
}
