package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/imapd-go/imapd/domain/grammar"
)

// shutdownCheck is how often IDLE looks for msg/shutdown.
const shutdownCheck = 5 * time.Second

// cmdIdle waits for DONE while telling the client what other sessions and
// processes change (RFC 2177). The store's Watch wakes it; no busy polling.
func cmdIdle(c *conn, cmd *grammar.Command) (result, error) {
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	var wake <-chan struct{}
	if c.sel != nil && c.notifyIdleSelected() {
		var err error
		if wake, err = c.srv.store.Watch(ctx, c.sel.owner, c.sel.name); err != nil {
			return result{}, err
		}
		// Anything that changed since the last command first.
		if err := c.poll(true); err != nil {
			return result{}, err
		}
	}
	// NOTIFY's other mailboxes (notify.go): the user's watch is held
	// since NOTIFY SET; IDLE waits on it too.
	if c.notifyWoken() {
		if err := c.notifyCheck(false); err != nil {
			return result{}, err
		}
	}
	notified := c.notifyWatch()
	c.w.Continue("idling")
	if err := c.w.Flush(); err != nil {
		return result{}, fmt.Errorf("%w: %v", errConnection, err)
	}
	type line struct {
		b   []byte
		err error
	}
	// Nothing is buffered while the session waits (buffers.go).
	c.releaseOutput()
	c.releaseInput()
	lines := make(chan line, 1)
	c.inputAway = true
	c.safeGo(func() {
		c.awaitInput()
		b, err := c.p.ReadLine()
		lines <- line{b, err}
	}, func(err error) { lines <- line{nil, err} })
	timeout := time.NewTimer(c.srv.idleTimeout())
	defer timeout.Stop()
	check := time.NewTicker(shutdownCheck)
	defer check.Stop()
	for {
		select {
		case l := <-lines:
			c.inputAway = false
			if l.err != nil {
				if _, ok := l.err.(*grammar.Error); ok {
					return result{}, bad("Expected DONE")
				}
				return result{}, fmt.Errorf("%w: %v", errConnection, l.err)
			}
			if !bytes.EqualFold(bytes.TrimSpace(l.b), []byte("DONE")) {
				return result{}, bad("Expected DONE")
			}
			return result{text: "IDLE terminated"}, nil
		case _, ok := <-wake:
			if !ok {
				wake = nil
				continue
			}
			if err := c.poll(true); err != nil {
				if errors.Is(err, errConnection) {
					return result{}, err
				}
				// IDLE ends only with DONE, and the goroutine reading
				// for it owns the session's input until then: a store
				// that fails for a moment is retried at the next
				// wake-up (the fallback comes within seconds).
				c.srv.log.Warn("IDLE: looking for changes failed", "user", c.user, "mailbox", c.sel.name, "err", err)
			}
			if err := c.w.Flush(); err != nil {
				return result{}, fmt.Errorf("%w: %v", errConnection, err)
			}
			c.releaseOutput()
		case _, ok := <-notified:
			if !ok {
				notified = nil
				continue
			}
			if err := c.notifyCheck(false); err != nil {
				return result{}, err
			}
			notified = c.notifyWatch() // renewed, or gone after an overflow
			if err := c.w.Flush(); err != nil {
				return result{}, fmt.Errorf("%w: %v", errConnection, err)
			}
			c.releaseOutput()
		case <-check.C:
			if c.admin {
				continue
			}
			if msg := c.shutdownMessage(); msg != "" {
				c.w.Tagged("*", "BYE", "ALERT", msg)
				c.w.Flush()
				c.c.Close()
				c.shutdown = true
				return result{}, fmt.Errorf("%w: shutdown", errConnection)
			}
		case <-timeout.C:
			c.w.Untagged("BYE idle for too long")
			c.w.Flush()
			c.c.Close()
			return result{}, fmt.Errorf("%w: idle timeout", errConnection)
		}
	}
}

// idleTimeout is imapidletimeout, or the autologout timeout.
func (s *Server) idleTimeout() time.Duration {
	if s.opts.IMAPIdleTimeout > 0 {
		return s.opts.IMAPIdleTimeout
	}
	return s.opts.IdleTimeout
}
