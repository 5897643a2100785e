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
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Dir is the folder of the index inside a store's directory.
const Dir = "grants"

// escape spells a name as one file name: ASCII letters, digits and
// "-_@+=" as they are, every other byte (and a leading ".") as %XX.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-_@+=", c) >= 0, c == '.' && i > 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func unescape(s string) (string, bool) {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b = append(b, byte(v))
		i += 2
	}
	return string(b), true
}

// Record notes that owner's ACLs name each of ids (negative identifiers,
// which grant nothing, are skipped). Names too long for a file name are
// skipped too: LIST then does not find that grant through the index.
func Record(storeDir, owner string, ids []string) error {
	o := escape(owner)
	if len(o) > 240 {
		return nil
	}
	for _, id := range ids {
		if strings.HasPrefix(id, "-") || id == owner {
			continue
		}
		d := escape(id)
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

// Owners calls f with each owner recorded for id.
func Owners(storeDir, id string, f func(owner string) error) error {
	entries, err := os.ReadDir(filepath.Join(storeDir, Dir, escape(id)))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		o, ok := unescape(e.Name())
		if !ok {
			continue
		}
		if err := f(o); err != nil {
			return err
		}
	}
	return nil
}
