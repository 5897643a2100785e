// Package app runs the IMAP use cases: the accept loop, one connection's
// life (greeting, command loop, timeouts) and the command handlers, using
// the domain packages and the ports. It never imports an adapter.
package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/imapd-go/imapd/ports"
)

// Options are the settings of the server that come from the command line
// and imapd.conf.
type Options struct {
	ServerName       string        // servername (default: host name)
	ConfigDir        string        // configdirectory
	Service          string        // CYRUS_SERVICE, or "imap"
	IdleTimeout      time.Duration // timeout: autologout after this long without a command
	IMAPIdleTimeout  time.Duration // imapidletimeout: the same for IDLE (0 = IdleTimeout)
	FailedLoginPause time.Duration // failedloginpause
	MaxMessageSize   int64         // maxmessagesize in bytes; 0 = the built-in limit
	IDResponse       bool          // imapidresponse
	NoPasswordCheck  bool          // -N
	ExternalSSF      int           // -p ssf
	LiteralMinus     bool          // literalminus: LITERAL- (RFC 7888) instead of LITERAL+
	// IndexOnWrite is search_index_on_write: each session indexes what
	// it stored once the command's answer is out, instead of leaving it
	// to the next search (textindex.go).
	IndexOnWrite     bool
	MaxLoginsPerUser int // maxlogins_per_user: 0 = no limit
	MaxLoginsPerHost int // maxlogins_per_host: 0 = no limit
	// AutocreateFolders are created (and subscribed) with the INBOX at a
	// user's first login: autocreate_inbox_folders.
	AutocreateFolders []string
	// SubmitServers are submitservers: the users (message submission
	// agents) that may fetch "submit+" URLAUTH URLs (RFC 4467 section 3).
	SubmitServers []string
	// MetadataMaxSize is metadata_maxsize: the longest METADATA value in
	// bytes (0: DefaultMetadataMaxSize). MetadataMaxEntries is
	// metadata_maxentries: how many /shared entries a mailbox (or the
	// server) may have, and how many /private ones per user (0:
	// DefaultMetadataMaxEntries).
	MetadataMaxSize    int64
	MetadataMaxEntries int
	// DefaultACL is defaultacl: the ACL a new top-level shared mailbox
	// gets (namespace.go); "" is Cyrus's "anyone lrs".
	DefaultACL string
	// MultiSession is multisession: Serve runs many sessions at once, a
	// goroutine each (multi.go); off, one after the other.
	MultiSession bool
	// QuotaWarn is quotawarn: SELECT alerts when the mailbox's quota
	// root is at this percent of a limit or more; negative: never.
	QuotaWarn int
	// AutocreateQuota is autocreate_quota: a user's first login gives
	// the user's root this STORAGE limit in KB; 0: none, but the root
	// exists; negative: nothing is set.
	AutocreateQuota int64
	// SyslogPrefix is syslog_prefix: session ids start with it, or with
	// ServerName when it is empty, as Cyrus's do.
	SyslogPrefix string
}

// Server serves IMAP sessions on connections from a Transport.
type Server struct {
	opts     Options
	store    ports.Store
	auth     ports.Auth
	tel      ports.Telemetry
	log      *slog.Logger
	presence ports.Presence // nil: no login limits
	sessions atomic.Uint64  // sessions served, for session ids
	// activity counts commands; with sessions, a multi-session process
	// sees when it stops moving and releases memory (quiet).
	activity atomic.Uint64
	reg      registry // the live sessions (multi.go)

	// After a session, Serve calls releaseMemory once no connection has
	// come for releaseDelay (replaced in tests).
	releaseDelay  time.Duration
	releaseMemory func()

	sorts sortCache // SORT and THREAD's records (sortcache.go)

	// ids makes the sessions' ids; lookupAddr is the reverse DNS of
	// clients' names for log lines (telemetry.go).
	ids        sessionIDs
	lookupAddr func(ctx context.Context, addr string) ([]string, error)
}

// SetPresence enables maxlogins_per_user and maxlogins_per_host through p.
func (s *Server) SetPresence(p ports.Presence) { s.presence = p }

// New assembles a Server.
func New(opts Options, store ports.Store, auth ports.Auth, tel ports.Telemetry, log *slog.Logger) *Server {
	if opts.Service == "" {
		opts.Service = "imap"
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 32 * time.Minute
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{opts: opts, store: store, auth: auth, tel: tel, log: log, releaseDelay: releaseDelay,
		lookupAddr: net.DefaultResolver.LookupAddr}
	s.ids.base = opts.SyslogPrefix
	if s.ids.base == "" {
		s.ids.base = opts.ServerName
	}
	s.releaseMemory = s.freeMemory
	return s
}

// freeMemory gives back what the store keeps for speed (ports.
// MemoryReleaser) and what Go's heap holds unused.
func (s *Server) freeMemory() {
	start := time.Now()
	if r, ok := s.store.(ports.MemoryReleaser); ok {
		r.ReleaseMemory()
	}
	debug.FreeOSMemory()
	s.log.Debug("memory released", "sessions", s.Live(), "took", time.Since(start))
}

// Serve serves connections from t, one at a time, until t.Accept returns
// io.EOF (then Serve returns nil) or ctx ends.
//
// With Options.MultiSession it serves many connections at once instead,
// and returns once the transport gives no more and the sessions ended.
func (s *Server) Serve(ctx context.Context, t ports.Transport) error {
	if s.opts.MultiSession {
		return s.serveMulti(ctx, t)
	}
	var release *time.Timer
	for {
		c, err := t.Accept(ctx)
		if release != nil {
			release.Stop()
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.ServeConn(ctx, c); errors.Is(err, ErrShutdown) {
			return nil
		}
		// A process under master that stays idle gives the previous
		// session's memory back to the system, not when the runtime's
		// scavenger gets to it. A busy one does not: the forced garbage
		// collection and the page faults that follow it cost more than the
		// whole of a short session.
		release = time.AfterFunc(s.releaseDelay, s.releaseMemory)
	}
}

// releaseDelay is how long a process waits for its next connection before
// it gives memory back. It is long enough that a process of a busy server
// keeps its memory from one session to the next: under 50 clients, or 10
// clients spread over 60 processes, each process gets a session about
// once a second, and with a delay of one second most sessions came after
// a release, the heap's pages to fault in again and SQLite's connections
// to open again. Measured with test/compare, 10 clients over 60
// processes (-prefork 50): 335 commands/s with a release after 1 second,
// 458 with none.
const releaseDelay = 5 * time.Second
