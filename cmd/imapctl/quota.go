package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/imapd-go/imapd/ports"
)

// quotas returns the store's quotas, or fails when it keeps none.
func quotas(t *tool) (ports.Quotas, error) {
	q, ok := t.Store.(ports.Quotas)
	if !ok {
		return nil, fail(exitFailure, "the store keeps no quotas")
	}
	return q, nil
}

// quotaGet prints the user's quota root as RFC 9208 counts it, one
// resource a line: name, usage, limit ("none" without one); STORAGE in
// KB (1024 bytes), the usage rounded down, as GETQUOTA shows it.
func quotaGet(ctx context.Context, t *tool, args []string, _ *os.File, stdout, _ io.Writer) error {
	qs, err := quotas(t)
	if err != nil {
		return err
	}
	q, err := qs.Quota(ctx, args[0])
	if err != nil {
		return err
	}
	limit := func(n int64) string {
		if n < 0 {
			return "none"
		}
		return strconv.FormatInt(n, 10)
	}
	fmt.Fprintf(stdout, "STORAGE %d %s\nMESSAGE %d %s\nMAILBOX %d %s\n", q.Usage.Storage/1024, limit(q.Limits.Storage),
		q.Usage.Messages, limit(q.Limits.Messages), q.Usage.Mailboxes, limit(q.Limits.Mailboxes))
	return nil
}

// quotaSet replaces the user's limits, as SETQUOTA does: each argument is
// RESOURCE=LIMIT (STORAGE in KB, MESSAGE in messages, MAILBOX in
// mailboxes, "none" for no limit); a resource not given has no limit.
func quotaSet(ctx context.Context, t *tool, args []string, _ *os.File, _, _ io.Writer) error {
	qs, err := quotas(t)
	if err != nil {
		return err
	}
	l := ports.Unlimited
	for _, a := range args[1:] {
		name, val, ok := strings.Cut(a, "=")
		n := ports.NoLimit
		if val != "none" {
			if n, err = strconv.ParseInt(val, 10, 64); err != nil || n < 0 {
				ok = false
			}
		}
		switch strings.ToUpper(name) {
		case "STORAGE":
			l.Storage = n
		case "MESSAGE":
			l.Messages = n
		case "MAILBOX":
			l.Mailboxes = n
		default:
			ok = false
		}
		if !ok {
			return fail(exitUsage, "%q: want STORAGE=KB, MESSAGE=N, MAILBOX=N or RESOURCE=none", a)
		}
	}
	return qs.SetQuota(ctx, args[0], l)
}

// migrateQuota gives the user in dst the limits they have in src (the
// usage follows the mail) and reports a usage that differs once the mail
// is copied; nothing when either store keeps no quotas.
func migrateQuota(ctx context.Context, src, dst ports.Store, user string) ([]string, error) {
	sq, ok1 := src.(ports.Quotas)
	dq, ok2 := dst.(ports.Quotas)
	if !ok1 || !ok2 || user == ports.SharedOwner {
		// Quota roots are users' trees: shared mailboxes have none.
		return nil, nil
	}
	from, err := sq.Quota(ctx, user)
	if err != nil {
		return nil, err
	}
	if err := dq.SetQuota(ctx, user, from.Limits); err != nil {
		return nil, err
	}
	to, err := dq.Quota(ctx, user)
	if err != nil {
		return nil, err
	}
	if to != from {
		return []string{fmt.Sprintf("%s: quota %+v, source %+v", user, to, from)}, nil
	}
	return nil, nil
}
