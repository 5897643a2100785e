package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/imapd-go/imapd/adapters/auth/sasl"
	"github.com/imapd-go/imapd/app"
	"github.com/imapd-go/imapd/app/config"
	"github.com/imapd-go/imapd/cmd/internal/wiring"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// migrateBatch is how many messages are fetched and compared at once.
const migrateBatch = 512

// migrate copies users' mail from the store this configuration names to
// the one to.conf names, keeping UIDVALIDITY, UIDNEXT and every UID, so
// that clients keep their caches across a change of backend. It can be
// run again after an interruption: messages already in the target with
// the same UID and size are skipped. It ends by comparing both sides.
func migrate(ctx context.Context, t *tool, args []string, _ *os.File, stdout, stderr io.Writer) error {
	cfg, err := config.Load(args[0], wiring.DefaultService)
	if err != nil {
		return fail(exitConfig, "%v", err)
	}
	ts, err := cfg.Settings()
	if err != nil {
		return fail(exitConfig, "%v", err)
	}
	dst, cleanup, err := wiring.ProvideStore(ts)
	if err != nil {
		return err
	}
	defer cleanup()
	im, ok := dst.(ports.Importer)
	if !ok {
		return fail(exitFailure, "store %q cannot import with fixed UIDs", ts.Store)
	}
	users := args[1:]
	if len(users) == 0 {
		if users, err = t.Users.List(); err != nil {
			return err
		}
	}
	var problems []string
	for _, u := range users {
		if err := mustExist(t, u); err != nil {
			return err
		}
		if err := copyUserEntry(t.Users, sasl.Open(ts.ConfigDir), u); err != nil {
			return fmt.Errorf("user database entry of %s: %w", u, err)
		}
		p, err := migrateUser(ctx, t.Store, dst, im, u, stderr)
		if err != nil {
			return fmt.Errorf("%s: %w", u, err)
		}
		problems = append(problems, p...)
	}
	if len(args) == 1 {
		// Shared mailboxes belong to no user of the user database.
		p, err := migrateUser(ctx, t.Store, dst, im, ports.SharedOwner, stderr)
		if err != nil {
			return fmt.Errorf("shared mailboxes: %w", err)
		}
		problems = append(problems, p...)
	}
	for _, p := range problems {
		fmt.Fprintln(stdout, "mismatch:", p)
	}
	if len(problems) > 0 {
		return fail(exitFailure, "verification found %d mismatches", len(problems))
	}
	fmt.Fprintf(stdout, "migrated and verified %d users\n", len(users))
	return nil
}

// migrateUser copies one user's subscriptions, mailboxes and messages and
// returns what the verification found different.
func migrateUser(ctx context.Context, src, dst ports.Store, im ports.Importer, user string, stderr io.Writer) ([]string, error) {
	if user != ports.SharedOwner {
		if err := dst.EnsureUser(ctx, user); err != nil {
			return nil, err
		}
	}
	subs, err := src.Subscriptions(ctx, user)
	if err != nil {
		return nil, err
	}
	for _, n := range subs {
		if err := dst.SetSubscribed(ctx, user, n, true); err != nil {
			return nil, err
		}
	}
	boxes, err := src.ListMailboxes(ctx, user)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, b := range boxes {
		st, err := src.Status(ctx, user, b.Name)
		if err != nil {
			return nil, err
		}
		total += int(st.Messages)
	}
	prog := newProgress(stderr, "migrate "+user, total)
	var problems []string
	for _, b := range boxes {
		p, err := migrateMailbox(ctx, src, dst, im, user, b.Name, prog)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name, err)
		}
		problems = append(problems, p...)
		if len(b.SpecialUse) > 0 {
			if err := dst.SetSpecialUse(ctx, user, b.Name, b.SpecialUse); err != nil {
				return nil, fmt.Errorf("%s: %w", b.Name, err)
			}
		}
		if err := migrateMailboxID(ctx, src, dst, user, b.Name); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name, err)
		}
		if err := migrateSortRecords(ctx, src, dst, user, b.Name); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name, err)
		}
		if err := migrateMetadata(ctx, src, dst, user, b.Name); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name, err)
		}
		if err := migrateACL(ctx, src, dst, user, b.Name); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name, err)
		}
	}
	if err := migrateSeen(ctx, src, dst, user); err != nil {
		return nil, err
	}
	if err := migrateThreads(ctx, src, dst, user); err != nil {
		return nil, err
	}
	// The server's entries: the user's /private ones, and the /shared
	// ones (the same for every user: copied again, to the same values).
	if err := migrateMetadata(ctx, src, dst, user, ""); err != nil {
		return nil, fmt.Errorf("server METADATA: %w", err)
	}
	p, err := migrateQuota(ctx, src, dst, user) // quota.go
	if err != nil {
		return nil, err
	}
	problems = append(problems, p...)
	prog.finish()
	return problems, nil
}

// migrateMailboxID gives the mailbox in dst the RFC 8474 MAILBOXID it has
// in src, so that clients keep knowing it; nothing when either store
// keeps no ids. (EMAILID and THREADID travel in the structure blobs.)
func migrateMailboxID(ctx context.Context, src, dst ports.Store, user, name string) error {
	so, ok1 := src.(ports.ObjectIDs)
	do, ok2 := dst.(ports.ObjectIDs)
	if !ok1 || !ok2 {
		return nil
	}
	id, err := so.MailboxID(ctx, user, name)
	if err != nil {
		return err
	}
	return do.SetMailboxID(ctx, user, name, id)
}

// migrateSortRecords copies the mailbox's saved SORT and THREAD records:
// messages keep their UIDs, bytes and dates, and the mailbox its
// UIDVALIDITY, so the records hold in the target as they are (which
// saves the first SORT there from computing them all). Nothing when
// either store keeps none, or the source has no list.
func migrateSortRecords(ctx context.Context, src, dst ports.Store, user, name string) error {
	so, ok1 := src.(ports.SortRecords)
	do, ok2 := dst.(ports.SortRecords)
	if !ok1 || !ok2 {
		return nil
	}
	v, data, err := so.LoadSortRecords(ctx, user, name)
	if err != nil || data == nil {
		return err
	}
	return do.SaveSortRecords(ctx, user, name, v, data)
}

// migrateACL copies the mailbox's ACL when one was set in src (an unset
// one is the default on both sides).
func migrateACL(ctx context.Context, src, dst ports.Store, user, name string) error {
	so, ok1 := src.(ports.ACLs)
	do, ok2 := dst.(ports.ACLs)
	if !ok1 || !ok2 {
		return nil
	}
	acl, set, err := so.MailboxACL(ctx, user, name)
	if err != nil || !set {
		return err
	}
	_, err = do.ModifyACL(ctx, user, name, func(imap.ACL, bool) (imap.ACL, error) { return acl, nil })
	return err
}

// migrateSeen copies the seen state the user keeps of other users'
// mailboxes: its keys name mailboxes by MAILBOXID, which the migration
// keeps (migrateMailboxID).
func migrateSeen(ctx context.Context, src, dst ports.Store, user string) error {
	so, ok1 := src.(ports.SeenStates)
	do, ok2 := dst.(ports.SeenStates)
	if !ok1 || !ok2 {
		return nil
	}
	return so.SeenKeys(ctx, user, func(key string) error {
		uids, _, err := so.LoadSeen(ctx, user, key)
		if err != nil || len(uids) == 0 {
			return err
		}
		_, err = do.UpdateSeen(ctx, user, key, uids, true)
		return err
	})
}

// migrateMetadata copies the METADATA entries (RFC 5464) the user sees
// on the mailbox ("" for the server): its /shared ones and the user's
// /private ones; entries the target has and the source has not stay.
// Nothing when either store keeps none.
func migrateMetadata(ctx context.Context, src, dst ports.Store, user, name string) error {
	so, ok1 := src.(ports.Metadata)
	do, ok2 := dst.(ports.Metadata)
	if !ok1 || !ok2 {
		return nil
	}
	entries, err := so.GetMetadata(ctx, user, name)
	if err != nil || len(entries) == 0 {
		return err
	}
	return do.SetMetadata(ctx, user, name, entries, 0)
}

// migrateThreads copies the user's Message-ID thread index, so that
// replies arriving after the migration join their threads; one step per
// thread, entries the target knows already kept as they are.
func migrateThreads(ctx context.Context, src, dst ports.Store, user string) error {
	so, ok1 := src.(ports.ObjectIDs)
	do, ok2 := dst.(ports.ObjectIDs)
	if !ok1 || !ok2 {
		return nil
	}
	byThread := map[string][]string{}
	err := so.Threads(ctx, user, func(msgID, thread string) error {
		byThread[thread] = append(byThread[thread], msgID)
		return nil
	})
	if err != nil {
		return err
	}
	for thread, ids := range byThread {
		if _, err := do.AssignThread(ctx, user, ids, thread); err != nil {
			return err
		}
	}
	return nil
}

// sizes returns the size of every message of the mailbox, by UID.
func sizes(ctx context.Context, s ports.Store, user, name string, metas []ports.MessageMeta) (map[imap.UID]ports.MessageRecord, error) {
	out := make(map[imap.UID]ports.MessageRecord, len(metas))
	for i := 0; i < len(metas); i += migrateBatch {
		var uids []imap.UID
		for _, m := range metas[i:min(i+migrateBatch, len(metas))] {
			uids = append(uids, m.UID)
		}
		recs, err := s.Fetch(ctx, user, name, uids)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			out[r.UID] = r
		}
	}
	return out, nil
}

func migrateMailbox(ctx context.Context, src, dst ports.Store, im ports.Importer, user, name string, prog *progress) ([]string, error) {
	st, metas, err := src.Snapshot(ctx, user, name)
	if err != nil {
		return nil, err
	}
	if err := im.ImportMailbox(ctx, user, name, st.UIDValidity, st.UIDNext); err != nil {
		return nil, err
	}
	_, have, err := dst.Snapshot(ctx, user, name)
	if err != nil {
		return nil, err
	}
	present, err := sizes(ctx, dst, user, name, have)
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(metas); i += migrateBatch {
		var uids []imap.UID
		for _, m := range metas[i:min(i+migrateBatch, len(metas))] {
			uids = append(uids, m.UID)
		}
		recs, err := src.Fetch(ctx, user, name, uids)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if p, ok := present[r.UID]; ok {
				if p.Size != r.Size {
					return nil, fmt.Errorf("UID %d is in the target with another size (%d, not %d)", r.UID, p.Size, r.Size)
				}
				prog.add(1) // copied by an earlier run
				continue
			}
			if err := copyMessage(ctx, src, im, user, name, r); err != nil {
				return nil, fmt.Errorf("UID %d: %w", r.UID, err)
			}
			prog.add(1)
		}
	}
	return verifyMailbox(ctx, src, dst, user, name)
}

func copyMessage(ctx context.Context, src ports.Store, im ports.Importer, user, name string, r ports.MessageRecord) error {
	b, err := src.Open(ctx, user, name, r.UID)
	if err != nil {
		return err
	}
	defer b.Close()
	msg := ports.NewMessage{
		Flags: r.Flags, InternalDate: r.InternalDate, Size: b.Size(),
		Body: io.NewSectionReader(b, 0, b.Size()), Structure: r.Structure, SaveDate: r.SaveDate,
	}
	// The target keeps each message's sort record, as APPEND gives it.
	app.StampSortRecord(&msg)
	return im.ImportMessage(ctx, user, name, r.UID, msg)
}

// verifyMailbox compares both sides of one mailbox: identity, UIDs,
// flags, sizes and internal dates.
func verifyMailbox(ctx context.Context, src, dst ports.Store, user, name string) ([]string, error) {
	sst, smetas, err := src.Snapshot(ctx, user, name)
	if err != nil {
		return nil, err
	}
	dst2, dmetas, err := dst.Snapshot(ctx, user, name)
	if err != nil {
		return nil, err
	}
	var out []string
	where := user + " " + name
	if sst.UIDValidity != dst2.UIDValidity || dst2.UIDNext < sst.UIDNext || sst.Messages != dst2.Messages {
		out = append(out, fmt.Sprintf("%s: UIDVALIDITY %d/%d, UIDNEXT %d/%d, messages %d/%d", where,
			sst.UIDValidity, dst2.UIDValidity, sst.UIDNext, dst2.UIDNext, sst.Messages, dst2.Messages))
	}
	srecs, err := sizes(ctx, src, user, name, smetas)
	if err != nil {
		return nil, err
	}
	drecs, err := sizes(ctx, dst, user, name, dmetas)
	if err != nil {
		return nil, err
	}
	for uid, s := range srecs {
		d, ok := drecs[uid]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: UID %d missing", where, uid))
		case d.Size != s.Size:
			out = append(out, fmt.Sprintf("%s: UID %d size %d, want %d", where, uid, d.Size, s.Size))
		case !imap.SameFlags(d.Flags, s.Flags):
			out = append(out, fmt.Sprintf("%s: UID %d flags %q, want %q", where, uid, d.Flags, s.Flags))
		case !d.InternalDate.Equal(s.InternalDate):
			out = append(out, fmt.Sprintf("%s: UID %d internal date %v, want %v", where, uid, d.InternalDate, s.InternalDate))
		}
	}
	for uid := range drecs {
		if _, ok := srecs[uid]; !ok {
			out = append(out, fmt.Sprintf("%s: UID %d only in the target", where, uid))
		}
	}
	slices.Sort(out)
	return out, nil
}

// copyUserEntry copies a user's line of the password file from one
// configdirectory to another, under the file's lock; nothing happens when
// both are the same file or the target has the user already.
func copyUserEntry(from, to *sasl.UserDB, user string) error {
	// Users kept in SQL stay there: the target's hosts read the same
	// database.
	if from.InSQL() || from.Path() == to.Path() {
		return nil
	}
	if ok, err := to.Exists(user); err != nil || ok {
		return err
	}
	line, err := passwdLine(from.Path(), user)
	if err != nil {
		return err
	}
	dir := filepath.Dir(to.Path())
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	lf, err := os.OpenFile(filepath.Join(dir, sasl.PasswdFile+".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer lf.Close()
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX); err != nil {
		return err
	}
	old, err := os.ReadFile(to.Path())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if len(old) > 0 && old[len(old)-1] != '\n' {
		old = append(old, '\n')
	}
	data := append(old, line+"\n"...)
	tmp := to.Path() + ".migrate"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	if err == nil {
		err = os.Rename(tmp, to.Path())
	}
	return err
}

// passwdLine returns the user's line of a password file.
func passwdLine(path, user string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, _, ok := strings.Cut(sc.Text(), ":"); ok && name == user {
			return sc.Text(), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s: no entry for %s", path, user)
}
