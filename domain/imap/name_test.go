package imap

import (
	"errors"
	"testing"
)

func TestDecodeName(t *testing.T) {
	const odd = "!#$&'+,-.0123456789:;<=>?@^_`|[}"
	tests := []struct {
		raw  string
		utf8 bool
		want string // "" for an error
	}{
		{"INBOX", false, "INBOX"},
		{"Entw&APw-rfe", false, "Entwürfe"},
		{"&-", false, "&"},
		{"%/&APw-*", false, "%/ü*"},
		{odd, false, ""},
		{"a&", false, ""},
		{"&AGE-", false, ""},
		{"café", false, ""},    // 8-bit before ENABLE UTF8=ACCEPT
		{"x\xffy", false, ""},  // 8-bit, not even UTF-8
		{"café", true, "café"}, // after it
		{odd, true, odd},       // "&" is an ordinary character then
		{"Entw&APw-rfe", true, "Entw&APw-rfe"},
		{"x\xffy", true, ""},
	}
	for _, tt := range tests {
		got, err := DecodeName(tt.raw, tt.utf8)
		switch {
		case tt.want == "" && !errors.Is(err, ErrInvalidName):
			t.Errorf("DecodeName(%q, %v) = %q, %v; want ErrInvalidName", tt.raw, tt.utf8, got, err)
		case tt.want != "" && (err != nil || got != tt.want):
			t.Errorf("DecodeName(%q, %v) = %q, %v; want %q", tt.raw, tt.utf8, got, err, tt.want)
		}
	}
}

func TestRefuseName(t *testing.T) {
	decodeErr := invalidName("a&", "unterminated '&' shift")
	tests := []struct {
		use       NameUse
		name      string
		decodeErr error
		want      error // nil: the store is asked
	}{
		{UseExisting, "a", nil, nil},
		{UseNew, "a", nil, nil},
		{UseTarget, "a", nil, nil},
		{UseExisting, "a&", decodeErr, ErrNonexistent},
		{UseNew, "a&", decodeErr, ErrInvalidName},
		{UseTarget, "a&", decodeErr, ErrNonexistent},
		// A name that decodes but that no store holds: a lookup asks the
		// store (which finds nothing), a CREATE cannot make it, and an
		// APPEND gets no [TRYCREATE] for it.
		{UseExisting, "..", nil, nil},
		{UseExisting, "a//b", nil, nil},
		{UseNew, "..", nil, ErrInvalidName},
		{UseNew, "INBOX/..", nil, ErrInvalidName},
		{UseNew, "a//b", nil, ErrInvalidName},
		{UseNew, "", nil, ErrInvalidName},
		{UseTarget, "../bob", nil, ErrNonexistent},
		{UseTarget, "a//b", nil, ErrNonexistent},
	}
	for _, tt := range tests {
		err := RefuseName(tt.use, tt.name, tt.decodeErr)
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("RefuseName(%v, %q, %v) = %v, want %v", tt.use, tt.name, tt.decodeErr, err, tt.want)
		}
		// Never both kinds: the kind alone picks the response code.
		if errors.Is(err, ErrNonexistent) && errors.Is(err, ErrInvalidName) {
			t.Errorf("RefuseName(%v, %q): %v is of two kinds", tt.use, tt.name, err)
		}
	}
}
