package app

import (
	"testing"

	"github.com/imapd-go/imapd/ports"
)

// The resolver: a client's name to (owner, store name) and back, in a
// user's namespace and in an admin's.
func TestMailboxOf(t *testing.T) {
	const shared = ports.SharedOwner
	for _, tt := range []struct {
		admin       bool
		ext         string
		owner, name string
		ok          bool
	}{
		{false, "INBOX", "bob", "INBOX", true},
		{false, "Sent/2024", "bob", "Sent/2024", true},
		{false, "Other Users/alice", "alice", "INBOX", true},
		{false, "Other Users/alice/Team", "alice", "Team", true},
		{false, "Other Users/alice/Team/x", "alice", "Team/x", true},
		{false, "Shared Folders/news", shared, "news", true},
		{false, "Shared Folders/news/local", shared, "news/local", true},
		{false, "Other Users", "", "", false},
		{false, "Other Users/", "", "", false},
		{false, "Other Users/bob/x", "", "", false}, // oneself
		{false, "Other Users/alice/INBOX", "", "", false},
		{false, "Shared Folders", "", "", false},
		{false, "Shared Folders/", "", "", false},
		{true, "INBOX", "bob", "INBOX", true},
		{true, "INBOX/Sent", "bob", "Sent", true},
		{true, "user/alice", "alice", "INBOX", true},
		{true, "user/alice/Team", "alice", "Team", true},
		{true, "news", shared, "news", true},
		{true, "news/local", shared, "news/local", true},
		{true, "user", "", "", false},
		{true, "user/bob/x", "", "", false},
		{true, "INBOX/", "", "", false},
	} {
		c := &conn{user: "bob", admin: tt.admin}
		m, ok := c.mailboxOf(tt.ext)
		if ok != tt.ok || ok && (m.owner != tt.owner || m.name != tt.name) {
			t.Errorf("admin=%v %q: %+v %v, want %s %q %v", tt.admin, tt.ext, m, ok, tt.owner, tt.name, tt.ok)
			continue
		}
		if ok {
			if back := c.nameOf(m); back != tt.ext {
				t.Errorf("admin=%v nameOf(%+v) = %q, want %q", tt.admin, m, back, tt.ext)
			}
		}
	}
}
