package sasl

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
)

// DefaultSaslauthdPath is where Debian's saslauthd listens.
const DefaultSaslauthdPath = "/var/run/saslauthd/mux"

// saslauthdTimeout bounds one question to saslauthd when the context has no
// deadline of its own.
const saslauthdTimeout = 30 * time.Second

// maxSaslauthdField is the longest string the protocol carries (its length
// prefix is 16 bits).
const maxSaslauthdField = 0xffff

// ErrSaslauthd is a fault talking to saslauthd (not a refusal).
var ErrSaslauthd = errors.New("saslauthd")

// Saslauthd asks a running saslauthd to check passwords over its Unix
// socket. The protocol: the client sends four strings, login, password,
// service and realm, each as a 2-byte big-endian length then the bytes; the
// daemon answers one such string starting with "OK" or "NO".
type Saslauthd struct {
	Path    string // the socket, DefaultSaslauthdPath when empty
	Service string // the service name saslauthd is told ("imap" when empty)
	Realm   string // the realm, usually empty
}

// Check asks saslauthd about user and password: nil when it answers OK, an
// error wrapping imap.ErrAuthFailed when it answers NO, and one wrapping
// ErrSaslauthd when it cannot be asked.
func (s *Saslauthd) Check(ctx context.Context, user, password string) error {
	path := s.Path
	if path == "" {
		path = DefaultSaslauthdPath
	}
	service := s.Service
	if service == "" {
		service = "imap"
	}
	for _, f := range []string{user, password, service, s.Realm} {
		if len(f) > maxSaslauthdField {
			return imap.Errorf("login", imap.ErrAuthFailed, "credentials too long")
		}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return s.fault(ctx, err)
	}
	defer conn.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(saslauthdTimeout)
	}
	conn.SetDeadline(deadline)
	// A cancelled context interrupts a daemon that is slow to answer.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	var req []byte
	for _, f := range []string{user, password, service, s.Realm} {
		req = binary.BigEndian.AppendUint16(req, uint16(len(f)))
		req = append(req, f...)
	}
	if _, err := conn.Write(req); err != nil {
		return s.fault(ctx, err)
	}
	r := bufio.NewReader(conn)
	var n uint16
	if err := binary.Read(r, binary.BigEndian, &n); err != nil {
		return s.fault(ctx, err)
	}
	answer := make([]byte, n)
	if _, err := io.ReadFull(r, answer); err != nil {
		return s.fault(ctx, err)
	}
	switch a := string(answer); {
	case strings.HasPrefix(a, "OK"):
		return nil
	case strings.HasPrefix(a, "NO"):
		return imap.Errorf("login", imap.ErrAuthFailed, "saslauthd refused %s: %s", user, strings.TrimSpace(a[2:]))
	default:
		return fmt.Errorf("%w: unexpected answer %q", ErrSaslauthd, a)
	}
}

func (s *Saslauthd) fault(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("%w: %v", ErrSaslauthd, err)
}
