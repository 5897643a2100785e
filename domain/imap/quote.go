package imap

import (
	"strconv"
	"unicode/utf8"
)

// Every string the server writes (astring, nstring, string, in any
// response) goes through appendString, so that no caller can get the rules
// of RFC 3501 9 / RFC 9051 9 wrong:
//   - a quoted string holds no NUL, CR or LF, escapes '"' and '\', and holds
//     8-bit bytes only as valid UTF-8 and only for a session that enabled
//     UTF8=ACCEPT (RFC 6855 3);
//   - anything else is sent as a literal, and a literal holds no NUL
//     (CHAR8): a NUL byte is sent as NULReplacement.
//
// quotedMax is the longest string sent quoted; longer ones are literals,
// which clients read without scanning for the closing quote.
const quotedMax = 1024

// NULReplacement stands in for a NUL byte that must be sent where IMAP
// forbids it (a literal or a quoted string). It keeps the length, which a
// literal has already announced when the byte is met. 0x80 is not a
// character in any charset a message declares, so it cannot pass for one.
const NULReplacement = 0x80

// AppendString appends s as an IMAP string: a quoted string when every
// byte may be quoted (7-bit), otherwise a synchronizing-literal form
// "{n}\r\n" followed by the bytes (valid in server responses).
func AppendString(b []byte, s string) []byte { return appendString(b, s, false) }

// AppendUTF8String appends s as a quoted string that may hold UTF-8 (RFC
// 6855 for sessions with UTF8=ACCEPT), or as a literal when s holds CR, LF,
// NUL or invalid UTF-8.
func AppendUTF8String(b []byte, s string) []byte { return appendString(b, s, true) }

// AppendNString appends NIL for an absent value (ok false), else the string.
func AppendNString(b []byte, s string, ok bool) []byte {
	if !ok {
		return append(b, "NIL"...)
	}
	return AppendString(b, s)
}

// AppendAtomOrString appends s bare when it is a valid atom (and not "NIL"),
// otherwise as a string.
func AppendAtomOrString(b []byte, s string) []byte {
	if IsAtom(s) && !equalFoldASCII(s, "NIL") {
		return append(b, s...)
	}
	return AppendString(b, s)
}

// AppendAString appends s as an astring (RFC 3501 9): bare when it is made
// of ASTRING-CHARs (atom characters and ']') and is not NIL, otherwise as a
// string.
func AppendAString(b []byte, s string) []byte {
	bare := s != "" && !equalFoldASCII(s, "NIL")
	for i := 0; bare && i < len(s); i++ {
		bare = IsAtomChar(s[i]) || s[i] == ']'
	}
	if bare {
		return append(b, s...)
	}
	return AppendString(b, s)
}

func appendString(b []byte, s string, utf8OK bool) []byte {
	if quotable(s, utf8OK) {
		b = append(b, '"')
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c == '"' || c == '\\' {
				b = append(b, '\\')
			}
			b = append(b, c)
		}
		return append(b, '"')
	}
	b = append(b, '{')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, "}\r\n"...)
	n := len(b)
	b = append(b, s...)
	for i := n; i < len(b); i++ {
		if b[i] == 0 {
			b[i] = NULReplacement
		}
	}
	return b
}

// quotable reports whether s fits in a quoted string: text without CR, LF
// or NUL, 7-bit unless utf8OK and then valid UTF-8, and not long.
func quotable(s string, utf8OK bool) bool {
	if len(s) > quotedMax {
		return false
	}
	high := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0 || c == '\r' || c == '\n':
			return false
		case c >= 0x80:
			if !utf8OK {
				return false
			}
			high = true
		}
	}
	return !high || utf8.ValidString(s)
}

// IsAtomChar reports whether c is an ATOM-CHAR (RFC 3501 formal syntax).
func IsAtomChar(c byte) bool {
	if c <= 0x1f || c >= 0x7f {
		return false
	}
	switch c {
	case '(', ')', '{', ' ', '%', '*', '"', '\\', ']':
		return false
	}
	return true
}

// IsAtom reports whether s is a non-empty atom.
func IsAtom(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !IsAtomChar(s[i]) {
			return false
		}
	}
	return true
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 32
		}
		if 'a' <= y && y <= 'z' {
			y -= 32
		}
		if x != y {
			return false
		}
	}
	return true
}
