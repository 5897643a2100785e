package storebench

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// BenchmarkKeywords measures STOREs on a message that carries N keywords,
// in a mailbox of 100 messages:
//
//   - New: +FLAGS of a keyword the mailbox does not have yet, which makes
//     N (the message carries N-1 before), then -FLAGS of it again: two
//     STOREs;
//   - Same: FLAGS with the message's own N keywords, the STORE a client
//     sends to write back a whole flag list (nothing changes).
//
// A cost per STORE that grows faster than N shows per-keyword quadratic
// work. Sizes past imap.MaxKeywords cannot be built and are skipped.
func BenchmarkKeywords(b *testing.B) {
	for _, kind := range []string{"New", "Same"} {
		for _, n := range []int{10, 100, 1000} {
			for _, a := range adapters {
				b.Run(fmt.Sprintf("%s/N=%d/%s", kind, n, a.name), func(b *testing.B) { benchKeywords(b, a, kind, n) })
			}
		}
	}
}

func benchKeywords(b *testing.B, a adapter, kind string, n int) {
	s := fresh(b, a)
	defer s.Close()
	ctx := context.Background()
	var uids []imap.UID
	for i := range 100 {
		r, err := s.Append(ctx, user, "INBOX", message(i))
		if err != nil {
			b.Fatal(err)
		}
		uids = append(uids, r.UID)
	}
	kws := make([]string, 0, n)
	if kind == "New" {
		n-- // the STORE makes n
	}
	for i := range n {
		kws = append(kws, fmt.Sprintf("$Keyword%05d", i))
	}
	if _, err := s.UpdateFlags(ctx, user, "INBOX", uids[:1], ports.FlagsAdd, kws); err != nil {
		if errors.Is(err, imap.ErrLimit) {
			b.Skipf("%d keywords are more than a mailbox may have", n)
		}
		b.Fatal(err)
	}
	fresh := []string{"$Fresh"}
	if kind == "Same" {
		for b.Loop() {
			metas, err := s.UpdateFlags(ctx, user, "INBOX", uids[:1], ports.FlagsReplace, kws)
			if err != nil || len(metas) != 1 {
				b.Fatalf("%d touched, %v", len(metas), err)
			}
		}
		return
	}
	for b.Loop() {
		for _, op := range []ports.FlagOp{ports.FlagsAdd, ports.FlagsRemove} {
			metas, err := s.UpdateFlags(ctx, user, "INBOX", uids[:1], op, fresh)
			if err != nil || len(metas) != 1 {
				b.Fatalf("%d touched, %v", len(metas), err)
			}
		}
	}
}

// benchNewKeyword: a durable STORE +FLAGS of a keyword no message of the
// 100,000-message mailbox has, then -FLAGS of it (two STOREs): the worst
// case of the keyword limit's check, which reads the whole mailbox's flags
// to count its keywords.
func benchNewKeyword(b *testing.B, a adapter) {
	s := big(b, a)
	ctx := context.Background()
	uids := allUIDs(b, s, bigBox)[5000:5001]
	for b.Loop() {
		for _, op := range []ports.FlagOp{ports.FlagsAdd, ports.FlagsRemove} {
			metas, err := s.UpdateFlags(ctx, user, bigBox, uids, op, []string{"$Fresh"})
			if err != nil || len(metas) != 1 {
				b.Fatalf("%d touched, %v", len(metas), err)
			}
		}
	}
}
