package e2e

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/imapd-go/imapd/adapters/auth/sasl"
	"github.com/imapd-go/imapd/adapters/telemetry/filelog"
	"github.com/imapd-go/imapd/app"
	"github.com/imapd-go/imapd/ports"
)

// TestSearchTextIndex: SEARCH answers the same through the store's
// full-text index as by reading every message, on the same mailbox: a
// second server shares the store with its index hidden. The messages are
// the fixtures (encodings, charsets, nested and forwarded messages,
// addresses), the searches every kind the index narrows, strings too
// short to narrow, and NOT and OR around them, before and after EXPUNGE,
// COPY and MOVE.
func TestSearchTextIndex(t *testing.T) {
	e := newEnv(t)
	plain := *e
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	auth := sasl.New(sasl.Options{MechList: []string{"PLAIN"}, AllowPlaintext: true}, sasl.Open(e.dir))
	plain.srv = app.New(app.Options{ConfigDir: e.dir, ServerName: "test.example"},
		struct{ ports.Store }{e.store}, auth, filelog.New(e.dir, "imap", logger), logger)
	if _, ok := e.store.(ports.TextIndex); !ok {
		t.Log("the store keeps no index: both sides read every message")
	}

	tc := e.rawLogin("alice")
	files, err := filepath.Glob("../testdata/messages/*.eml")
	if err != nil || len(files) == 0 {
		t.Fatalf("fixtures: %v, %v", files, err)
	}
	slices.Sort(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tc.ok("a APPEND INBOX " + literal(string(b)))
	}
	tc.ok("c CREATE Other")
	other := plain.rawLogin("alice")

	u8 := func(key, v string) string { return "CHARSET UTF-8 " + key + " " + literalPlus(v) }
	searches := []string{
		"TEXT quarterly", "BODY quarterly", "SUBJECT quarterly", "TEXT \"QUARTERLY REPORT\"",
		u8("BODY", "coupée par"), u8("BODY", "coupée"), u8("SUBJECT", "café crème"), u8("FROM", "françois"),
		u8("TO", "山田太郎"), u8("TO", "keld jørn"), u8("BODY", "GRÜSSE"), u8("BODY", "KÖLN!"), u8("SUBJECT", "grüße"),
		u8("BODY", "ßß"), u8("TEXT", "ö"),
		"BODY \"<B>ORIGINAL\"", "BODY JVBERi0", "TEXT JVBERi0", "BODY \"digest two\"",
		"FROM example", "TO example", "CC example", "BCC example", "HEADER Message-ID example",
		"HEADER Content-Type multipart", "HEADER Received from", "HEADER X-Mailer mail", "TEXT the", "BODY and",
		"TEXT e", "BODY th", "SUBJECT re", "HEADER Subject \"\"", "FROM @",
		"NOT BODY the", "NOT TEXT example", "OR BODY the SUBJECT test", "OR BODY zzzqqq SUBJECT re",
		"BODY the SUBJECT re", "NOT (OR BODY the SUBJECT re)", "SEEN BODY the", "UNSEEN TEXT example",
		"OR (BODY the FROM example) (TEXT zzzqqq)", "1:5 TEXT example", "LARGER 2000 BODY the",
	}
	compare := func(when string) {
		t.Helper()
		hits := 0
		for _, s := range searches {
			for _, uid := range []string{"", "UID "} {
				tc.ok("s " + uid + "SEARCH " + s)
				other.ok("s " + uid + "SEARCH " + s)
				if !slices.Equal(tc.untagged, other.untagged) {
					t.Errorf("%s: %sSEARCH %q: with the index %q, without %q", when, uid, s, tc.untagged, other.untagged)
				}
				if len(tc.untagged) == 1 && tc.untagged[0] != "* SEARCH" {
					hits++
				}
			}
		}
		if hits/2 < len(searches)/3 {
			t.Errorf("%s: only %d searches of %d found anything", when, hits/2, len(searches))
		}
	}
	tc.ok("s SELECT INBOX")
	other.ok("s SELECT INBOX")
	compare("after APPEND")

	tc.ok("f STORE 2,5,9 +FLAGS (\\Deleted \\Seen)")
	tc.ok("x EXPUNGE")
	other.ok("n NOOP")
	compare("after EXPUNGE")

	tc.ok("c COPY 1:6 Other")
	tc.ok("m MOVE 3:5 Other")
	other.ok("n NOOP")
	compare("after COPY and MOVE, in the source")
	tc.ok("s SELECT Other")
	other.ok("s SELECT Other")
	compare("after COPY and MOVE, in the destination")
}
