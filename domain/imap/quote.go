package imap

import (
	"strconv"
	"unicode/utf8"
)

// AppendString appends s as an IMAP string: a quoted string when s has only
// characters a quoted string may hold, otherwise a synchronizing-literal
// form "{n}\r\n" followed by the bytes (valid in server responses).
func AppendString(b []byte, s string) []byte {
	if quotable(s) {
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
	return append(b, s...)
}

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

// quotable reports whether s fits in a quoted string: 7-bit text without
// CR, LF or NUL, and not absurdly long.
func quotable(s string) bool {
	if len(s) > 1024 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0 || c == '\r' || c == '\n' || c >= 0x80 {
			return false
		}
	}
	return true
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

// AppendUTF8String appends s as a quoted string that may hold UTF-8 (RFC
// 6855 for sessions with UTF8=ACCEPT), or as a literal when s holds CR, LF,
// NUL or invalid UTF-8.
func AppendUTF8String(b []byte, s string) []byte {
	ok := utf8.ValidString(s) && len(s) <= 1024
	for i := 0; ok && i < len(s); i++ {
		if s[i] == 0 || s[i] == '\r' || s[i] == '\n' {
			ok = false
		}
	}
	if !ok {
		return AppendString(b, s)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}
