package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
)

// ProfileEnv names a folder where each imapd process writes a CPU profile
// of its whole life, cpu.PID.pprof, for `go tool pprof` (which merges
// several files). It is for measuring the server under load, never for
// production: profiling costs a little on every process.
const ProfileEnv = "IMAPD_CPUPROFILE"

// WaitProfileEnv names a folder where each imapd process writes, at its
// end, where its goroutines waited: block.PID.pprof (channels, selects,
// sync primitives) and mutex.PID.pprof (contended mutexes). For finding
// what keeps a multisession process from using the cores under load; it
// slows every wait a little, so it is never for production either.
const WaitProfileEnv = "IMAPD_WAITPROFILE"

// startProfile starts the profiles ProfileEnv and WaitProfileEnv ask for;
// the function it returns stops them and writes the files, and may be
// called more than once (the process ends either from run or from a
// signal).
func startProfile() func() {
	stopWait := startWaitProfile()
	stopCPU := startCPUProfile()
	return func() {
		stopCPU()
		stopWait()
	}
}

// startWaitProfile starts the block and mutex profiles WaitProfileEnv asks
// for; the function it returns writes them, once.
func startWaitProfile() func() {
	dir := os.Getenv(WaitProfileEnv)
	if dir == "" {
		return func() {}
	}
	runtime.SetBlockProfileRate(int(10 * time.Microsecond))
	runtime.SetMutexProfileFraction(1)
	var once sync.Once
	return func() {
		once.Do(func() {
			for _, name := range []string{"block", "mutex"} {
				f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s.%d.pprof", name, os.Getpid())))
				if err == nil {
					err = pprof.Lookup(name).WriteTo(f, 0)
					f.Close()
				}
				if err != nil {
					fmt.Fprintf(os.Stderr, "imapd: %s: %v\n", WaitProfileEnv, err)
				}
			}
		})
	}
}

// startCPUProfile starts the CPU profile ProfileEnv asks for.
func startCPUProfile() func() {
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
