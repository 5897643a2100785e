package app

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/imapd-go/imapd/ports"
)

// event is an Event of kind with the session's facts: who, from where,
// the session id and whether TLS is on. Host (the client as Cyrus names
// it, which may take a reverse DNS query) is there for the events whose
// lines name it: logins and their failures.
func (c *conn) event(kind string) ports.Event {
	e := ports.Event{
		Kind:      kind,
		User:      c.user,
		Remote:    c.c.RemoteAddr(),
		SessionID: c.sessionID,
		TLS:       c.c.TLS(),
	}
	switch kind {
	case "login", "login-failed", "unauthenticate":
		e.Host = c.clientHost()
	}
	return e
}

// unixSocketHost is Cyrus's name for a client that has no address: a
// local socket, or standard input (global.c's UNIX_SOCKET).
const unixSocketHost = "[unix socket]"

// reverseLookupTimeout bounds the reverse DNS query for the client's name.
const reverseLookupTimeout = 5 * time.Second

// clientHost names the client as Cyrus's get_clienthost does: "name [ip]"
// when the address has a name in reverse DNS (getnameinfo with
// NI_NAMEREQD), "[ip]" when it has none, "[unix socket]" without an IP
// address. The lookup happens once per session, when a line first needs
// it.
func (c *conn) clientHost() string {
	if c.clientName != "" {
		return c.clientName
	}
	ip := c.host()
	if net.ParseIP(ip) == nil {
		c.clientName = unixSocketHost
		return c.clientName
	}
	c.clientName = "[" + ip + "]"
	ctx, cancel := context.WithTimeout(c.ctx, reverseLookupTimeout)
	defer cancel()
	if names, err := c.srv.lookupAddr(ctx, ip); err == nil && len(names) > 0 && names[0] != "" {
		c.clientName = strings.TrimSuffix(names[0], ".") + " " + c.clientName
	}
	return c.clientName
}

// sessionIDs makes Cyrus's session ids (lib/sessionid.c):
// "<base>-<time>-<pid>-<n>-<random>", base being syslog_prefix or else
// servername, n counting the process's sessions within the second and
// random 64 bits in decimal.
type sessionIDs struct {
	mu   sync.Mutex
	sec  int64
	n    int
	base string
}

func (g *sessionIDs) next(now time.Time) string {
	g.mu.Lock()
	if s := now.Unix(); s != g.sec {
		g.sec, g.n = s, 0
	}
	g.n++
	sec, n := g.sec, g.n
	g.mu.Unlock()
	var r [8]byte
	rand.Read(r[:])
	return g.base + "-" + strconv.FormatInt(sec, 10) + "-" + strconv.Itoa(os.Getpid()) + "-" +
		strconv.Itoa(n) + "-" + strconv.FormatUint(binary.LittleEndian.Uint64(r[:]), 10)
}
