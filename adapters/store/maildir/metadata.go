package maildir

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// METADATA entries (RFC 5464) live in files of the adapter beside the
// ones it already keeps: a mailbox's in imapd-metadata inside its folder
// (so they move with it on RENAME and go with it on DELETE), a user's
// /private server entries in imapd-server-metadata in the user's root,
// and the server's /shared entries in server-metadata in the partition's
// .imapd folder. Each file is JSON, values base64 (binary-safe), written
// whole to a temporary file, fsynced and renamed over the old one, under
// the user's tree lock (the partition's metadata lock for the server's
// file); readers take no lock.
const (
	metadataFile       = "imapd-metadata"
	serverMetadataFile = "imapd-server-metadata"
	globalMetadataFile = "server-metadata"
	globalMetadataLock = "server-metadata.lock"
)

var _ ports.Metadata = (*Store)(nil)

// metadataSet is one file's entries: the /shared ones and, per user, the
// /private ones.
type metadataSet struct {
	Shared  map[string][]byte            `json:"shared,omitempty"`
	Private map[string]map[string][]byte `json:"private,omitempty"`
}

func readMetadata(path string) (*metadataSet, error) {
	set := &metadataSet{}
	b, err := readFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return set, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, set); err != nil {
		return nil, err
	}
	return set, nil
}

func writeMetadata(path string, set *metadataSet) error {
	if len(set.Shared) == 0 && len(set.Private) == 0 {
		err := os.Remove(path)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	b, err := json.Marshal(set)
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Dir(path), filepath.Base(path), b)
}

// apply makes the changes to one half of a set (the /shared map, or a
// user's /private map) and reports imap.ErrLimit when they leave it
// grown beyond limit.
func applyMetadata(m map[string][]byte, entries []ports.MetadataEntry, limit int) (map[string][]byte, error) {
	if m == nil {
		m = map[string][]byte{}
	}
	before := len(m)
	for _, e := range entries {
		if e.Value == nil {
			delete(m, e.Name)
		} else {
			m[e.Name] = e.Value
		}
	}
	if limit > 0 && len(m) > limit && len(m) > before {
		return nil, imap.Errorf("setmetadata", imap.ErrLimit, "more than %d entries", limit)
	}
	return m, nil
}

// GetMetadata returns the mailbox's (or the server's) entries user sees.
func (s *Store) GetMetadata(ctx context.Context, user, mailbox string) ([]ports.MetadataEntry, error) {
	const op = "getmetadata"
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []ports.MetadataEntry
	add := func(m map[string][]byte) {
		for n, v := range m {
			if v == nil {
				v = []byte{}
			}
			out = append(out, ports.MetadataEntry{Name: n, Value: v})
		}
	}
	if mailbox == "" {
		root, err := s.userRoot(op, user)
		if err != nil {
			return nil, err
		}
		global, err := readMetadata(filepath.Join(s.dir, globalDir, globalMetadataFile))
		if err != nil {
			return nil, wrapErr(op, err)
		}
		own, err := readMetadata(filepath.Join(root, serverMetadataFile))
		if err != nil {
			return nil, wrapErr(op, err)
		}
		add(global.Shared)
		add(own.Private[user])
	} else {
		m, err := s.resolve(ctx, op, user, mailbox, imap.ErrNonexistent)
		if err != nil {
			return nil, err
		}
		set, err := readMetadata(filepath.Join(m.path, metadataFile))
		if err != nil {
			return nil, wrapErr(op, err)
		}
		add(set.Shared)
		add(set.Private[user])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// SetMetadata changes the mailbox's (or the server's) entries.
func (s *Store) SetMetadata(ctx context.Context, user, mailbox string, entries []ports.MetadataEntry, limit int) error {
	const op = "setmetadata"
	var shared, private []ports.MetadataEntry
	for _, e := range entries {
		if strings.HasPrefix(e.Name, "/shared/") {
			shared = append(shared, e)
		} else {
			private = append(private, e)
		}
	}
	root, err := s.userRoot(op, user)
	if err != nil {
		return err
	}
	tl, err := s.treeLock(ctx, root)
	if err != nil {
		return wrapErr(op, err)
	}
	defer tl.unlock()
	path := filepath.Join(root, serverMetadataFile)
	if mailbox != "" {
		m, err := s.resolve(ctx, op, user, mailbox, imap.ErrNonexistent)
		if err != nil {
			return err
		}
		path = filepath.Join(m.path, metadataFile)
	}
	set, err := readMetadata(path)
	if err != nil {
		return wrapErr(op, err)
	}
	if mailbox != "" && len(shared) > 0 {
		if set.Shared, err = applyMetadata(set.Shared, shared, limit); err != nil {
			return err
		}
	}
	if len(private) > 0 {
		own, err := applyMetadata(set.Private[user], private, limit)
		if err != nil {
			return err
		}
		if set.Private == nil {
			set.Private = map[string]map[string][]byte{}
		}
		set.Private[user] = own
		if len(own) == 0 {
			delete(set.Private, user)
		}
	}
	if mailbox == "" && len(shared) > 0 {
		// Before the user's file, so that a refusal changes nothing.
		if err := s.setGlobalMetadata(ctx, shared, limit); err != nil {
			return err
		}
	}
	if len(set.Shared) == 0 {
		set.Shared = nil
	}
	return wrapErr(op, writeMetadata(path, set))
}

// setGlobalMetadata changes the server's /shared entries.
func (s *Store) setGlobalMetadata(ctx context.Context, entries []ports.MetadataEntry, limit int) error {
	const op = "setmetadata"
	dir := filepath.Join(s.dir, globalDir)
	l, err := flock(ctx, filepath.Join(dir, globalMetadataLock), true)
	if err != nil {
		return wrapErr(op, err)
	}
	defer l.unlock()
	path := filepath.Join(dir, globalMetadataFile)
	set, err := readMetadata(path)
	if err != nil {
		return wrapErr(op, err)
	}
	if set.Shared, err = applyMetadata(set.Shared, entries, limit); err != nil {
		return err
	}
	set.Private = nil
	if len(set.Shared) == 0 {
		set.Shared = nil
	}
	return wrapErr(op, writeMetadata(path, set))
}
