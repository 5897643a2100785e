package master

import (
	"crypto/tls"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"
)

// TestLMTPUnderMaster: lmtpd as an lmtpunix service (a Unix socket, as
// in Cyrus's example cyrus.conf) and an lmtp service on TCP, under
// Cyrus's master and ours, delivers into the store imapd serves.
func TestLMTPUnderMaster(t *testing.T) {
	for _, kind := range masters(t) {
		t.Run(kind, func(t *testing.T) {
			e := start(t, kind, []*svc{
				{name: "imap", prefork: 0},
				{name: "lmtpunix", bin: "lmtpd", unix: true, prefork: 1},
				{name: "lmtp", bin: "lmtpd", prefork: 0},
			})
			for i, service := range []string{"lmtpunix", "lmtp"} {
				r := e.dial(service)
				if !strings.HasPrefix(r.greeting, "220 mastertest LMTP ready") {
					t.Fatalf("%s greeting %q", service, r.greeting)
				}
				msg := "Subject: over " + service + "\r\nMessage-ID: <m" + strconv.Itoa(i) + "@x>\r\n\r\nbody\r\n.\r\n"
				if _, err := r.c.Write([]byte("LHLO mx\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@mastertest>\r\nRCPT TO:<nobody@mastertest>\r\nDATA\r\n" + msg + "QUIT\r\n")); err != nil {
					t.Fatal(err)
				}
				var got []string
				for {
					l := r.line()
					got = append(got, strings.TrimRight(l, "\r\n"))
					if strings.HasPrefix(l, "221 ") {
						break
					}
				}
				all := strings.Join(got, "\n")
				for _, want := range []string{"250-mastertest", "250 2.1.0 ok", "250 2.1.5 ok", "550 5.1.1 User unknown", "354 ", "250 2.1.5 Success SESSIONID=<mastertest-"} {
					if !strings.Contains(all, want) {
						t.Errorf("%s: no %q in\n%s", service, want, all)
					}
				}
				// STARTTLS is offered with imapd's keys, on TCP as on the
				// Unix socket.
				if !strings.Contains(all, "250-STARTTLS") && !strings.Contains(all, "250 STARTTLS") {
					t.Errorf("%s: STARTTLS not offered:\n%s", service, all)
				}
			}
			c, err := imapclient.DialStartTLS(e.services["imap"].addr, &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Login("alice", "secret").Wait(); err != nil {
				t.Fatal(err)
			}
			sel, err := c.Select("INBOX", nil).Wait()
			if err != nil {
				t.Fatal(err)
			}
			if sel.NumMessages != 2 {
				t.Errorf("INBOX holds %d messages, want 2", sel.NumMessages)
			}
			c.Logout().Wait()
		})
	}
}
