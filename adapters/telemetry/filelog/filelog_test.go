package filelog

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/ports"
)

func TestSessionLogFormat(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "log", "alice"), 0o755); err != nil {
		t.Fatal(err)
	}
	tel := New(dir, "imap", nil)
	clock := time.Date(1993, time.June, 3, 21, 49, 8, 0, time.Local)
	tel.now = func() time.Time { return clock }

	l := tel.SessionLog("alice", "")
	if l == nil {
		t.Fatal("no session log")
	}
	l.Read([]byte("a1 SELECT INBOX\r\n"))
	clock = clock.Add(2 * time.Second)
	l.Wrote([]byte("* 0 EXISTS\r\na1 OK done\r\n"))
	l.Read(nil) // nothing to record
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l.Wrote([]byte("after close\r\n")) // dropped, no panic

	name := filepath.Join(dir, "log", "alice", "imap-"+strconv.Itoa(os.Getpid()))
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	epoch := clock.Unix()
	want := "---------- alice Thu Jun  3 21:49:08 1993\n\n" +
		"<" + strconv.FormatInt(epoch-2, 10) + "<a1 SELECT INBOX\r\n" +
		">" + strconv.FormatInt(epoch, 10) + ">* 0 EXISTS\r\na1 OK done\r\n"
	if string(data) != want {
		t.Errorf("log =\n%q\nwant\n%q", data, want)
	}
	fi, _ := os.Stat(name)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}

	// A second session of the same process appends.
	l = tel.SessionLog("alice", "")
	l.Read([]byte("x\r\n"))
	l.Close()
	data, _ = os.ReadFile(name)
	if !strings.HasPrefix(string(data), want+"---------- alice ") {
		t.Errorf("second session did not append: %q", data)
	}
}

func TestSessionLogOnlyWhenFolderExists(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "log"), 0o755)
	os.WriteFile(filepath.Join(dir, "log", "file"), nil, 0o644)
	tel := New(dir, "imap", nil)
	for _, u := range []string{"bob", "file", "", ".", "..", "a/b"} {
		if l := tel.SessionLog(u, ""); l != nil {
			t.Errorf("SessionLog(%q) = %v, want nil", u, l)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "log")); len(entries) != 1 {
		t.Errorf("log/ was changed: %v", entries)
	}
}

func TestEventLevels(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
	tel := New(t.TempDir(), "imap", log)
	tests := []struct {
		e    ports.Event
		want string
	}{
		{ports.Event{Kind: "command", User: "alice", Command: "SELECT", Status: "OK", Duration: time.Millisecond},
			`level=DEBUG msg=command service=imap user=alice command=SELECT status=OK duration=1ms`},
		{ports.Event{Kind: "login", User: "alice", Remote: "10.0.0.1:993"},
			`level=INFO msg=login service=imap user=alice remote=10.0.0.1:993`},
		{ports.Event{Kind: "login-failed", User: "bob"}, `level=INFO msg=login-failed service=imap user=bob`},
		{ports.Event{Kind: "error", Command: "FETCH", Err: errors.New("disk full")},
			`level=WARN msg=error service=imap command=FETCH err="disk full"`},
		// lmtpd's deliveries name the message and the mailbox.
		{ports.Event{Kind: "delivered", User: "alice", MessageID: "<1@x>", Mailbox: "user.alice"},
			`level=INFO msg=delivered service=imap user=alice message-id=<1@x> mailbox=user.alice`},
		{ports.Event{Kind: "dupelim", User: "alice", MessageID: "<1@x>", Date: "Tue, 1 Dec 2026 00:00:00 +0000", Mailbox: "user.alice"},
			`level=INFO msg=dupelim service=imap user=alice message-id=<1@x> date="Tue, 1 Dec 2026 00:00:00 +0000" mailbox=user.alice`},
	}
	for _, tt := range tests {
		buf.Reset()
		tel.Event(tt.e)
		if got := strings.TrimSpace(buf.String()); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}

// With Multi, two sessions of one user in one process each write their own
// file, <service>-<pid>-<n>, and neither sees the other's lines.
func TestSessionLogMulti(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "log", "alice"), 0o755); err != nil {
		t.Fatal(err)
	}
	tel := New(dir, "imap", nil)
	tel.Multi = true
	a, b := tel.SessionLog("alice", ""), tel.SessionLog("alice", "")
	a.Read([]byte("a1 NOOP\r\n"))
	b.Read([]byte("b1 NOOP\r\n"))
	a.Close()
	b.Close()
	pid := strconv.Itoa(os.Getpid())
	for i, want := range []string{"a1 NOOP", "b1 NOOP"} {
		data, err := os.ReadFile(filepath.Join(dir, "log", "alice", "imap-"+pid+"-"+strconv.Itoa(i+1)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), want) || strings.Count(string(data), "NOOP") != 1 {
			t.Errorf("session %d log:\n%s", i+1, data)
		}
	}
}
