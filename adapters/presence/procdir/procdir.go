// Package procdir implements ports.Presence as Cyrus does: one file per
// imapd process in {configdirectory}/proc/, named by its process id and
// holding "<service>\t<host>\t<user>\n". Counting logins means reading the
// folder, skipping files of processes that no longer run (a crash leaves
// its file behind). It depends on ports only.
package procdir

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
}

var _ ports.Presence = (*Presence)(nil)

// New returns the presence records of configDir for this process.
func New(configDir, service string) *Presence {
	return &Presence{dir: filepath.Join(configDir, Dir), service: service, pid: os.Getpid()}
}

func (p *Presence) file(pid int) string { return filepath.Join(p.dir, strconv.Itoa(pid)) }

// Login writes this process's record, then counts the others.
func (p *Presence) Login(user, host string) (sameUser, sameHost int, err error) {
	if err := os.MkdirAll(p.dir, 0o750); err != nil {
		return 0, 0, err
	}
	rec := p.service + "\t" + clean(host) + "\t" + clean(user) + "\n"
	if err := os.WriteFile(p.file(p.pid), []byte(rec), 0o640); err != nil {
		return 0, 0, err
	}
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == p.pid || !alive(pid) {
			continue
		}
		b, err := os.ReadFile(p.file(pid))
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
	return sameUser, sameHost, nil
}

// Logout removes this process's record.
func (p *Presence) Logout() {
	os.Remove(p.file(p.pid))
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
