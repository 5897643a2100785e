package maildir

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// msgSortFile, inside each mailbox's folder (so that it moves with a
// RENAME and goes with a DELETE), holds the messages' sort records
// (ports.NewMessage.SortRecord) as frames appended one after the other:
// APPEND, COPY, MOVE and import add those of their messages with one
// write, after their index change is committed, so that the file never
// names a UID the mailbox did not give. Each frame carries the
// mailbox's UIDVALIDITY and the message's UID, so a frame left by a
// mailbox of the same name deleted since, or by a message expunged
// since, is simply not used; each has a CRC, so a frame a crash cut
// short is skipped, never read. Nothing is fsynced: a record lost is
// computed again by SORT from the structure blob.
//
// Frame: "SR", UIDVALIDITY, UID, record length (4 bytes each,
// big-endian), the CRC-32 (IEEE) of those three and the record, then
// the record.
const msgSortFile = "imapd-sortrec"

const (
	msgSortMagic  = "SR"
	msgSortHeader = 2 + 4 + 4 + 4 + 4
	// msgSortMax bounds one record (a frame claiming more is damaged).
	msgSortMax = 1 << 20
)

var _ ports.MessageSortRecords = (*Store)(nil)

// appendSortFrame appends the frame of one record to b.
func appendSortFrame(b []byte, uidValidity uint32, uid imap.UID, rec []byte) []byte {
	start := len(b)
	b = append(b, msgSortMagic...)
	b = binary.BigEndian.AppendUint32(b, uidValidity)
	b = binary.BigEndian.AppendUint32(b, uint32(uid))
	b = binary.BigEndian.AppendUint32(b, uint32(len(rec)))
	crc := crc32.Update(crc32.ChecksumIEEE(b[start+2:start+14]), crc32.IEEETable, rec)
	b = binary.BigEndian.AppendUint32(b, crc)
	return append(b, rec...)
}

// writeSortFrames appends frames to the mailbox's record file in one
// write (O_APPEND: writers in other processes do not interleave with
// it). Failing costs only time; the error is not the caller's.
func writeSortFrames(m *mailbox, frames []byte) {
	if len(frames) == 0 {
		return
	}
	f, err := openFile(m.file(msgSortFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	f.Write(frames)
	f.Close()
}

// sortFrame is one frame read back.
type sortFrame struct {
	uidValidity uint32
	uid         imap.UID
	rec         []byte
}

// readSortFrames returns the whole frames of data, in file order; past a
// damaged one it looks for the next whole frame.
func readSortFrames(data []byte) []sortFrame {
	var out []sortFrame
	for i := 0; i+msgSortHeader <= len(data); {
		h := data[i:]
		if string(h[:2]) != msgSortMagic {
			i += skipTo(data[i+1:]) + 1
			continue
		}
		n := binary.BigEndian.Uint32(h[10:14])
		if n > msgSortMax || int(n) > len(h)-msgSortHeader ||
			crc32.Update(crc32.ChecksumIEEE(h[2:14]), crc32.IEEETable, h[msgSortHeader:msgSortHeader+int(n)]) != binary.BigEndian.Uint32(h[14:18]) {
			i += skipTo(data[i+1:]) + 1
			continue
		}
		end := msgSortHeader + int(n)
		out = append(out, sortFrame{
			uidValidity: binary.BigEndian.Uint32(h[2:6]),
			uid:         imap.UID(binary.BigEndian.Uint32(h[6:10])),
			rec:         h[msgSortHeader:end:end],
		})
		i += end
	}
	return out
}

// skipTo returns the offset of the next frame's magic in b, or len(b).
func skipTo(b []byte) int {
	if k := bytes.Index(b, []byte(msgSortMagic)); k >= 0 {
		return k
	}
	return len(b)
}

// loadSortFrames returns the frames of m's file that belong to
// uidValidity and name a UID of at least from, by UID (the last frame of
// a UID wins), and how many frames the file holds in all.
func loadSortFrames(m *mailbox, uidValidity uint32, from imap.UID) (map[imap.UID][]byte, int, error) {
	data, err := readFile(m.file(msgSortFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	frames := readSortFrames(data)
	hint := len(frames)
	if from > 1 {
		hint = 0 // the few newest
	}
	byUID := make(map[imap.UID][]byte, hint)
	for _, f := range frames {
		if f.uidValidity == uidValidity && f.uid >= from {
			byUID[f.uid] = f.rec
		}
	}
	return byUID, len(frames), nil
}

// copySortFrames gives the copies (dest UIDs, pairwise with the source's
// res.Source) the records of their originals, which src's file holds.
func copySortFrames(src, dst *mailbox, srcValidity uint32, res ports.CopyResult) {
	if len(res.Dest) == 0 {
		return
	}
	recs, _, err := loadSortFrames(src, srcValidity, 0)
	if err != nil || len(recs) == 0 {
		return
	}
	var b []byte
	for i, u := range res.Source {
		if rec, ok := recs[u]; ok {
			b = appendSortFrame(b, res.UIDValidity, res.Dest[i], rec)
		}
	}
	writeSortFrames(dst, b)
}

// MessageSortRecords returns the records the mailbox's file holds of its
// messages whose UID is at least from. A file holding many more frames
// than the mailbox has messages (expunged ones, a mailbox deleted and
// made again) is written again with those of its messages only, when
// all of them are asked for.
func (s *Store) MessageSortRecords(ctx context.Context, user, name string, from imap.UID) (uint32, []imap.UID, [][]byte, error) {
	const op = "message sort records"
	m, x, err := s.view(ctx, op, user, name, imap.ErrNonexistent)
	if err != nil {
		return 0, nil, nil, err
	}
	byUID, total, err := loadSortFrames(m, x.uidValidity, from)
	if err != nil {
		return 0, nil, nil, wrapErr(op, err)
	}
	uids := make([]imap.UID, 0, len(byUID))
	recs := make([][]byte, 0, len(byUID))
	for i := range x.msgs.len() {
		u := x.msgs.at(i).uid
		if u < from {
			continue
		}
		if rec, ok := byUID[u]; ok {
			uids = append(uids, u)
			recs = append(recs, rec)
		}
	}
	if from <= 1 && total > 2*len(uids)+1024 {
		s.rewriteSortFrames(ctx, m, x.uidValidity, uids, recs)
	}
	return x.uidValidity, uids, recs, nil
}

// rewriteSortFrames replaces m's file by one holding the given records:
// written aside, then renamed over it under the mailbox lock. A frame
// another process appends to the old file meanwhile is lost, which costs
// only its recomputation.
func (s *Store) rewriteSortFrames(ctx context.Context, m *mailbox, uidValidity uint32, uids []imap.UID, recs [][]byte) {
	l, err := flock(ctx, m.file(lockFile), true)
	if err != nil {
		return
	}
	defer l.unlock()
	var b []byte
	for i, u := range uids {
		b = appendSortFrame(b, uidValidity, u, recs[i])
	}
	tmp := m.file(fmt.Sprintf(".%s.%d.%d", msgSortFile, os.Getpid(), rand.Uint64()))
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		os.Remove(tmp)
		return
	}
	if err := os.Rename(tmp, m.file(msgSortFile)); err != nil {
		os.Remove(tmp)
	}
}

// appendedSortFrames returns the frames of the records of msgs, stored
// under res (pairwise).
func appendedSortFrames(msgs []ports.NewMessage, res []ports.AppendResult) []byte {
	var b []byte
	for i, msg := range msgs {
		if msg.SortRecord != nil && i < len(res) {
			b = appendSortFrame(b, res[i].UIDValidity, res[i].UID, msg.SortRecord)
		}
	}
	return b
}
