package imap

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// mutf7 is the base64 variant of RFC 3501 section 5.1.3: "," replaces "/"
// and there is no padding.
var mutf7 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding).Strict()

// printable reports whether r represents itself in modified UTF-7.
func printable(r rune) bool { return r >= 0x20 && r <= 0x7e }

// EncodeMailbox converts a UTF-8 mailbox name to modified UTF-7 (RFC 3501
// section 5.1.3). Invalid UTF-8 bytes are encoded as U+FFFD.
func EncodeMailbox(name string) string {
	var b strings.Builder
	var units []uint16
	flush := func() {
		if len(units) == 0 {
			return
		}
		raw := make([]byte, 2*len(units))
		for i, u := range units {
			raw[2*i] = byte(u >> 8)
			raw[2*i+1] = byte(u)
		}
		b.WriteByte('&')
		b.WriteString(mutf7.EncodeToString(raw))
		b.WriteByte('-')
		units = units[:0]
	}
	for _, r := range name {
		if printable(r) {
			flush()
			b.WriteRune(r)
			if r == '&' {
				b.WriteByte('-')
			}
			continue
		}
		units = utf16.AppendRune(units, r)
	}
	flush()
	return b.String()
}

// DecodeMailbox converts a modified UTF-7 mailbox name to UTF-8. It is
// strict: it refuses an unterminated or empty-but-not-"&-" shift, characters
// that are not printable US-ASCII outside a shift, base64 that is not the
// shortest form or leaves stray bits, printable ASCII or U+0000 hidden in a
// shift, two adjacent shifts (which a canonical encoder would have joined),
// and unpaired surrogates. Errors wrap ErrInvalidName.
func DecodeMailbox(s string) (string, error) {
	var b strings.Builder
	lastShiftEnd := -1
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", invalidName(s, "byte %#x outside printable US-ASCII", c)
		}
		if c != '&' {
			b.WriteByte(c)
			i++
			continue
		}
		end := strings.IndexByte(s[i+1:], '-')
		if end < 0 {
			return "", invalidName(s, "unterminated '&' shift")
		}
		end += i + 1
		if end == i+1 {
			b.WriteByte('&') // "&-" is a literal ampersand
			i = end + 1
			continue
		}
		if i == lastShiftEnd {
			return "", invalidName(s, "adjacent shifted sequences")
		}
		if err := decodeShift(&b, s[i+1:end]); err != nil {
			return "", invalidName(s, "%v", err)
		}
		i = end + 1
		lastShiftEnd = i
	}
	return b.String(), nil
}

func decodeShift(b *strings.Builder, enc string) error {
	for i := 0; i < len(enc); i++ {
		c := enc[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == ',') {
			return fmt.Errorf("invalid character %q in shift", c)
		}
	}
	raw, err := mutf7.DecodeString(enc)
	if err != nil || len(raw)%2 != 0 || len(enc) != mutf7.EncodedLen(len(raw)) {
		return fmt.Errorf("malformed base64 in shift")
	}
	units := make([]uint16, len(raw)/2)
	for i := range units {
		units[i] = uint16(raw[2*i])<<8 | uint16(raw[2*i+1])
	}
	for i := 0; i < len(units); i++ {
		u := rune(units[i])
		var r rune
		switch {
		case utf16.IsSurrogate(u):
			if u >= 0xdc00 || i+1 == len(units) {
				return fmt.Errorf("unpaired surrogate")
			}
			r = utf16.DecodeRune(u, rune(units[i+1]))
			if r == utf8.RuneError {
				return fmt.Errorf("unpaired surrogate")
			}
			i++
		default:
			r = u
		}
		if printable(r) || r == 0 {
			return fmt.Errorf("character %q must not be encoded", r)
		}
		b.WriteRune(r)
	}
	return nil
}

func invalidName(name, format string, args ...any) error {
	return &Error{Op: "decode mailbox name", Kind: ErrInvalidName, Detail: fmt.Sprintf("%q: ", name) + fmt.Sprintf(format, args...)}
}

// NormalizeMailbox spells any case of INBOX as "INBOX", also as the first
// level of a hierarchical name ("inbox/x" -> "INBOX/x"); RFC 3501 section
// 5.1: INBOX is case-insensitive, every other name is case-sensitive.
func NormalizeMailbox(name string) string {
	if len(name) >= 5 && strings.EqualFold(name[:5], "INBOX") && (len(name) == 5 || name[5] == Separator) && name[:5] != "INBOX" {
		return "INBOX" + name[5:]
	}
	return name
}
