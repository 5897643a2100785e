package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// RunBodyBatches checks the promises of ports.BodyBatches: OpenBodies
// gives, in the order asked, what Open of each UID gives; it skips a store
// without BodyBatches.
func RunBodyBatches(t *testing.T, open Opener) {
	for _, tt := range []struct {
		name string
		fn   func(*testing.T, *env, ports.BodyBatches)
	}{
		{"SameAsOpen", testOpenBodiesSameAsOpen},
		{"BeyondReadAhead", testOpenBodiesMany},
		{"Missing", testOpenBodiesMissing},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := &env{t: t, open: open, dir: t.TempDir(), ctx: context.Background()}
			e.s = e.handle()
			bb, ok := e.s.(ports.BodyBatches)
			if !ok {
				t.Skip("the store opens bodies one by one")
			}
			tt.fn(t, e, bb)
		})
	}
}

// openBodies returns the bodies' bytes, "<nil>" for a nil body.
func (e *env) openBodies(bb ports.BodyBatches, user, box string, uids ...imap.UID) []string {
	e.t.Helper()
	bodies, err := bb.OpenBodies(e.ctx, user, box, uids)
	if err != nil {
		e.t.Fatalf("OpenBodies(%q, %v): %v", box, uids, err)
	}
	if len(bodies) != len(uids) {
		e.t.Fatalf("OpenBodies(%q, %v): %d bodies", box, uids, len(bodies))
	}
	out := make([]string, len(bodies))
	for i, b := range bodies {
		if b == nil {
			out[i] = "<nil>"
			continue
		}
		data, err := io.ReadAll(io.NewSectionReader(b, 0, b.Size()))
		if err != nil {
			e.t.Fatalf("reading UID %d: %v", uids[i], err)
		}
		b.Close()
		out[i] = string(data)
	}
	return out
}

// The bodies come in the order asked, a UID asked twice twice, a UID the
// mailbox lacks as nil, and a message larger than one piece of storage
// as whole as Open gives it.
func testOpenBodiesSameAsOpen(t *testing.T, e *env, bb ports.BodyBatches) {
	e.user("u")
	small := e.append("u", "INBOX", "Subject: one\r\n\r\nsmall\r\n").UID
	large := e.append("u", "INBOX", "Subject: two\r\n\r\n"+strings.Repeat("0123456789abcdef", 40<<10)+"\r\n").UID
	third := e.append("u", "INBOX", "Subject: three\r\n\r\nthird\r\n").UID
	uids := []imap.UID{third, small, 999, large, small}
	got := e.openBodies(bb, "u", "INBOX", uids...)
	for i, u := range uids {
		want := "<nil>"
		if u != 999 {
			want = e.read(e.s, "u", "INBOX", u)
		}
		if got[i] != want {
			t.Errorf("body %d (UID %d): %d bytes, want %d bytes", i, u, len(got[i]), len(want))
		}
	}
	// An expunged message is gone from the batch as from Open.
	e.setFlags("u", "INBOX", ports.FlagsAdd, []string{imap.FlagDeleted}, small)
	if _, err := e.s.Expunge(e.ctx, "u", "INBOX", nil); err != nil {
		t.Fatal(err)
	}
	if got := e.openBodies(bb, "u", "INBOX", small, third); got[0] != "<nil>" || got[1] != e.read(e.s, "u", "INBOX", third) {
		t.Errorf("after expunging UID %d: %.20q", small, got)
	}
}

// More small messages than a store reads ahead in one go all come whole.
func testOpenBodiesMany(t *testing.T, e *env, bb ports.BodyBatches) {
	e.user("u")
	var uids []imap.UID
	var want []string
	for i := range 24 {
		body := fmt.Sprintf("Subject: %d\r\n\r\n%s\r\n", i, strings.Repeat(string(rune('a'+i)), 250<<10))
		uids = append(uids, e.append("u", "INBOX", body).UID)
		want = append(want, body)
	}
	got := e.openBodies(bb, "u", "INBOX", uids...)
	for i := range uids {
		if got[i] != want[i] {
			t.Errorf("UID %d: %d bytes, want %d", uids[i], len(got[i]), len(want[i]))
		}
	}
}

// A missing mailbox is ErrNonexistent; an empty mailbox has nil bodies.
func testOpenBodiesMissing(t *testing.T, e *env, bb ports.BodyBatches) {
	e.user("u")
	e.create("u", "Empty")
	if _, err := bb.OpenBodies(e.ctx, "u", "Nope", []imap.UID{1}); !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("OpenBodies of a missing mailbox: %v, want ErrNonexistent", err)
	}
	if got := e.openBodies(bb, "u", "Empty", 1, 2); got[0] != "<nil>" || got[1] != "<nil>" {
		t.Errorf("OpenBodies of an empty mailbox: %q", got)
	}
}
