package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/imapd-go/imapd/domain/grammar"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/session"
	"github.com/imapd-go/imapd/ports"
)

// ErrShutdown ends a session because msg/shutdown exists; Serve then stops
// accepting, so the process exits as Cyrus's imapd does.
var ErrShutdown = errors.New("server shutting down (msg/shutdown)")

// Product is the name the greeting announces.
const Product = "imapd-go"

// conn is one client connection's life: the protocol state, the streams,
// and the selected mailbox.
type conn struct {
	srv   *Server
	ctx   context.Context
	c     ports.Conn
	in    *tapReader
	out   *tapWriter
	br    *bufio.Reader
	w     *grammar.Writer
	p     *grammar.Parser
	state session.State
	user  string
	admin bool
	sel   *selected
	// notify is what NOTIFY SET asked for (notify.go); nil without.
	notify *notifier

	// condstore is on once the client used a CONDSTORE feature (RFC 7162 3.1).
	condstore bool

	// enabled holds what ENABLE switched on (RFC 5161).
	enabled map[string]bool
	// saved is the saved search result, as UIDs (RFC 5182).
	saved map[imap.UID]bool
	// compress is the COMPRESS=DEFLATE layer once on (compress.go).
	compress *compression
	// fetchBuf is reused by FETCH to build each response line.
	fetchBuf []byte
	// wake holds the first bytes of input after a wait (buffers.go).
	wake wakeReader
	// inputAway is set while another goroutine reads the input (IDLE's
	// wait for DONE), which then owns br.
	inputAway bool

	// shutdown is set when msg/shutdown ended the session in IDLE.
	shutdown bool
	// sessionID names the session in logs and in LOGIN's answer.
	sessionID string
	// clientName is the client's name for log lines, once known
	// (clientHost).
	clientName string
	// logout drops this session's Presence record; nil when there is
	// none.
	logout func()
	// index keeps the full-text index current with what the session
	// stores (textindex.go).
	index indexer
	// sortSaves counts the saves of sort-record lists still being
	// written (saveStoredSortRecords).
	sortSaves sync.WaitGroup
	// quotaWarned is when SELECT last sent each quota root's quotawarn
	// alert (quota.go).
	quotaWarned map[string]time.Time

	// mu serialises writes between the command loop and the autologout
	// timer; waiting is true while the loop waits for a command.
	mu       sync.Mutex
	waiting  bool
	timedOut bool

	// pendingBye is a BYE asked for from outside the command loop
	// (multi.go: SIGTERM, msg/shutdown), under mu; byeSent once it went.
	pendingBye *bye
	byeSent    bool
}

// tapReader hands what the client sends to the session log, when there is
// one.
type tapReader struct {
	r   io.Reader
	log ports.SessionLog
}

func (t *tapReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 && t.log != nil {
		t.log.Read(p[:n])
	}
	return n, err
}

// tapWriter hands what is flushed to the client to the session log.
type tapWriter struct {
	w   io.Writer
	log ports.SessionLog
}

// Flush passes the end of a burst of output to a layer below that holds
// bytes back (COMPRESS's compressor).
func (t *tapWriter) Flush() error {
	if f, ok := t.w.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

func (t *tapWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if n > 0 && t.log != nil {
		t.log.Wrote(p[:n])
	}
	return n, err
}

// ServeConn runs one IMAP session on c until LOGOUT, end of input, the
// autologout timeout, or a fatal error. It closes c.
func (s *Server) ServeConn(ctx context.Context, c ports.Conn) error {
	// The session's own context: what its commands derive from it (the
	// cancellation of every query, above all) registers with it, not with
	// the server's, whose lock all the sessions of a multisession process
	// would otherwise take in turn.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cn := &conn{srv: s, ctx: ctx, c: c}
	s.sessions.Add(1)
	cn.sessionID = s.ids.next(time.Now())
	cn.in = &tapReader{r: c}
	cn.out = &tapWriter{w: c}
	// br is taken when input comes (buffers.go).
	cn.w = grammar.NewWriter(cn.out)
	cn.p = grammar.NewParser(nil, cn.continueLiteral, s.limits())
	s.enter(cn)
	defer s.leave(cn)
	defer func() {
		if cn.in.log != nil {
			cn.in.log.Close()
		}
		if cn.logout != nil {
			cn.logout()
		}
		cn.stopNotify()
		c.Close()
		cn.releaseOutput()
		cn.dropInput()
		// The client is gone; the index catches up with what the
		// session stored before the process takes the next one or
		// exits.
		cn.index.wg.Wait()
		cn.sortSaves.Wait() // saveStoredSortRecords
	}()
	err := cn.serve()
	cn.sayPendingBye()
	if cn.shutdown && err == nil {
		err = ErrShutdown
	}
	e := cn.event("session-end")
	e.Err = err
	s.tel.Event(e)
	return err
}

func (s *Server) limits() grammar.Limits {
	lim := grammar.DefaultLimits()
	if s.opts.MaxMessageSize > 0 {
		lim.MaxAppend = s.opts.MaxMessageSize
	}
	if s.opts.LiteralMinus {
		lim.MaxNonSyncLiteral = grammar.LiteralMinusMax
	}
	return lim
}

func (c *conn) continueLiteral() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.w.Continue("go ahead")
	return c.w.Flush()
}

func (c *conn) ssf() int {
	if c.srv.opts.ExternalSSF > c.c.SSF() {
		return c.srv.opts.ExternalSSF
	}
	return c.c.SSF()
}

func (c *conn) serve() (err error) {
	defer func() {
		if r := recover(); r != nil {
			// A broken invariant: log it, tell the client, end the session.
			c.srv.log.Error("panic in session", "panic", r, "user", c.user, "stack", string(debug.Stack()))
			c.w.Tagged("*", "BYE", "SERVERBUG", "internal error")
			c.w.Flush()
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	c.w.Tagged("*", "OK", "CAPABILITY "+c.capabilities(), c.srv.opts.ServerName+" "+Product+" server ready")
	if motd := firstLine(filepath.Join(c.srv.opts.ConfigDir, "msg", "motd")); motd != "" {
		c.w.Tagged("*", "OK", "ALERT", strings.TrimPrefix(motd, "["))
	}
	if err := c.w.Flush(); err != nil {
		return err
	}
	for c.state != session.Logout {
		if c.state != session.NotAuthenticated && !c.admin {
			if msg := c.shutdownMessage(); msg != "" {
				c.w.Tagged("*", "BYE", "ALERT", msg)
				c.w.Flush()
				return ErrShutdown
			}
		}
		cmd, err := c.readCommand()
		if err != nil {
			var perr *grammar.Error
			switch {
			case errors.As(err, &perr):
				c.w.Tagged(perr.Tag, perr.Status, perr.Code, perr.Text)
				if err := c.w.Flush(); err != nil {
					return err
				}
				continue
			case errors.Is(err, grammar.ErrFatal):
				c.w.Tagged("*", "BYE", "", strings.TrimPrefix(err.Error(), grammar.ErrFatal.Error()+": "))
				c.w.Flush()
				return err
			case c.timedOut:
				return nil
			case errors.Is(err, io.EOF):
				return nil
			default:
				return err
			}
		}
		c.srv.activity.Add(1)
		start := time.Now()
		status := c.dispatch(cmd)
		if err := c.w.Flush(); err != nil {
			return err
		}
		c.indexWritten()
		e := c.event("command")
		e.Command, e.Status, e.Duration = cmd.Name, status, time.Since(start)
		c.srv.tel.Event(e)
	}
	return nil
}

// readCommand waits for the next command with the autologout timer armed:
// RFC 3501 5.4 and Cyrus's "timeout" option.
func (c *conn) readCommand() (*grammar.Command, error) {
	c.mu.Lock()
	c.waiting = true
	c.sayByeLocked() // a BYE that came while the last command ran
	c.mu.Unlock()
	t := time.AfterFunc(c.srv.opts.IdleTimeout, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.waiting {
			c.timedOut = true
			c.w.Untagged("BYE idle for too long")
			c.w.Flush()
			c.c.Close()
		}
	})
	cmd, err := c.nextCommand()
	t.Stop()
	c.mu.Lock()
	c.waiting = false
	timedOut := c.timedOut
	c.mu.Unlock()
	if timedOut {
		return nil, io.EOF
	}
	return cmd, err
}

// shutdownMessage returns the first line of msg/shutdown.<service> or
// msg/shutdown when either exists.
func (c *conn) shutdownMessage() string { return c.srv.shutdownMessage() }

// firstLine returns the first line of a small file, "" when it cannot be
// read.
func firstLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	return firstLineOf(f)
}

// firstLineOf is firstLine of what r reads.
func firstLineOf(r io.Reader) string {
	line, _ := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	// Cut at the first CR or LF, as Cyrus does: a bare CR sent inside a
	// response line would break the protocol.
	if i := strings.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	return line
}
