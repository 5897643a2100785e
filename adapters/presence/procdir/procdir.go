// Package procdir implements ports.Presence after Cyrus: records in
// {configdirectory}/proc/ holding "<service>\t<host>\t<user>\n". Cyrus
// keeps one per process, named by its process id; a process of ours may
// serve many sessions (multisession), so there is one per session, named
// "<pid>-<n>" (n counts the process's logins). Counting logins means
// reading the folder, skipping records of processes that no longer run (a
// crash leaves its files behind); records named by a bare pid, as Cyrus
// writes them, count too. It depends on ports only.
package procdir

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/imapd-go/imapd/ports"
)

// Dir is the folder under configdirectory.
const Dir = "proc"

// Presence is the ports.Presence of imapd.
type Presence struct {
	dir     string
	service string
	pid     int
	n       atomic.Uint64
}

var _ ports.Presence = (*Presence)(nil)

// New returns the presence records of configDir for this process.
func New(configDir, service string) *Presence {
	return &Presence{dir: filepath.Join(configDir, Dir), service: service, pid: os.Getpid()}
}

// Login writes this session's record, then counts the others: every other
// record of this process, and those of other processes that run.
func (p *Presence) Login(user, host string) (sameUser, sameHost int, logout func(), err error) {
	if err := os.MkdirAll(p.dir, 0o750); err != nil {
		return 0, 0, nil, err
	}
	own := strconv.Itoa(p.pid) + "-" + strconv.FormatUint(p.n.Add(1), 10)
	file := filepath.Join(p.dir, own)
	rec := p.service + "\t" + clean(host) + "\t" + clean(user) + "\n"
	if err := os.WriteFile(file, []byte(rec), 0o640); err != nil {
		return 0, 0, nil, err
	}
	var once sync.Once
	logout = func() { once.Do(func() { os.Remove(file) }) }
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		logout()
		return 0, 0, nil, err
	}
	for _, e := range entries {
		name := e.Name()
		pid, ok := recordPid(name)
		if !ok || name == own || (pid != p.pid && !alive(pid)) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(p.dir, name))
		if err != nil {
			continue // gone meanwhile
		}
		f := strings.Split(strings.TrimRight(string(b), "\n"), "\t")
		if len(f) < 3 {
			continue
		}
		if f[2] == clean(user) {
			sameUser++
		}
		if f[1] == clean(host) {
			sameHost++
		}
	}
	return sameUser, sameHost, logout, nil
}

// recordPid returns the process of a record named "<pid>" or
// "<pid>-<n>".
func recordPid(name string) (int, bool) {
	p, n, multi := strings.Cut(name, "-")
	pid, err := strconv.Atoi(p)
	if err != nil || pid <= 0 {
		return 0, false
	}
	if multi {
		if _, err := strconv.ParseUint(n, 10, 64); err != nil {
			return 0, false
		}
	}
	return pid, true
}

// alive reports whether a process runs (kill with signal 0; EPERM means
// it runs as another user).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// clean keeps a field on its line.
func clean(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}
