package sqlite_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/store/sqlite"
	"github.com/imapd-go/imapd/adapters/telemetry/filelog"
	"github.com/imapd-go/imapd/adapters/transport/stdio"
	"github.com/imapd-go/imapd/app"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// anyUser accepts every user and password.
type anyUser struct{}

func (anyUser) Mechanisms(ports.ConnInfo) []string { return nil }
func (anyUser) PlaintextAllowed(int) bool          { return true }
func (anyUser) NewSASL(context.Context, string, ports.ConnInfo) (ports.SASLServer, error) {
	return nil, imap.ErrCannot
}
func (anyUser) CheckPassword(_ context.Context, user, _ string) (string, error) { return user, nil }
func (anyUser) UserExists(context.Context, string) (bool, error)                { return true, nil }
func (anyUser) IsAdmin(string) bool                                             { return false }

// TestIdleSessionsHoldNoConnection: sessions that wait for a command or
// sit in IDLE, a mailbox selected, hold no use of the user's database and
// no connection of it (so no statement or transaction either): an idle
// session is to cost kilobytes.
func TestIdleSessionsHoldNoConnection(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := app.New(app.Options{ConfigDir: dir, ServerName: "test.example"}, st, anyUser{}, filelog.New(dir, "imap", logger), logger)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := srv.Deliver(ctx, "alice", "INBOX", strings.NewReader("Subject: x\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	// until reads up to a line starting with prefix.
	until := func(r *bufio.Reader, prefix string) {
		t.Helper()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("waiting for %q: %v", prefix, err)
			}
			if strings.HasPrefix(line, prefix) {
				return
			}
		}
	}
	var sessions sync.WaitGroup
	var clients []net.Conn
	defer func() {
		for _, c := range clients {
			c.Close()
		}
		sessions.Wait()
	}()
	for _, last := range []string{"", "c IDLE\r\n", "", "c IDLE\r\n"} {
		cli, sc := net.Pipe()
		clients = append(clients, cli)
		sessions.Go(func() { srv.ServeConn(ctx, stdio.NewConn(sc, "test", 0)) })
		cli.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(cli)
		go io.WriteString(cli, "a LOGIN alice secret\r\nb SELECT INBOX\r\nf FETCH 1:* (FLAGS BODY[] BODYSTRUCTURE)\r\ns UID SEARCH TEXT body\r\n"+last)
		if last != "" {
			until(r, "+ ")
		} else {
			until(r, "s OK")
		}
	}
	time.Sleep(50 * time.Millisecond) // the last answers were flushed before their release
	if refs, inUse := sqlite.Held(st, "alice"); refs != 0 || inUse != 0 {
		t.Fatalf("idle sessions hold %d uses of the database and %d connections", refs, inUse)
	}
}
