// Package grants keeps, for a store, an index of who granted rights to
// whom: for each ACL identifier, the owners whose mailboxes' ACLs named it
// at some time, as empty files grants/<identifier>/<owner> under the
// store's directory. LIST reads one folder instead of every owner's
// mailboxes. The index only grows (an entry whose grant was taken back
// stays), so it is a superset: callers still check the ACLs themselves.
// Entries are written before the ACL that needs them, so the index is
// never behind a stored ACL, also after a crash.
package grants

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/imapd-go/imapd/adapters/store/internal/fsname"
	"github.com/imapd-go/imapd/domain/imap"
)

// Dir is the folder of the index inside a store's directory.
const Dir = "grants"

// Record notes that owner's ACL acl names each of its identifiers
// (negative identifiers, which grant nothing, are skipped), before the
// store stores acl. Names too long for a file name are skipped too: LIST
// then does not find that grant through the index.
func Record(storeDir, owner string, acl imap.ACL) error {
	o := fsname.Escape(owner)
	if len(o) > 240 {
		return nil
	}
	for _, e := range acl {
		id := e.Identifier
		if strings.HasPrefix(id, "-") || id == owner {
			continue
		}
		d := fsname.Escape(id)
		if len(d) > 240 {
			continue
		}
		path := filepath.Join(storeDir, Dir, d, o)
		if _, err := os.Stat(path); err == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o640)
		if err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// Grantors calls f once with each owner recorded for any of ids
// (ports.ACLs.Grantors), until f returns an error, which it returns.
func Grantors(ctx context.Context, storeDir string, ids []string, f func(owner string) error) error {
	seen := map[string]bool{}
	for _, id := range ids {
		err := owners(storeDir, id, func(o string) error {
			if seen[o] {
				return nil
			}
			seen[o] = true
			return f(o)
		})
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// owners calls f with each owner recorded for id.
func owners(storeDir, id string, f func(owner string) error) error {
	entries, err := os.ReadDir(filepath.Join(storeDir, Dir, fsname.Escape(id)))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		o, ok := fsname.Unescape(e.Name())
		if !ok {
			continue
		}
		if err := f(o); err != nil {
			return err
		}
	}
	return nil
}
