package lmtp

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	proto "github.com/imapd-go/imapd/domain/lmtp"
)

// errAbandoned ends a BDAT transfer that a command other than BDAT
// interrupted: nothing is stored and the command runs on its own.
var errAbandoned = errors.New("BDAT transfer abandoned")

// bdat takes one chunk of a message (RFC 3030 CHUNKING): the first starts
// the message, each one but the last is answered "250 ... octets
// received", and the last gets the per-recipient replies of LMTP (RFC
// 2033 4.2), as DATA's end does.
func (ss *session) bdat(cmd *proto.Command) (quit bool, err error) {
	if ss.sender == nil || len(ss.rcpts) == 0 {
		// The chunk is on the wire: read it, then refuse it (the
		// replies held so far go first: RFC 2920 3.1).
		if err := ss.bw.Flush(); err != nil {
			return false, err
		}
		if _, err := io.CopyN(io.Discard, ss.br, cmd.Size); err != nil {
			return false, err
		}
		why := "Need MAIL command"
		if ss.sender != nil {
			why = "No recipients"
		}
		if cmd.Last {
			ss.reset()
		}
		return false, ss.reply(proto.R(503, "5.5.1", "%s", why))
	}
	c := &chunks{ss: ss, remaining: cmd.Size, last: cmd.Last}
	err = ss.receive(c, func() error {
		_, err := io.Copy(io.Discard, c)
		return err
	})
	if errors.Is(err, errAbandoned) {
		ss.reset()
		if c.next == nil {
			return false, nil // a line that could not be read, answered
		}
		return ss.run(c.next)
	}
	return false, err
}

// chunks reads a message sent in BDAT chunks: the current chunk's bytes,
// then, at its end, the next BDAT command (answering the chunk before),
// until the LAST one ends.
type chunks struct {
	ss        *session
	remaining int64
	total     int64
	last      bool
	next      *proto.Command // the command that abandoned the transfer, if it could be read
	err       error
}

func (c *chunks) Read(p []byte) (int, error) {
	for c.remaining == 0 {
		if c.last {
			return 0, io.EOF
		}
		if c.err != nil {
			return 0, c.err
		}
		c.err = c.nextChunk()
	}
	if int64(len(p)) > c.remaining {
		p = p[:c.remaining]
	}
	// Never wait for the client with replies held back (RFC 2920 3.1):
	// it may be waiting for them.
	if c.ss.br.Buffered() == 0 {
		if err := c.ss.bw.Flush(); err != nil {
			c.err = err
			return 0, err
		}
	}
	n, err := c.ss.br.Read(p)
	c.remaining -= int64(n)
	c.total += int64(n)
	if err != nil && c.remaining > 0 {
		c.err = fmt.Errorf("%w: BDAT chunk cut short", io.ErrUnexpectedEOF)
		c.remaining = 0
		return n, c.err
	}
	return n, nil
}

// nextChunk answers the chunk just read and reads the next command,
// flushing the replies first if no command is waiting (RFC 2920).
func (c *chunks) nextChunk() error {
	ss := c.ss
	if err := ss.reply(proto.R(250, "2.0.0", "%s octets received", strconv.FormatInt(c.total, 10))); err != nil {
		return err
	}
	if ss.br.Buffered() == 0 {
		if err := ss.bw.Flush(); err != nil {
			return err
		}
	}
	line, err := ss.readLine()
	if err != nil {
		var r *proto.Reply
		if errors.As(err, &r) {
			ss.reply(r)
			return errAbandoned
		}
		return err
	}
	cmd, err := proto.Parse(line)
	if err != nil {
		var r *proto.Reply
		if errors.As(err, &r) {
			ss.reply(r)
		}
		return errAbandoned
	}
	if cmd.Verb != proto.BDAT {
		c.next = cmd
		return errAbandoned
	}
	c.remaining, c.last = cmd.Size, cmd.Last
	return nil
}
