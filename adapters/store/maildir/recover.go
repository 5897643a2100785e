package maildir

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// lazyFrame: the log frame of an APPEND is written but not fsynced when
// the folder itself can tell everything it records, so that an APPEND
// costs two fsyncs (the message file, then cur/ with its new name) instead
// of three. The file's name carries the UID (",U=<uid>" in its unique
// part), its flag letters the system flags, its modification time the
// internal date, its size the size, its contents the structure, and its
// change time the save date (to the second). If a crash loses such
// frames, they are the last of the log (any later fdatasync of the log
// makes every earlier frame durable too, and only APPEND frames and
// claims of \Recent are ever left unsynced), and the next scan finds
// their files in cur/ with UIDs at or above UIDNEXT: it records them again
// under those UIDs, in UID order, each with the next mod-sequence, which
// is what the lost frames held. A message with keywords, an internal date in a zone other than
// the server's, or a save date given by the caller is not reproducible:
// its frame is fsynced.
//
// A claim of \Recent (ClaimRecent) records only which session was told
// of a message first. Its frame is not fsynced either: lost, it leaves
// RECENTUID where it was, and the next session sees those messages as
// \Recent again; the SQLite store's claim commits without an fsync of
// its own for the same reason. Lost claims come after the lost APPEND
// frames or between them; the scan that records those again reads no
// claim.
//
// Why the folder's fsync, and not the frame's: both orders cost two
// fsyncs, but only this one is durable by POSIX's rules alone. The other
// (fsync the file in tmp/, rename it into cur/ without an fsync of cur/,
// fdatasync the frame, and let a recovery finish renames that a crash
// undid) needs the file's name in tmp/ to survive the crash, and an
// fsync of a file does not promise that of its name: that is a third
// fsync, of tmp/. Here the one name that matters, in cur/, is made
// durable by the fsync of cur/, after the file's own; the frame is
// redundant with what cur/ then holds. On ext4, measured side by side on
// a shared machine, neither order was clearly faster
// (BenchmarkDurableFileFloor in test/storebench times this one's file
// system steps alone).
//
// A frame left unsynced hands out only UIDs below the index's reservation,
// which a frame that was fsynced recorded: when the reservation is used
// up, the next APPEND's frame is fsynced and reserves reserveAhead more.
// A scan that finds cur/ changed behind the index's back (after a crash,
// or another program's work) moves UIDNEXT up to the reservation, so that
// a lost frame's UID is never handed out again, even when its file was
// deleted by another program before the crash.

// reserveAhead is how many UIDs an fsynced APPEND frame reserves.
const reserveAhead = 32

// uidName is the unique part of the file name of the message with uid.
func uidName(unique string, uid imap.UID) string {
	return unique + ",U=" + strconv.FormatUint(uint64(uid), 10)
}

// nameUID returns the UID a unique part carries, if any.
func nameUID(unique string) (imap.UID, bool) {
	i := strings.LastIndex(unique, ",U=")
	if i < 0 {
		return 0, false
	}
	v := unique[i+3:]
	if j := strings.IndexByte(v, ','); j >= 0 {
		v = v[:j]
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n == 0 {
		return 0, false
	}
	return imap.UID(n), true
}

// reproducible reports whether a recovery from the folder would record
// the appended message as its frame does.
func reproducible(flags []string, msg ports.NewMessage, date time.Time) bool {
	if len(keywords(flags)) > 0 || !msg.SaveDate.IsZero() {
		return false
	}
	_, zone := date.Zone()
	_, local := time.Unix(date.Unix(), 0).Zone()
	return zone == local
}

// recoverLost records again the files in cur/ whose names carry a UID at
// or above UIDNEXT (unique part -> file name, of the files x does not
// know): messages appended whose frames a crash lost. It reports whether
// it recorded any; the caller writes the frame.
func (s *Store) recoverLost(ctx context.Context, m *mailbox, x *index, files map[string]string) (bool, error) {
	type lost struct {
		uid  imap.UID
		name string
	}
	var list []lost
	for u, n := range files {
		if uid, ok := nameUID(u); ok && uid >= x.uidNext {
			list = append(list, lost{uid, n})
		}
	}
	if len(list) == 0 {
		return false, nil
	}
	slices.SortFunc(list, func(a, b lost) int {
		if c := cmpUID(a.uid, b.uid); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	cache, err := openCache(m, x)
	if err != nil {
		return false, err
	}
	added := false
	kwl := &letterReader{dir: m.path, x: x}
	for _, l := range list {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		if l.uid < x.uidNext || uint64(l.uid) >= maxUID {
			continue // a second file with the same UID: adopted as new
		}
		path := m.cur() + "/" + l.name
		fi, err := os.Stat(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return false, err
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		blob, size, err := structureOf(path)
		if err != nil {
			return false, err
		}
		off, err := cache.add(blob)
		if err != nil {
			return false, err
		}
		kws, err := kwl.named(l.name)
		if err != nil {
			return false, err
		}
		saved := time.Now().Unix()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			saved = st.Ctim.Sec
		}
		_, zone := fi.ModTime().Zone()
		x.highest++
		x.msgs.push(entry{
			uid: l.uid, modseq: x.highest, date: fi.ModTime().Unix(), zone: int32(zone), size: size,
			soff: off, slen: int64(len(blob)), file: l.name, flags: entryFlags(l.name, kws), saved: saved,
		})
		x.uidNext = l.uid + 1
		added = true
	}
	return added, nil
}
