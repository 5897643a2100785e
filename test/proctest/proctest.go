// Package proctest reads what tests check of a running process in /proc.
package proctest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ThreadSlacks returns how many threads of process pid run with each
// timer slack (nanoseconds).
func ThreadSlacks(pid int) (map[uint64]int, error) {
	tasks, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "task"))
	if err != nil {
		return nil, err
	}
	out := map[uint64]int{}
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join("/proc", task.Name(), "timerslack_ns"))
		if err != nil {
			continue // the thread ended
		}
		n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return nil, err
		}
		out[n]++
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no thread of %d could be read", pid)
	}
	return out, nil
}
