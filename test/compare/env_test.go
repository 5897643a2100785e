package main

import (
	"slices"
	"testing"
)

// TestParseEnv: -ours-env takes NAME=value words and refuses anything
// else, so that a mistyped setting does not measure the default.
func TestParseEnv(t *testing.T) {
	got, err := parseEnv("  GOGC=50 IMAPD_TIMERSLACK_NS=0  GODEBUG=a=1,b=2 ")
	if want := []string{"GOGC=50", "IMAPD_TIMERSLACK_NS=0", "GODEBUG=a=1,b=2"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
	if got, err := parseEnv(""); err != nil || len(got) != 0 {
		t.Errorf("empty: got %q, %v", got, err)
	}
	for _, bad := range []string{"GOGC", "=50", "GOGC=50 GOMAXPROCS"} {
		if _, err := parseEnv(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
