package imap

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// METADATA (RFC 5464) entry names.
const (
	// MetadataPrivate and MetadataShared are the two roots every entry
	// name starts with (RFC 5464 section 3.2).
	MetadataPrivate = "/private"
	MetadataShared  = "/shared"
)

// ErrEntryName is a malformed METADATA entry name; the error's text says
// what is wrong, fit for a tagged BAD.
var ErrEntryName = errors.New("invalid entry name")

type entryNameError string

func (e entryNameError) Error() string { return string(e) }
func (e entryNameError) Unwrap() error { return ErrEntryName }

// MetadataEntryName checks an entry name and returns it folded to lower
// case (RFC 5464 section 3.2: entry names are case-insensitive; Cyrus,
// too, answers with the lower-case name). The rules are section 3.2's and
// the ABNF's: UTF-8 without NUL or other controls, no "*" or "%", no "//",
// no "/" at the end, and the first level "private" or "shared". The bare
// roots "/private" and "/shared" pass only when root is true (GETMETADATA
// may ask for the entries under them).
func MetadataEntryName(name string, root bool) (string, error) {
	switch {
	case !utf8.ValidString(name):
		return "", entryNameError("Entry name is not UTF-8")
	case strings.ContainsAny(name, "*%"):
		return "", entryNameError("Entry name contains a wildcard")
	case strings.Contains(name, "//"):
		return "", entryNameError("Entry name contains //")
	case strings.HasSuffix(name, "/"):
		return "", entryNameError("Entry name ends with /")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", entryNameError("Entry name contains a control character")
		}
	}
	lower := strings.ToLower(name)
	switch {
	case strings.HasPrefix(lower, MetadataPrivate+"/"), strings.HasPrefix(lower, MetadataShared+"/"):
		return lower, nil
	case root && (lower == MetadataPrivate || lower == MetadataShared):
		return lower, nil
	}
	return "", entryNameError("Entry name must begin with /shared or /private")
}
