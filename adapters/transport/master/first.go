package master

import (
	"fmt"
	"log/slog"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// In single mode the processes of a service wait for connections in the
// order they started, and the oldest one waiting gets the next connection:
// each process registers the listening socket once, at start, in an epoll
// of its own with EPOLLEXCLUSIVE, and the kernel wakes the first of those
// registrations whose process is waiting. (The accept lock, kept in multi
// mode, hands connections out in turn instead: every waiting process gets
// one in its turn.)
//
// The difference shows after a burst of clients. Master starts a process
// for every session beyond those ready, and they stay, waiting, until the
// reuse timeout (-T). Handed connections in turn, the few clients left
// kept every one of them in use, each session landing on a process that
// had not run for a while: its memory given back to the system, its
// caches cold. Measured with test/compare (-clients 10,50,10 on one
// server): 10 clients after 50 ran at 57% (SQLite) and 65% (maildir) of
// their rate before. Served oldest first, the processes needed stay busy
// and warm, and the others wait until the reuse timeout ends them: 81%
// and 96%.
//
// A connection is never left waiting for a process that has gone. A
// process woken for a connection accepts it before it looks at anything
// else, even when it was also asked to stop (it then serves that one
// session before it exits, as after SIGHUP). A process killed between its
// wake-up and its accept(2) is the one case left: every waiting process
// looks at the socket itself every recheck, and takes a connection found
// there.

// recheck is how often a process waiting in line looks at the listening
// socket itself.
const recheck = 2 * time.Second

// firstInLine returns an epoll on lfd (EPOLLEXCLUSIVE) and wake, or -1
// when the kernel does not have it (before Linux 4.5): the caller then
// uses the accept lock.
func firstInLine(lfd, wake int, log *slog.Logger) int {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		log.Debug("no epoll: the accept lock decides", "err", err)
		return -1
	}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, lfd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLEXCLUSIVE, Fd: int32(lfd)}); err != nil {
		unix.Close(ep)
		log.Debug("no EPOLLEXCLUSIVE: the accept lock decides", "err", err)
		return -1
	}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}); err != nil {
		unix.Close(ep)
		log.Debug("no epoll: the accept lock decides", "err", err)
		return -1
	}
	return ep
}

// waitFirst is wait in single mode: it waits in line (firstInLine) for a
// connection until stop is closed.
func (t *Transport) waitFirst(stop <-chan struct{}, why func() error) (net.Conn, error) {
	defer t.wakeOn(stop)()
	var events [2]unix.EpollEvent
	for {
		n, err := unix.EpollWait(t.ep, events[:], int(recheck/time.Millisecond))
		if err != nil && err != unix.EINTR {
			return nil, fmt.Errorf("master: epoll: %w", err)
		}
		ready := false
		for _, e := range events[:max(n, 0)] {
			if int(e.Fd) != t.lfd {
				continue
			}
			if e.Events&(unix.EPOLLERR|unix.EPOLLHUP) != 0 && e.Events&unix.EPOLLIN == 0 {
				return nil, fmt.Errorf("master: listening socket: epoll events %#x", e.Events)
			}
			ready = true
		}
		if n == 0 {
			// The recheck: a connection whose wake-up went to a process
			// that died before it accepted waits here for nobody else.
			fds := []unix.PollFd{{Fd: int32(t.lfd), Events: unix.POLLIN}}
			if k, _ := unix.Poll(fds, 0); k > 0 && fds[0].Revents&unix.POLLIN != 0 {
				ready = true
			}
		}
		if ready {
			if c, err := t.take(); c != nil || err != nil {
				return c, err
			}
		}
		select {
		case <-stop:
			return nil, why()
		default:
		}
	}
}
