package app_test

import (
	"bytes"
	"compress/flate"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/auth/sasl"
	"github.com/imapd-go/imapd/adapters/store/sqlite"
	"github.com/imapd-go/imapd/adapters/telemetry/filelog"
	"github.com/imapd-go/imapd/adapters/transport/stdio"
	"github.com/imapd-go/imapd/app"
)

// pipeConn is a client that has sent everything in advance.
type pipeConn struct {
	io.Reader
	io.Writer
}

func (pipeConn) Close() error { return nil }

var (
	fuzzOnce sync.Once
	fuzzSrv  *app.Server
)

// fuzzServer is shared by all fuzz inputs: opening a store per input would
// make fuzzing crawl. -N (no password check) keeps LOGIN cheap.
func fuzzServer(tb testing.TB) *app.Server {
	fuzzOnce.Do(func() {
		dir := tb.TempDir()
		st, err := sqlite.Open(dir + "/spool")
		if err != nil {
			tb.Fatal(err)
		}
		db := sasl.Open(dir)
		if err := db.Add("alice", "secret"); err != nil {
			tb.Fatal(err)
		}
		auth := sasl.New(sasl.Options{MechList: []string{"PLAIN", "LOGIN"}, AllowPlaintext: true}, db)
		fuzzSrv = app.New(app.Options{ServerName: "fuzz", ConfigDir: dir, NoPasswordCheck: true, IdleTimeout: time.Hour},
			st, auth, filelog.New(dir, "imap", nil), nil)
	})
	return fuzzSrv
}

// FuzzSession feeds arbitrary client input to a whole session, in every
// state the input reaches: the server must never panic or hang, and must
// always answer.
func FuzzSession(f *testing.F) {
	seeds := []string{
		"a LOGIN alice x\r\nb SELECT INBOX\r\nc FETCH 1:* (FLAGS ENVELOPE BODY[])\r\nd LOGOUT\r\n",
		"a LOGIN alice x\r\nb APPEND INBOX (\\Seen) {20+}\r\nSubject: hi\r\n\r\nbody\r\nc SELECT inbox\r\nd SEARCH TEXT body\r\ne STORE 1 +FLAGS (\\Deleted)\r\nf EXPUNGE\r\n",
		"a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\nb LIST \"\" *\r\nc CREATE x/y\r\nd RENAME x z\r\ne LSUB \"\" %\r\n",
		"a CAPABILITY\r\nb NOOP\r\nc LOGIN {5}\r\nalice {1}\r\nx\r\nd EXAMINE INBOX\r\ne UID FETCH 1:* BODY.PEEK[1.MIME]<0.10>\r\n",
		"* \r\n\r\n{999999999}\r\na LOGIN\r\n",
		"a LOGIN alice x\r\nb SELECT INBOX\r\nc COPY 1:* Trash\r\nd UID COPY 1 INBOX\r\ne CLOSE\r\nf STATUS INBOX (MESSAGES UNSEEN UIDNEXT RECENT UIDVALIDITY)\r\n",
		"a LOGIN alice x\r\nb APPEND INBOX {20+}\r\nSubject: hi\r\n\r\nbody\r\nc SELECT INBOX\r\nd APPEND INBOX CATENATE (URL \";UID=1/;SECTION=HEADER\" TEXT {6+}\r\nhello! URL \"/INBOX/;UID=1/;SECTION=1/;PARTIAL=0.2\")\r\ne GENURLAUTH \"imap://alice@fuzz/INBOX/;UID=1;URLAUTH=authuser\" INTERNAL\r\nf URLFETCH (\"imap://alice@fuzz/INBOX/;UID=1;URLAUTH=authuser:internal:0123456789abcdef0123456789abcdef\" BODYPARTSTRUCTURE BINARY)\r\ng RESETKEY INBOX\r\n",
		"a LOGIN alice x\r\nb SETMETADATA INBOX (/private/comment \"c\" /shared/comment {2+}\r\nxy)\r\nc GETMETADATA (DEPTH 1 MAXSIZE 1) INBOX (/private /shared/comment)\r\nd SETMETADATA \"\" (/private/specialuse NIL)\r\ne GETMETADATA \"\" /private/*\r\n",
	}
	// After COMPRESS the rest of the input is a DEFLATE stream.
	var z bytes.Buffer
	zw, _ := flate.NewWriter(&z, flate.BestSpeed)
	io.WriteString(zw, "i NOOP\r\nj SELECT INBOX\r\nk REPLACE 1 INBOX {3}\r\nabc\r\nl LOGOUT\r\n")
	zw.Flush()
	seeds = append(seeds,
		"a LOGIN alice x\r\nb SELECT INBOX\r\nc APPEND INBOX {5+}\r\nhello\r\nd REPLACE 1 INBOX (\\Seen) {6+}\r\nhello2\r\n"+
			"e UID REPLACE 9 INBOX {1+}\r\nx\r\nf UNAUTHENTICATE\r\ng LOGIN alice x\r\nh COMPRESS DEFLATE\r\n"+z.String(),
		"a LOGIN alice x\r\nb COMPRESS DEFLATE\r\n\xff\xff\x00garbage",
		"a LOGIN alice x\r\nb APPEND INBOX {20+}\r\nSubject: hi\r\n\r\nbody\r\nc SELECT INBOX\r\n"+
			"d UID SORT RETURN (UPDATE MIN MAX PARTIAL -1:-5) (REVERSE SUBJECT) UTF-8 UNSEEN\r\ne SORT RETURN (SAVE) (DATE) UTF-8 ALL\r\n"+
			"f APPEND INBOX {20+}\r\nSubject: ho\r\n\r\nbody\r\ng STORE 1 +FLAGS (\\Seen \\Deleted)\r\nh EXPUNGE\r\ni CANCELUPDATE \"d\"\r\n",
		"a LOGIN alice x\r\nb CREATE Lists/x\r\nc SELECT INBOX\r\nd NOTIFY SET STATUS (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange)) (subtree Lists (MessageNew MessageExpunge)) (personal (MailboxName SubscriptionChange))\r\n"+
			"e APPEND INBOX {5+}\r\nhello\r\nf RENAME Lists/x Lists/y\r\ng IDLE\r\nDONE\r\nh NOTIFY SET (inboxes (Foo))\r\ni UNSELECT\r\nj NOTIFY NONE\r\nk UNAUTHENTICATE\r\n")
	seeds = append(seeds,
		"a LOGIN alice x\r\nb CREATE Team\r\nc SETACL Team bob +lrs\r\nd SETACL Team -bob w\r\ne GETACL Team\r\nf LISTRIGHTS Team bob\r\n"+
			"g MYRIGHTS \"Other Users/bob\"\r\nh LIST \"\" * RETURN (MYRIGHTS)\r\ni SELECT \"Shared Folders/x\"\r\nj DELETEACL Team bob\r\nk NAMESPACE\r\n")
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	srv := fuzzServer(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		err := srv.ServeConn(ctx, stdio.NewConn(pipeConn{bytes.NewReader(in), &out}, "fuzz", 0))
		if err != nil && strings.HasPrefix(err.Error(), "panic") {
			t.Fatalf("session panicked: %v\ninput: %q", err, in)
		}
		if !bytes.HasPrefix(out.Bytes(), []byte("* OK ")) {
			t.Fatalf("no greeting: %q", out.Bytes())
		}
	})
}
