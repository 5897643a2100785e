package syslog

import (
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultSocket is where the local syslog daemon reads (glibc's _PATH_LOG).
const DefaultSocket = "/dev/log"

// Severity is a syslog severity (RFC 3164 section 4.1.1, syslog.h).
type Severity int

// The severities imapd and lmtpd write.
const (
	Err     Severity = 3
	Warning Severity = 4
	Notice  Severity = 5
	Info    Severity = 6
	Debug   Severity = 7
)

// Facility codes as syslog.h numbers them (RFC 3164 section 4.1.1).
var facilities = map[string]int{
	"KERN": 0, "USER": 1, "MAIL": 2, "DAEMON": 3, "AUTH": 4, "SYSLOG": 5, "LPR": 6, "NEWS": 7,
	"UUCP": 8, "CRON": 9, "AUTHPRIV": 10, "FTP": 11,
	"LOCAL0": 16, "LOCAL1": 17, "LOCAL2": 18, "LOCAL3": 19,
	"LOCAL4": 20, "LOCAL5": 21, "LOCAL6": 22, "LOCAL7": 23,
}

// DefaultFacility is Cyrus's built-in syslog_facility.
const DefaultFacility = "LOCAL6"

// Facility returns the code of a syslog_facility name (any case), and
// false for a name syslog.h does not have.
func Facility(name string) (int, bool) {
	f, ok := facilities[strings.ToUpper(name)]
	return f, ok
}

// Ident is the tag Cyrus's processes log with: the service name, after
// syslog_prefix and a slash when the prefix is set ("cyrus/imap").
func Ident(prefix, service string) string {
	if prefix == "" {
		return service
	}
	return prefix + "/" + service
}

// Writer sends lines to the syslog socket as glibc's syslog(3) does for a
// process that called openlog(ident, LOG_PID, facility): one datagram per
// line, "<PRI>Mmm dd hh:mm:ss ident[pid]: message", the time local and
// without a year, no host name, no trailing newline. It connects on the
// first line; a socket that refuses datagrams (EPROTOTYPE) is used as a
// stream, each line then ending with a NUL byte; a failed send reconnects
// once and resends, and a line that still cannot go is dropped (no
// LOG_CONS), as glibc does. Unlike glibc, a line that finds no daemon does
// not try twice, and for retryAfter the next ones try only once the
// socket is there again.
type Writer struct {
	socket   string
	ident    string
	facility int
	pid      int
	now      func() time.Time

	mu     sync.Mutex
	conn   net.Conn
	stream bool
	// failed is when connecting last failed, in Unix nanoseconds (zero
	// once connected); read without mu.
	failed atomic.Int64
}

// retryAfter is how long after a failed connect a line first looks for
// the socket (one stat, without the writer's lock) and is dropped if it is
// still not there: a process in a container without a syslog daemon pays
// a stat per line, not a socket, a connect and a close, twice, under the
// lock that the sessions of a multisession process share.
const retryAfter = time.Second

// NewWriter returns a writer to socket ("" is DefaultSocket) tagging its
// lines with ident and the process id.
func NewWriter(socket, ident string, facility int, pid int) *Writer {
	if socket == "" {
		socket = DefaultSocket
	}
	return &Writer{socket: socket, ident: ident, facility: facility, pid: pid, now: time.Now}
}

// format is the line glibc builds: SYSLOG_HEADER's "<%d>%s %s[%d]: " with
// strftime's "%h %e %T" in the C locale, then the message.
func (w *Writer) format(sev Severity, msg string) []byte {
	b := make([]byte, 0, 48+len(w.ident)+len(msg))
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(w.facility<<3|int(sev)), 10)
	b = append(b, '>')
	b = w.now().AppendFormat(b, "Jan _2 15:04:05")
	b = append(b, ' ')
	b = append(b, w.ident...)
	b = append(b, '[')
	b = strconv.AppendInt(b, int64(w.pid), 10)
	b = append(b, "]: "...)
	b = append(b, msg...)
	return b
}

// Log writes one line at sev. It never fails the caller: a syslog that is
// away loses the line, as with syslog(3).
func (w *Writer) Log(sev Severity, msg string) {
	if f := w.failed.Load(); f != 0 && time.Since(time.Unix(0, f)) < retryAfter {
		if _, err := os.Stat(w.socket); err != nil {
			return // still no daemon, as a moment ago
		}
	}
	line := w.format(sev, msg)
	w.mu.Lock()
	defer w.mu.Unlock()
	connected := w.conn != nil
	if w.send(line) == nil || !connected {
		return
	}
	// The daemon may have restarted: reopen and try once more.
	w.close()
	if w.send(line) != nil {
		w.close() // reopen with the next line
	}
}

// send writes line, connecting first when needed.
func (w *Writer) send(line []byte) error {
	if w.conn == nil {
		if err := w.connect(); err != nil {
			return err
		}
	}
	if w.stream {
		line = append(line, 0)
	}
	_, err := w.conn.Write(line)
	return err
}

// connect connects to the socket, as glibc's openlog_internal does (see
// dial), and notes when that fails.
func (w *Writer) connect() error {
	c, err := w.dial()
	if err != nil {
		w.failed.Store(time.Now().UnixNano())
		return err
	}
	w.conn = c
	w.failed.Store(0)
	return nil
}

// dial opens the socket as a datagram socket, or as a stream when it is
// one (connect(2) says EPROTOTYPE).
func (w *Writer) dial() (net.Conn, error) {
	c, err := net.Dial("unixgram", w.socket)
	if errors.Is(err, syscall.EPROTOTYPE) {
		c, err = net.Dial("unix", w.socket)
		w.stream = err == nil
	} else {
		w.stream = false
	}
	return c, err
}

func (w *Writer) close() {
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
}

// Close closes the connection to the socket.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.close()
	return nil
}
