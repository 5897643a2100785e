package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of the times in /proc; it is 100 on
// every Linux architecture Go runs on.
const clockTicks = 100

// cpuSample is the CPU time used so far by a server's processes, by this
// program and by the whole machine, read from /proc (proc(5)).
type cpuSample struct {
	at                 time.Time
	server, self       float64 // seconds of CPU
	serverSys          float64 // the part of server spent in the kernel
	machBusy, machIdle float64 // seconds of CPU summed over every core
	machSteal          float64 // the part of machBusy the hypervisor took
	procs              int     // server processes alive
}

// sampleCPU reads the CPU time of s's master and every process under it.
// A child that has exited and been waited for is counted in its parent's
// cutime and cstime, so the sum only grows while the master runs.
func sampleCPU(s *server) cpuSample {
	c := cpuSample{at: time.Now()}
	c.self, _, _, _ = procTimes("/proc/self/stat")
	c.machBusy, c.machIdle, c.machSteal = machineTimes()
	if s.cmd == nil || s.cmd.Process == nil {
		return c
	}
	if s.peer != nil {
		p := sampleCPU(s.peer)
		c.server += p.server
		c.serverSys += p.serverSys
		c.procs += p.procs
	}
	root := s.cmd.Process.Pid
	parent := map[int]int{}
	times, sys := map[int]float64{}, map[int]float64{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		t, st, ppid, ok := procTimes(d)
		if !ok {
			continue
		}
		parent[pid], times[pid], sys[pid] = ppid, t, st
	}
	for pid, t := range times {
		for p := pid; p > 1; p = parent[p] {
			if p == root {
				c.server += t
				c.serverSys += sys[pid]
				c.procs++
				break
			}
		}
	}
	// The master's own line counted its waited-for children too.
	if t, st, ok := childTimes(root); ok {
		c.server += t
		c.serverSys += st
	}
	return c
}

// procTimes returns utime+stime of one /proc/PID/stat, stime alone, and
// the parent's pid.
func procTimes(path string) (total, sys float64, ppid int, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, 0, false
	}
	// The command name, in parentheses, may hold spaces: fields are
	// counted after its closing parenthesis (field 3 is the state).
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / clockTicks, st / clockTicks, ppid, true
}

// childTimes returns cutime+cstime of pid (its children that have
// exited), and cstime alone.
func childTimes(pid int) (total, sys float64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return 0, 0, false
	}
	cu, _ := strconv.ParseFloat(f[13], 64)
	cs, _ := strconv.ParseFloat(f[14], 64)
	return (cu + cs) / clockTicks, cs / clockTicks, true
}

// machineTimes returns the busy and idle CPU seconds of all cores
// (/proc/stat's first line; iowait counts as idle), and of the busy ones
// those stolen by the hypervisor.
func machineTimes() (busy, idle, steal float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, v := range f[1:] {
		x, _ := strconv.ParseFloat(v, 64)
		if i == 3 || i == 4 { // idle, iowait
			idle += x
		} else if i < 8 { // user nice system idle iowait irq softirq steal
			busy += x
			if i == 7 {
				steal = x
			}
		}
	}
	return busy / clockTicks, idle / clockTicks, steal / clockTicks
}

// stolenShare returns the share of the machine's CPU time (busy and idle)
// that the hypervisor took between before and c.
func (c cpuSample) stolenShare(before cpuSample) float64 {
	all := (c.machBusy - before.machBusy) + (c.machIdle - before.machIdle)
	if all <= 0 {
		return 0
	}
	return (c.machSteal - before.machSteal) / all
}

// since describes the CPU used between before and c, for n commands.
func (c cpuSample) since(before cpuSample, n int64) string {
	wall := c.at.Sub(before.at).Seconds()
	server, self := c.server-before.server, c.self-before.self
	sys := c.serverSys - before.serverSys
	busy, idle := c.machBusy-before.machBusy, c.machIdle-before.machIdle
	steal := c.machSteal - before.machSteal
	per := func(v float64) string {
		if n == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f µs/cmd", v/float64(n)*1e6)
	}
	return fmt.Sprintf("CPU over %.1fs: server %.2f cores (%s, of which kernel %s; %d processes at the end), load generator %.2f cores (%s), "+
		"whole machine %.2f of %.0f cores busy (others %.2f, stolen by the hypervisor %.2f)",
		wall, server/wall, per(server), per(sys), c.procs, self/wall, per(self), busy/wall, (busy+idle)/wall, (busy-server-self)/wall, steal/wall)
}
