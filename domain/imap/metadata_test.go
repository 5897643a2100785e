package imap

import (
	"errors"
	"testing"
)

func TestMetadataEntryName(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		root     bool
		ok       bool
	}{
		{in: "/private/comment", want: "/private/comment", ok: true},
		{in: "/Shared/Vendor/X", want: "/shared/vendor/x", ok: true},
		{in: "/shared/vendor/é", want: "/shared/vendor/é", ok: true},
		{in: "/shared", ok: false},
		{in: "/shared", root: true, want: "/shared", ok: true},
		{in: "/PRIVATE", root: true, want: "/private", ok: true},
		{in: "/privatex/a", ok: false},
		{in: "private/a", ok: false},
		{in: "", ok: false},
		{in: "/", root: true, ok: false},
		{in: "/private/a/", ok: false},
		{in: "/private//a", ok: false},
		{in: "/private/a*", ok: false},
		{in: "/private/%", ok: false},
		{in: "/private/a\x00b", ok: false},
		{in: "/private/a\tb", ok: false},
		{in: "/private/\xff", ok: false},
	} {
		got, err := MetadataEntryName(tc.in, tc.root)
		if tc.ok && (err != nil || got != tc.want) {
			t.Errorf("MetadataEntryName(%q, %v) = %q, %v; want %q", tc.in, tc.root, got, err, tc.want)
		}
		if !tc.ok && !errors.Is(err, ErrEntryName) {
			t.Errorf("MetadataEntryName(%q, %v) = %q, %v; want ErrEntryName", tc.in, tc.root, got, err)
		}
	}
}
