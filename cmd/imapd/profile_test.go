package main

import (
	"os"
	"path/filepath"
	"testing"
)

// With ProfileEnv and WaitProfileEnv set, a process writes its CPU, block
// and mutex profiles, each a gzipped profile, when its session ends.
func TestBinaryProfiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildImapd(t)
	conf := writeConfig(t)
	dir := t.TempDir()
	t.Setenv(ProfileEnv, dir)
	t.Setenv(WaitProfileEnv, dir)
	if code, _, stderr := runImapd(t, bin, "a1 NOOP\r\na2 LOGOUT\r\n", "-C", conf); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	for _, kind := range []string{"cpu", "block", "mutex"} {
		files, _ := filepath.Glob(filepath.Join(dir, kind+".*.pprof"))
		if len(files) != 1 {
			t.Errorf("%s profiles: %v", kind, files)
			continue
		}
		b, err := os.ReadFile(files[0])
		if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%s: %d bytes, %v: not a gzipped profile", files[0], len(b), err)
		}
	}
}
