package filelog

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/imapd-go/imapd/test/telemetrytest"
)

// lines collects what a slog handler writes, line by line.
type lines struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	done []string
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		i := bytes.IndexByte(l.buf.Bytes(), '\n')
		if i < 0 {
			return len(p), nil
		}
		l.done = append(l.done, string(l.buf.Next(i+1)))
	}
}

func (l *lines) next() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.done) == 0 {
		return ""
	}
	s := l.done[0]
	l.done = l.done[1:]
	return s
}

// SessionLogs reads every protocol log of user under dir.
func sessionLogs(t testing.TB, dir, user string) []string {
	names, _ := filepath.Glob(filepath.Join(dir, "log", user, "*"))
	var out []string
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

func watch(t testing.TB, dir, user string) {
	if err := os.MkdirAll(filepath.Join(dir, "log", user), 0o755); err != nil {
		t.Fatal(err)
	}
}

// Events as slog's text records.
func TestContract(t *testing.T) {
	telemetrytest.Run(t, func(t testing.TB) telemetrytest.Rig {
		dir := t.TempDir()
		out := &lines{}
		tel := New(dir, "imap", slog.New(slog.NewTextHandler(out, nil)))
		return telemetrytest.Rig{
			Telemetry:   tel,
			Watch:       func(user string) { watch(t, dir, user) },
			SessionLogs: func(user string) []string { return sessionLogs(t, dir, user) },
			NextLine:    out.next,
		}
	})
}
