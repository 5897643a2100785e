package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/auth/sasl"
	"github.com/imapd-go/imapd/adapters/duplicates"
	"github.com/imapd-go/imapd/adapters/transport/tlsconf"
	"github.com/imapd-go/imapd/app/lmtp"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// lmtpServer is an LMTP server on the env's store, beside its IMAP
// server.
type lmtpServer struct {
	e   *env
	srv *lmtp.Server
	tls *tls.Config // STARTTLS offered when set
}

// lmtpOn assembles an LMTP server for e with Cyrus's defaults
// (duplicatesuppression and lmtp_downcase_rcpt on) changed by adjust.
func (e *env) lmtpOn(store ports.Store, adjust func(*lmtp.Options)) *lmtpServer {
	e.t.Helper()
	opts := lmtp.Options{ServerName: "lmtp.example", DowncaseRcpt: true, DuplicateSuppression: true}
	if adjust != nil {
		adjust(&opts)
	}
	dups, err := duplicates.Open(e.dir, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { dups.Close() })
	auth := sasl.New(sasl.Options{}, sasl.Open(e.dir))
	if store == nil {
		store = e.store
	}
	return &lmtpServer{e: e, srv: lmtp.New(opts, store, auth, dups, nil, nil)}
}

// dial runs a session on a socket pair and returns the client; done is
// closed when the server's side of the session has ended.
func (l *lmtpServer) dial() (c *lmtpClient, done <-chan struct{}) {
	t := l.e.t
	t.Helper()
	cli, srvConn := socketPair(t)
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		l.srv.ServeConn(l.e.ctx, tlsconf.NewConn(srvConn, tlsconf.ConnOptions{Remote: "[local]", Config: l.tls}))
	}()
	t.Cleanup(func() {
		cli.Close()
		select {
		case <-ch:
		case <-time.After(ioTimeout):
			t.Errorf("LMTP session did not end after the client closed")
		}
	})
	c = &lmtpClient{t: t, conn: cli, r: bufio.NewReader(cli)}
	c.expect("220 ")
	return c, ch
}

// lmtpClient is a raw LMTP client that reads like a transcript.
type lmtpClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// send writes s with its LF line ends made CRLF.
func (c *lmtpClient) send(s string) { c.t.Helper(); c.sendRaw(strings.ReplaceAll(s, "\n", "\r\n")) }

// sendRaw writes s as it is.
func (c *lmtpClient) sendRaw(s string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// reply reads one whole reply and returns its lines.
func (c *lmtpClient) reply() []string {
	c.t.Helper()
	var lines []string
	for {
		c.conn.SetReadDeadline(time.Now().Add(ioTimeout))
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("reading a reply after %q: %v", lines, err)
		}
		line = strings.TrimRight(line, "\r\n")
		lines = append(lines, line)
		if len(line) < 4 || line[3] != '-' {
			return lines
		}
	}
}

// expect reads one reply whose last line starts with prefix.
func (c *lmtpClient) expect(prefix string) []string {
	c.t.Helper()
	lines := c.reply()
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, prefix) {
		c.t.Fatalf("got %q, want a reply starting %q", lines, prefix)
	}
	return lines
}

// transaction sends LHLO-less MAIL, RCPT and DATA for a message in one
// write (pipelined) and checks each reply's start: MAIL's, one per RCPT,
// DATA's 354 when any RCPT succeeded, then one per accepted recipient.
func (c *lmtpClient) transaction(from string, rcpts []string, msg string, want ...string) {
	c.t.Helper()
	var b strings.Builder
	b.WriteString("MAIL FROM:<" + from + ">\n")
	for _, r := range rcpts {
		b.WriteString("RCPT TO:<" + r + ">\n")
	}
	b.WriteString("DATA\n" + msg + ".\n")
	c.send(b.String())
	for _, w := range want {
		c.expect(w)
	}
}

const lmtpMsg = "From: sender@example.net\nSubject: hello\nMessage-ID: <m1@example.net>\nDate: Tue, 1 Dec 2026 00:00:00 +0000\n\nbody\n..dot\n"

func lmtpCount(t *testing.T, st ports.Store, user, mailbox string) uint32 {
	t.Helper()
	s, err := st.Status(context.Background(), user, mailbox)
	if err != nil {
		t.Fatalf("STATUS %s %s: %v", user, mailbox, err)
	}
	return s.Messages
}

func stored(t *testing.T, st ports.Store, user, mailbox string) string {
	t.Helper()
	ctx := context.Background()
	_, metas, err := st.Snapshot(ctx, user, mailbox)
	if err != nil || len(metas) == 0 {
		t.Fatalf("snapshot of %s %s: %d messages, %v", user, mailbox, len(metas), err)
	}
	b, err := st.Open(ctx, user, mailbox, metas[len(metas)-1].UID)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	data, err := io.ReadAll(io.NewSectionReader(b, 0, b.Size()))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestLMTPDeliverAndHeaders: LHLO's extensions, one delivery, and the
// message as stored: Return-Path with the envelope sender in place of the
// one it came with, a Received field, dot-unstuffing, CRLF lines.
func TestLMTPDeliverAndHeaders(t *testing.T) {
	e := newEnv(t)
	c, _ := e.lmtpOn(nil, nil).dial()
	c.send("LHLO mx.example.net\n")
	lhlo := c.expect("250 ")
	for _, ext := range []string{"250-lmtp.example", "250-8BITMIME", "250-ENHANCEDSTATUSCODES", "250-PIPELINING"} {
		if !strings.Contains(strings.Join(lhlo, "\n"), ext) {
			t.Errorf("LHLO reply %q lacks %q", lhlo, ext)
		}
	}
	if !strings.HasPrefix(lhlo[len(lhlo)-1], "250 SIZE ") {
		t.Errorf("LHLO reply %q: no SIZE", lhlo)
	}
	c.transaction("sender@example.net", []string{"alice@lmtp.example"}, "Return-Path: <forged@x>\n"+lmtpMsg,
		"250 2.1.0", "250 2.1.5 ok", "354", "250 2.1.5 Success SESSIONID=<lmtp.example-")
	c.send("QUIT\n")
	c.expect("221 2.0.0")
	got := stored(t, e.store, "alice", "INBOX")
	if !strings.HasPrefix(got, "Return-Path: <sender@example.net>\r\nReceived: from mx.example.net ([unix socket])\r\n\t by lmtp.example with LMTP;\r\n\t") {
		t.Errorf("stored message starts %q", got[:min(len(got), 200)])
	}
	if strings.Contains(got, "forged") {
		t.Error("the incoming Return-Path was kept")
	}
	if !strings.HasSuffix(got, "\r\n\r\nbody\r\n.dot\r\n") {
		t.Errorf("stored message ends %q", got[max(0, len(got)-40):])
	}
}

// TestLMTPAddsMessageIDAndDate: a message without them gets both.
func TestLMTPAddsMessageIDAndDate(t *testing.T) {
	e := newEnv(t)
	c, _ := e.lmtpOn(nil, nil).dial()
	c.send("LHLO mx\n")
	c.expect("250 ")
	c.transaction("", []string{"bob"}, "Subject: bare\n\nx\n", "250", "250", "354", "250 2.1.5")
	got := stored(t, e.store, "bob", "INBOX")
	if !strings.Contains(got, "\r\nMessage-ID: <lmtpd-") || !strings.Contains(got, "\r\nDate: ") || !strings.HasPrefix(got, "Return-Path: <>\r\n") {
		t.Errorf("stored %q", got)
	}
}

// grantPost gives anyone the "p" right on the mailbox (SETACL mailbox
// anyone +p), which user+folder delivery needs, as in Cyrus.
func grantPost(t *testing.T, st ports.Store, user, mailbox string) {
	t.Helper()
	acls, ok := st.(ports.ACLs)
	if !ok {
		t.Fatalf("the %s store keeps no ACLs", e2eStore())
	}
	_, err := acls.ModifyACL(context.Background(), user, mailbox, func(cur imap.ACL, set bool) (imap.ACL, error) {
		if !set {
			cur = imap.ACL{{Identifier: user, Rights: imap.AllRights}}
		}
		return cur.With(imap.AnyoneID, imap.ACLAdd, imap.Rights("p")), nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLMTPPlusAddressing: user+folder delivers to the folder when it
// exists and anyone may post there ("p", RFC 4314), otherwise to INBOX
// without a word; the user part is folded to lower case
// (lmtp_downcase_rcpt), the folder is not.
func TestLMTPPlusAddressing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.store.EnsureUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"Work", "Work/Sub", "Private"} {
		if err := e.store.CreateMailbox(ctx, "alice", m); err != nil {
			t.Fatal(err)
		}
	}
	grantPost(t, e.store, "alice", "Work")
	grantPost(t, e.store, "alice", "Work/Sub")
	c, _ := e.lmtpOn(nil, nil).dial()
	c.send("LHLO mx\n")
	c.expect("250 ")
	for i, tc := range []struct{ rcpt, mailbox string }{
		{"alice+Work@lmtp.example", "Work"},
		{"ALICE+Work/Sub@LMTP.EXAMPLE", "Work/Sub"},
		{"alice+work@lmtp.example", "INBOX"},    // folders are case-sensitive
		{"alice+Private@lmtp.example", "INBOX"}, // no "p" for anyone
		{"alice+Nowhere@lmtp.example", "INBOX"},
		{"alice+@lmtp.example", "INBOX"},
		{"alice+inbox@lmtp.example", "INBOX"},
		{"alice+../x@lmtp.example", "INBOX"},
	} {
		before := lmtpCount(t, e.store, "alice", tc.mailbox)
		msg := strings.Replace(lmtpMsg, "<m1@", "<plus"+itoa(i)+"@", 1)
		c.transaction("s@x", []string{tc.rcpt}, msg, "250", "250 2.1.5", "354", "250 2.1.5")
		if n := lmtpCount(t, e.store, "alice", tc.mailbox); n != before+1 {
			t.Errorf("%s: %s has %d messages, want %d", tc.rcpt, tc.mailbox, n, before+1)
		}
	}
}

// TestLMTPPipelinedMixed: a whole pipelined transaction in one write,
// with known and unknown recipients: one reply per RCPT, then one per
// accepted recipient after DATA, in order (RFC 2033 4.2).
func TestLMTPPipelinedMixed(t *testing.T) {
	e := newEnv(t)
	c, _ := e.lmtpOn(nil, nil).dial()
	c.send("LHLO mx\nMAIL FROM:<s@x> BODY=8BITMIME SIZE=200\nRCPT TO:<alice@x>\nRCPT TO:<nobody@x>\nRCPT TO:<bob@x>\nRCPT TO:<alice+Work@x>\nDATA\n" +
		lmtpMsg + ".\nRSET\nMAIL FROM:<s@x>\nRCPT TO:<nobody@x>\nDATA\nNOOP\nQUIT\n")
	c.expect("250 ")
	c.expect("250 2.1.0")
	c.expect("250 2.1.5")
	unknown := c.expect("550 5.1.1 User unknown")
	if len(unknown) != 3 || !strings.HasPrefix(unknown[0], "550-Mailbox unknown") {
		t.Errorf("unknown user: %q", unknown)
	}
	c.expect("250 2.1.5")
	c.expect("250 2.1.5")
	c.expect("354")
	for range 3 {
		c.expect("250 2.1.5 Success SESSIONID=")
	}
	c.expect("250 2.0.0") // RSET
	c.expect("250 2.1.0")
	c.expect("550 5.1.1")
	c.expect("503 5.5.1") // DATA without a recipient
	c.expect("250 2.0.0") // NOOP
	c.expect("221 2.0.0")
	// alice+Work has no Work folder: INBOX, so alice's INBOX has the
	// message once (the second copy is the duplicate of the first).
	if a, b := lmtpCount(t, e.store, "alice", "INBOX"), lmtpCount(t, e.store, "bob", "INBOX"); a != 1 || b != 1 {
		t.Errorf("alice has %d, bob %d; want 1 and 1", a, b)
	}
}

// TestLMTPSequenceAndSyntax: commands out of order and malformed ones.
func TestLMTPSequenceAndSyntax(t *testing.T) {
	e := newEnv(t)
	c, _ := e.lmtpOn(nil, nil).dial()
	for _, tc := range []struct{ send, want string }{
		{"MAIL FROM:<s@x>", "503 5.5.1"},
		{"EHLO mx", "500 5.5.2"},
		{"FROB", "500 5.5.2"},
		{"LHLO mx", "250 "},
		{"RCPT TO:<alice@x>", "503 5.5.1"},
		{"DATA", "503 5.5.1"},
		{"MAIL FROM:alice", "501 5.5.4"},
		{"MAIL FROM:<s@x> FROB=1", "555 5.5.4"},
		{"MAIL FROM:<s@x> BODY=FOO", "555 5.5.4"},
		{"MAIL FROM:<s@x>", "250 2.1.0"},
		{"MAIL FROM:<s@x>", "503 5.5.1"},
		{"RCPT TO:<alice@x> NOTIFY=NEVER", "555 5.5.4"},
		{"RCPT TO:<+x@y>", "501 5.5.4"},
		{"STARTTLS", "454 4.7.0"},
		{"VRFY alice", "252 2.3.3"},
		{strings.Repeat("x", 5000), "500 5.5.2"},
		{"NOOP", "250 2.0.0"},
	} {
		c.send(tc.send + "\n")
		c.expect(tc.want)
	}
}

// TestLMTPOversized: SIZE over maxmessagesize is refused at MAIL; a
// message over it without SIZE gets 552 5.2.3 for each recipient after
// DATA and nothing is stored; the session goes on.
func TestLMTPOversized(t *testing.T) {
	e := newEnv(t)
	c, _ := e.lmtpOn(nil, func(o *lmtp.Options) { o.MaxMessageSize = 1000 }).dial()
	c.send("LHLO mx\n")
	if lines := c.expect("250 "); lines[len(lines)-1] != "250 SIZE 1000" {
		t.Errorf("LHLO: %q", lines)
	}
	c.send("MAIL FROM:<s@x> SIZE=5000\n")
	c.expect("552 5.2.3 Message SIZE exceeds fixed maximum message size (1000)")
	big := lmtpMsg + strings.Repeat("0123456789abcdef\n", 300)
	c.transaction("s@x", []string{"alice", "bob"}, big, "250", "250", "250", "354",
		"552 5.2.3 Message size (", "552 5.2.3 Message size (")
	c.transaction("s@x", []string{"alice"}, lmtpMsg, "250", "250", "354", "250 2.1.5")
	if a, b := lmtpCount(t, e.store, "alice", "INBOX"), lmtpCount(t, e.store, "bob", "INBOX"); a != 1 || b != 0 {
		t.Errorf("alice has %d, bob %d; want 1 and 0", a, b)
	}
}

// TestLMTPDroppedMidData: a connection that ends inside DATA stores
// nothing, for any recipient.
func TestLMTPDroppedMidData(t *testing.T) {
	e := newEnv(t)
	c, done := e.lmtpOn(nil, nil).dial()
	c.send("LHLO mx\nMAIL FROM:<s@x>\nRCPT TO:<alice>\nRCPT TO:<bob>\nDATA\n")
	for _, w := range []string{"250 ", "250", "250", "250", "354"} {
		c.expect(w)
	}
	c.send(lmtpMsg + strings.Repeat("more body\n", 20000))
	c.conn.Close()
	select {
	case <-done:
	case <-time.After(ioTimeout):
		t.Fatal("the session did not end")
	}
	for _, u := range []string{"alice", "bob"} {
		if err := e.store.EnsureUser(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		if n := lmtpCount(t, e.store, u, "INBOX"); n != 0 {
			t.Errorf("%s has %d messages after a cut DATA", u, n)
		}
	}
}

// TestLMTPDuplicates: the same Message-ID and Date to the same mailbox
// is stored once and still answered 250 (duplicatesuppression); another
// mailbox, another Date, or suppression off stores it again.
func TestLMTPDuplicates(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.store.EnsureUser(ctx, "alice")
	e.store.CreateMailbox(ctx, "alice", "Work")
	grantPost(t, e.store, "alice", "Work")
	c, _ := e.lmtpOn(nil, nil).dial()
	c.send("LHLO mx\n")
	c.expect("250 ")
	c.transaction("s@x", []string{"alice"}, lmtpMsg, "250", "250", "354", "250 2.1.5")
	// A second session (another lmtpd process would share the records
	// through the configdirectory just the same).
	c2, _ := e.lmtpOn(nil, nil).dial()
	c2.send("LHLO mx\n")
	c2.expect("250 ")
	c2.transaction("s@x", []string{"alice", "alice+Work"}, lmtpMsg, "250", "250", "250", "354", "250 2.1.5", "250 2.1.5")
	if a, w := lmtpCount(t, e.store, "alice", "INBOX"), lmtpCount(t, e.store, "alice", "Work"); a != 1 || w != 1 {
		t.Errorf("INBOX has %d, Work %d; want 1 and 1", a, w)
	}
	redated := strings.Replace(lmtpMsg, "00:00:00", "00:00:01", 1)
	c2.transaction("s@x", []string{"alice"}, redated, "250", "250", "354", "250 2.1.5")
	if a := lmtpCount(t, e.store, "alice", "INBOX"); a != 2 {
		t.Errorf("another Date: INBOX has %d, want 2", a)
	}
	off, _ := e.lmtpOn(nil, func(o *lmtp.Options) { o.DuplicateSuppression = false }).dial()
	off.send("LHLO mx\n")
	off.expect("250 ")
	off.transaction("s@x", []string{"alice"}, lmtpMsg, "250", "250", "354", "250 2.1.5")
	if a := lmtpCount(t, e.store, "alice", "INBOX"); a != 3 {
		t.Errorf("suppression off: INBOX has %d, want 3", a)
	}
}

// failingStore fails every Append for one user, as a full disk would.
type failingStore struct {
	ports.Store
	user string
}

func (f failingStore) Append(ctx context.Context, user, name string, msg ports.NewMessage) (ports.AppendResult, error) {
	if user == f.user {
		io.CopyN(io.Discard, msg.Body, msg.Size/2)
		return ports.AppendResult{}, errors.New("disk full")
	}
	return f.Store.Append(ctx, user, name, msg)
}

// TestLMTPTemporaryFailure: a store failure for one recipient is 451
// 4.3.0 for that one, with nothing stored for it; the others get their
// copy.
func TestLMTPTemporaryFailure(t *testing.T) {
	e := newEnv(t)
	c, _ := e.lmtpOn(failingStore{Store: e.store, user: "bob"}, nil).dial()
	c.send("LHLO mx\n")
	c.expect("250 ")
	c.transaction("s@x", []string{"alice", "bob"}, lmtpMsg, "250", "250", "250", "354", "250 2.1.5", "451 4.3.0")
	if a, b := lmtpCount(t, e.store, "alice", "INBOX"), lmtpCount(t, e.store, "bob", "INBOX"); a != 1 || b != 0 {
		t.Errorf("alice has %d, bob %d; want 1 and 0", a, b)
	}
	// A failed delivery is not recorded as delivered: the MTA's retry
	// stores it.
	c2, _ := e.lmtpOn(nil, nil).dial()
	c2.send("LHLO mx\n")
	c2.expect("250 ")
	c2.transaction("s@x", []string{"bob"}, lmtpMsg, "250", "250", "354", "250 2.1.5")
	if b := lmtpCount(t, e.store, "bob", "INBOX"); b != 1 {
		t.Errorf("after the retry bob has %d, want 1", b)
	}
}

// TestLMTPStartTLS: STARTTLS with the server's keys; the session starts
// over (LHLO again) and Received says LMTPS (RFC 3848).
func TestLMTPStartTLS(t *testing.T) {
	e := newEnv(t)
	certPEM, keyPEM, err := tlsconf.SelfSigned([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, key := filepath.Join(e.dir, "cert.pem"), filepath.Join(e.dir, "key.pem")
	os.WriteFile(cert, certPEM, 0o600)
	os.WriteFile(key, keyPEM, 0o600)
	cfg, err := tlsconf.Load(tlsconf.Options{CertFile: cert, KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	l := e.lmtpOn(nil, nil)
	l.tls = cfg
	c, _ := l.dial()
	c.send("LHLO mx\n")
	if lines := c.expect("250 "); !strings.Contains(strings.Join(lines, "\n"), "STARTTLS") {
		t.Fatalf("LHLO: %q", lines)
	}
	c.send("MAIL FROM:<s@x>\nSTARTTLS\n")
	c.expect("250 2.1.0")
	c.expect("220 2.0.0")
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true})
	c.conn, c.r = tc, bufio.NewReader(tc)
	c.send("MAIL FROM:<s@x>\n")
	c.expect("503 5.5.1") // the transaction and LHLO are forgotten
	c.send("LHLO mx\n")
	if lines := c.expect("250 "); strings.Contains(strings.Join(lines, "\n"), "STARTTLS") {
		t.Errorf("STARTTLS offered over TLS: %q", lines)
	}
	c.transaction("s@x", []string{"alice"}, lmtpMsg, "250", "250", "354", "250 2.1.5")
	if got := stored(t, e.store, "alice", "INBOX"); !strings.Contains(got, " with LMTPS;") {
		t.Errorf("stored %q", got[:min(200, len(got))])
	}
}

// TestLMTPIdleSeesDelivery: an IMAP session in IDLE on INBOX hears of a
// delivery within a second.
func TestLMTPIdleSeesDelivery(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("s1 SELECT INBOX")
	tc.send("i1 IDLE\r\n")
	tc.expect("+ ")
	c, _ := e.lmtpOn(nil, nil).dial()
	c.send("LHLO mx\n")
	c.expect("250 ")
	start := time.Now()
	c.transaction("s@x", []string{"alice"}, lmtpMsg, "250", "250", "354", "250 2.1.5")
	tc.expect("* 1 EXISTS")
	if d := time.Since(start); d > time.Second {
		t.Errorf("IDLE heard of the delivery after %v", d)
	}
	tc.expect("* 1 RECENT")
	tc.send("DONE\r\n")
	tc.expect("i1 OK")
}

// bdat is one BDAT command with its chunk.
func bdat(chunk string, last bool) string {
	s := "BDAT " + itoa(len(chunk))
	if last {
		s += " LAST"
	}
	return s + "\r\n" + chunk
}

// TestLMTPChunking: a message in BDAT chunks (RFC 3030), pipelined: each
// chunk but the last is answered, the last gets one reply per recipient;
// BODY=BINARYMIME needs BDAT and stores a binary part; a chunk with no
// recipient is read and refused; another command abandons the transfer
// with nothing stored; a size over maxmessagesize is 552 per recipient.
func TestLMTPChunking(t *testing.T) {
	e := newEnv(t)
	c, _ := e.lmtpOn(nil, func(o *lmtp.Options) { o.MaxMessageSize = 4000 }).dial()
	c.send("LHLO mx\n")
	lhlo := strings.Join(c.expect("250 "), "\n")
	if !strings.Contains(lhlo, "250-CHUNKING") || !strings.Contains(lhlo, "250-BINARYMIME") {
		t.Errorf("LHLO: %q", lhlo)
	}
	msg := strings.ReplaceAll(lmtpMsg, "\n", "\r\n")
	c.sendRaw("MAIL FROM:<s@x>\r\nRCPT TO:<alice>\r\nRCPT TO:<bob>\r\n" + bdat(msg[:30], false) + bdat(msg[30:], false) + bdat("", true))
	for _, w := range []string{"250 2.1.0", "250 2.1.5", "250 2.1.5", "250 2.0.0 30 octets received",
		"250 2.0.0 " + itoa(len(msg)) + " octets received", "250 2.1.5 Success", "250 2.1.5 Success"} {
		c.expect(w)
	}
	got := stored(t, e.store, "bob", "INBOX")
	if !strings.HasPrefix(got, "Return-Path: <s@x>\r\n") || !strings.HasSuffix(got, "\r\n\r\nbody\r\n..dot\r\n") {
		t.Errorf("stored %q", got)
	}

	// BINARYMIME: DATA is refused, BDAT stores the binary part.
	binary := "Message-ID: <bin@x>\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\na\x00b\xffc\r\n"
	c.sendRaw("MAIL FROM:<s@x> BODY=BINARYMIME\r\nRCPT TO:<alice>\r\nDATA\r\n")
	c.expect("250 2.1.0")
	c.expect("250 2.1.5")
	c.expect("503 5.5.1")
	c.sendRaw(bdat(binary, true))
	c.expect("250 2.1.5 Success")
	if n := lmtpCount(t, e.store, "alice", "INBOX"); n != 2 {
		t.Errorf("alice has %d messages, want 2", n)
	}

	// No recipient: the chunk is read and refused, the session goes on.
	c.sendRaw("RSET\r\nMAIL FROM:<s@x>\r\nRCPT TO:<nobody>\r\n" + bdat(msg, true) + "NOOP\r\n")
	for _, w := range []string{"250 2.0.0", "250 2.1.0", "550 5.1.1", "503 5.5.1", "250 2.0.0"} {
		c.expect(w)
	}

	// Another command abandons the transfer: nothing is stored.
	abandoned := strings.Replace(msg, "<m1@", "<m2@", 1)
	c.sendRaw("MAIL FROM:<s@x>\r\nRCPT TO:<alice>\r\n" + bdat(abandoned[:40], false) + "RSET\r\nNOOP\r\n")
	for _, w := range []string{"250 2.1.0", "250 2.1.5", "250 2.0.0 40 octets", "250 2.0.0", "250 2.0.0"} {
		c.expect(w)
	}
	if n := lmtpCount(t, e.store, "alice", "INBOX"); n != 2 {
		t.Errorf("after an abandoned transfer alice has %d messages, want 2", n)
	}

	// Over maxmessagesize across chunks.
	big := strings.Repeat("x", 3000)
	c.sendRaw("MAIL FROM:<s@x>\r\nRCPT TO:<alice>\r\nRCPT TO:<bob>\r\n" + bdat("Subject: big\r\n\r\n"+big, false) + bdat(big+"\r\n", true))
	for _, w := range []string{"250 2.1.0", "250 2.1.5", "250 2.1.5", "250 2.0.0", "552 5.2.3", "552 5.2.3"} {
		c.expect(w)
	}

	// A connection that ends inside a chunk stores nothing.
	c.sendRaw("MAIL FROM:<s@x>\r\nRCPT TO:<bob>\r\nBDAT 1000 LAST\r\n" + strings.Replace(msg, "<m1@", "<m3@", 1))
	c.expect("250 2.1.0")
	c.expect("250 2.1.5")
	c.conn.Close()
	time.Sleep(100 * time.Millisecond)
	if n := lmtpCount(t, e.store, "bob", "INBOX"); n != 1 {
		t.Errorf("bob has %d messages, want 1", n)
	}
}

// TestLMTPTimeout: a client silent for lmtptxn_timeout, between commands
// or inside DATA, loses its connection, and the unfinished message is not
// stored.
func TestLMTPTimeout(t *testing.T) {
	e := newEnv(t)
	l := e.lmtpOn(nil, func(o *lmtp.Options) { o.Timeout = 200 * time.Millisecond })
	for _, sent := range []string{"LHLO mx\n", "LHLO mx\nMAIL FROM:<s@x>\nRCPT TO:<alice>\nDATA\nSubject: cut\n\nhalf a"} {
		c, done := l.dial()
		c.send(sent)
		select {
		case <-done:
		case <-time.After(ioTimeout):
			t.Fatalf("after %q the session did not end", sent)
		}
	}
	e.store.EnsureUser(context.Background(), "alice")
	if n := lmtpCount(t, e.store, "alice", "INBOX"); n != 0 {
		t.Errorf("alice has %d messages", n)
	}
}

// setQuota gives user the limits (ports.Quotas).
func setQuota(t *testing.T, st ports.Store, user string, l ports.QuotaLimits) {
	t.Helper()
	qs, ok := st.(ports.Quotas)
	if !ok {
		t.Fatalf("the %s store keeps no quotas", e2eStore())
	}
	if err := st.EnsureUser(context.Background(), user); err != nil {
		t.Fatal(err)
	}
	if err := qs.SetQuota(context.Background(), user, l); err != nil {
		t.Fatal(err)
	}
}

// TestLMTPOverQuota: a recipient already at a limit is refused at RCPT
// with 452 4.2.2 (552 5.2.2 with lmtp_over_quota_perm_failure); one
// whose quota cannot take the message gets it after DATA, with nothing
// stored; with lmtp_strict_quota, MAIL's SIZE is judged at RCPT.
func TestLMTPOverQuota(t *testing.T) {
	e := newEnv(t)
	setQuota(t, e.store, "alice", ports.QuotaLimits{Storage: ports.NoLimit, Messages: 1, Mailboxes: ports.NoLimit})
	setQuota(t, e.store, "bob", ports.QuotaLimits{Storage: 1, Messages: ports.NoLimit, Mailboxes: ports.NoLimit})
	c, _ := e.lmtpOn(nil, nil).dial()
	c.send("LHLO mx\n")
	c.expect("250 ")
	c.transaction("s@x", []string{"alice"}, lmtpMsg, "250", "250 2.1.5", "354", "250 2.1.5 Success")
	second := strings.Replace(lmtpMsg, "<m1@", "<m2@", 1)
	c.transaction("s@x", []string{"alice", "bob"}, second, "250", "452 4.2.2 Over quota", "250 2.1.5", "354", "250 2.1.5 Success")
	big := strings.Replace(lmtpMsg, "<m1@", "<m3@", 1) + strings.Repeat("0123456789\n", 100)
	c.transaction("s@x", []string{"bob"}, big, "250", "250 2.1.5", "354", "452 4.2.2 Over quota")
	if a, b := lmtpCount(t, e.store, "alice", "INBOX"), lmtpCount(t, e.store, "bob", "INBOX"); a != 1 || b != 1 {
		t.Errorf("alice has %d, bob %d; want 1 and 1", a, b)
	}

	perm, _ := e.lmtpOn(nil, func(o *lmtp.Options) { o.OverQuotaPermFailure = true; o.StrictQuota = true }).dial()
	perm.send("LHLO mx\nMAIL FROM:<s@x>\nRCPT TO:<alice>\nRSET\nMAIL FROM:<s@x> SIZE=5000\nRCPT TO:<bob>\nQUIT\n")
	for _, w := range []string{"250 ", "250 2.1.0", "552 5.2.2 Over quota", "250 2.0.0", "250 2.1.0", "552 5.2.2 Over quota", "221"} {
		perm.expect(w)
	}
}
