package app

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/imapd-go/imapd/domain/imapurl"
)

// accessKeys keeps the URLAUTH mailbox access keys (RFC 4467 section 7:
// one secret key per mailbox, which signs the URLs GENURLAUTH hands out).
//
// They live under configdirectory/urlauth, a file per user, and not in the
// mail store: they are the server's secrets, not the user's mail, so they
// stay out of what the store exports, migrates or backs up as mail, and
// both stores share the one code. The directory is 0700 and the files
// 0600: no other local user can read them. Each file is read and
// rewritten under an flock(2) on it, so the sessions of several processes
// (multisession off, or imapd under master) agree.
//
// A key is kept with the UIDVALIDITY its mailbox had when it was made: a
// mailbox deleted and created again has another UIDVALIDITY, so the URLs
// signed for the old one stop working without anyone calling RESETKEY.
type accessKeys struct{ dir string }

// keyRecord is one mailbox's key.
type keyRecord struct {
	mailbox     string
	uidValidity uint32
	key         []byte
}

func (k *accessKeys) path(user string) string {
	sum := sha256.Sum256([]byte(user))
	return filepath.Join(k.dir, hex.EncodeToString(sum[:16]))
}

// Forget removes every key of user (the user is deleted): the URLs signed
// for them stop working, and a new user of the same name does not inherit
// them.
func (k *accessKeys) Forget(user string) error {
	if err := os.Remove(k.path(user)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("urlauth: %w", err)
	}
	return nil
}

// Key returns the key of user's mailbox for uidValidity. Without create,
// a missing key (or one made for another UIDVALIDITY) is nil; with create
// a new one is made and kept.
func (k *accessKeys) Key(user, mailbox string, uidValidity uint32, create bool) ([]byte, error) {
	var out []byte
	err := k.update(user, !create, func(recs []keyRecord) ([]keyRecord, bool, error) {
		for i, r := range recs {
			if r.mailbox != mailbox {
				continue
			}
			if r.uidValidity == uidValidity {
				out = r.key
				return recs, false, nil
			}
			recs = append(recs[:i], recs[i+1:]...)
			break
		}
		if !create {
			return recs, false, nil
		}
		key := make([]byte, imapurl.KeySize)
		if _, err := rand.Read(key); err != nil {
			return nil, false, err
		}
		out = key
		return append(recs, keyRecord{mailbox, uidValidity, key}), true, nil
	})
	return out, err
}

// Reset forgets the key of user's mailbox, or every key of the user when
// mailbox is "" (RESETKEY): the URLs they signed are invalid from now on,
// and the next GENURLAUTH makes a new key.
func (k *accessKeys) Reset(user, mailbox string) error {
	return k.update(user, false, func(recs []keyRecord) ([]keyRecord, bool, error) {
		if mailbox == "" {
			return nil, len(recs) > 0, nil
		}
		for i, r := range recs {
			if r.mailbox == mailbox {
				return append(recs[:i], recs[i+1:]...), true, nil
			}
		}
		return recs, false, nil
	})
}

// update runs f on user's records under an exclusive lock and writes them
// back when f says they changed. readOnly opens no file that does not
// exist.
func (k *accessKeys) update(user string, readOnly bool, f func([]keyRecord) ([]keyRecord, bool, error)) error {
	if err := os.MkdirAll(k.dir, 0o700); err != nil {
		return err
	}
	flags := os.O_RDWR | os.O_CREATE
	if readOnly {
		flags = os.O_RDWR
	}
	file, err := os.OpenFile(k.path(user), flags, 0o600)
	if errors.Is(err, os.ErrNotExist) {
		_, _, err = f(nil)
		return err
	}
	if err != nil {
		return err
	}
	defer file.Close()
	if err := syscall.Flock(int(file.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	recs, err := readKeys(file)
	if err != nil {
		return fmt.Errorf("%s: %w", file.Name(), err)
	}
	recs, changed, err := f(recs)
	if err != nil || !changed {
		return err
	}
	var b bytes.Buffer
	for _, r := range recs {
		fmt.Fprintf(&b, "%s %d %s\n", hex.EncodeToString([]byte(r.mailbox)), r.uidValidity, hex.EncodeToString(r.key))
	}
	if err := file.Truncate(0); err != nil {
		return err
	}
	if _, err := file.WriteAt(b.Bytes(), 0); err != nil {
		return err
	}
	return file.Sync()
}

// readKeys reads lines of "hex(mailbox) uidvalidity hex(key)".
func readKeys(r io.Reader) ([]keyRecord, error) {
	var recs []keyRecord
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			return nil, errors.New("malformed access key record")
		}
		name, err1 := hex.DecodeString(f[0])
		uv, err2 := strconv.ParseUint(f[1], 10, 32)
		key, err3 := hex.DecodeString(f[2])
		if err := errors.Join(err1, err2, err3); err != nil || len(key) != imapurl.KeySize {
			return nil, errors.New("malformed access key record")
		}
		recs = append(recs, keyRecord{string(name), uint32(uv), key})
	}
	return recs, sc.Err()
}
