package main

import (
	"context"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/adapters/auth/sasl"
	"github.com/imapd-go/imapd/ports"
)

// imapctl quota get and set, for scripts; delivery over quota is a
// temporary failure, as an MTA should retry it.
func TestQuotaVerbs(t *testing.T) {
	e := setup(t)
	e.run("pw\n", 0, "user", "add", "alice")
	if out := e.run("", 0, "quota", "get", "alice"); out != "STORAGE 0 none\nMESSAGE 0 none\nMAILBOX 1 none\n" {
		t.Errorf("quota of a new user = %q", out)
	}
	e.run("", 0, "quota", "set", "alice", "storage=1", "MESSAGE=none")
	msg := "Subject: hi\r\n\r\n" + strings.Repeat("x", 700) + "\r\n"
	e.run(msg, 0, "deliver", "alice")
	e.run(msg, exitTempFail, "deliver", "alice")
	if out := e.run("", 0, "quota", "get", "alice"); out != "STORAGE 0 1\nMESSAGE 1 none\nMAILBOX 1 none\n" {
		t.Errorf("quota = %q", out)
	}
	e.run("", 0, "quota", "set", "alice", "MESSAGE=5", "mailbox=2")
	e.run(msg, 0, "deliver", "alice")
	if out := e.run("", 0, "quota", "get", "alice"); out != "STORAGE 1 none\nMESSAGE 2 5\nMAILBOX 1 2\n" {
		t.Errorf("quota after replacing the limits = %q", out)
	}
	e.run("", 0, "mailbox", "create", "alice", "a")
	e.run("", exitTempFail, "mailbox", "create", "alice", "b") // MAILBOX=2
	e.run("", exitNoUser, "quota", "get", "nobody")
	e.run("", exitNoUser, "quota", "set", "nobody", "STORAGE=1")
	e.run("", exitUsage, "quota", "set", "alice", "FOO=1")
	e.run("", exitUsage, "quota", "set", "alice", "STORAGE=-1")
	e.run("", exitUsage, "quota", "set", "alice", "STORAGE")
	e.run("", exitUsage, "quota", "get")
}

// migrate carries the limits over; the usage follows the mail.
func TestMigrateQuota(t *testing.T) {
	from, to := newSite(t, "sqlite"), newSite(t, "maildir")
	if err := sasl.Open(from.dir).Add("alice", "secret"); err != nil {
		t.Fatal(err)
	}
	src := from.open(t)
	fill(t, src)
	ctx := context.Background()
	limits := ports.QuotaLimits{Storage: 10000, Messages: ports.NoLimit, Mailboxes: 50}
	if err := src.(ports.Quotas).SetQuota(ctx, "alice", limits); err != nil {
		t.Fatal(err)
	}
	want, err := src.(ports.Quotas).Quota(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := imapctl(t, "-C", from.conf, "migrate", to.conf); code != 0 {
		t.Fatalf("migrate: exit %d, %s %s", code, out, errOut)
	}
	got, err := to.open(t).(ports.Quotas).Quota(ctx, "alice")
	if err != nil || got != want {
		t.Errorf("migrated quota = %+v, %v; want %+v", got, err, want)
	}
}
