// Package lmtp runs LMTP sessions (RFC 2033): an MTA hands mail over and
// gets one reply per recipient, each once that recipient's copy is
// durable. Mail is stored through ports.Store as imapctl deliver stores
// it (app.Prepare: received and parsed once for every recipient), with
// Cyrus lmtpd's behaviour: user+folder addresses, duplicate suppression,
// the replies and the trace headers of CYRUS-COMPAT section 8. It knows
// ports and the domain, never an adapter.
package lmtp

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/imapd-go/imapd/ports"
)

// Options are lmtpd's settings from imapd.conf.
type Options struct {
	ServerName string // servername: the greeting, LHLO's reply, Received
	// MaxMessageSize is maxmessagesize (bytes; 0: app.DefaultMaxMessage).
	MaxMessageSize int64
	// DowncaseRcpt is lmtp_downcase_rcpt: the user and domain of a
	// recipient are lower-cased (the +detail is not).
	DowncaseRcpt bool
	// DuplicateSuppression is duplicatesuppression: a message whose
	// Message-ID and Date were delivered to a mailbox before is not
	// stored there again (the client still gets 250).
	DuplicateSuppression bool
	// OverQuotaPermFailure is lmtp_over_quota_perm_failure: an over-quota
	// recipient gets 552 5.2.2 instead of 452 4.2.2.
	OverQuotaPermFailure bool
	// StrictQuota is lmtp_strict_quota: RCPT refuses a recipient whose
	// quota cannot take the size MAIL declared, not only one already
	// at a limit.
	StrictQuota bool
	// Timeout is lmtptxn_timeout: the longest wait for the client's next
	// bytes before the connection is closed (0: DefaultTimeout).
	Timeout time.Duration
}

// Users tells which users have mail here; ports.Auth is one.
type Users interface {
	UserExists(ctx context.Context, user string) (bool, error)
}

// Server serves LMTP sessions on connections from a Transport.
type Server struct {
	opts     Options
	store    ports.Store
	users    Users
	dups     ports.Duplicates // nil: no duplicate suppression
	tel      ports.Telemetry  // the Delivered and dupelim lines
	log      *slog.Logger
	sessions atomic.Uint64
	now      func() time.Time
}

// New assembles a Server. dups may be nil (no duplicate suppression);
// tel receives the events operators read, as Cyrus's lmtpd logs them
// ("delivered", "dupelim"; nil: none).
func New(opts Options, store ports.Store, users Users, dups ports.Duplicates, tel ports.Telemetry, log *slog.Logger) *Server {
	if tel == nil {
		tel = noTelemetry{}
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.ServerName == "" {
		opts.ServerName = "localhost"
	}
	if !opts.DuplicateSuppression {
		dups = nil
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	return &Server{opts: opts, store: store, users: users, dups: dups, tel: tel, log: log, now: time.Now}
}

// Serve serves connections from t one after the other until t.Accept
// returns io.EOF (then nil) or ctx ends.
func (s *Server) Serve(ctx context.Context, t ports.Transport) error {
	for {
		c, err := t.Accept(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		s.ServeConn(ctx, c)
	}
}

// ServeConn runs one LMTP session on c until QUIT, end of input or an
// I/O error. It closes c.
func (s *Server) ServeConn(ctx context.Context, c ports.Conn) error {
	ss := newSession(ctx, s, c)
	defer c.Close()
	defer ss.tr.stop()
	err := ss.serve()
	if errors.Is(err, io.EOF) {
		err = nil
	}
	if err != nil {
		s.log.Debug("lmtp session ended", "remote", c.RemoteAddr(), "err", err)
	}
	return err
}

// sessionID names a session as imapd names its own: servername, pid,
// start time and a counter.
func (s *Server) sessionID() string {
	return s.opts.ServerName + "-" + strconv.Itoa(os.Getpid()) + "-" +
		strconv.FormatInt(s.now().Unix(), 10) + "-" + strconv.FormatUint(s.sessions.Add(1), 10)
}

// noTelemetry drops events.
type noTelemetry struct{}

func (noTelemetry) SessionLog(string, string) ports.SessionLog { return nil }
func (noTelemetry) Event(ports.Event)                          {}
