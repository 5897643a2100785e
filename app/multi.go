package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/imapd-go/imapd/domain/session"
	"github.com/imapd-go/imapd/ports"
)

// Many sessions per process (Options.MultiSession, imapd.conf's
// multisession). Serve runs each connection in its own goroutine and keeps
// a registry of the live sessions, so that the process can end them all:
//
//   - msg/shutdown (or msg/shutdown.<service>) appearing: a check every
//     shutdownPoll sends `* BYE [ALERT] <first line>` to every non-admin
//     authenticated session waiting for a command and closes it; a session
//     in the middle of a command sees the file when it ends (or within
//     IDLE's own check). Once it ended a session so, the process stops
//     accepting, as one that served a single session does after a
//     shutdown; a process that ended none keeps accepting (each new
//     session is refused at login), or master would fork a replacement
//     every few seconds for as long as the file is there.
//   - SIGTERM (Shutdown): every session gets `* BYE Server shutting down`;
//     a command running finishes first, a read in progress (IDLE, a
//     literal) is cut short.
//
// A BYE is written under conn.mu while the session waits for a command
// (the autologout timer's path), or by the session's own goroutine after
// its command: it never interleaves with a response.
//
// One session's panic ends that session only (serve's recover, and
// runSession's for what lies around it) and is logged with its stack.

// shutdownPoll is how often a multi-session process looks for
// msg/shutdown; one stat of two files per period for the whole process.
const shutdownPoll = 2 * time.Second

// bye is why a session is told BYE from outside its command loop.
type bye struct {
	code, text string
	shutdown   bool // msg/shutdown: the session ends with ErrShutdown
}

// registry is the live sessions of a Server.
type registry struct {
	mu      sync.Mutex
	live    map[*conn]struct{}
	wg      sync.WaitGroup
	release *time.Timer // releases memory once no session is open
}

// enter records a session that starts.
func (s *Server) enter(c *conn) {
	r := &s.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.live == nil {
		r.live = make(map[*conn]struct{})
	}
	r.live[c] = struct{}{}
	if r.release != nil {
		r.release.Stop()
		r.release = nil
	}
}

// leave forgets a session that ended. In multi mode, the last one to
// leave schedules the memory release that single mode does between
// sessions: never while a session is open.
func (s *Server) leave(c *conn) {
	r := &s.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.live, c)
	if s.opts.MultiSession && len(r.live) == 0 && r.release == nil {
		var tm *time.Timer
		tm = time.AfterFunc(s.releaseDelay, func() {
			r.mu.Lock()
			idle := len(r.live) == 0 && r.release == tm
			if idle {
				r.release = nil
			}
			r.mu.Unlock()
			if idle {
				s.releaseMemory()
			}
		})
		r.release = tm
	}
}

// Live is the number of sessions open now.
func (s *Server) Live() int {
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	return len(s.reg.live)
}

// sessions returns the live sessions.
func (s *Server) liveSessions() []*conn {
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	list := make([]*conn, 0, len(s.reg.live))
	for c := range s.reg.live {
		list = append(list, c)
	}
	return list
}

// serveMulti is Serve in multi mode: accept until the transport says no
// more, a goroutine per session, then wait for the sessions to end.
func (s *Server) serveMulti(ctx context.Context, t ports.Transport) error {
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		s.watchShutdown(t, stop)
	}()
	defer func() {
		close(stop)
		<-watched
	}()
	for {
		c, err := t.Accept(ctx)
		if err != nil {
			s.reg.wg.Wait()
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		s.reg.wg.Add(1)
		go func() {
			defer s.reg.wg.Done()
			if s.runSession(ctx, c) {
				// As in single mode, a session ended by msg/shutdown
				// ends the process: no more connections.
				t.Close()
			}
		}()
	}
}

// runSession serves c in the calling goroutine and reports whether
// msg/shutdown ended it. A panic anywhere in it is contained here.
func (s *Server) runSession(ctx context.Context, c ports.Conn) (shutdown bool) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in session", "panic", r, "stack", string(debug.Stack()))
			c.Close()
			shutdown = false
		}
	}()
	// An immediate-TLS (-s) connection does its handshake here, in the
	// session's goroutine, so that one slow client holds up no other.
	if h, ok := c.(interface{ Handshake(context.Context) error }); ok {
		if err := h.Handshake(ctx); err != nil {
			return false
		}
	}
	return errors.Is(s.ServeConn(ctx, c), ErrShutdown)
}

// watchShutdown ends the sessions when msg/shutdown appears, until stop.
func (s *Server) watchShutdown(t ports.Transport, stop <-chan struct{}) {
	tick := time.NewTicker(shutdownPoll)
	defer tick.Stop()
	var q quiet
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		if q.settled(s.activity.Load() + s.sessions.Load()) {
			s.releaseMemory()
		}
		msg := s.shutdownMessage()
		if msg == "" {
			continue
		}
		kicked := false
		for _, c := range s.liveSessions() {
			if c.kick(bye{code: "ALERT", text: msg, shutdown: true}) {
				kicked = true
			}
		}
		if kicked {
			t.Close()
		}
	}
}

// quiet tells when a multi-session process has gone quiet after work:
// no command for a whole period (shutdownPoll) since it last looked, and
// some since the last release. Its sessions are then idle, and what the
// work left (buffers pooled, garbage not yet collected, heap the runtime
// keeps for the next burst) goes back to the system at once, as single
// mode does between sessions: thousands of idle sessions then cost their
// live memory, not the peak of the burst that opened them. A process
// that never goes quiet for a period leaves it to Go's scavenger.
type quiet struct {
	last     uint64 // activity at the previous look
	released uint64 // activity at the last release
}

// settled takes the activity count now and reports whether to release.
func (q *quiet) settled(now uint64) bool {
	still := now == q.last
	q.last = now
	if !still || now == q.released {
		return false
	}
	q.released = now
	return true
}

// Shutdown tells every live session BYE with text, ends them, and waits
// for them up to grace (SIGTERM in multi mode). It returns the number of
// sessions still open after grace.
func (s *Server) Shutdown(text string, grace time.Duration) int {
	for _, c := range s.liveSessions() {
		c.kick(bye{text: text})
	}
	deadline := time.Now().Add(grace)
	for s.Live() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return s.Live()
}

// kick asks the session to end with b. A session waiting for a command is
// told at once and closed; one running a command is told once it ends:
// for SIGTERM, a read in progress is cut short so that it ends soon. For
// msg/shutdown only sessions that are logged in and not an admin are
// concerned; kick reports whether the session was told at once.
func (c *conn) kick(b bye) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pendingBye != nil || c.byeSent {
		return false
	}
	if b.shutdown {
		// Only a session parked in readCommand may be looked at from
		// here: its state and admin flag are settled.
		if !c.waiting || c.state == session.NotAuthenticated || c.admin {
			return false
		}
	}
	c.pendingBye = &b
	if c.waiting {
		c.sayByeLocked()
		return true
	}
	if d, ok := c.c.(interface{ SetReadDeadline(time.Time) error }); ok {
		d.SetReadDeadline(time.Now())
	}
	return false
}

// sayByeLocked writes the pending BYE, if any, and closes the connection.
// The caller holds c.mu, and either the command loop waits for a command
// or it is the command loop itself.
func (c *conn) sayByeLocked() {
	b := c.pendingBye
	if b == nil || c.byeSent {
		return
	}
	c.byeSent = true
	c.timedOut = true // readCommand returns io.EOF: the session is over
	if b.shutdown {
		c.shutdown = true
	}
	if d, ok := c.c.(interface{ SetReadDeadline(time.Time) error }); ok {
		d.SetReadDeadline(time.Time{})
	}
	c.w.Tagged("*", "BYE", b.code, b.text)
	c.w.Flush()
	c.c.Close()
}

// sayPendingBye is sayByeLocked for the command loop.
func (c *conn) sayPendingBye() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sayByeLocked()
}

// safeGo runs f in a goroutine of the session whose panic ends the
// session's connection rather than the process: it is logged with its
// stack, the connection is closed, and onPanic (if not nil) is called
// with an error that says so, for whoever waits on f.
func (c *conn) safeGo(f func(), onPanic func(error)) {
	go func() {
		defer func() {
			if r := recover(); r != nil {
				c.srv.log.Error("panic in session goroutine", "panic", r, "user", c.user, "stack", string(debug.Stack()))
				c.c.Close()
				if onPanic != nil {
					onPanic(fmt.Errorf("panic: %v", r))
				}
			}
		}()
		f()
	}()
}

// shutdownMessage returns the first line of msg/shutdown.<service> or
// msg/shutdown when either exists ("Server shutting down" when it is
// empty), "" when neither does.
//
// A file that is empty and younger than a poll period is taken as one
// being written (`echo text > msg/shutdown` creates it before it writes
// the line) and is looked at again at the next poll, so the sessions get
// the administrator's line rather than the default one.
func (s *Server) shutdownMessage() string {
	return shutdownMessageAt(s.opts.ConfigDir, s.opts.Service, time.Now())
}

func shutdownMessageAt(configDir, service string, now time.Time) string {
	dir := filepath.Join(configDir, "msg")
	for _, name := range []string{"shutdown." + service, "shutdown"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		msg := firstLineOf(f)
		if msg == "" {
			msg = "Server shutting down"
			if fi, err := f.Stat(); err == nil && fi.Size() == 0 && now.Sub(fi.ModTime()) < shutdownPoll {
				msg = "" // being written: the next poll reads the line
			}
		}
		f.Close()
		return msg
	}
	return ""
}
