package imap

import (
	"errors"
	"testing"
	"unicode/utf8"
)

func TestEncodeMailbox(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"INBOX", "INBOX"},
		{"a&b", "a&-b"},
		{"&", "&-"},
		{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
		{"Entwürfe", "Entw&APw-rfe"},
		{"ü&", "&APw-&-"},
		{"Ünïcode", "&ANw-n&AO8-code"},
		{"\U0001F600", "&2D3eAA-"},
		{"tab\there", "tab&AAk-here"},
		{"\xff", "&,,0-"},
	}
	for _, tt := range tests {
		if got := EncodeMailbox(tt.in); got != tt.want {
			t.Errorf("EncodeMailbox(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDecodeMailbox(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"INBOX", "INBOX", true},
		{"a&-b", "a&b", true},
		{"~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter/mail/台北/日本語", true},
		{"Entw&APw-rfe", "Entwürfe", true},
		{"&2D3eAA-", "\U0001F600", true},
		{"tab&AAk-here", "tab\there", true},
		{"a&", "", false},                       // unterminated
		{"a&APw", "", false},                    // unterminated
		{"&APw-&AO8-", "", false},               // adjacent shifts must be merged
		{"&AGE-", "", false},                    // "a" must not be encoded
		{"&AAA-", "", false},                    // NUL
		{"&APx-", "", false},                    // stray non-zero bits
		{"&APwA-", "", false},                   // odd number of bytes
		{"&APw=-", "", false},                   // padding
		{"&AP/-", "", false},                    // "/" is not in the alphabet
		{"&2D0-", "", false},                    // lone high surrogate
		{"&3gA-", "", false},                    // lone low surrogate
		{"&2D3YPQ-", "", false},                 // high followed by high
		{"Entwürfe", "", false},                 // raw 8-bit
		{"a\tb", "", false},                     // control character
		{"a\x7fb", "", false},                   // DEL
		{"&APwA7w-", "üï", true},                // two characters in one shift
		{"&APwA7wA-", "", false},                // an extra character
		{"&-&-", "&&", true},                    // literal ampersands are not shifts
		{"&APw-&-&AO8-", "ü&ï", true},           // separated by a literal ampersand
		{"&U,BTFw-x&ZeVnLIqe-", "台北x日本語", true}, // separated by a printable
	}
	for _, tt := range tests {
		got, err := DecodeMailbox(tt.in)
		if tt.ok {
			if err != nil || got != tt.want {
				t.Errorf("DecodeMailbox(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("DecodeMailbox(%q) = %q, want an error", tt.in, got)
		} else if !errors.Is(err, ErrInvalidName) {
			t.Errorf("DecodeMailbox(%q) error %v does not wrap ErrInvalidName", tt.in, err)
		}
	}
}

func TestNormalizeMailbox(t *testing.T) {
	tests := []struct{ in, want string }{
		{"INBOX", "INBOX"},
		{"inbox", "INBOX"},
		{"InBoX", "INBOX"},
		{"inbox/x", "INBOX/x"},
		{"inbox/inbox", "INBOX/inbox"},
		{"inboxes", "inboxes"},
		{"inbo", "inbo"},
		{"x/inbox", "x/inbox"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := NormalizeMailbox(tt.in); got != tt.want {
			t.Errorf("NormalizeMailbox(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzMailboxRoundTrip(f *testing.F) {
	for _, s := range []string{"", "INBOX", "a&b", "台北/日本語", "Entwürfe", "\U0001F600x", "&&", "\x00\x01", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := EncodeMailbox(s)
		for i := 0; i < len(enc); i++ {
			if enc[i] < 0x20 || enc[i] > 0x7e {
				t.Fatalf("EncodeMailbox(%q) = %q has a non-printable byte", s, enc)
			}
		}
		dec, err := DecodeMailbox(enc)
		if hasNUL(s) {
			// U+0000 cannot be a mailbox name character; only check that
			// decoding refuses it rather than mangling it.
			if err == nil {
				t.Fatalf("DecodeMailbox(%q) accepted U+0000", enc)
			}
			return
		}
		if err != nil {
			t.Fatalf("DecodeMailbox(EncodeMailbox(%q)) = %v", s, err)
		}
		want := s
		if !utf8.ValidString(s) {
			want = string([]rune(s)) // invalid bytes become U+FFFD
		}
		if dec != want {
			t.Fatalf("round trip of %q gave %q (encoded %q)", s, dec, enc)
		}
		// Whatever decodes must re-encode to the same canonical string.
		if d, err := DecodeMailbox(s); err == nil {
			if e := EncodeMailbox(d); e != s {
				t.Fatalf("DecodeMailbox(%q) = %q re-encodes to %q", s, d, e)
			}
		}
	})
}

func hasNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}
