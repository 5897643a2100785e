package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/adapters/store/ftsindex"
)

// TestIndex builds and rebuilds the full-text index of existing mail, on
// each store, with its progress on standard error.
func TestIndex(t *testing.T) {
	if !ftsindex.Available() {
		t.Skip("SQLite without FTS5 (build with -tags sqlite_fts5)")
	}
	for _, store := range []string{"sqlite", "maildir"} {
		t.Run(store, func(t *testing.T) {
			e := setup(t)
			if err := os.WriteFile(e.conf, []byte("configdirectory: "+e.dir+"\nstore: "+store+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			e.run("pw\n", 0, "user", "add", "alice")
			e.run("pw\n", 0, "user", "add", "bob")
			e.run("", 0, "mailbox", "create", "alice", "Work")
			msg := "From: a@example.org\r\nSubject: quarterly\r\n\r\nzanzibar\r\n"
			e.run(msg, 0, "deliver", "alice")
			e.run(msg, 0, "deliver", "alice", "Work")
			e.run(msg, 0, "deliver", "bob")

			stderr := func(args ...string) string {
				t.Helper()
				cmd := exec.Command(e.bin, append([]string{"-C", e.conf}, args...)...)
				var s bytes.Buffer
				cmd.Stderr = &s
				if err := cmd.Run(); err != nil {
					t.Fatalf("imapctl %q: %v; stderr %q", args, err, s.String())
				}
				return s.String()
			}
			// A rebuild reads every message of the users named.
			if out := stderr("index", "-rebuild", "alice"); !strings.Contains(out, "index alice: 2 messages") || strings.Contains(out, "bob") {
				t.Errorf("index -rebuild alice: stderr %q", out)
			}
			// Without -rebuild, only what the index lacks: every user.
			out := stderr("index")
			for _, u := range []string{"alice", "bob"} {
				if !strings.Contains(out, "index "+u+": ") {
					t.Errorf("index: stderr %q, want a line for %s", out, u)
				}
			}
			if !strings.Contains(out, "index alice: 0 messages") {
				t.Errorf("index after a rebuild: stderr %q, want nothing left for alice", out)
			}
			e.run("", exitNoUser, "index", "nobody")
		})
	}
}
