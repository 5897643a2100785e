package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
)

// ProfileEnv names a folder where each imapd process writes a CPU profile
// of its whole life, cpu.PID.pprof, for `go tool pprof` (which merges
// several files). It is for measuring the server under load, never for
// production: profiling costs a little on every process.
const ProfileEnv = "IMAPD_CPUPROFILE"

// startProfile starts the CPU profile ProfileEnv asks for; the function it
// returns stops it and writes the file, and may be called more than once
// (the process ends either from run or from a signal).
func startProfile() func() {
	dir := os.Getenv(ProfileEnv)
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("cpu.%d.pprof", os.Getpid())))
	if err != nil {
		fmt.Fprintf(os.Stderr, "imapd: %s: %v\n", ProfileEnv, err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "imapd: %s: %v\n", ProfileEnv, err)
		f.Close()
		return func() {}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			pprof.StopCPUProfile()
			f.Close()
		})
	}
}
