package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Status messages from services (the same as Cyrus's master/service.h).
const (
	statusAvailable       = 1
	statusUnavailable     = 2
	statusConnection      = 3
	statusConnectionMulti = 4
)

// A service that fails this often in failureWindow is disabled, as Cyrus's
// master does, rather than respawned in a loop.
const (
	maxFailures   = 5
	failureWindow = 10 * time.Second
)

// service is a SERVICES entry at run time.
type service struct {
	Service
	id       int
	ln       net.Listener
	file     *os.File // the listener's descriptor, given to children as fd 4
	statusR  *os.File
	statusW  *os.File // given to children as fd 3
	ready    int      // children waiting for a connection
	nactive  int      // children alive
	conns    int      // connections served
	failures []time.Time
	disabled bool
	removed  bool
	demandOK chan bool // answers a watcher's demand: true when a child was started
}

type child struct {
	pid   int
	svc   *service
	ready bool
}

type statusMsg struct {
	svc      *service
	msg, pid int32
}

type exitMsg struct {
	pid   int
	state *os.ProcessState
}

// supervisor owns every service and child; only its loop touches them.
type supervisor struct {
	log      *slog.Logger
	confPath string
	libexec  string // where cmd= words that are not absolute paths are looked for
	stdout   *os.File
	services map[string]*service
	children map[int]*child
	nextID   int

	status chan statusMsg
	exits  chan exitMsg
	demand chan *service
}

func newSupervisor(log *slog.Logger, confPath, libexec string, out *os.File) *supervisor {
	return &supervisor{
		log: log, confPath: confPath, libexec: libexec, stdout: out,
		services: map[string]*service{}, children: map[int]*child{},
		status: make(chan statusMsg, 64), exits: make(chan exitMsg, 16), demand: make(chan *service),
	}
}

// load reads cyrus.conf and brings the services in line with it: new
// entries are bound, changed ones updated (a changed listen address is
// rebound), removed ones closed.
func (s *supervisor) load() error {
	conf, err := readConf(s.confPath)
	if err != nil {
		return err
	}
	for _, ig := range conf.Ignored {
		s.log.Info("entry ignored: this master only runs SERVICES", "entry", ig)
	}
	seen := map[string]bool{}
	for _, sc := range conf.Services {
		seen[sc.Name] = true
		if old, ok := s.services[sc.Name]; ok && old.Listen == sc.Listen && old.Proto == sc.Proto {
			old.Service = sc
			old.disabled = false
			continue
		} else if ok {
			s.remove(old)
		}
		svc, err := s.bind(sc)
		if err != nil {
			s.log.Error("cannot listen", "service", sc.Name, "listen", sc.Listen, "err", err)
			continue
		}
		s.services[sc.Name] = svc
		s.log.Info("listening", "service", sc.Name, "listen", sc.Listen, "prefork", sc.Prefork, "maxchild", sc.MaxChild)
	}
	for name, svc := range s.services {
		if !seen[name] {
			s.remove(svc)
		}
	}
	return nil
}

func (s *supervisor) bind(sc Service) (*service, error) {
	network, addr, err := sc.network()
	if err != nil {
		return nil, err
	}
	if network == "unix" {
		// A socket left by a previous run is in the way.
		if fi, err := os.Lstat(addr); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(addr)
		}
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	if network == "unix" {
		// Clients of a local socket are any local user, as with Cyrus.
		os.Chmod(addr, 0o777)
	}
	f, err := ln.(interface{ File() (*os.File, error) }).File()
	if err != nil {
		ln.Close()
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		ln.Close()
		f.Close()
		return nil, err
	}
	svc := &service{Service: sc, id: s.nextID, ln: ln, file: f, statusR: r, statusW: w, demandOK: make(chan bool)}
	s.nextID++
	go s.readStatus(svc)
	go s.watch(svc)
	return svc, nil
}

// remove stops a service: no new children, its listener closed, its
// children asked to finish.
func (s *supervisor) remove(svc *service) {
	s.log.Info("service removed", "service", svc.Name)
	svc.removed = true
	delete(s.services, svc.Name)
	svc.ln.Close()
	svc.file.Close()
	for _, c := range s.children {
		if c.svc == svc {
			syscall.Kill(c.pid, syscall.SIGHUP)
		}
	}
}

// readStatus forwards a service's status messages to the loop.
func (s *supervisor) readStatus(svc *service) {
	var b [8]byte
	for {
		if _, err := io.ReadFull(svc.statusR, b[:]); err != nil {
			return
		}
		s.status <- statusMsg{svc: svc, msg: int32(binary.NativeEndian.Uint32(b[:4])), pid: int32(binary.NativeEndian.Uint32(b[4:]))}
	}
}

// watch tells the loop when a connection waits on svc's listener, so that
// a child is started when none is ready (prefork=0, or all busy).
func (s *supervisor) watch(svc *service) {
	fd := int(svc.file.Fd())
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 200)
		if err != nil && err != unix.EINTR {
			return
		}
		if n == 0 {
			continue
		}
		if fds[0].Revents&(unix.POLLNVAL|unix.POLLERR) != 0 {
			return
		}
		if fds[0].Revents&unix.POLLIN == 0 {
			continue
		}
		s.demand <- svc
		if ok := <-svc.demandOK; !ok {
			// A ready child will take it, or maxchild is reached: look
			// again a little later rather than spin.
			time.Sleep(20 * time.Millisecond)
		}
		if svc.removedNow() {
			return
		}
	}
}

// removedNow is read by the watcher; the listener being closed also ends
// its poll with POLLNVAL.
func (svc *service) removedNow() bool {
	_, err := unix.FcntlInt(svc.file.Fd(), unix.F_GETFD, 0)
	return err != nil
}

// spawn starts one child of svc, counted ready at once (a service says
// nothing at start-up).
func (s *supervisor) spawn(svc *service) error {
	if svc.disabled || svc.removed || (svc.MaxChild >= 0 && svc.nactive >= svc.MaxChild) {
		return errors.New("not allowed")
	}
	path := svc.Cmd[0]
	if !filepath.IsAbs(path) {
		if p := filepath.Join(s.libexec, path); s.libexec != "" && executable(p) {
			path = p
		} else if p, err := exec.LookPath(path); err == nil {
			path = p
		}
	}
	cmd := &exec.Cmd{
		Path:       path,
		Args:       svc.Cmd,
		Env:        append(os.Environ(), "CYRUS_SERVICE="+svc.Name, "CYRUS_ID="+strconv.Itoa(svc.id)),
		Stdout:     s.stdout,
		Stderr:     s.stdout,
		ExtraFiles: []*os.File{svc.statusW, svc.file}, // fd 3 and fd 4
	}
	if err := cmd.Start(); err != nil {
		s.log.Error("cannot start service", "service", svc.Name, "cmd", path, "err", err)
		s.failed(svc)
		return err
	}
	pid := cmd.Process.Pid
	s.children[pid] = &child{pid: pid, svc: svc, ready: true}
	svc.ready++
	svc.nactive++
	s.log.Debug("started", "service", svc.Name, "child", pid)
	go func() {
		cmd.Wait()
		s.exits <- exitMsg{pid: pid, state: cmd.ProcessState}
	}()
	return nil
}

func executable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// failed counts a failure and disables the service after too many.
func (s *supervisor) failed(svc *service) {
	now := time.Now()
	keep := svc.failures[:0]
	for _, t := range svc.failures {
		if now.Sub(t) < failureWindow {
			keep = append(keep, t)
		}
	}
	svc.failures = append(keep, now)
	if len(svc.failures) >= maxFailures && !svc.disabled {
		svc.disabled = true
		s.log.Error("service disabled: too many failures; send SIGHUP to try again", "service", svc.Name)
	}
}

// fill starts children until each service has prefork ready ones.
func (s *supervisor) fill() {
	for _, svc := range s.services {
		for svc.ready < svc.Prefork && !svc.disabled && (svc.MaxChild < 0 || svc.nactive < svc.MaxChild) {
			if s.spawn(svc) != nil {
				break
			}
		}
	}
}

func (s *supervisor) onStatus(m statusMsg) {
	c := s.children[int(m.pid)]
	if c == nil || c.svc != m.svc {
		s.log.Debug("status from an unknown process", "pid", m.pid, "msg", m.msg)
		return
	}
	switch m.msg {
	case statusAvailable:
		if !c.ready {
			c.ready = true
			c.svc.ready++
		}
	case statusUnavailable:
		if c.ready {
			c.ready = false
			c.svc.ready--
		}
	case statusConnection, statusConnectionMulti:
		c.svc.conns++
	}
}

func (s *supervisor) onExit(e exitMsg) {
	c := s.children[e.pid]
	if c == nil {
		return
	}
	delete(s.children, e.pid)
	svc := c.svc
	svc.nactive--
	if c.ready {
		svc.ready--
	}
	ws, _ := e.state.Sys().(syscall.WaitStatus)
	switch {
	case ws.Signaled() || (c.ready && ws.ExitStatus() != 0):
		// Dying while waiting for a connection is a failure of the service
		// itself (a bad configuration, a missing binary).
		s.log.Warn("service process failed", "service", svc.Name, "child", e.pid, "status", e.state.String())
		s.failed(svc)
	case ws.ExitStatus() != 0:
		s.log.Info("service process ended", "service", svc.Name, "child", e.pid, "status", e.state.String())
	default:
		s.log.Debug("service process ended", "service", svc.Name, "child", e.pid)
	}
}

// hupChildren sends SIGHUP to every child: each finishes its session and
// exits, and fill starts fresh ones.
func (s *supervisor) hupChildren() {
	for pid := range s.children {
		syscall.Kill(pid, syscall.SIGHUP)
	}
}

// shutdown ends every child (SIGTERM, then SIGKILL after grace) and closes
// the listeners, removing Unix sockets.
func (s *supervisor) shutdown(grace time.Duration) {
	for _, svc := range s.services {
		svc.ln.Close() // removes a Unix socket file
		svc.file.Close()
	}
	for pid := range s.children {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.After(grace)
	for len(s.children) > 0 {
		select {
		case e := <-s.exits:
			delete(s.children, e.pid)
		case <-s.status:
		case svc := <-s.demand:
			svc.demandOK <- false
		case <-deadline:
			for pid := range s.children {
				s.log.Warn("killing a process that did not stop", "pid", pid)
				syscall.Kill(pid, syscall.SIGKILL)
			}
			deadline = time.After(grace)
		}
	}
}

// run is the loop: status messages, exits, demand, signals.
func (s *supervisor) run(signals <-chan os.Signal) {
	s.fill()
	for {
		select {
		case m := <-s.status:
			s.onStatus(m)
			s.fill() // a busy process leaves fewer than prefork ready
		case e := <-s.exits:
			s.onExit(e)
			s.fill()
		case svc := <-s.demand:
			started := false
			if svc.ready == 0 && !svc.removed {
				started = s.spawn(svc) == nil
			}
			svc.demandOK <- started
		case sig := <-signals:
			switch sig {
			case syscall.SIGHUP:
				s.log.Info("SIGHUP: reloading", "file", s.confPath)
				if err := s.load(); err != nil {
					s.log.Error("reload failed; keeping the running configuration", "err", err)
				}
				s.hupChildren()
				s.fill()
			default:
				s.log.Info("shutting down", "signal", sig.String())
				s.shutdown(10 * time.Second)
				return
			}
		}
	}
}

func (s *supervisor) String() string {
	return fmt.Sprintf("%d services, %d processes", len(s.services), len(s.children))
}
