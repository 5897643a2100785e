package master

import (
	"bufio"
	"io"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// lmtpDupTranscript delivers one message to alice, then the same message
// (same Message-ID and Date) again, which duplicate suppression drops,
// then one to alice's folder Work (alice+Work, "p" for anyone).
var lmtpDupTranscript = strings.Join([]string{
	"LHLO mx",
	"MAIL FROM:<s@x>",
	"RCPT TO:<alice@mastertest>",
	"DATA",
	"Subject: twice",
	"Message-ID: <twice@x>",
	"Date: Tue, 1 Dec 2026 00:00:00 +0000",
	"",
	"body",
	".",
	"MAIL FROM:<s@x>",
	"RCPT TO:<alice@mastertest>",
	"DATA",
	"Subject: twice",
	"Message-ID: <twice@x>",
	"Date: Tue, 1 Dec 2026 00:00:00 +0000",
	"",
	"body",
	".",
	"MAIL FROM:<s@x>",
	"RCPT TO:<alice+Work@mastertest>",
	"DATA",
	"Subject: to a folder",
	"Message-ID: <folder@x>",
	"",
	"body",
	".",
	"QUIT",
	"",
}, "\r\n")

// lmtpDupWant are the lines Cyrus 3.6's lmtpd writes for
// lmtpDupTranscript (imap/lmtpd.c, imap/duplicate.c), at INFO: the
// Delivered lines name the mailbox by its internal name, the dupelim line
// by its unique id (its MAILBOXID), which mailboxIDs stands for.
var lmtpDupWant = []string{
	"<6>Delivered: <twice@x> to mailbox: user.alice",
	"<6>dupelim: eliminated duplicate message to MAILBOXID id <twice@x> date Tue, 1 Dec 2026 00:00:00 +0000 (delivery)",
	"<6>Delivered: <folder@x> to mailbox: user.alice.Work",
}

// makeWork creates alice's folder Work over IMAP at addr, with "p" for
// anyone, for alice+Work.
func makeWork(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, patience)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := newRaw(t, c, true)
	r.ok("w1", "LOGIN alice secret")
	r.ok("w2", "CREATE Work")
	r.ok("w3", "SETACL Work anyone +p")
	r.ok("w4", "LOGOUT")
}

// sendLMTP sends transcript in one write (PIPELINING) and reads the
// replies up to QUIT's.
func sendLMTP(t *testing.T, network, addr, transcript string) []string {
	t.Helper()
	c, err := net.DialTimeout(network, addr, patience)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(patience))
	r := bufio.NewReader(c)
	if _, err := io.WriteString(c, transcript); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", lines, err)
		}
		lines = append(lines, strings.TrimRight(l, "\r\n"))
		if strings.HasPrefix(l, "221 ") {
			return lines
		}
	}
}

// syslogLine is one line read from the test's /dev/log.
type syslogLine struct {
	pri int
	pid int
	msg string
}

// linesOfIdent returns the lines ident sent, once want have come (or the
// patience is over), and a little later so that an extra line shows.
func linesOfIdent(t *testing.T, logs *syslog, ident string, want int) []syslogLine {
	t.Helper()
	head := regexp.MustCompile(`^<(\d+)>[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d ` + regexp.QuoteMeta(ident) + `\[(\d+)\]: (.*)$`)
	read := func() []syslogLine {
		var out []syslogLine
		for _, l := range logs.lines() {
			if m := head.FindStringSubmatch(l); m != nil {
				pri, _ := strconv.Atoi(m[1])
				pid, _ := strconv.Atoi(m[2])
				out = append(out, syslogLine{pri, pid, m[3]})
			}
		}
		return out
	}
	deadline := time.Now().Add(patience)
	for len(read()) < want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	return read()
}

// deliveryLines are the Delivered and dupelim lines among lines, with
// their severity in front ("<6>" for INFO).
func deliveryLines(lines []syslogLine) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l.msg, "Delivered: ") || strings.HasPrefix(l.msg, "dupelim: ") {
			out = append(out, "<"+strconv.Itoa(l.pri%8)+">"+l.msg)
		}
	}
	return out
}

// mailboxIDs replaces the mailbox id of a dupelim line with "MAILBOXID":
// ids is the form of the server's ids.
func mailboxIDs(lines []string, ids string) []string {
	re := regexp.MustCompile(`^(<6>dupelim: eliminated duplicate message to )` + ids + `( id )`)
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = re.ReplaceAllString(l, "${1}MAILBOXID${2}")
	}
	return out
}

// facilityMail is syslog's MAIL facility (2), as the PRI carries it.
const facilityMail = 2 << 3

// TestLMTPSyslogUnderMaster: our lmtpd as an lmtpunix service, under
// Cyrus's master and ours, writes to syslog, as Cyrus's lmtpd does, the
// Delivered line of a delivery and the dupelim line of its duplicate:
// tagged <syslog_prefix>/lmtpunix[pid] with the pid of the lmtpd process
// that delivered, at syslog_facility, severity INFO, and nothing else.
func TestLMTPSyslogUnderMaster(t *testing.T) {
	logs := takeSyslog(t)
	if logs == nil {
		t.Skip("a syslog daemon owns /dev/log: the lines cannot be read")
	}
	for _, kind := range masters(t) {
		t.Run(kind, func(t *testing.T) {
			prefix := uniquePrefix()
			e := startLayout(t, kind, []*svc{{name: "imap"}, {name: "lmtpunix", bin: "lmtpd", unix: true, prefork: 1}},
				layout{socketDir: true, conf: "syslog_prefix: " + prefix + "\nsyslog_facility: MAIL\nallowplaintext: yes\n"})
			makeWork(t, e.services["imap"].addr)
			replies := sendLMTP(t, "unix", e.services["lmtpunix"].addr, lmtpDupTranscript)
			if n := strings.Count(strings.Join(replies, "\n"), "250 2.1.5 Success SESSIONID="); n != 3 {
				t.Errorf("%d deliveries answered 250, want 3:\n%s", n, strings.Join(replies, "\n"))
			}
			pids := e.procs("lmtpunix")
			lines := linesOfIdent(t, logs, prefix+"/lmtpunix", len(lmtpDupWant))
			var got []string
			for _, l := range lines {
				if l.pri&^7 != facilityMail {
					t.Errorf("line %q at facility %d, not MAIL", l.msg, l.pri>>3)
				}
				if !slices.Contains(pids, l.pid) {
					t.Errorf("line %q tagged with pid %d, not lmtpd's (%v)", l.msg, l.pid, pids)
				}
				got = append(got, "<"+strconv.Itoa(l.pri%8)+">"+l.msg)
			}
			// Ours: imap.MailboxIDPrefix and 96 bits in hex.
			if got = mailboxIDs(got, `F[0-9a-f]{24}`); !slices.Equal(got, lmtpDupWant) {
				t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(lmtpDupWant, "\n"))
			}
		})
	}
}

// TestLMTPSyslogLikeCyrus runs the same deliveries through Cyrus 3.6's
// lmtpd under its master and checks that it writes the lines our test
// expects of ours, each naming mailbox ids its own way; its other lines
// (USAGE, its own databases') are printed, and
// test/conformance/cyrus-differences.txt says why ours has none.
func TestLMTPSyslogLikeCyrus(t *testing.T) {
	if len(masters(t)) < 2 {
		t.Skip("Cyrus is not installed")
	}
	logs := takeSyslog(t)
	if logs == nil {
		t.Skip("a syslog daemon owns /dev/log: the lines cannot be read")
	}
	prefix := uniquePrefix()
	sock, imapAddr := startCyrusLMTPConf(t, "syslog_prefix: "+prefix+"\nsyslog_facility: MAIL\nunixhierarchysep: yes\n")
	makeWork(t, imapAddr)
	// A user name with a dot: its INBOX is made by a first login.
	c, err := net.DialTimeout("tcp", imapAddr, patience)
	if err != nil {
		t.Fatal(err)
	}
	r := newRaw(t, c, true)
	r.ok("d1", "LOGIN bob.smith x")
	r.ok("d2", "LOGOUT")
	c.Close()
	replies := sendLMTP(t, "unix", sock, lmtpDupTranscript)
	if n := strings.Count(strings.Join(replies, "\n"), "250 2.1.5 Success SESSIONID="); n != 3 {
		t.Errorf("Cyrus answered %d deliveries with 250, want 3:\n%s", n, strings.Join(replies, "\n"))
	}
	replies = sendLMTP(t, "unix", sock, "LHLO mx\r\nMAIL FROM:<s@x>\r\nRCPT TO:<bob.smith@mastertest>\r\nDATA\r\nMessage-ID: <dot@x>\r\n\r\nbody\r\n.\r\nQUIT\r\n")
	if n := strings.Count(strings.Join(replies, "\n"), "250 2.1.5 Success SESSIONID="); n != 1 {
		t.Errorf("Cyrus did not deliver to bob.smith:\n%s", strings.Join(replies, "\n"))
	}
	want := append(slices.Clone(lmtpDupWant), "<6>Delivered: <dot@x> to mailbox: user.bob^smith")
	lines := linesOfIdent(t, logs, prefix+"/lmtpunix", len(want))
	var all []string
	for _, l := range lines {
		if l.pri&^7 != facilityMail {
			t.Errorf("Cyrus's line %q at facility %d, not MAIL", l.msg, l.pri>>3)
		}
		all = append(all, "<"+strconv.Itoa(l.pri%8)+">"+l.msg)
	}
	t.Logf("Cyrus 3.6's lmtpd lines:\n%s", strings.Join(all, "\n"))
	got := deliveryLines(lines)
	// Cyrus 3.6's unique ids: 24 of [0-9a-z].
	got = mailboxIDs(got, `[0-9a-z]{24}`)
	if !slices.Equal(got, want) {
		t.Errorf("Cyrus's delivery lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
