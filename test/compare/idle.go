package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// raiseFileLimit sets this process's soft RLIMIT_NOFILE to its hard limit
// (never the system's): each idle session is a descriptor here, and the
// servers started from here inherit the limit.
func raiseFileLimit() error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return err
	}
	if l.Cur >= l.Max {
		return nil
	}
	l.Cur = l.Max
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
}

// countsFor returns the counts of asked that are at most limit, or limit
// alone when none is: a server that cannot take the counts asked is still
// measured once, at the most it can.
func countsFor(asked []int, limit int) []int {
	var out []int
	for _, n := range asked {
		if n <= limit {
			out = append(out, n)
		}
	}
	if len(out) == 0 && len(asked) > 0 {
		out = []int{limit}
	}
	return out
}

// firstError keeps the first of the errors of many goroutines.
type firstError struct {
	mu  sync.Mutex
	err error
}

func (f *firstError) set(err error) {
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
}

func (f *firstError) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// memUsage is the sum over a set of processes of their smaps_rollup.
type memUsage struct {
	pss, rss int64 // kB
	procs    int
}

// parseSmapsRollup reads the Pss and Rss lines, in kB, of one
// /proc/PID/smaps_rollup (proc(5)): a header line naming the range, then
// "Key:   value kB" lines.
func parseSmapsRollup(text string) (pss, rss int64, err error) {
	var seen int
	for _, line := range strings.Split(text, "\n") {
		key, rest, ok := strings.Cut(line, ":")
		if !ok || (key != "Pss" && key != "Rss") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("smaps_rollup: malformed line %q", line)
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("smaps_rollup: malformed line %q", line)
		}
		if key == "Pss" {
			pss = v
			seen |= 1
		} else {
			rss = v
			seen |= 2
		}
	}
	if seen != 3 {
		return 0, 0, errors.New("smaps_rollup: no Pss or no Rss line")
	}
	return pss, rss, nil
}

// processTree returns root and every process under it, from /proc.
func processTree(root int) []int {
	children := map[int][]int{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if _, _, ppid, ok := procTimes(d); ok {
			children[ppid] = append(children[ppid], pid)
		}
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// serverPid is the pid of the server's master, 0 if it is not running.
func serverPid(s *server) int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// memoryOf sums smaps_rollup over the server's master and every process
// under it. A process that exits meanwhile is left out.
func memoryOf(s *server) memUsage {
	var m memUsage
	root := serverPid(s)
	if root == 0 {
		return m
	}
	for _, pid := range processTree(root) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			continue
		}
		pss, rss, err := parseSmapsRollup(string(b))
		if err != nil {
			continue
		}
		m.pss += pss
		m.rss += rss
		m.procs++
	}
	if s.peer != nil {
		p := memoryOf(s.peer)
		m.pss += p.pss
		m.rss += p.rss
		m.procs += p.procs
	}
	return m
}

// memAvailable is /proc/meminfo's MemAvailable in kB (-1: unknown).
func memAvailable() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return -1
	}
	return parseMemAvailable(string(b))
}

func parseMemAvailable(text string) int64 {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 {
				if v, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return v
				}
			}
		}
	}
	return -1
}

// idleMailboxes are the mailboxes each load user's idle sessions select.
var idleMailboxes = []string{"INBOX", "Work", "Lists"}

// idleSettle is how long the sessions idle before their memory is read.
const idleSettle = 6 * time.Second

// placement says which user and mailbox idle session i of n selects: the
// first tenth (at least one) all select the first user's INBOX, the hot
// mailbox of the wake-up check (1,000 sessions when n is 10,000); the
// others go round the users, then round their mailboxes.
func placement(i, n, users int) (user, mailbox int) {
	hot := max(n/10, 1)
	if i < hot {
		return 0, 0
	}
	j := i - hot
	return j % users, (j / users) % len(idleMailboxes)
}

// hotSessions is how many of n sessions select the hot mailbox.
func hotSessions(n, users int) int {
	k := 0
	for i := range n {
		if u, m := placement(i, n, users); u == 0 && m == 0 {
			k++
		}
	}
	return k
}

// idleResult is one idle-memory run of one server.
type idleResult struct {
	n              int
	pss, rss       float64 // kB per session
	procs          int     // the server's processes while the sessions were open
	watched, woke  int     // sessions on the hot mailbox; those that saw EXISTS in time
	wakeMax        time.Duration
	err            error
	before, during memUsage
	openTime       time.Duration
}

// idleSession is one connection left in IDLE.
type idleSession struct {
	cl  *client
	hot bool
}

// errGuard stops the opening of sessions before it harms the machine.
var errGuard = errors.New("stopped")

// idleRun opens n sessions on s (LOGIN, SELECT, IDLE), reads the server's
// memory before and while they are all idle, then APPENDs a message to
// the hot mailbox and waits for its sessions' EXISTS. maxProcs bounds the
// server's processes while sessions open (a server that turns out to run
// a process per session is stopped there rather than fork thousands).
func idleRun(s *server, n int, users []string, maxProcs int, wait time.Duration) idleResult {
	res := idleResult{n: n}
	res.before = memoryOf(s)
	sessions := make([]*idleSession, n)
	defer func() {
		for _, ss := range sessions {
			if ss != nil {
				ss.cl.Close()
			}
		}
	}()
	start := time.Now()
	var stop firstError
	guard := make(chan struct{})
	go func() {
		for {
			select {
			case <-guard:
				return
			case <-time.After(500 * time.Millisecond):
			}
			if m := memoryOf(s); m.procs > maxProcs {
				stop.set(fmt.Errorf("%w at %d processes: the server runs about a process per session", errGuard, m.procs))
			}
			if avail := memAvailable(); avail >= 0 && avail < 2<<20 {
				stop.set(fmt.Errorf("%w: less than 2 GB of memory left on the machine", errGuard))
			}
		}
	}()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range n {
		if stop.get() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if stop.get() != nil {
				return
			}
			u, m := placement(i, n, len(users))
			cl, err := openIdle(s, users[u], idleMailboxes[m])
			if err != nil {
				stop.set(fmt.Errorf("session %d (%s %s): %w", i, users[u], idleMailboxes[m], err))
				return
			}
			sessions[i] = &idleSession{cl: cl, hot: u == 0 && m == 0}
		}()
	}
	wg.Wait()
	close(guard)
	if err := stop.get(); err != nil {
		res.err = err
		return res
	}
	res.openTime = time.Since(start)
	// Let what the logins left behind settle before reading: a
	// multi-session imapd gives memory back after two seconds without a
	// command (looking every two), Dovecot's processes and ours in single
	// mode are settled by then.
	time.Sleep(idleSettle)
	res.during = memoryOf(s)
	res.procs = res.during.procs
	res.pss = float64(res.during.pss-res.before.pss) / float64(n)
	res.rss = float64(res.during.rss-res.before.rss) / float64(n)

	// The wake-up check: one message into the hot mailbox.
	var hot []*idleSession
	for _, ss := range sessions {
		if ss.hot {
			hot = append(hot, ss)
		}
	}
	res.watched = len(hot)
	cl, err := login(s.addr, users[0], s.pass, cmdTimeout)
	if err != nil {
		res.err = fmt.Errorf("wake-up check: %w", err)
		return res
	}
	defer cl.Close()
	lat := make([]time.Duration, len(hot))
	var wake sync.WaitGroup
	t0 := time.Now()
	for i, ss := range hot {
		wake.Add(1)
		go func() {
			defer wake.Done()
			lat[i] = -1
			ss.cl.c.SetReadDeadline(t0.Add(wait))
			for {
				l, err := ss.cl.r.ReadString('\n')
				if err != nil {
					return
				}
				f := strings.Fields(l)
				if len(f) == 3 && f[0] == "*" && strings.EqualFold(f[2], "EXISTS") {
					lat[i] = time.Since(t0)
					return
				}
			}
		}()
	}
	if _, err := cl.appendMsg(cmdTimeout, "INBOX", []byte("From: a@example.org\r\nSubject: wake up\r\n\r\nhello\r\n")); err != nil {
		res.err = fmt.Errorf("wake-up check: %w", err)
		return res
	}
	wake.Wait()
	for _, d := range lat {
		if d >= 0 {
			res.woke++
			res.wakeMax = max(res.wakeMax, d)
		}
	}
	return res
}

// openIdle logs in as user, selects mailbox and starts IDLE (RFC 2177),
// reading up to the continuation request.
func openIdle(s *server, user, mailbox string) (*client, error) {
	cl, err := login(s.addr, user, s.pass, cmdTimeout)
	if err != nil {
		return nil, err
	}
	if _, err := cl.ok(cmdTimeout, "", "SELECT %s", mailbox); err != nil {
		cl.Close()
		return nil, err
	}
	fmt.Fprintf(cl.w, "i IDLE\r\n")
	if err := cl.w.Flush(); err != nil {
		cl.Close()
		return nil, err
	}
	for {
		l, err := cl.r.ReadString('\n')
		if err != nil {
			cl.Close()
			return nil, fmt.Errorf("IDLE: %w", err)
		}
		if strings.HasPrefix(l, "+") {
			break
		}
		if strings.HasPrefix(l, "i ") {
			cl.Close()
			return nil, fmt.Errorf("IDLE: %s", strings.TrimSpace(l))
		}
	}
	cl.c.SetDeadline(time.Time{})
	// The rest of the answers is read by the wake-up check only: the
	// client's large buffers would weigh gigabytes here at 10,000.
	cl.w = bufio.NewWriterSize(cl.c, 16)
	if cl.r.Buffered() == 0 {
		cl.r = bufio.NewReaderSize(cl.c, 512)
	}
	return cl, nil
}

// makeIdleMailboxes creates each user's mailboxes besides INBOX (a
// mailbox that exists already is fine).
func makeIdleMailboxes(s *server, users []string) error {
	return eachUser(s, users, func(_ int, cl *client) error {
		for _, m := range idleMailboxes[1:] {
			cl.run(cmdTimeout, "", "CREATE %s", m)
			if _, err := cl.ok(cmdTimeout, "", "EXAMINE %s", m); err != nil {
				return err
			}
		}
		return nil
	})
}

// idleRows measures the memory of idle sessions on each server, one
// server and one count at a time, and returns the rows: PSS and RSS per
// session, and the wake-up latency of the hot mailbox's sessions.
func idleRows(servers []*server, users []string, o options, notes *[]string, log func(string, ...any)) []*row {
	type key struct{ col, n int }
	results := map[key]idleResult{}
	counts := map[int]bool{}
	for col, s := range servers {
		if !s.up() {
			continue
		}
		asked := o.idle
		limit := 1 << 30
		switch {
		case s.cyrus:
			limit = o.idleCyrus
		case s.perSession:
			limit = o.idleCap
		}
		asked = countsFor(asked, limit)
		if len(asked) < len(o.idle) || asked[0] != o.idle[0] {
			*notes = append(*notes, fmt.Sprintf("Idle memory: %s runs a process per session: measured at %v only (-idle-max-procs, -idle-cyrus).", s.name, asked))
		}
		if err := makeIdleMailboxes(s, users); err != nil {
			*notes = append(*notes, fmt.Sprintf("Idle memory: %s: creating the mailboxes: %v", s.name, err))
			continue
		}
		for _, n := range asked {
			// Dovecot and Cyrus's per-session processes stay below the cap;
			// ours in multi mode is stopped if it forks that many.
			maxProcs := 2*o.idleCap + 100
			if !s.perSession {
				maxProcs = o.idleCap + 100
			}
			// Each count on a server started again: processes left idle
			// by earlier sessions (ours in single mode keeps them for
			// further sessions) would take sessions without new memory,
			// and memory freed by them would be reused.
			if err := s.fresh(); err != nil {
				*notes = append(*notes, fmt.Sprintf("Idle memory: %s, %d sessions: starting it again: %v", s.name, n, err))
				break
			}
			time.Sleep(time.Second)
			log("idle sessions: %s: opening %d (%d processes now)", s.name, n, memoryOf(s).procs)
			r := idleRun(s, n, users, maxProcs, o.idleWait)
			results[key{col, n}] = r
			counts[n] = true
			if r.err != nil {
				log("idle sessions: %s, %d: %v", s.name, n, r.err)
				*notes = append(*notes, fmt.Sprintf("Idle memory: %s, %d sessions: %v", s.name, n, r.err))
			} else {
				log("idle sessions: %s, %d: opened in %s; %d processes; PSS %+d kB, RSS %+d kB in all: %.0f kB PSS, %.0f kB RSS a session; "+
					"wake-up: %d of %d sessions on the hot mailbox saw EXISTS within %s, the last after %s",
					s.name, n, r.openTime.Round(time.Millisecond), r.procs, r.during.pss-r.before.pss, r.during.rss-r.before.rss, r.pss, r.rss,
					r.woke, r.watched, o.idleWait, r.wakeMax.Round(time.Millisecond))
				if r.woke < r.watched {
					others := ""
					if r.woke > 0 {
						others = fmt.Sprintf("; the others within %s", r.wakeMax.Round(time.Millisecond))
					}
					*notes = append(*notes, fmt.Sprintf("IDLE wake-up: %s, %d sessions: %d of the %d sessions on the hot mailbox saw no EXISTS within %s (-idle-wait, the figure shown)%s.",
						s.name, n, r.watched-r.woke, r.watched, o.idleWait, others))
				}
			}
		}
	}
	var ns []int
	for n := range counts {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	var rows []*row
	kb := func(r *row, col int) (string, bool, bool) {
		v := r.values[col]
		if v == 0 {
			return "", false, false
		}
		return fmt.Sprintf("%.0f KB", v), v <= 64, true
	}
	for _, n := range ns {
		pss := &row{name: fmt.Sprintf("idle session memory, PSS, %d sessions", n), unit: "KB/session", lower: true, goal: "<= 64 KB", met: kb}
		rss := &row{name: fmt.Sprintf("idle session memory, RSS, %d sessions", n), unit: "KB/session", lower: true}
		wake := &row{name: fmt.Sprintf("IDLE wake-up, %d sessions (%d on the mailbox)", n, hotSessions(n, len(users))), unit: "ms (slowest)", lower: true, goal: "<= 1000 ms, all"}
		missed := map[int]bool{}
		for col := range servers {
			r, ok := results[key{col, n}]
			if !ok || r.err != nil {
				continue
			}
			pss.values[col], rss.values[col] = max(r.pss, 0.01), max(r.rss, 0.01)
			wake.values[col] = max(float64(r.wakeMax)/float64(time.Millisecond), 0.01)
			if r.woke < r.watched {
				missed[col] = true
				wake.values[col] = float64(o.idleWait / time.Millisecond)
			}
		}
		wake.met = func(r *row, col int) (string, bool, bool) {
			v := r.values[col]
			if v == 0 {
				return "", false, false
			}
			if missed[col] {
				return "missed some", false, true
			}
			return fmt.Sprintf("%.0f ms", v), v <= 1000, true
		}
		rows = append(rows, pss, rss, wake)
	}
	return rows
}
