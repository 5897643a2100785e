package lmtp

import (
	"fmt"
	"strconv"
	"strings"
)

// Reply is one server reply: a three-digit code, the RFC 3463 enhanced
// status code (empty for the greeting and LHLO's reply, RFC 2034 section
// 3) and one or more lines of text. A *Reply is also the error a step
// returns when it refuses something, so that one place writes it.
type Reply struct {
	Code   int
	Status string
	Text   []string
	// StatusLast writes Status on the last line only, as Cyrus words
	// its unknown-user reply.
	StatusLast bool
}

func (r *Reply) Error() string {
	return strconv.Itoa(r.Code) + " " + r.Status + " " + strings.Join(r.Text, " ")
}

// Temporary reports a 4xx reply.
func (r *Reply) Temporary() bool { return r.Code >= 400 && r.Code < 500 }

// Bytes is the reply on the wire: "code-" on every line but the last,
// "code " on the last, each with the enhanced code when there is one
// (RFC 2034 section 3: on every line of a multiline reply), unless
// StatusLast.
func (r *Reply) Bytes() []byte {
	var b []byte
	text := r.Text
	if len(text) == 0 {
		text = []string{""}
	}
	for i, t := range text {
		b = strconv.AppendInt(b, int64(r.Code), 10)
		if i < len(text)-1 {
			b = append(b, '-')
		} else {
			b = append(b, ' ')
		}
		if r.Status != "" && (!r.StatusLast || i == len(text)-1) {
			b = append(b, r.Status...)
			if t != "" {
				b = append(b, ' ')
			}
		}
		b = append(b, t...)
		b = append(b, '\r', '\n')
	}
	return b
}

// R makes a one-line reply.
func R(code int, status, format string, args ...any) *Reply {
	text := format
	if len(args) > 0 {
		text = fmt.Sprintf(format, args...)
	}
	return &Reply{Code: code, Status: status, Text: []string{text}}
}

// ErrSyntax is a command line that cannot be read (500 5.5.2).
func ErrSyntax(text string) *Reply { return R(500, "5.5.2", "%s", text) }

// ErrArgs is a command whose arguments cannot be read (501 5.5.4).
func ErrArgs(text string) *Reply { return R(501, "5.5.4", "%s", text) }

// The replies of a delivery, as Cyrus's lmtpd words them
// (CYRUS-COMPAT section 8).
var (
	// RcptOK accepts a recipient.
	RcptOK = R(250, "2.1.5", "ok")
	// UnknownUser refuses a recipient who has no mailbox here.
	UnknownUser = &Reply{Code: 550, Status: "5.1.1", StatusLast: true, Text: []string{
		"Mailbox unknown.  Either there is no mailbox associated with this",
		"name or you do not have authorization to see it.",
		"User unknown",
	}}
	// BadSequence is a command out of order (RFC 5321 4.1.4).
	BadSequence = R(503, "5.5.1", "Bad sequence of commands")
	// TempFail is a fault of ours: try again later, nothing was stored.
	TempFail = R(451, "4.3.0", "Temporary failure, try again later")
)

// TooBig is the reply for a message over the size limit (RFC 3463
// X.2.3: message length exceeds administrative limit).
func TooBig(size, limit int64) *Reply {
	if size < 0 {
		return R(552, "5.2.3", "Message size exceeds fixed maximum message size (%d)", limit)
	}
	return R(552, "5.2.3", "Message size (%d) exceeds fixed maximum message size (%d)", size, limit)
}

// TooBigDeclared is MAIL's reply to a SIZE parameter over the limit (RFC
// 1870 6.1), as Cyrus words it.
func TooBigDeclared(limit int64) *Reply {
	return R(552, "5.2.3", "Message SIZE exceeds fixed maximum message size (%d)", limit)
}

// Delivered is the reply for one recipient whose copy is stored.
func Delivered(sessionID string) *Reply {
	return R(250, "2.1.5", "Success SESSIONID=<%s>", sessionID)
}
