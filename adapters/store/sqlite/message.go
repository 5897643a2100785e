package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/imapd-go/imapd/adapters/store/internal/blobcache"
	"github.com/imapd-go/imapd/adapters/store/internal/flaglist"
	"github.com/imapd-go/imapd/adapters/store/internal/newmsg"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// maxUID is the largest UID a mailbox can hand out (RFC 3501 nz-number is
// 32 bits).
const maxUID = 1<<32 - 1

// dateIn splits an internal date into what is stored: Unix seconds and the
// zone offset in seconds east of UTC (IMAP dates have no fraction).
func dateIn(t time.Time) (sec, zone int64) {
	_, off := t.Zone()
	return t.Unix(), int64(off)
}

func dateOut(sec, zone int64) time.Time {
	t := time.Unix(sec, 0)
	if zone == 0 {
		return t.UTC()
	}
	return t.In(time.FixedZone("", int(zone)))
}

// Status returns the mailbox's counters.
func (s *Store) Status(ctx context.Context, user, name string) (ports.MailboxStatus, error) {
	const op = "status"
	var st ports.MailboxStatus
	err := s.read(ctx, user, op, func(tx *sql.Tx) error {
		m, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		st, err = s.counts.status(ctx, tx, user, m)
		return err
	})
	return st, err
}

// counts remembers, for each mailbox this process read lately, its
// counters and the state of its mailboxes row they were read in. The
// database keeps the counters (counters.go), so reading them is cheap,
// but a session asks ChangesSince before every command and most find
// nothing new; when the row has not changed, the counters have not
// either: every change to a mailbox's messages (new ones, flags,
// expunges) raises its highestmodseq or uidnext in the same transaction
// (RFC 7162 needs that of HIGHESTMODSEQ anyway), \Recent follows
// recentuid, and a mailbox made again under a reused id has another
// uidvalidity.
type counts struct {
	mu sync.Mutex
	m  map[countsKey]counted
}

type countsKey struct {
	user string
	id   int64
}

type counted struct {
	row mailbox
	st  ports.MailboxStatus
}

// maxCounted bounds counts: past it, the map starts over.
const maxCounted = 1024

// status returns the counters of user's mailbox m inside tx, read again
// only when m's row changed since this process last read them.
func (c *counts) status(ctx context.Context, tx *sql.Tx, user string, m mailbox) (ports.MailboxStatus, error) {
	k := countsKey{user, m.id}
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok && e.row == m {
		return e.st, nil
	}
	st, err := keptStatus(ctx, tx, m)
	if err != nil {
		return st, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCounted {
		c.m = make(map[countsKey]counted)
	}
	c.m[k] = counted{row: m, st: st}
	c.mu.Unlock()
	return st, nil
}

// structures keeps the structure blobs this process read lately, of one
// mailbox at a time (the one a session has selected). The blob of a
// message is fixed for good: a UID names one message for as long as the
// mailbox keeps its UIDVALIDITY (RFC 3501 2.3.1.1), a mailbox made again
// under a reused id gets another UIDVALIDITY, and a body row's structure
// is never rewritten. Each blob is still checked against the body row and
// size the message row names. Only rows read in the caller's transaction
// are answered from it, so an expunged message is never returned.
type structures = blobcache.Cache[structureBox, structureID]

// structureBox names one mailbox for structures.
type structureBox struct {
	user        string
	id          int64
	uidValidity uint32
}

// structureID names one message's blob within a structureBox.
type structureID struct {
	uid  imap.UID
	body int64
	size int64
}

// keepStructure keeps a copy of blob for id in box, and returns the copy;
// the caller must not change it. A nil blob (a body without structure)
// stays nil.
func keepStructure(c *structures, box structureBox, id structureID, blob []byte) []byte {
	if blob == nil {
		return nil
	}
	b := append(make([]byte, 0, len(blob)), blob...)
	c.Put(box, id, b)
	return b
}

// Append stores one message durably.
func (s *Store) Append(ctx context.Context, user, name string, msg ports.NewMessage) (ports.AppendResult, error) {
	res, err := s.AppendAll(ctx, user, name, []ports.NewMessage{msg})
	if err != nil {
		return ports.AppendResult{}, err
	}
	return res[0], nil
}

// AppendAll stores messages in one write transaction: all or none.
func (s *Store) AppendAll(ctx context.Context, user, name string, msgs []ports.NewMessage) ([]ports.AppendResult, error) {
	const op = "append"
	flags := make([][]string, len(msgs))
	for i, msg := range msgs {
		var err error
		if flags[i], err = newmsg.Flags(msg); err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", op, err)
		}
	}
	var res []ports.AppendResult
	err := s.write(ctx, user, op, func(tx *sql.Tx) error {
		res = res[:0]
		m, err := lookup(ctx, tx, op, user, name, imap.ErrTryCreate)
		if err != nil {
			return err
		}
		if uint64(m.uidNext)+uint64(len(msgs)) > maxUID {
			return imap.Errorf(op, imap.ErrCannot, "mailbox %q has used every UID", name)
		}
		if err := admitKeywords(ctx, tx, op, m.id, imap.NewKeywordSet().Missing(flags...)); err != nil {
			return err
		}
		var total int64
		for _, msg := range msgs {
			total += msg.Size
		}
		if err := charge(ctx, tx, op, total, int64(len(msgs))); err != nil {
			return err
		}
		modseq := m.highest + 1
		uid := m.uidNext
		for i, msg := range msgs {
			date := msg.InternalDate
			if date.IsZero() {
				date = time.Now()
			}
			sec, zone := dateIn(date)
			bodyID, err := insertBody(ctx, tx, msg)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO messages
				(mailbox_id, uid, modseq, flags, internaldate, zone, size, body_id, savedate)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				m.id, uid, modseq, flaglist.Join(flags[i]), sec, zone, msg.Size, bodyID, saveDate(msg)); err != nil {
				return err
			}
			res = append(res, ports.AppendResult{UIDValidity: m.uidValidity, UID: uid})
			uid++
		}
		_, err = tx.ExecContext(ctx, `UPDATE mailboxes SET uidnext = ?, highestmodseq = ? WHERE id = ?`,
			uid, modseq, m.id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// insertBody stores the message's bytes in chunks and returns the new
// body's id. The body must yield exactly msg.Size bytes, or nothing is kept
// (the caller's transaction rolls back).
func insertBody(ctx context.Context, tx *sql.Tx, msg ports.NewMessage) (int64, error) {
	r, err := tx.ExecContext(ctx, `INSERT INTO bodies (size, refs, structure) VALUES (?, 1, ?)`,
		msg.Size, msg.Structure)
	if err != nil {
		return 0, err
	}
	id, err := r.LastInsertId()
	if err != nil {
		return 0, err
	}
	if err := insertSortRecord(ctx, tx, id, msg.SortRecord); err != nil {
		return 0, err
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO chunks (body_id, seq, data) VALUES (?, ?, ?)`)
	if err != nil {
		return 0, err
	}
	defer stmt.Close()
	buf := make([]byte, min(msg.Size, chunkSize))
	for seq, left := int64(0), msg.Size; left > 0; seq++ {
		n := min(left, chunkSize)
		if _, err := io.ReadFull(msg.Body, buf[:n]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return 0, fmt.Errorf("message body shorter than its size %d", msg.Size)
			}
			return 0, fmt.Errorf("reading message body: %w", err)
		}
		if _, err := stmt.ExecContext(ctx, id, seq, buf[:n]); err != nil {
			return 0, err
		}
		left -= n
	}
	var one [1]byte
	switch _, err := io.ReadFull(msg.Body, one[:]); {
	case err == nil:
		return 0, fmt.Errorf("message body longer than its size %d", msg.Size)
	case !errors.Is(err, io.EOF):
		return 0, fmt.Errorf("reading message body: %w", err)
	}
	return id, nil
}

// Snapshot returns the status and every message's metadata, in UID order,
// from one read transaction.
func (s *Store) Snapshot(ctx context.Context, user, name string) (ports.MailboxStatus, []ports.MessageMeta, error) {
	const op = "snapshot"
	var st ports.MailboxStatus
	var metas []ports.MessageMeta
	err := s.read(ctx, user, op, func(tx *sql.Tx) error {
		m, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		st = ports.MailboxStatus{
			UIDValidity:   m.uidValidity,
			UIDNext:       m.uidNext,
			HighestModSeq: m.highest,
			RecentUID:     m.recentUID,
		}
		rows, err := tx.QueryContext(ctx, `SELECT uid, modseq, flags, size FROM messages
			WHERE mailbox_id = ? ORDER BY uid`, m.id)
		if err != nil {
			return err
		}
		defer rows.Close()
		metas = metas[:0]
		p := flaglist.Parser{}
		for rows.Next() {
			var meta ports.MessageMeta
			var flags sql.RawBytes
			var size int64
			if err := rows.Scan(&meta.UID, &meta.ModSeq, &flags, &size); err != nil {
				return err
			}
			meta.Flags = p.Parse(flags)
			metas = append(metas, meta)
			st.Size += size
			if !imap.HasFlag(meta.Flags, imap.FlagSeen) {
				st.Unseen++
			}
			if meta.UID >= m.recentUID {
				st.Recent++
			}
		}
		st.Messages = uint32(len(metas))
		return rows.Err()
	})
	return st, metas, err
}

// ChangesSince returns what changed after modseq, from one read transaction.
func (s *Store) ChangesSince(ctx context.Context, user, name string, modseq uint64) (ports.Changes, error) {
	const op = "changes"
	var ch ports.Changes
	err := s.read(ctx, user, op, func(tx *sql.Tx) error {
		ch = ports.Changes{}
		m, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		if ch.Status, err = s.counts.status(ctx, tx, user, m); err != nil {
			return err
		}
		if modseq >= m.highest {
			return nil // nothing can be newer
		}
		rows, err := tx.QueryContext(ctx, `SELECT uid, modseq, flags FROM messages
			WHERE mailbox_id = ? AND modseq > ? ORDER BY uid`, m.id, modseq)
		if err != nil {
			return err
		}
		p := flaglist.Parser{}
		for rows.Next() {
			var meta ports.MessageMeta
			var flags sql.RawBytes
			if err := rows.Scan(&meta.UID, &meta.ModSeq, &flags); err != nil {
				rows.Close()
				return err
			}
			meta.Flags = p.Parse(flags)
			ch.Updated = append(ch.Updated, meta)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT uid FROM expunged
			WHERE mailbox_id = ? AND modseq > ? ORDER BY uid`, m.id, modseq)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var uid imap.UID
			if err := rows.Scan(&uid); err != nil {
				return err
			}
			ch.Expunged = append(ch.Expunged, uid)
		}
		return rows.Err()
	})
	return ch, err
}

// uidRanges groups sorted UIDs into ranges for uidQuery. Many ranges that
// are dense in their span (say every other UID) become one range over the
// span, because one scan with filtering (keepUIDs) is then cheaper than a
// query per range; sparse UIDs keep a point query each.
func uidRanges(want []imap.UID) [][2]imap.UID {
	var ranges [][2]imap.UID
	for _, u := range want {
		if n := len(ranges); n > 0 && u <= ranges[n-1][1]+1 {
			ranges[n-1][1] = max(ranges[n-1][1], u)
			continue
		}
		ranges = append(ranges, [2]imap.UID{u, u})
	}
	if n := len(ranges); n > 32 && int64(ranges[n-1][1]-ranges[0][0]) <= 8*int64(len(want)) {
		ranges = [][2]imap.UID{{ranges[0][0], ranges[len(ranges)-1][1]}}
	}
	return ranges
}

// allUIDs is the one range covering every message.
var allUIDs = [][2]imap.UID{{1, maxUID}}

// uidQuery runs query once per range and calls fn for every row. query
// takes the mailbox id and a low and high UID, in that order. Rows come in
// UID order; callers drop rows not asked for with keepUIDs.
func uidQuery(ctx context.Context, tx *sql.Tx, query string, mbox int64, ranges [][2]imap.UID, fn func(*sql.Rows) error) error {
	if len(ranges) == 0 {
		return nil
	}
	if list, ok := sparseUIDs(ranges); ok && strings.Contains(query, uidBetween) {
		// Many lone UIDs (a search's candidates): one query that looks
		// each up, instead of one query each.
		rows, err := tx.QueryContext(ctx, strings.Replace(query, uidBetween, "uid IN (SELECT value FROM json_each(?))", 1), mbox, list)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := fn(rows); err != nil {
				rows.Close()
				return err
			}
		}
		return rows.Close()
	}
	stmt, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, r := range ranges {
		rows, err := stmt.QueryContext(ctx, mbox, r[0], r[1])
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := fn(rows); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
	}
	return nil
}

// uidBetween is how uidQuery's queries take their range.
const uidBetween = "uid BETWEEN ? AND ?"

// sparseUIDs lists the UIDs of ranges as a JSON array when there are more
// ranges than a query each is worth and few UIDs in all.
func sparseUIDs(ranges [][2]imap.UID) (string, bool) {
	const minRanges, maxUIDs = 8, 4096
	if len(ranges) < minRanges {
		return "", false
	}
	n := 0
	for _, r := range ranges {
		if n += int(r[1]-r[0]) + 1; n > maxUIDs {
			return "", false
		}
	}
	b := make([]byte, 0, n*6+2)
	b = append(b, '[')
	for _, r := range ranges {
		for u := r[0]; ; u++ {
			if len(b) > 1 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, uint64(u), 10)
			if u == r[1] {
				break
			}
		}
	}
	return string(append(b, ']')), true
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

// keepUIDs keeps the elements of xs (in UID order) whose UID is in want
// (sorted).
func keepUIDs[T any](xs []T, uidOf func(*T) imap.UID, want []imap.UID) []T {
	out := xs[:0]
	j := 0
	for i := range xs {
		u := uidOf(&xs[i])
		for j < len(want) && want[j] < u {
			j++
		}
		if j < len(want) && want[j] == u {
			out = append(out, xs[i])
		}
	}
	return out
}

// Fetch returns the records of the UIDs that exist, in UID order.
//
// While the mailbox's row is as it was when s.records kept the records of
// a span holding the wanted UIDs, they come from there, with no message
// row read (see records); when the row moved on since, only what changed
// is read (refreshRecords). Otherwise they are read (readRecords).
func (s *Store) Fetch(ctx context.Context, user, name string, uids []imap.UID) ([]ports.MessageRecord, error) {
	const op = "fetch"
	want := sortedUIDs(uids)
	var out []ports.MessageRecord
	err := s.read(ctx, user, op, func(tx *sql.Tx) error {
		out = nil
		m, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		if len(want) == 0 {
			return nil
		}
		if recs, ok := s.records.get(user, m, want); ok {
			out = recs
			return nil
		}
		if base, ok := s.records.older(user, m, want); ok {
			// Only what changed since the kept set's row is read.
			recs, err := s.refreshRecords(ctx, tx, user, m, base)
			if err != nil {
				return err
			}
			s.records.put(user, m, base.lo, base.hi, recs)
			out = wantedRecords(recs, want)
			return nil
		}
		// A read of one span of UIDs reads every message in it: s.records
		// keeps those.
		ranges := uidRanges(want)
		whole := len(ranges) == 1
		if whole {
			ranges[0][0] = s.records.from(user, m, ranges[0][0], ranges[0][1])
		}
		if out, err = s.readRecords(ctx, tx, user, m, ranges, 0, min(len(want), 4096)); err != nil {
			return err
		}
		if whole {
			s.records.put(user, m, ranges[0][0], ranges[0][1], out)
		}
		out = wantedRecords(out, want)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readRecords reads the records of the messages within ranges of m inside
// tx, in UID order; with since above 0, only those whose mod-sequence is
// greater. The structures come from s.structures when it holds them for
// the mailbox: the message rows are then read alone, without the join
// that brings each body's blob through SQLite and cgo (two thirds of the
// cost of a FETCH ENVELOPE of 500 messages). Structures it lacks are read
// one by one and kept.
func (s *Store) readRecords(ctx context.Context, tx *sql.Tx, user string, m mailbox, ranges [][2]imap.UID, since uint64, capacity int) ([]ports.MessageRecord, error) {
	newer := ""
	if since > 0 {
		newer = " AND m.modseq > " + strconv.FormatUint(since, 10)
	}
	box := structureBox{user: user, id: m.id, uidValidity: m.uidValidity}
	warm := s.structures.Holds(box)
	p := flaglist.Parser{}
	out := make([]ports.MessageRecord, 0, capacity)
	// One set of scan targets for all rows, of types database/sql
	// assigns without reflection (imap.UID and uint64 take a detour
	// through a string).
	var r ports.MessageRecord
	var flags, structure sql.RawBytes
	var uid, modseq, sec, zone, saved, bodyID int64
	dest := []any{&uid, &modseq, &flags, &sec, &zone, &r.Size, &saved, &bodyID, &structure}
	query := `
		SELECT m.uid, m.modseq, m.flags, m.internaldate, m.zone, m.size, m.savedate, m.body_id, b.structure
		FROM messages m JOIN bodies b ON b.id = m.body_id
		WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ?` + newer + ` ORDER BY m.uid`
	if warm {
		dest = dest[:len(dest)-1]
		query = `
			SELECT m.uid, m.modseq, m.flags, m.internaldate, m.zone, m.size, m.savedate, m.body_id
			FROM messages m
			WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ?` + newer + ` ORDER BY m.uid`
	}
	var missing []int // records whose structure is still to be read
	var missingBodies []int64
	err := uidQuery(ctx, tx, query, m.id, ranges, func(rows *sql.Rows) error {
		r = ports.MessageRecord{}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		r.UID, r.ModSeq = imap.UID(uid), uint64(modseq)
		id := structureID{uid: r.UID, body: bodyID, size: r.Size}
		// Records hold the blobs the cache keeps (or a copy when it
		// is full): read-only, never changed (ports.Store.Fetch).
		if warm {
			if b, ok := s.structures.Get(box, id); ok {
				r.Structure = b
			} else {
				missing = append(missing, len(out))
				missingBodies = append(missingBodies, bodyID)
			}
		} else {
			r.Structure = keepStructure(&s.structures, box, id, structure)
		}
		if saved != 0 {
			r.SaveDate = time.Unix(saved, 0)
		}
		r.Flags = p.Parse(flags)
		r.InternalDate = dateOut(sec, zone)
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		stmt, err := tx.PrepareContext(ctx, `SELECT structure FROM bodies WHERE id = ?`)
		if err != nil {
			return nil, err
		}
		defer stmt.Close()
		for i, at := range missing {
			var blob []byte
			if err := stmt.QueryRowContext(ctx, missingBodies[i]).Scan(&blob); err != nil {
				return nil, err
			}
			r := &out[at]
			r.Structure = keepStructure(&s.structures, box, structureID{uid: r.UID, body: missingBodies[i], size: r.Size}, blob)
		}
	}
	return out, nil
}

// refreshRecords brings base, the records s.records kept of a span of m
// as of an earlier state of m's row, to the state tx sees: the rows whose
// mod-sequence went past the old row's highest (flags changed, messages
// new in the span) are read again, and the UIDs expunged since dropped.
// Every change to a message gives it, or its tombstone, a mod-sequence
// above the mailbox's highest before it.
func (s *Store) refreshRecords(ctx context.Context, tx *sql.Tx, user string, m mailbox, base recordSet) ([]ports.MessageRecord, error) {
	span := [][2]imap.UID{{base.lo, base.hi}}
	changed, err := s.readRecords(ctx, tx, user, m, span, base.row.highest, 16)
	if err != nil {
		return nil, err
	}
	var gone []imap.UID
	if err := uidQuery(ctx, tx, `SELECT uid FROM expunged
		WHERE mailbox_id = ? AND uid BETWEEN ? AND ? AND modseq > `+strconv.FormatUint(base.row.highest, 10)+` ORDER BY uid`,
		m.id, span, func(rows *sql.Rows) error {
			var uid imap.UID
			if err := rows.Scan(&uid); err != nil {
				return err
			}
			gone = append(gone, uid)
			return nil
		}); err != nil {
		return nil, err
	}
	return mergeRecords(base.recs, changed, gone), nil
}

// UpdateFlags changes the flags of the given messages. Every message that
// changes gets the same new mod-sequence, one above the mailbox's highest:
// the changes commit together, so a session that saw that value has seen
// all of them (RFC 7162 3.1 allows several messages to share one).
func (s *Store) UpdateFlags(ctx context.Context, user, name string, uids []imap.UID, op ports.FlagOp, flags []string) ([]ports.MessageMeta, error) {
	out, _, err := s.updateFlags(ctx, user, name, uids, op, flags, nil)
	return out, err
}

// UpdateFlagsIf changes flags only of messages not modified after
// unchangedSince, checked and changed in one write transaction.
func (s *Store) UpdateFlagsIf(ctx context.Context, user, name string, uids []imap.UID, op ports.FlagOp, flags []string, unchangedSince uint64) ([]ports.MessageMeta, []imap.UID, error) {
	return s.updateFlags(ctx, user, name, uids, op, flags, &unchangedSince)
}

func (s *Store) updateFlags(ctx context.Context, user, name string, uids []imap.UID, op ports.FlagOp, flags []string, unchangedSince *uint64) ([]ports.MessageMeta, []imap.UID, error) {
	const opName = "store"
	want := sortedUIDs(uids)
	flags, err := imap.NormalizeFlags(flags)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: %s: %w", opName, err)
	}
	var out []ports.MessageMeta
	var modified []imap.UID
	err = s.write(ctx, user, opName, func(tx *sql.Tx) error {
		out, modified = nil, nil
		m, err := lookup(ctx, tx, opName, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		p := flaglist.Parser{}
		if err := uidQuery(ctx, tx, `SELECT uid, modseq, flags FROM messages
			WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid`,
			m.id, uidRanges(want), func(rows *sql.Rows) error {
				var meta ports.MessageMeta
				var f sql.RawBytes
				if err := rows.Scan(&meta.UID, &meta.ModSeq, &f); err != nil {
					return err
				}
				meta.Flags = p.Parse(f)
				out = append(out, meta)
				return nil
			}); err != nil {
			return err
		}
		out = keepUIDs(out, func(m *ports.MessageMeta) imap.UID { return m.UID }, want)
		if unchangedSince != nil {
			kept := out[:0]
			for _, meta := range out {
				if meta.ModSeq > *unchangedSince {
					modified = append(modified, meta.UID)
				} else {
					kept = append(kept, meta)
				}
			}
			out = kept
		}
		if op != ports.FlagsRemove && len(out) > 0 {
			// Keywords the touched messages carry are in the mailbox
			// already; only others can take it past the limit.
			known := imap.NewKeywordSet()
			for _, meta := range out {
				for _, f := range meta.Flags {
					known.Add(f)
				}
			}
			if err := admitKeywords(ctx, tx, opName, m.id, known.Missing(flags)); err != nil {
				return err
			}
		}
		modseq := m.highest + 1
		var stmt *sql.Stmt
		for i := range out {
			next, changed := op.Apply(out[i].Flags, flags)
			if !changed {
				continue
			}
			if stmt == nil {
				if stmt, err = tx.PrepareContext(ctx, `UPDATE messages SET flags = ?, modseq = ?
					WHERE mailbox_id = ? AND uid = ?`); err != nil {
					return err
				}
				defer stmt.Close()
			}
			if _, err := stmt.ExecContext(ctx, flaglist.Join(next), modseq, m.id, out[i].UID); err != nil {
				return err
			}
			out[i].Flags, out[i].ModSeq = slices.Clone(next), modseq
		}
		if stmt == nil {
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE mailboxes SET highestmodseq = ? WHERE id = ?`, modseq, m.id)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return out, modified, nil
}

// Expunge removes the \Deleted messages among uids (all of them for nil).
// The removals share one new mod-sequence, recorded in tombstones that
// ChangesSince reports.
func (s *Store) Expunge(ctx context.Context, user, name string, uids []imap.UID) ([]imap.UID, error) {
	const op = "expunge"
	var want []imap.UID
	if uids != nil {
		want = sortedUIDs(uids)
		if len(want) == 0 {
			return nil, nil
		}
	}
	type victim struct {
		uid    imap.UID
		bodyID int64
		size   int64
	}
	var gone []imap.UID
	err := s.write(ctx, user, op, func(tx *sql.Tx) error {
		gone = nil
		m, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		var victims []victim
		collect := func(rows *sql.Rows) error {
			var v victim
			var f sql.RawBytes
			if err := rows.Scan(&v.uid, &f, &v.bodyID, &v.size); err != nil {
				return err
			}
			if hasDeleted(f) {
				victims = append(victims, v)
			}
			return nil
		}
		if want == nil {
			err = uidQuery(ctx, tx, `SELECT uid, flags, body_id, size FROM messages
				WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid`,
				m.id, allUIDs, collect)
		} else {
			err = uidQuery(ctx, tx, `SELECT uid, flags, body_id, size FROM messages
				WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid`,
				m.id, uidRanges(want), collect)
			victims = keepUIDs(victims, func(v *victim) imap.UID { return v.uid }, want)
		}
		if err != nil || len(victims) == 0 {
			return err
		}
		modseq := m.highest + 1
		del, err := tx.PrepareContext(ctx, `DELETE FROM messages WHERE mailbox_id = ? AND uid = ?`)
		if err != nil {
			return err
		}
		defer del.Close()
		tomb, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)`)
		if err != nil {
			return err
		}
		defer tomb.Close()
		bodies := make([]int64, 0, len(victims))
		var freed int64
		for _, v := range victims {
			freed += v.size
			if _, err := del.ExecContext(ctx, m.id, v.uid); err != nil {
				return err
			}
			if _, err := tomb.ExecContext(ctx, m.id, v.uid, modseq); err != nil {
				return err
			}
			bodies = append(bodies, v.bodyID)
			gone = append(gone, v.uid)
		}
		if err := release(ctx, tx, bodies); err != nil {
			return err
		}
		if err := charge(ctx, tx, op, -freed, -int64(len(victims))); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE mailboxes SET highestmodseq = ? WHERE id = ?`, modseq, m.id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return gone, nil
}

// hasDeleted reports whether a stored flag list holds \Deleted.
func hasDeleted(f []byte) bool {
	const d = imap.FlagDeleted
	for len(f) > 0 {
		i := 0
		for i < len(f) && f[i] != ' ' {
			i++
		}
		if string(f[:i]) == d {
			return true
		}
		if i < len(f) {
			i++
		}
		f = f[i:]
	}
	return false
}

// release drops one reference per entry of bodyIDs (an id may repeat) and
// deletes the bodies, with their chunks, that nothing refers to any more.
func release(ctx context.Context, tx *sql.Tx, bodyIDs []int64) error {
	counts := map[int64]int64{}
	for _, id := range bodyIDs {
		counts[id]++
	}
	ids := make([]int64, 0, len(counts))
	for id := range counts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	dec, err := tx.PrepareContext(ctx, `UPDATE bodies SET refs = refs - ? WHERE id = ? RETURNING refs`)
	if err != nil {
		return err
	}
	defer dec.Close()
	for _, id := range ids {
		var refs int64
		if err := dec.QueryRowContext(ctx, counts[id], id).Scan(&refs); err != nil {
			return err
		}
		if refs > 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM chunks WHERE body_id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM bodies WHERE id = ?`, id); err != nil {
			return err
		}
		if err := unindexBody(ctx, tx, id); err != nil {
			return err
		}
	}
	return nil
}

// Copy copies messages to dest, keeping flags and internal dates; the
// copies share the originals' bodies.
func (s *Store) Copy(ctx context.Context, user, name string, uids []imap.UID, dest string) (ports.CopyResult, error) {
	const op = "copy"
	want := sortedUIDs(uids)
	var res ports.CopyResult
	err := s.write(ctx, user, op, func(tx *sql.Tx) error {
		var err error
		res, _, err = copyIn(ctx, tx, op, user, name, want, dest)
		return err
	})
	return res, err
}

// Move copies messages to dest and expunges the originals in one
// transaction (RFC 6851), so no other session ever sees both or neither.
func (s *Store) Move(ctx context.Context, user, name string, uids []imap.UID, dest string) (ports.CopyResult, error) {
	const op = "move"
	want := sortedUIDs(uids)
	var res ports.CopyResult
	err := s.write(ctx, user, op, func(tx *sql.Tx) error {
		var bodies []int64
		var err error
		res, bodies, err = copyIn(ctx, tx, op, user, name, want, dest)
		if err != nil || len(res.Source) == 0 {
			return err
		}
		// Read the source again: when dest is the source its counters moved.
		src, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		modseq := src.highest + 1
		for _, uid := range res.Source {
			if _, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE mailbox_id = ? AND uid = ?`, src.id, uid); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)`, src.id, uid, modseq); err != nil {
				return err
			}
		}
		if err := release(ctx, tx, bodies); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE mailboxes SET highestmodseq = ? WHERE id = ?`, modseq, src.id)
		return err
	})
	return res, err
}

// copyIn inserts copies of the wanted source messages into dest inside tx;
// it returns the COPYUID data and the body ids of the copied sources.
func copyIn(ctx context.Context, tx *sql.Tx, op, user, name string, want []imap.UID, dest string) (ports.CopyResult, []int64, error) {
	var res ports.CopyResult
	var bodies []int64
	err := func() error {
		src, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		dst, err := lookup(ctx, tx, op, user, dest, imap.ErrTryCreate)
		if err != nil {
			return err
		}
		res.UIDValidity = dst.uidValidity
		type row struct {
			uid            imap.UID
			flags          string
			date, zone, sz int64
			bodyID         int64
		}
		var rows []row
		if err := uidQuery(ctx, tx, `SELECT uid, flags, internaldate, zone, size, body_id FROM messages
			WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid`,
			src.id, uidRanges(want), func(r *sql.Rows) error {
				var x row
				if err := r.Scan(&x.uid, &x.flags, &x.date, &x.zone, &x.sz, &x.bodyID); err != nil {
					return err
				}
				rows = append(rows, x)
				return nil
			}); err != nil {
			return err
		}
		rows = keepUIDs(rows, func(x *row) imap.UID { return x.uid }, want)
		if len(rows) == 0 {
			return nil
		}
		if uint64(dst.uidNext)+uint64(len(rows)) > maxUID {
			return imap.Errorf(op, imap.ErrCannot, "mailbox %q has too few UIDs left", dest)
		}
		if op == "copy" {
			// A move stays in the user's quota root: it adds nothing.
			var total int64
			for _, x := range rows {
				total += x.sz
			}
			if err := charge(ctx, tx, op, total, int64(len(rows))); err != nil {
				return err
			}
		}
		if src.id != dst.id {
			p := flaglist.Parser{}
			copied := make([][]string, len(rows))
			for i, x := range rows {
				copied[i] = p.Parse([]byte(x.flags))
			}
			if err := admitKeywords(ctx, tx, op, dst.id, imap.NewKeywordSet().Missing(copied...)); err != nil {
				return err
			}
		}
		modseq := dst.highest + 1
		ins, err := tx.PrepareContext(ctx, `INSERT INTO messages
			(mailbox_id, uid, modseq, flags, internaldate, zone, size, body_id, savedate)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		ref, err := tx.PrepareContext(ctx, `UPDATE bodies SET refs = refs + 1 WHERE id = ?`)
		if err != nil {
			return err
		}
		defer ref.Close()
		next := dst.uidNext
		for _, x := range rows {
			if _, err := ins.ExecContext(ctx, dst.id, next, modseq, x.flags, x.date, x.zone, x.sz, x.bodyID, time.Now().Unix()); err != nil {
				return err
			}
			if _, err := ref.ExecContext(ctx, x.bodyID); err != nil {
				return err
			}
			res.Source = append(res.Source, x.uid)
			bodies = append(bodies, x.bodyID)
			res.Dest = append(res.Dest, next)
			next++
		}
		_, err = tx.ExecContext(ctx, `UPDATE mailboxes SET uidnext = ?, highestmodseq = ? WHERE id = ?`,
			next, modseq, dst.id)
		return err
	}()
	return res, bodies, err
}

// ClaimRecent hands the not yet claimed UIDs to the caller and moves the
// mark to UIDNEXT, in one write transaction so that two sessions (in any
// processes) never both claim a message.
func (s *Store) ClaimRecent(ctx context.Context, user, name string) (from, to imap.UID, err error) {
	const op = "claim recent"
	// Most calls find nothing to claim: after a change every session of
	// the mailbox polls and one of them claims. A read answers those
	// without the write lock and without a commit, whose notification
	// would wake every watcher of the user again.
	none := false
	err = s.read(ctx, user, op, func(tx *sql.Tx) error {
		m, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err == nil && m.recentUID >= m.uidNext {
			from, to, none = m.uidNext, m.uidNext, true
		}
		return err
	})
	if err != nil || none {
		return from, to, err
	}
	err = s.writeLight(ctx, user, op, func(tx *sql.Tx) error {
		m, err := lookup(ctx, tx, op, user, name, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		from, to = m.recentUID, m.uidNext
		if from >= to {
			from = to
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE mailboxes SET recentuid = ? WHERE id = ?`, to, m.id)
		return err
	})
	return from, to, err
}

// saveDate is the save date to record for a new message (RFC 8514): the
// one it carries (migration), or now.
func saveDate(msg ports.NewMessage) int64 {
	if !msg.SaveDate.IsZero() {
		return msg.SaveDate.Unix()
	}
	return time.Now().Unix()
}
