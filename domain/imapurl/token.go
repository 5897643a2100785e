package imapurl

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Mechanism is the one URLAUTH mechanism the server implements (RFC 4467
// section 7: INTERNAL, whose tokens only this server can check).
const Mechanism = "INTERNAL"

// KeySize is the length of a mailbox access key in bytes.
const KeySize = 32

// Token is the INTERNAL mechanism's enc-urlauth for rump under a mailbox
// access key: HMAC-SHA256 in lower-case hex, 64 digits. RFC 4467 section 7
// suggests HMAC-SHA1 (40 digits); the grammar (32*HEXDIG) allows the
// stronger hash.
func Token(key []byte, rump string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(rump))
	return hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether token is the INTERNAL token of rump under key,
// comparing in constant time (hex digits in either case).
func Verify(key []byte, rump, token string) bool {
	want, err := hex.DecodeString(strings.ToLower(token))
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(rump))
	return hmac.Equal(m.Sum(nil), want)
}

// Full is the URLAUTH-authorized URL GENURLAUTH returns for rump.
func Full(rump, token string) string {
	return rump + ":" + strings.ToLower(Mechanism) + ":" + token
}
