package lmtp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/imapd-go/imapd/app"
	"github.com/imapd-go/imapd/domain/imap"
	proto "github.com/imapd-go/imapd/domain/lmtp"
	"github.com/imapd-go/imapd/ports"
)

// Budgets of one session.
const (
	// readBuffer holds pipelined commands and DATA's lines.
	readBuffer = 64 << 10
	// maxRecipients bounds one transaction's RCPT commands (RFC 5321
	// 4.5.3.1.8 asks for at least 100).
	maxRecipients = 1000
	// maxHeader bounds the header section DATA reads into memory to
	// rewrite it; a longer one is refused.
	maxHeader = 1 << 20
)

// session is one LMTP connection's state.
type session struct {
	srv *Server
	ctx context.Context
	c   ports.Conn
	br  *bufio.Reader
	bw  *bufio.Writer
	tr  *timedReader
	id  string

	lhlo   string  // the client's LHLO name; "" before LHLO
	sender *string // MAIL FROM's reverse-path; nil outside a transaction
	binary bool    // MAIL FROM came with BODY=BINARYMIME
	size   int64   // MAIL FROM's SIZE, 0 when not given
	rcpts  []rcpt
}

// rcpt is an accepted recipient.
type rcpt struct {
	user    string
	mailbox string // where the copy goes: INBOX or the +detail folder
}

func newSession(ctx context.Context, s *Server, c ports.Conn) *session {
	tr := newTimedReader(c, s.opts.Timeout)
	return &session{srv: s, ctx: ctx, c: c, tr: tr, br: bufio.NewReaderSize(tr, readBuffer), bw: bufio.NewWriter(c), id: s.sessionID()}
}

func (ss *session) reply(r *proto.Reply) error {
	_, err := ss.bw.Write(r.Bytes())
	return err
}

// serve greets and runs commands. Replies are flushed when no more
// pipelined input is waiting (RFC 2920 3.1: the server may hold replies
// while commands are pending, and must flush before it would block).
func (ss *session) serve() error {
	if err := ss.reply(&proto.Reply{Code: 220, Text: []string{ss.srv.opts.ServerName + " LMTP ready"}}); err != nil {
		return err
	}
	for {
		if ss.br.Buffered() == 0 {
			if err := ss.bw.Flush(); err != nil {
				return err
			}
		}
		line, err := ss.readLine()
		if err != nil {
			var r *proto.Reply
			if errors.As(err, &r) {
				if err := ss.reply(r); err != nil {
					return err
				}
				continue
			}
			return err
		}
		cmd, err := proto.Parse(line)
		if err != nil {
			var r *proto.Reply
			if !errors.As(err, &r) {
				return err
			}
			if err := ss.reply(r); err != nil {
				return err
			}
			continue
		}
		quit, err := ss.run(cmd)
		if err != nil {
			return err
		}
		if quit {
			return ss.bw.Flush()
		}
	}
}

// readLine reads one command line without its CRLF. A line over
// proto.MaxLine is skipped and answered with a 500 reply.
func (ss *session) readLine() (string, error) {
	var long bool
	var b []byte
	for {
		chunk, err := ss.br.ReadSlice('\n')
		if len(b)+len(chunk) > proto.MaxLine {
			long = true
		} else {
			b = append(b, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if err == io.EOF && len(b) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		break
	}
	if long {
		return "", proto.R(500, "5.5.2", "Line too long")
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	return s, nil
}

// reset ends the transaction.
func (ss *session) reset() {
	ss.sender, ss.rcpts, ss.binary, ss.size = nil, nil, false, 0
}

// run executes one command; quit when the session ends.
func (ss *session) run(cmd *proto.Command) (quit bool, err error) {
	switch cmd.Verb {
	case proto.LHLO:
		ss.reset()
		ss.lhlo = cmd.Arg
		return false, ss.reply(ss.capabilities())
	case proto.MAIL:
		return false, ss.reply(ss.mail(cmd))
	case proto.RCPT:
		return false, ss.reply(ss.rcpt(cmd))
	case proto.DATA:
		return false, ss.data()
	case proto.BDAT:
		return ss.bdat(cmd)
	case proto.RSET:
		ss.reset()
		return false, ss.reply(proto.R(250, "2.0.0", "ok"))
	case proto.NOOP:
		return false, ss.reply(proto.R(250, "2.0.0", "ok"))
	case proto.VRFY:
		return false, ss.reply(proto.R(252, "2.3.3", "try RCPT to attempt delivery"))
	case proto.QUIT:
		return true, ss.reply(proto.R(221, "2.0.0", "bye"))
	case proto.STARTTLS:
		return false, ss.startTLS()
	}
	return false, ss.reply(proto.ErrSyntax("Unrecognized command"))
}

// capabilities is LHLO's reply (RFC 2033 4.1; the extensions of RFC
// 1652, 1870, 2034, 2920 and 3207).
func (ss *session) capabilities() *proto.Reply {
	lines := []string{ss.srv.opts.ServerName, "8BITMIME", "BINARYMIME", "CHUNKING", "ENHANCEDSTATUSCODES", "PIPELINING",
		"SIZE " + strconv.FormatInt(ss.srv.maxMessage(), 10)}
	if ss.c.CanStartTLS() {
		lines = append(lines, "STARTTLS")
	}
	return &proto.Reply{Code: 250, Text: lines}
}

func (s *Server) maxMessage() int64 {
	if s.opts.MaxMessageSize > 0 {
		return s.opts.MaxMessageSize
	}
	return app.DefaultMaxMessage
}

func (ss *session) mail(cmd *proto.Command) *proto.Reply {
	if ss.lhlo == "" {
		return proto.R(503, "5.5.1", "Send LHLO first")
	}
	if ss.sender != nil {
		return proto.R(503, "5.5.1", "Nested MAIL command")
	}
	binary, size := false, int64(0)
	for k, v := range cmd.Params {
		switch k {
		case "SIZE":
			// RFC 1870: the declared size, refused at once when too big.
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return proto.ErrArgs("Bad SIZE parameter")
			}
			if n > ss.srv.maxMessage() {
				return proto.TooBigDeclared(ss.srv.maxMessage())
			}
			size = n
		case "BODY":
			// RFC 1652: 7BIT and 8BITMIME are stored alike; RFC 3030
			// BINARYMIME too, since the store takes binary parts.
			switch strings.ToUpper(v) {
			case "7BIT", "8BITMIME":
			case "BINARYMIME":
				binary = true
			default:
				return proto.R(555, "5.5.4", "Unsupported BODY type")
			}
		case "AUTH":
			// RFC 4954 5: a server that did not authenticate the client
			// treats the identity as <>, which is what we do anyway.
		default:
			return proto.R(555, "5.5.4", "Unsupported parameter %s", k)
		}
	}
	sender := cmd.Path
	ss.sender, ss.binary, ss.size = &sender, binary, size
	return proto.R(250, "2.1.0", "ok")
}

func (ss *session) rcpt(cmd *proto.Command) *proto.Reply {
	if ss.sender == nil {
		return proto.R(503, "5.5.1", "Need MAIL command")
	}
	if len(cmd.Params) > 0 {
		for k := range cmd.Params {
			return proto.R(555, "5.5.4", "Unsupported parameter %s", k)
		}
	}
	if len(ss.rcpts) >= maxRecipients {
		return proto.R(452, "4.5.3", "Too many recipients")
	}
	to, err := proto.ParseRecipient(cmd.Path, ss.srv.opts.DowncaseRcpt)
	if err != nil {
		var r *proto.Reply
		if errors.As(err, &r) {
			return r
		}
		return proto.TempFail
	}
	r, err := ss.srv.resolve(ss.ctx, to, "")
	if err != nil {
		return ss.srv.failure(err)
	}
	if err := ss.srv.checkQuota(ss.ctx, r.user, ss.size); err != nil {
		return ss.srv.failure(err)
	}
	ss.rcpts = append(ss.rcpts, r)
	return proto.RcptOK
}

// startTLS upgrades the connection (RFC 3207) and forgets the session's
// state, LHLO included (section 4.2).
func (ss *session) startTLS() error {
	if !ss.c.CanStartTLS() {
		return ss.reply(proto.R(454, "4.7.0", "TLS not available"))
	}
	if err := ss.reply(proto.R(220, "2.0.0", "Ready to start TLS")); err != nil {
		return err
	}
	if err := ss.bw.Flush(); err != nil {
		return err
	}
	// RFC 3207 4.2 (and CVE-2011-0411): what the client sent after
	// STARTTLS in the clear is not taken as if it came over TLS.
	if ss.br.Buffered() > 0 {
		return fmt.Errorf("%w: commands pipelined after STARTTLS", io.ErrUnexpectedEOF)
	}
	if err := ss.c.StartTLS(ss.ctx); err != nil {
		return err
	}
	ss.br.Reset(ss.tr) // the timed reader reads ss.c, now over TLS
	ss.bw.Reset(ss.c)
	ss.reset()
	ss.lhlo = ""
	return nil
}

// clientHost is the Received field's view of the peer, as Cyrus writes it:
// "[ip]", or "[unix socket]" for a local client.
func (ss *session) clientHost() string {
	remote := ss.c.RemoteAddr()
	host, _, err := net.SplitHostPort(remote)
	if err != nil || host == "" {
		return "[unix socket]"
	}
	return "[" + host + "]"
}

// failure maps an error of a recipient's delivery to its reply: the one
// place where store errors become LMTP replies.
func (s *Server) failure(err error) *proto.Reply {
	var r *proto.Reply
	switch {
	case errors.As(err, &r):
		return r
	case errors.Is(err, errUnknownUser):
		return proto.UnknownUser
	case errors.Is(err, imap.ErrTooBig):
		return proto.TooBig(-1, s.maxMessage())
	case errors.Is(err, imap.ErrOverQuota):
		// At RCPT (checkQuota) or from the Store's Append, which
		// refuses a message the quota cannot take;
		// lmtp_over_quota_perm_failure picks Cyrus's permanent reply.
		if s.opts.OverQuotaPermFailure {
			return proto.R(552, "5.2.2", "Over quota")
		}
		return proto.R(452, "4.2.2", "Over quota")
	case errors.Is(err, errBadContent):
		return proto.R(554, "5.6.0", "Message contains invalid content")
	}
	return proto.TempFail
}
