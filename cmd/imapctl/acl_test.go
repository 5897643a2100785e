package main

import "testing"

// imapctl administers shared mailboxes and ACLs for scripts as cyradm
// does over IMAP: the defaults apply until an ACL is set, +/- add and
// remove rights, delete drops an entry, and a user's new mailbox starts
// with its parent's ACL.
func TestMailboxOwnersAndACLs(t *testing.T) {
	e := setup(t)
	e.run("pw\n", 0, "user", "add", "alice")
	e.run("", 0, "mailbox", "create", "alice", "Team")
	if out := e.run("", 0, "acl", "get", "alice", "Team"); out != "alice lrswipkxtecdan\n" {
		t.Errorf("default ACL of a user's mailbox = %q", out)
	}
	e.run("", 0, "acl", "set", "alice", "Team", "bob", "lrs")
	e.run("", 0, "acl", "set", "alice", "Team", "bob", "+w")
	e.run("", 0, "acl", "set", "alice", "Team", "carol", "lr")
	e.run("", 0, "acl", "set", "alice", "Team", "carol", "-r")
	if out := e.run("", 0, "acl", "get", "alice", "Team"); out != "alice lrswipkxtecdan\nbob lrsw\ncarol l\n" {
		t.Errorf("ACL after set = %q", out)
	}
	e.run("", 0, "acl", "delete", "alice", "Team", "carol")
	e.run("", 0, "mailbox", "create", "alice", "Team/2026")
	if out := e.run("", 0, "acl", "get", "alice", "Team/2026"); out != "alice lrswipkxtecdan\nbob lrsw\n" {
		t.Errorf("a child's ACL = %q, want its parent's", out)
	}

	// Shared mailboxes: -shared stands for their owner.
	e.run("", 0, "mailbox", "create", "-shared", "news")
	if out := e.run("", 0, "mailbox", "list", "-shared"); out != "news\n" {
		t.Errorf("shared mailboxes = %q", out)
	}
	if out := e.run("", 0, "acl", "get", "-shared", "news"); out != "anyone lrs\n" {
		t.Errorf("default ACL of a shared mailbox = %q", out)
	}
	e.run("", 0, "acl", "set", "-shared", "news", "alice", "lrswi")
	if out := e.run("", 0, "acl", "get", "-shared", "news"); out != "anyone lrs\nalice lrswi\n" {
		t.Errorf("shared ACL after set = %q", out)
	}
	e.run("", 0, "mailbox", "delete", "-shared", "news")

	e.run("", exitUsage, "acl", "set", "alice", "Team", "bob", "lrz")
	e.run("", exitUsage, "acl", "set", "alice", "Team", "-x", "lr")
	e.run("", exitNoUser, "acl", "get", "nobody", "INBOX")
	e.run("", exitNoUser, "acl", "get", "alice", "Nowhere")
	e.run("", exitNoUser, "acl", "get", "-shared", "news")
}
