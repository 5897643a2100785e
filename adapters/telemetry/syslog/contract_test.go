package syslog

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/telemetry/filelog"
	"github.com/imapd-go/imapd/test/telemetrytest"
)

// Lines to a stand-in for the syslog daemon, protocol logs through
// filelog as imapd wires them.
func TestContract(t *testing.T) {
	telemetrytest.Run(t, func(tb testing.TB) telemetrytest.Rig {
		t := tb.(*testing.T)
		path, ch := listen(t)
		dir := t.TempDir()
		tel := New(Options{Service: "imap", Prefix: "cyrus", Facility: -1, Socket: path, Files: filelog.New(dir, "imap", nil)})
		t.Cleanup(func() { tel.Close() })
		return telemetrytest.Rig{
			Telemetry: tel,
			Watch: func(user string) {
				if err := os.MkdirAll(filepath.Join(dir, "log", user), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			SessionLogs: func(user string) []string {
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
			},
			NextLine: func() string {
				select {
				case s := <-ch:
					return s
				case <-time.After(5 * time.Second):
					return ""
				}
			},
		}
	})
}
