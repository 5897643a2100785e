package maildir

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// sortFile, inside each mailbox's folder (so that it moves with a RENAME
// and goes with a DELETE), holds the mailbox's saved sort records: the
// UIDVALIDITY they belong to (4 bytes, big-endian), then the list.
const sortFile = "imapd-sort"

var _ ports.SortRecords = (*Store)(nil)

// LoadSortRecords returns the mailbox's saved sort records; a file left
// by a mailbox of another UIDVALIDITY counts as none.
func (s *Store) LoadSortRecords(ctx context.Context, user, name string) (uint32, []byte, error) {
	const op = "load sort records"
	m, x, err := s.view(ctx, op, user, name, imap.ErrNonexistent)
	if err != nil {
		return 0, nil, err
	}
	b, err := readFile(m.file(sortFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, wrapErr(op, err)
	}
	if len(b) < 4 || binary.BigEndian.Uint32(b) != x.uidValidity {
		return 0, nil, nil
	}
	return x.uidValidity, b[4:], nil
}

// SaveSortRecords replaces the mailbox's sort file: written aside, then
// renamed over it. Nothing is fsynced: the list carries its own length
// and checks, so a file a power cut damaged is not read (the records are
// computed again), and losing it harms nothing.
func (s *Store) SaveSortRecords(ctx context.Context, user, name string, uidValidity uint32, data []byte) error {
	const op = "save sort records"
	m, x, err := s.view(ctx, op, user, name, imap.ErrNonexistent)
	if err != nil || x.uidValidity != uidValidity {
		return err
	}
	tmp := m.file(fmt.Sprintf(".%s.%d.%d", sortFile, os.Getpid(), rand.Uint64()))
	f, err := openFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return wrapErr(op, err)
	}
	var head [4]byte
	binary.BigEndian.PutUint32(head[:], uidValidity)
	_, err = f.Write(append(head[:], data...))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, m.file(sortFile))
	}
	if err != nil {
		os.Remove(tmp)
		return wrapErr(op, err)
	}
	return nil
}
