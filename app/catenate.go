package app

import (
	"errors"
	"fmt"
	"io"

	"github.com/imapd-go/imapd/domain/grammar"
)

// catReader reads one CATENATE message (RFC 4469) part after part, as the
// parser hands them out: TEXT literals straight from the connection, URL
// parts from the store through the same BODY[section] code as FETCH. A
// URL that names nothing ends the read with a *catURLError, so the message
// is never stored.
type catReader struct {
	c    *conn
	cur  io.Reader
	part *urlPart
	done bool
}

// catURLError is a CATENATE URL part that failed; err is errBadURL or the
// store's error.
type catURLError struct {
	url string
	err error
}

func (e *catURLError) Error() string { return e.url + ": " + e.err.Error() }
func (e *catURLError) Unwrap() error { return e.err }

func (r *catReader) Read(b []byte) (int, error) {
	for {
		if r.cur != nil {
			n, err := r.cur.Read(b)
			if err == io.EOF {
				r.closePart()
				if n > 0 {
					return n, nil
				}
				continue
			}
			if err != nil && r.part == nil {
				// A TEXT literal, cut short: the connection broke.
				err = fmt.Errorf("%w: reading CATENATE literal: %v", errConnection, err)
			}
			return n, err
		}
		if r.done {
			return 0, io.EOF
		}
		part, err := r.c.p.NextCatPart()
		var pe *grammar.Error
		if err != nil && !errors.As(err, &pe) {
			return 0, fmt.Errorf("%w: reading CATENATE: %v", errConnection, err)
		}
		if err != nil {
			return 0, err
		}
		if part == nil {
			r.done = true
			return 0, io.EOF
		}
		if part.URL == "" {
			r.cur = part.Body
			continue
		}
		up, err := r.c.openCatURL(part.URL)
		if err != nil {
			return 0, &catURLError{part.URL, err}
		}
		rd, _, err := up.section()
		if err != nil {
			up.Close()
			return 0, &catURLError{part.URL, err}
		}
		r.cur, r.part = rd, up
	}
}

func (r *catReader) closePart() {
	if r.part != nil {
		r.part.Close()
		r.part = nil
	}
	r.cur = nil
}

// catError turns a failed CATENATE message into the command's answer,
// reading off the wire what the client still sends of the command (a
// synchronizing literal still to come is never continued, RFC 4469
// section 5 lets the server answer early).
func (c *conn) catError(err error) error {
	if errors.Is(err, errConnection) {
		return err
	}
	if derr := c.p.DiscardCommand(); derr != nil {
		return fmt.Errorf("%w: %v", errConnection, derr)
	}
	var ue *catURLError
	if errors.As(err, &ue) && errors.Is(ue.err, errBadURL) {
		return badURL(ue.url)
	}
	if ue != nil {
		return ue.err
	}
	return err
}
