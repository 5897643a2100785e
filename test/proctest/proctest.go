// Package proctest reads what tests check of a running process in /proc.
package proctest

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// ThreadSlacks returns how many threads of process pid run with each
// timer slack (nanoseconds); it fails t when none can be read.
func ThreadSlacks(t testing.TB, pid int) map[uint64]int {
	t.Helper()
	tasks, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "task"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint64]int{}
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join("/proc", task.Name(), "timerslack_ns"))
		if err != nil {
			continue // the thread ended
		}
		n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out[n]++
	}
	if len(out) == 0 {
		t.Fatalf("no thread of %d could be read", pid)
	}
	return out
}

// LockThreadSlack locks the calling goroutine to its thread and gives the
// thread timer slack ns until the test ends: the processes the test starts
// from this goroutine inherit it.
func LockThreadSlack(t testing.TB, ns uint64) {
	t.Helper()
	runtime.LockOSThread()
	old, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err == nil {
		err = unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(ns), 0, 0, 0)
	}
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(old), 0, 0, 0)
		runtime.UnlockOSThread()
	})
}
