package imap

import (
	"crypto/rand"
	"encoding/hex"
)

// MaxObjectID is the longest RFC 8474 objectid: 1*255(ALPHA / DIGIT / "_" / "-").
const MaxObjectID = 255

// IsObjectID reports whether s is an RFC 8474 objectid (section 7:
// objectid = 1*255(ALPHA / DIGIT / "_" / "-")).
func IsObjectID(s string) bool {
	if len(s) == 0 || len(s) > MaxObjectID {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Prefixes of the object ids this server makes: the kind of object, then
// 96 random bits in hex, so that ids never repeat (RFC 8474 section 4:
// an id is never reused for another object of the user).
const (
	MailboxIDPrefix = "F"
	EmailIDPrefix   = "M"
	ThreadIDPrefix  = "T"
)

// NewObjectID returns a fresh object id with the given prefix.
func NewObjectID(prefix string) string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on supported systems
	}
	return prefix + hex.EncodeToString(b[:])
}
