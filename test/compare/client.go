package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// client is the smallest IMAP client the measurements need: tagged
// commands, answers read to their tagged line with every literal skipped
// (RFC 9051 section 4.3: a literal is "{" number "}" CRLF then that many
// octets, and the response line goes on after it).
type client struct {
	c   net.Conn
	r   *bufio.Reader
	w   *bufio.Writer
	tag int
}

// response is what one command got back.
type response struct {
	status string   // OK, NO or BAD
	tagged string   // the tagged line, without CRLF
	kept   []string // untagged lines that start with the prefix asked for
	octets int64    // every octet read, literals included
}

func dial(addr string, timeout time.Duration) (*client, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	cl := &client{c: c, r: bufio.NewReaderSize(c, 256<<10), w: bufio.NewWriterSize(c, 64<<10)}
	c.SetDeadline(time.Now().Add(timeout))
	// The greeting; anything untagged a server sends before it (Dovecot's
	// "Waiting for authentication process") is read with the first answer.
	l, err := cl.r.ReadString('\n')
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if !strings.HasPrefix(l, "* OK") && !strings.HasPrefix(l, "* PREAUTH") {
		c.Close()
		return nil, fmt.Errorf("greeting %q", strings.TrimSpace(l))
	}
	return cl, nil
}

func (cl *client) Close() error { return cl.c.Close() }

// login dials addr and logs in as user.
func login(addr, user, pass string, timeout time.Duration) (*client, error) {
	cl, err := dial(addr, timeout)
	if err != nil {
		return nil, err
	}
	if _, err := cl.ok(timeout, "", "LOGIN %s %s", user, pass); err != nil {
		cl.Close()
		return nil, err
	}
	return cl, nil
}

// ok runs a command and wants OK.
func (cl *client) ok(timeout time.Duration, keep, format string, args ...any) (*response, error) {
	r, err := cl.run(timeout, keep, format, args...)
	if err == nil && r.status != "OK" {
		err = fmt.Errorf("%s: %s", strings.Fields(fmt.Sprintf(format, args...))[0], r.tagged)
	}
	return r, err
}

// run sends one command line and reads its answer.
func (cl *client) run(timeout time.Duration, keep, format string, args ...any) (*response, error) {
	cl.tag++
	tag := "t" + strconv.Itoa(cl.tag)
	cl.c.SetDeadline(time.Now().Add(timeout))
	fmt.Fprintf(cl.w, "%s %s\r\n", tag, fmt.Sprintf(format, args...))
	if err := cl.w.Flush(); err != nil {
		return nil, err
	}
	return cl.read(tag, keep)
}

// appendMsg APPENDs msg to mailbox with a synchronizing literal, which
// every server takes, and returns the tagged line.
func (cl *client) appendMsg(timeout time.Duration, mailbox string, msg []byte) (*response, error) {
	cl.tag++
	tag := "t" + strconv.Itoa(cl.tag)
	cl.c.SetDeadline(time.Now().Add(timeout))
	fmt.Fprintf(cl.w, "%s APPEND %s {%d}\r\n", tag, mailbox, len(msg))
	if err := cl.w.Flush(); err != nil {
		return nil, err
	}
	for {
		l, err := cl.r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(l, "+") {
			break
		}
		if strings.HasPrefix(l, tag+" ") {
			return nil, fmt.Errorf("APPEND: %s", strings.TrimSpace(l))
		}
	}
	cl.w.Write(msg)
	cl.w.WriteString("\r\n")
	if err := cl.w.Flush(); err != nil {
		return nil, err
	}
	r, err := cl.read(tag, "")
	if err == nil && r.status != "OK" {
		err = fmt.Errorf("APPEND: %s", r.tagged)
	}
	return r, err
}

var literalAtEnd = regexp.MustCompile(`~?\{(\d+)\+?\}\r\n$`)

// literalEnd is how every line that literalAtEnd matches ends.
var literalEnd = []byte("}\r\n")

// read reads lines until the one tagged tag.
func (cl *client) read(tag, keep string) (*response, error) {
	resp := &response{}
	var line []byte // the current response line, literals left out
	for {
		seg, err := cl.r.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) {
			line = append(line, seg...)
			resp.octets += int64(len(seg))
			seg, err = cl.r.ReadSlice('\n')
		}
		if err != nil {
			return nil, err
		}
		resp.octets += int64(len(seg))
		// The regular expression only where a literal may start: run on
		// every line, it cost the client more than the servers spend on
		// a FETCH ENVELOPE or FLAGS line, and the table measured it.
		if bytes.HasSuffix(seg, literalEnd) {
			if m := literalAtEnd.FindSubmatch(seg); m != nil {
				n, _ := strconv.ParseInt(string(m[1]), 10, 64)
				if keep != "" && len(line) < 4096 {
					line = append(line, seg...)
				} else if len(line) == 0 {
					line = append(line, seg[:min(len(seg), 64)]...)
				}
				if _, err := io.CopyN(io.Discard, cl.r, n); err != nil {
					return nil, err
				}
				resp.octets += n
				continue
			}
		}
		line = append(line, seg...)
		if bytes.HasPrefix(line, []byte(tag+" ")) {
			resp.tagged = strings.TrimRight(string(line), "\r\n")
			f := strings.Fields(resp.tagged)
			if len(f) > 1 {
				resp.status = strings.ToUpper(f[1])
			}
			return resp, nil
		}
		if keep != "" && bytes.HasPrefix(line, []byte(keep)) {
			resp.kept = append(resp.kept, strings.TrimRight(string(line), "\r\n"))
		}
		line = line[:0]
	}
}

var appendUID = regexp.MustCompile(`\[APPENDUID \d+ (\d+)\]`)
