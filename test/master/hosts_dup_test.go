package master

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/test/pgtest"
)

// lmtpOnce is one LMTP transaction delivering the message of
// hostsDupMessage to alice.
var lmtpOnce = strings.Join([]string{
	"LHLO mx",
	"MAIL FROM:<list@example.org>",
	"RCPT TO:<alice@mastertest>",
	"DATA",
	"Subject: through two hosts",
	"Message-ID: <two-hosts@example.org>",
	"Date: Tue, 1 Dec 2026 06:00:00 +0000",
	"",
	"body",
	".",
	"QUIT",
	"",
}, "\r\n")

// The same message (same Message-ID and Date, same recipient) handed to
// the lmtpd of two hosts on one database, as an MTA that retries through
// another host after a lost reply does, is stored once: the duplicate
// records are the database's, not each host's. Both hosts answer 250;
// the first writes the Delivered line, the second the dupelim line.
func TestTwoHostsDuplicateSuppression(t *testing.T) {
	kinds := masters(t)
	pg := pgtest.Shared(t)
	dsn := pg.TCPDSN(pgtest.DatabaseOf(pg.NewDatabase(t)))
	logs := takeSyslog(t)
	prefixA, prefixB := uniquePrefix()+"a", uniquePrefix()+"b"
	host := func(kind, prefix string) *env {
		return startLayout(t, kind, []*svc{{name: "imap", prefork: 1}, {name: "lmtpunix", bin: "lmtpd", unix: true, prefork: 1}},
			layout{socketDir: true, conf: postgresConf(dsn) + "syslog_prefix: " + prefix + "\n"})
	}
	a := host("ours", prefixA)
	b := host(kinds[0], prefixB)

	for _, h := range []*env{a, b} {
		replies := strings.Join(sendLMTP(t, "unix", h.services["lmtpunix"].addr, lmtpOnce), "\n")
		if !strings.Contains(replies, "250 2.1.5 Success SESSIONID=") {
			t.Errorf("%s: the delivery is not answered 250:\n%s", h.kind, replies)
		}
	}

	for _, h := range []*env{a, b} {
		r := h.login("imap")
		lines := r.ok("s", "SELECT INBOX")
		exists := -1
		for _, l := range lines {
			var n int
			if _, err := fmt.Sscanf(l, "* %d EXISTS", &n); err == nil {
				exists = n
			}
		}
		if exists != 1 {
			t.Errorf("host under %s master: INBOX holds %d messages, want 1", h.kind, exists)
		}
		r.finish()
	}

	if logs == nil {
		t.Log("a syslog daemon owns /dev/log: the Delivered and dupelim lines were not checked")
		return
	}
	dupelim := regexp.MustCompile(`^<6>dupelim: eliminated duplicate message to F[0-9a-f]{24} id <two-hosts@example.org> date Tue, 1 Dec 2026 06:00:00 \+0000 \(delivery\)$`)
	for _, h := range []struct {
		prefix   string
		delivers bool
	}{{prefixA, true}, {prefixB, false}} {
		got := deliveryLines(linesOfIdent(t, logs, h.prefix+"/lmtpunix", 1))
		switch {
		case len(got) != 1:
			t.Errorf("%s/lmtpunix wrote %q, want one line", h.prefix, got)
		case h.delivers && got[0] != "<6>Delivered: <two-hosts@example.org> to mailbox: user.alice":
			t.Errorf("first host: %q, want the Delivered line", got[0])
		case !h.delivers && !dupelim.MatchString(got[0]):
			t.Errorf("second host: %q, want the dupelim line", got[0])
		}
	}
}
