package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/imapd-go/imapd/adapters/store/internal/flaglist"
	"github.com/imapd-go/imapd/adapters/store/internal/newmsg"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// dateIn splits an internal date into what is stored: Unix seconds and the
// zone offset in seconds east of UTC.
func dateIn(t time.Time) (sec int64, zone int32) {
	_, off := t.Zone()
	return t.Unix(), int32(off)
}

func dateOut(sec int64, zone int32) time.Time {
	t := time.Unix(sec, 0)
	if zone == 0 {
		return t.UTC()
	}
	return t.In(time.FixedZone("", int(zone)))
}

// saveDate is the save date to record for a new message (RFC 8514).
func saveDate(msg ports.NewMessage) int64 {
	if !msg.SaveDate.IsZero() {
		return msg.SaveDate.Unix()
	}
	return time.Now().Unix()
}

func splitFlags(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, " ")
}

// uidArray converts UIDs to what a bigint[] parameter takes.
func uidArray(uids []imap.UID) []int64 {
	out := make([]int64, len(uids))
	for i, u := range uids {
		out[i] = int64(u)
	}
	return out
}

// sortedUIDs returns the UIDs sorted, without duplicates or zero.
func sortedUIDs(uids []imap.UID) []imap.UID {
	out := slices.Clone(uids)
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > 0 && out[0] == 0 {
		out = out[1:]
	}
	return out
}

// Status returns the mailbox's counters, found with the mailbox in one
// statement (one snapshot, one round trip).
func (s *Store) Status(ctx context.Context, user, name string) (ports.MailboxStatus, error) {
	const op = "status"
	var st ports.MailboxStatus
	if !storable(user) || !storable(name) {
		return st, imap.Errorf(op, imap.ErrNonexistent, "%q", name)
	}
	err := s.retry(ctx, func() error {
		var v, next, high, recentUID, n, unseen, recent int64
		err := s.pool.QueryRow(ctx, `SELECT mb.uidvalidity, mb.uidnext, mb.highestmodseq, mb.recentuid,
				coalesce(c.messages, 0), coalesce(c.unseen, 0), coalesce(c.size, 0),
				(SELECT count(*) FROM messages WHERE mailbox_id = mb.id AND uid >= mb.recentuid)
			FROM mailboxes mb JOIN users u ON u.id = mb.user_id
			LEFT JOIN LATERAL (SELECT sum(messages)::bigint AS messages, sum(unseen)::bigint AS unseen, sum(size)::bigint AS size
				FROM mailbox_counts WHERE mailbox_id = mb.id) c ON true
			WHERE u.name = $1 AND mb.name = $2`, user, name).
			Scan(&v, &next, &high, &recentUID, &n, &unseen, &st.Size, &recent)
		if errors.Is(err, pgx.ErrNoRows) {
			return imap.Errorf(op, imap.ErrNonexistent, "%q", name)
		}
		st.UIDValidity, st.UIDNext, st.HighestModSeq, st.RecentUID = uint32(v), imap.UID(next), uint64(high), imap.UID(recentUID)
		st.Messages, st.Unseen, st.Recent = uint32(n), uint32(unseen), uint32(recent)
		return err
	})
	return st, wrapErr(op, err)
}

// keptStatus returns m's counters as the triggers keep them, with \Recent
// counted from recentuid (a range of the primary key).
func keptStatus(ctx context.Context, q querier, m mailbox) (ports.MailboxStatus, error) {
	st := ports.MailboxStatus{UIDValidity: m.uidValidity, UIDNext: m.uidNext, HighestModSeq: m.highest, RecentUID: m.recentUID}
	var n, unseen, recent int64
	err := q.QueryRow(ctx, `SELECT coalesce(sum(messages), 0)::bigint, coalesce(sum(unseen), 0)::bigint, coalesce(sum(size), 0)::bigint,
		(SELECT count(*) FROM messages WHERE mailbox_id = $1 AND uid >= $2)
		FROM mailbox_counts WHERE mailbox_id = $1`, m.id, int64(m.recentUID)).Scan(&n, &unseen, &st.Size, &recent)
	st.Messages, st.Unseen, st.Recent = uint32(n), uint32(unseen), uint32(recent)
	return st, err
}

// Append stores one message durably.
func (s *Store) Append(ctx context.Context, user, name string, msg ports.NewMessage) (ports.AppendResult, error) {
	res, err := s.AppendAll(ctx, user, name, []ports.NewMessage{msg})
	if err != nil {
		return ports.AppendResult{}, err
	}
	return res[0], nil
}

// AppendAll stores messages in one transaction: all or none. The bodies
// are streamed in before the user's lock is taken; the UIDs and the
// mod-sequence come from one UPDATE ... RETURNING of the mailbox's row.
func (s *Store) AppendAll(ctx context.Context, user, name string, msgs []ports.NewMessage) ([]ports.AppendResult, error) {
	const op = "append"
	flags := make([][]string, len(msgs))
	for i, msg := range msgs {
		var err error
		if flags[i], err = newmsg.Flags(msg); err != nil {
			return nil, fmt.Errorf("postgres: %s: %w", op, err)
		}
	}
	// A missing mailbox is refused before any byte is read.
	if _, err := s.lookup(ctx, op, user, name, imap.ErrTryCreate); err != nil {
		return nil, wrapErr(op, err)
	}
	bodies := make([]int64, len(msgs))
	var res []ports.AppendResult
	err := s.writeTx(ctx, user, op, false, true, func(tx pgx.Tx) error {
		for i, msg := range msgs {
			var err error
			if bodies[i], err = insertBody(ctx, tx, msg); err != nil {
				return err
			}
		}
		return nil
	}, func(t *userTx) error {
		res = res[:0]
		m, err := lockLookup(ctx, t, op, name, imap.ErrTryCreate)
		if err != nil {
			return err
		}
		if uint64(m.uidNext)+uint64(len(msgs)) > maxUID {
			return imap.Errorf(op, imap.ErrCannot, "mailbox %q has used every UID", name)
		}
		if err := admitKeywords(ctx, t, op, m.id, imap.NewKeywordSet().Missing(flags...)); err != nil {
			return err
		}
		var total int64
		for _, msg := range msgs {
			total += msg.Size
		}
		n := len(msgs)
		fl, secs, zones, sizes, saved := make([]string, n), make([]int64, n), make([]int32, n), make([]int64, n), make([]int64, n)
		for i, msg := range msgs {
			date := msg.InternalDate
			if date.IsZero() {
				date = time.Now()
			}
			fl[i], sizes[i], saved[i] = flaglist.Join(flags[i]), msg.Size, saveDate(msg)
			secs[i], zones[i] = dateIn(date)
		}
		// One statement charges the quota, allocates the UIDs and the
		// mod-sequence, inserts the messages and queues the
		// notification; an answer over the quota rolls it all back.
		var first, modseq int64
		var q ports.Quota
		err = t.QueryRow(ctx, `WITH a AS (
				UPDATE mailboxes SET uidnext = uidnext + $2, highestmodseq = highestmodseq + 1
				WHERE id = $1 RETURNING uidnext - $2 AS first, highestmodseq),
			q AS (
				UPDATE users SET storage_used = storage_used + $3, message_used = message_used + $2
				WHERE id = $4 RETURNING storage_limit, message_limit, mailbox_limit, storage_used - $3 AS storage, message_used - $2 AS messages),
			i AS (
				INSERT INTO messages (mailbox_id, uid, modseq, flags, internaldate, zone, size, body_id, savedate)
				SELECT $1, a.first + v.n - 1, a.highestmodseq, v.flags, v.sec, v.zone, v.size, v.body, v.saved
				FROM a, unnest($5::text[], $6::bigint[], $7::int[], $8::bigint[], $9::bigint[], $10::bigint[])
					WITH ORDINALITY AS v(flags, sec, zone, size, body, saved, n))
			SELECT a.first, a.highestmodseq, q.storage_limit, q.message_limit, q.mailbox_limit, q.storage, q.messages,
				pg_notify($11, $12)::text
			FROM a, q`,
			m.id, int64(n), total, t.uid, fl, secs, zones, sizes, bodies, saved, notifyChannel, t.user).
			Scan(&first, &modseq, &q.Limits.Storage, &q.Limits.Messages, &q.Limits.Mailboxes, &q.Usage.Storage, &q.Usage.Messages, nil)
		if errors.Is(err, pgx.ErrNoRows) {
			// Deleted (and maybe made again) since lockLookup's
			// snapshot.
			return imap.Errorf(op, imap.ErrTryCreate, "%q", name)
		}
		if err != nil {
			return err
		}
		t.notified = true
		if uint64(first)+uint64(n) > maxUID {
			return imap.Errorf(op, imap.ErrCannot, "mailbox %q has used every UID", name)
		}
		if !q.Limits.Admits(q.Usage, total, int64(n)) {
			return imap.Errorf(op, imap.ErrOverQuota, "%d bytes in %d messages would exceed the quota", total, n)
		}
		for i := range msgs {
			res = append(res, ports.AppendResult{UIDValidity: m.uidValidity, UID: imap.UID(first) + imap.UID(i)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// allocate hands out n UIDs and one new mod-sequence of mailbox id in one
// statement on its row, atomic across every host.
func allocate(ctx context.Context, t *userTx, id int64, n int) (imap.UID, uint64, error) {
	var next, modseq int64
	err := t.QueryRow(ctx, `UPDATE mailboxes SET uidnext = uidnext + $2, highestmodseq = highestmodseq + 1
		WHERE id = $1 RETURNING uidnext - $2, highestmodseq`, id, n).Scan(&next, &modseq)
	return imap.UID(next), uint64(modseq), err
}

// bumpModSeq gives mailbox id a new mod-sequence and returns it.
func bumpModSeq(ctx context.Context, t *userTx, id int64) (uint64, error) {
	_, m, err := allocate(ctx, t, id, 0)
	return m, err
}

// insertBody stores the message's bytes in chunks as the reader yields
// them and returns the new body's id. The body must yield exactly
// msg.Size bytes, or the caller's transaction rolls back.
func insertBody(ctx context.Context, tx pgx.Tx, msg ports.NewMessage) (int64, error) {
	var id int64
	buf := make([]byte, min(msg.Size, chunkSize))
	for seq, left := int32(0), msg.Size; left > 0 || seq == 0; seq++ {
		n := min(left, chunkSize)
		if _, err := io.ReadFull(msg.Body, buf[:n]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return 0, fmt.Errorf("message body shorter than its size %d", msg.Size)
			}
			return 0, fmt.Errorf("reading message body: %v", err)
		}
		var err error
		switch {
		case seq == 0 && n == 0:
			err = tx.QueryRow(ctx, `INSERT INTO bodies (size, refs, structure, sortrecord) VALUES ($1, 1, $2, $3) RETURNING id`,
				msg.Size, msg.Structure, msg.SortRecord).Scan(&id)
		case seq == 0:
			// The body's row and its first chunk (most mail's
			// whole body) in one statement.
			err = tx.QueryRow(ctx, `WITH b AS (INSERT INTO bodies (size, refs, structure, sortrecord) VALUES ($1, 1, $2, $3) RETURNING id),
				c AS (INSERT INTO chunks (body_id, seq, data) SELECT id, 0, $4 FROM b)
				SELECT id FROM b`, msg.Size, msg.Structure, msg.SortRecord, buf[:n]).Scan(&id)
		default:
			_, err = tx.Exec(ctx, `INSERT INTO chunks (body_id, seq, data) VALUES ($1, $2, $3)`, id, seq, buf[:n])
		}
		if err != nil {
			return 0, err
		}
		left -= n
	}
	var one [1]byte
	switch _, err := io.ReadFull(msg.Body, one[:]); {
	case err == nil:
		return 0, fmt.Errorf("message body longer than its size %d", msg.Size)
	case !errors.Is(err, io.EOF):
		return 0, fmt.Errorf("reading message body: %v", err)
	}
	return id, nil
}

// Snapshot returns the status and every message's metadata, in UID order,
// from one statement: the mailbox's row first, then its messages'.
func (s *Store) Snapshot(ctx context.Context, user, name string) (ports.MailboxStatus, []ports.MessageMeta, error) {
	const op = "snapshot"
	var st ports.MailboxStatus
	var metas []ports.MessageMeta
	if !storable(user) || !storable(name) {
		return st, nil, imap.Errorf(op, imap.ErrNonexistent, "%q", name)
	}
	err := s.retry(ctx, func() error {
		st, metas = ports.MailboxStatus{}, metas[:0]
		rows, err := s.pool.Query(ctx, `WITH mb AS (SELECT mb.id, mb.uidvalidity, mb.uidnext, mb.highestmodseq, mb.recentuid
				FROM mailboxes mb JOIN users u ON u.id = mb.user_id WHERE u.name = $1 AND mb.name = $2)
			SELECT 0 AS k, uidvalidity, uidnext, highestmodseq, recentuid, NULL::text FROM mb
			UNION ALL
			(SELECT 1, NULL, uid, modseq, size, flags FROM messages WHERE mailbox_id = (SELECT id FROM mb) ORDER BY uid)`,
			user, name)
		if err != nil {
			return err
		}
		defer rows.Close()
		found := false
		var head ports.MailboxStatus
		p := flaglist.Parser{}
		var k int32
		var v *int64
		var uid, modseq, size int64
		var flags []byte
		for rows.Next() {
			if err := rows.Scan(&k, &v, &uid, &modseq, &size, &flags); err != nil {
				return err
			}
			if k == 0 {
				found = true
				head = ports.MailboxStatus{UIDValidity: uint32(*v), UIDNext: imap.UID(uid), HighestModSeq: uint64(modseq), RecentUID: imap.UID(size)}
				continue
			}
			meta := ports.MessageMeta{UID: imap.UID(uid), ModSeq: uint64(modseq), Flags: p.Parse(flags)}
			metas = append(metas, meta)
			st.Size += size
			if !imap.HasFlag(meta.Flags, imap.FlagSeen) {
				st.Unseen++
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if !found {
			return imap.Errorf(op, imap.ErrNonexistent, "%q", name)
		}
		// The rows come in the branches' order in practice; SQL does
		// not promise it, and an outer ORDER BY would sort every row.
		if !slices.IsSortedFunc(metas, byUID) {
			slices.SortFunc(metas, byUID)
		}
		head.Size, head.Unseen = st.Size, st.Unseen
		st = head
		for i := len(metas) - 1; i >= 0 && metas[i].UID >= st.RecentUID; i-- {
			st.Recent++
		}
		st.Messages = uint32(len(metas))
		return nil
	})
	if err != nil {
		return ports.MailboxStatus{}, nil, wrapErr(op, err)
	}
	return st, metas, nil
}

func byUID(a, b ports.MessageMeta) int { return cmp.Compare(a.UID, b.UID) }

// ChangesSince returns what changed after modseq, from one statement
// (one snapshot, one round trip: every command in the selected state asks
// it): the mailbox's row with its counters first, then the changed
// messages, then the tombstones.
func (s *Store) ChangesSince(ctx context.Context, user, name string, modseq uint64) (ports.Changes, error) {
	const op = "changes"
	var ch ports.Changes
	if !storable(user) || !storable(name) {
		return ch, imap.Errorf(op, imap.ErrNonexistent, "%q", name)
	}
	err := s.retry(ctx, func() error {
		ch = ports.Changes{}
		rows, err := s.pool.Query(ctx, `WITH mb AS (SELECT mb.id, mb.uidvalidity, mb.uidnext, mb.highestmodseq, mb.recentuid
				FROM mailboxes mb JOIN users u ON u.id = mb.user_id WHERE u.name = $1 AND mb.name = $2)
			SELECT * FROM (
				SELECT 0 AS k, mb.uidvalidity AS a, mb.uidnext AS uid, mb.highestmodseq, mb.recentuid,
					coalesce(c.messages, 0), coalesce(c.unseen, 0), coalesce(c.size, 0),
					(SELECT count(*) FROM messages WHERE mailbox_id = mb.id AND uid >= mb.recentuid), NULL::text
				FROM mb LEFT JOIN LATERAL (SELECT sum(messages)::bigint AS messages, sum(unseen)::bigint AS unseen, sum(size)::bigint AS size
					FROM mailbox_counts WHERE mailbox_id = mb.id) c ON true
				UNION ALL
				SELECT 1, NULL, m.uid, m.modseq, NULL, NULL, NULL, NULL, NULL, m.flags
				FROM messages m WHERE m.mailbox_id = (SELECT id FROM mb) AND m.modseq > $3
				UNION ALL
				SELECT 2, NULL, e.uid, NULL, NULL, NULL, NULL, NULL, NULL, NULL
				FROM expunged e WHERE e.mailbox_id = (SELECT id FROM mb) AND e.modseq > $3) r
			ORDER BY k, uid`, user, name, int64(modseq))
		if err != nil {
			return err
		}
		defer rows.Close()
		found := false
		p := flaglist.Parser{}
		for rows.Next() {
			var k int32
			var v, uid, ms, recentUID, n, unseen, size, recent *int64
			var flags []byte
			if err := rows.Scan(&k, &v, &uid, &ms, &recentUID, &n, &unseen, &size, &recent, &flags); err != nil {
				return err
			}
			switch k {
			case 0:
				found = true
				ch.Status = ports.MailboxStatus{UIDValidity: uint32(*v), UIDNext: imap.UID(*uid), HighestModSeq: uint64(*ms),
					RecentUID: imap.UID(*recentUID), Messages: uint32(*n), Unseen: uint32(*unseen), Size: *size, Recent: uint32(*recent)}
			case 1:
				ch.Updated = append(ch.Updated, ports.MessageMeta{UID: imap.UID(*uid), ModSeq: uint64(*ms), Flags: p.Parse(flags)})
			case 2:
				ch.Expunged = append(ch.Expunged, imap.UID(*uid))
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if !found {
			return imap.Errorf(op, imap.ErrNonexistent, "%q", name)
		}
		return nil
	})
	if err != nil {
		return ports.Changes{}, wrapErr(op, err)
	}
	return ch, nil
}

// uidCond is the condition on m.uid for the sorted UIDs want, as SQL
// taking its parameters from $n on, and those parameters: a range when
// the UIDs are consecutive, else an array.
func uidCond(n int, want []imap.UID) (string, []any) {
	if len(want) > 0 && int(want[len(want)-1]-want[0])+1 == len(want) {
		return fmt.Sprintf("uid BETWEEN $%d AND $%d", n, n+1), []any{int64(want[0]), int64(want[len(want)-1])}
	}
	return fmt.Sprintf("uid = ANY($%d::bigint[])", n), []any{uidArray(want)}
}

// Fetch returns the records of the UIDs that exist, in UID order. One
// statement (a snapshot of its own) finds the mailbox and reads the
// records, with no transaction around it: one round trip. Only when it
// finds nothing is the mailbox looked up, to tell an empty answer from a
// missing mailbox.
func (s *Store) Fetch(ctx context.Context, user, name string, uids []imap.UID) ([]ports.MessageRecord, error) {
	const op = "fetch"
	want := sortedUIDs(uids)
	if len(want) == 0 || !storable(user) || !storable(name) {
		if _, err := s.lookup(ctx, op, user, name, imap.ErrNonexistent); err != nil {
			return nil, wrapErr(op, err)
		}
		return nil, nil
	}
	var out []ports.MessageRecord
	cond, args := uidCond(3, want)
	err := s.retry(ctx, func() error {
		out = nil
		rows, err := s.pool.Query(ctx, `SELECT m.uid, m.modseq, m.flags, m.internaldate, m.zone, m.size, m.savedate, b.structure
			FROM messages m JOIN bodies b ON b.id = m.body_id
			WHERE m.mailbox_id = (SELECT mb.id FROM mailboxes mb JOIN users u ON u.id = mb.user_id
				WHERE u.name = $1 AND mb.name = $2) AND m.`+cond+` ORDER BY m.uid`, append([]any{user, name}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		p := flaglist.Parser{}
		out = make([]ports.MessageRecord, 0, len(want))
		var uid, modseq, sec, saved int64
		var zone int32
		var flags []byte
		for rows.Next() {
			var r ports.MessageRecord
			if err := rows.Scan(&uid, &modseq, &flags, &sec, &zone, &r.Size, &saved, &r.Structure); err != nil {
				return err
			}
			r.UID, r.ModSeq, r.Flags = imap.UID(uid), uint64(modseq), p.Parse(flags)
			r.InternalDate = dateOut(sec, zone)
			if saved != 0 {
				r.SaveDate = time.Unix(saved, 0)
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, wrapErr(op, err)
	}
	if len(out) == 0 {
		if _, err := s.lookup(ctx, op, user, name, imap.ErrNonexistent); err != nil {
			return nil, wrapErr(op, err)
		}
	}
	return out, nil
}

// UpdateFlags changes the flags of the given messages; every message that
// changes gets the same new mod-sequence.
func (s *Store) UpdateFlags(ctx context.Context, user, name string, uids []imap.UID, op ports.FlagOp, flags []string) ([]ports.MessageMeta, error) {
	out, _, err := s.updateFlags(ctx, user, name, uids, op, flags, nil)
	return out, err
}

// UpdateFlagsIf changes flags only of messages not modified after
// unchangedSince, checked and changed in one transaction under the user's
// lock.
func (s *Store) UpdateFlagsIf(ctx context.Context, user, name string, uids []imap.UID, op ports.FlagOp, flags []string, unchangedSince uint64) ([]ports.MessageMeta, []imap.UID, error) {
	return s.updateFlags(ctx, user, name, uids, op, flags, &unchangedSince)
}

func (s *Store) updateFlags(ctx context.Context, user, name string, uids []imap.UID, op ports.FlagOp, flags []string, unchangedSince *uint64) ([]ports.MessageMeta, []imap.UID, error) {
	const opName = "store"
	want := sortedUIDs(uids)
	flags, err := imap.NormalizeFlags(flags)
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: %s: %w", opName, err)
	}
	var out []ports.MessageMeta
	var modified []imap.UID
	err = s.writeTx(ctx, user, opName, false, true, nil, func(t *userTx) error {
		out, modified = nil, nil
		m, err := lockLookup(ctx, t, opName, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		if len(want) == 0 {
			return nil
		}
		cond, args := uidCond(2, want)
		rows, err := t.Query(ctx, `SELECT uid, modseq, flags FROM messages WHERE mailbox_id = $1 AND `+cond+` ORDER BY uid`,
			append([]any{m.id}, args...)...)
		if err != nil {
			return err
		}
		p := flaglist.Parser{}
		var uid, ms int64
		var f []byte
		for rows.Next() {
			if err := rows.Scan(&uid, &ms, &f); err != nil {
				rows.Close()
				return err
			}
			meta := ports.MessageMeta{UID: imap.UID(uid), ModSeq: uint64(ms), Flags: p.Parse(f)}
			if unchangedSince != nil && meta.ModSeq > *unchangedSince {
				modified = append(modified, meta.UID)
				continue
			}
			out = append(out, meta)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if op != ports.FlagsRemove && len(out) > 0 {
			known := imap.NewKeywordSet()
			for _, meta := range out {
				for _, f := range meta.Flags {
					known.Add(f)
				}
			}
			if err := admitKeywords(ctx, t, opName, m.id, known.Missing(flags)); err != nil {
				return err
			}
		}
		var changedUIDs []int64
		var changedFlags []string
		var next [][]string
		for i := range out {
			n, changed := op.Apply(out[i].Flags, flags)
			if !changed {
				continue
			}
			changedUIDs = append(changedUIDs, int64(out[i].UID))
			changedFlags = append(changedFlags, flaglist.Join(n))
			next = append(next, n)
		}
		if len(changedUIDs) == 0 {
			return nil
		}
		// The new mod-sequence, the changes and the notification in
		// one statement.
		var modseq uint64
		if err := t.QueryRow(ctx, `WITH a AS (UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = $1 RETURNING highestmodseq),
			u AS (UPDATE messages m SET flags = v.flags, modseq = (SELECT highestmodseq FROM a)
				FROM unnest($2::bigint[], $3::text[]) AS v(uid, flags)
				WHERE m.mailbox_id = $1 AND m.uid = v.uid)
			SELECT highestmodseq, pg_notify($4, $5)::text FROM a`,
			m.id, changedUIDs, changedFlags, notifyChannel, t.user).Scan(&modseq, nil); err != nil {
			return err
		}
		t.notified = true
		j := 0
		for i := range out {
			if j < len(changedUIDs) && int64(out[i].UID) == changedUIDs[j] {
				out[i].Flags, out[i].ModSeq = slices.Clone(next[j]), modseq
				j++
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, modified, nil
}

// Expunge removes the \Deleted messages among uids (all of them for nil).
// The removals share one new mod-sequence, recorded in tombstones.
func (s *Store) Expunge(ctx context.Context, user, name string, uids []imap.UID) ([]imap.UID, error) {
	const op = "expunge"
	var want []imap.UID
	if uids != nil {
		want = sortedUIDs(uids)
		if len(want) == 0 {
			return nil, nil
		}
	}
	var gone []imap.UID
	err := s.write(ctx, user, op, false, func(t *userTx) error {
		gone = nil
		m, err := lookup(ctx, t, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		cond, args := "true", []any{}
		if want != nil {
			cond, args = uidCond(3, want)
		}
		rows, err := t.Query(ctx, `SELECT uid FROM messages WHERE mailbox_id = $1 AND
			position($2 in ' ' || flags || ' ') > 0 AND `+cond+` ORDER BY uid`,
			append([]any{m.id, " " + imap.FlagDeleted + " "}, args...)...)
		if err != nil {
			return err
		}
		victims, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil || len(victims) == 0 {
			return err
		}
		return expungeUIDs(ctx, t, op, m.id, victims, &gone, true)
	})
	if err != nil {
		return nil, err
	}
	return gone, nil
}

// expungeUIDs deletes the messages of mailbox id with the given UIDs
// (ascending), leaves tombstones with a new mod-sequence, releases their
// bodies, and appends the UIDs to gone; with uncharge, their sizes leave
// the user's quota usage (a move's stay).
func expungeUIDs(ctx context.Context, t *userTx, op string, id int64, victims []int64, gone *[]imap.UID, uncharge bool) error {
	modseq, err := bumpModSeq(ctx, t, id)
	if err != nil {
		return err
	}
	rows, err := t.Query(ctx, `DELETE FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) RETURNING body_id, size`,
		id, victims)
	if err != nil {
		return err
	}
	var bodies []int64
	var freed int64
	for rows.Next() {
		var b, size int64
		if err := rows.Scan(&b, &size); err != nil {
			rows.Close()
			return err
		}
		bodies = append(bodies, b)
		freed += size
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if _, err := t.Exec(ctx, `INSERT INTO expunged (mailbox_id, uid, modseq) SELECT $1, u, $2 FROM unnest($3::bigint[]) u
		ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq`, id, int64(modseq), victims); err != nil {
		return err
	}
	if err := release(ctx, t, bodies); err != nil {
		return err
	}
	if uncharge {
		if err := charge(ctx, t, op, -freed, -int64(len(bodies))); err != nil {
			return err
		}
	}
	for _, u := range victims {
		*gone = append(*gone, imap.UID(u))
	}
	return nil
}

// release drops one reference per entry of bodyIDs (an id may repeat) and
// deletes the bodies, with their chunks, that nothing refers to any more.
func release(ctx context.Context, t *userTx, bodyIDs []int64) error {
	if len(bodyIDs) == 0 {
		return nil
	}
	ids, counts := countIDs(bodyIDs)
	rows, err := t.Query(ctx, `UPDATE bodies b SET refs = b.refs - v.n
		FROM unnest($1::bigint[], $2::int[]) AS v(id, n) WHERE b.id = v.id RETURNING b.id, b.refs`, ids, counts)
	if err != nil {
		return err
	}
	var dead []int64
	for rows.Next() {
		var id int64
		var refs int32
		if err := rows.Scan(&id, &refs); err != nil {
			rows.Close()
			return err
		}
		if refs <= 0 {
			dead = append(dead, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(dead) == 0 {
		return nil
	}
	for _, q := range bodyTables {
		if _, err := t.Exec(ctx, q, dead); err != nil {
			return err
		}
	}
	return nil
}

// bodyTables delete what refers to dead bodies, by an array of ids.
var bodyTables = []string{
	`DELETE FROM search_docs WHERE body_id = ANY($1::bigint[])`,
	`DELETE FROM chunks WHERE body_id = ANY($1::bigint[])`,
	`DELETE FROM bodies WHERE id = ANY($1::bigint[])`,
}

// countIDs returns the distinct ids, ascending, and how often each came.
func countIDs(list []int64) ([]int64, []int32) {
	m := map[int64]int32{}
	for _, id := range list {
		m[id]++
	}
	ids := make([]int64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	counts := make([]int32, len(ids))
	for i, id := range ids {
		counts[i] = m[id]
	}
	return ids, counts
}

// Copy copies messages to dest, keeping flags and internal dates; the
// copies share the originals' bodies.
func (s *Store) Copy(ctx context.Context, user, name string, uids []imap.UID, dest string) (ports.CopyResult, error) {
	const op = "copy"
	want := sortedUIDs(uids)
	var res ports.CopyResult
	err := s.write(ctx, user, op, false, func(t *userTx) error {
		var err error
		res, _, err = copyIn(ctx, t, op, user, name, want, dest)
		return err
	})
	return res, err
}

// Move copies messages to dest and expunges the originals in one
// transaction (RFC 6851).
func (s *Store) Move(ctx context.Context, user, name string, uids []imap.UID, dest string) (ports.CopyResult, error) {
	const op = "move"
	want := sortedUIDs(uids)
	var res ports.CopyResult
	err := s.write(ctx, user, op, false, func(t *userTx) error {
		var srcID int64
		var err error
		res, srcID, err = copyIn(ctx, t, op, user, name, want, dest)
		if err != nil || len(res.Source) == 0 {
			return err
		}
		var gone []imap.UID
		return expungeUIDs(ctx, t, op, srcID, uidArray(res.Source), &gone, false)
	})
	return res, err
}

// copyIn inserts copies of the wanted source messages into dest; it
// returns the COPYUID data and the source mailbox's id.
func copyIn(ctx context.Context, t *userTx, op, user, name string, want []imap.UID, dest string) (ports.CopyResult, int64, error) {
	var res ports.CopyResult
	src, err := lookup(ctx, t, op, user, name, imap.ErrNonexistent)
	if err != nil {
		return res, 0, err
	}
	dst, err := lookup(ctx, t, op, user, dest, imap.ErrTryCreate)
	if err != nil {
		return res, 0, err
	}
	res.UIDValidity = dst.uidValidity
	if len(want) == 0 {
		return res, src.id, nil
	}
	cond, args := uidCond(2, want)
	rows, err := t.Query(ctx, `SELECT uid, flags, size FROM messages WHERE mailbox_id = $1 AND `+cond+` ORDER BY uid`,
		append([]any{src.id}, args...)...)
	if err != nil {
		return res, 0, err
	}
	var srcUIDs []int64
	var copied [][]string
	var total int64
	for rows.Next() {
		var u, size int64
		var f string
		if err := rows.Scan(&u, &f, &size); err != nil {
			rows.Close()
			return res, 0, err
		}
		srcUIDs = append(srcUIDs, u)
		copied = append(copied, splitFlags(f))
		total += size
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(srcUIDs) == 0 {
		return res, src.id, err
	}
	if uint64(dst.uidNext)+uint64(len(srcUIDs)) > maxUID {
		return res, 0, imap.Errorf(op, imap.ErrCannot, "mailbox %q has too few UIDs left", dest)
	}
	if op == "copy" {
		// A move stays in the user's quota root: it adds nothing.
		if err := charge(ctx, t, op, total, int64(len(srcUIDs))); err != nil {
			return res, 0, err
		}
	}
	if src.id != dst.id {
		if err := admitKeywords(ctx, t, op, dst.id, imap.NewKeywordSet().Missing(copied...)); err != nil {
			return res, 0, err
		}
	}
	first, modseq, err := allocate(ctx, t, dst.id, len(srcUIDs))
	if err != nil {
		return res, 0, err
	}
	dstUIDs := make([]int64, len(srcUIDs))
	for i := range srcUIDs {
		dstUIDs[i] = int64(first) + int64(i)
		res.Source = append(res.Source, imap.UID(srcUIDs[i]))
		res.Dest = append(res.Dest, first+imap.UID(i))
	}
	if _, err := t.Exec(ctx, `INSERT INTO messages (mailbox_id, uid, modseq, flags, internaldate, zone, size, body_id, savedate)
		SELECT $1, v.dst, $2, m.flags, m.internaldate, m.zone, m.size, m.body_id, $3
		FROM unnest($4::bigint[], $5::bigint[]) AS v(src, dst) JOIN messages m ON m.mailbox_id = $6 AND m.uid = v.src`,
		dst.id, int64(modseq), time.Now().Unix(), srcUIDs, dstUIDs, src.id); err != nil {
		return res, 0, err
	}
	if _, err := t.Exec(ctx, `UPDATE bodies b SET refs = b.refs + v.n
		FROM (SELECT body_id, count(*)::int AS n FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) GROUP BY body_id) AS v
		WHERE b.id = v.body_id`, src.id, srcUIDs); err != nil {
		return res, 0, err
	}
	return res, src.id, nil
}

// ClaimRecent hands the not yet claimed UIDs to the caller and moves the
// mark to UIDNEXT in one statement on the mailbox's row, so that two
// sessions (on any hosts) never both claim a message.
func (s *Store) ClaimRecent(ctx context.Context, user, name string) (from, to imap.UID, err error) {
	const op = "claim recent"
	m, err := s.lookup(ctx, op, user, name, imap.ErrNonexistent)
	if err != nil {
		return 0, 0, wrapErr(op, err)
	}
	if m.recentUID >= m.uidNext {
		return m.uidNext, m.uidNext, nil
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Which session saw a message as \Recent need not survive a
		// crash: this commit does not wait for its WAL flush.
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		var f, t int64
		err := tx.QueryRow(ctx, `UPDATE mailboxes m SET recentuid = m.uidnext
			FROM (SELECT id, recentuid FROM mailboxes WHERE id = $1 FOR UPDATE) AS o
			WHERE m.id = o.id RETURNING o.recentuid, m.uidnext`, m.id).Scan(&f, &t)
		if errors.Is(err, pgx.ErrNoRows) {
			return imap.Errorf(op, imap.ErrNonexistent, "%q", name)
		}
		from, to = imap.UID(min(f, t)), imap.UID(t)
		if err != nil {
			return err
		}
		// The mailbox's \Recent count changed: its watchers are told,
		// as of every commit of the user's.
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, user)
		return err
	})
	return from, to, wrapErr(op, err)
}
