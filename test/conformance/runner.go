package conformance

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Target is a server the corpus runs against.
type Target struct {
	Name string
	// Dial opens a new connection; the server sends its greeting first.
	Dial func() (net.Conn, error)
	// Timeout bounds each wait for a server line (default 5 s).
	Timeout time.Duration
}

// Options of one run of one transcript.
type Options struct {
	User, Password string
	// Diffs are the intended differences of the target: the expectations
	// that replace the transcript's for a block, by block key (see
	// Block.Keys). Nil for our own servers.
	Diffs map[string]*Difference
}

// Report is the outcome of one transcript on one target.
type Report struct {
	// Failure describes every block answered otherwise than expected (and
	// not listed), one after the other, and the error that stopped the
	// transcript, if any. Empty when the transcript passed.
	Failure string
	// Used are the keys of the differences that occurred as listed.
	Used []string
	// Stale are the keys of listed differences whose block answered as
	// the transcript expects.
	Stale []string
	// Trace is the whole exchange, both ways, one "Cn: "/"Sn: " line per
	// line on the wire (the setup connection is 0).
	Trace string
}

// Keys returns the keys a difference may use for the block: "name tag#k"
// and, for the block with the tagged response, "name tag".
func (b *Block) Keys(name string) []string {
	keys := []string{fmt.Sprintf("%s %s#%d", name, b.Tag, b.Index)}
	if b.Final {
		keys = append(keys, name+" "+b.Tag)
	}
	return keys
}

// conn is one client connection of a run.
type conn struct {
	c       net.Conn
	r       *bufio.Reader
	timeout time.Duration
	pending []string // responses read ahead (while waiting for a "+")
	closed  bool     // the server closed the connection
	id      int
	trace   *strings.Builder
}

// closedLine stands for the end of the connection in a block's responses.
const closedLine = "{closed}"

var respLiteral = regexp.MustCompile(`~?\{([0-9]+)\}$`)

// read returns the next response, rendered.
func (c *conn) read() (string, error) {
	if len(c.pending) > 0 {
		l := c.pending[0]
		c.pending = c.pending[1:]
		return l, nil
	}
	c.c.SetReadDeadline(time.Now().Add(c.timeout))
	var b []byte
	for {
		line, err := c.r.ReadBytes('\n')
		if err != nil {
			if len(b)+len(line) > 0 {
				return render(append(b, line...)), fmt.Errorf("response cut short: %w", err)
			}
			return "", err
		}
		line = line[:len(line)-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		b = append(b, line...)
		m := respLiteral.FindSubmatch(line)
		if m == nil || (len(b) > 0 && b[0] == '+') {
			fmt.Fprintf(c.trace, "S%d: %s\n", c.id, render(b))
			return render(b), nil
		}
		n, _ := strconv.Atoi(string(m[1]))
		data := make([]byte, n)
		if _, err := io.ReadFull(c.r, data); err != nil {
			return render(b), fmt.Errorf("literal cut short: %w", err)
		}
		b = append(b, '\r', '\n')
		b = append(b, data...)
	}
}

func (c *conn) write(s string) error {
	c.c.SetWriteDeadline(time.Now().Add(c.timeout))
	fmt.Fprintf(c.trace, "C%d: %s\n", c.id, render([]byte(s)))
	_, err := io.WriteString(c.c, s)
	return err
}

// command sends one command line and reads up to its tagged response,
// which it returns.
func (c *conn) command(tag, text string) (string, error) {
	if err := c.write(tag + " " + text + "\r\n"); err != nil {
		return "", err
	}
	return c.until(tag)
}

func (c *conn) until(tag string) (string, error) {
	for {
		l, err := c.read()
		if err != nil {
			return l, err
		}
		if strings.HasPrefix(l, tag+" ") {
			return l, nil
		}
	}
}

// run is the state of one transcript on one target.
type run struct {
	s     *Script
	t     Target
	o     Options
	conns map[int]*conn
	vars  map[string]string
	rep   Report
	trace strings.Builder
}

// Run runs the transcript s against t.
func Run(s *Script, t Target, o Options) Report {
	_, rep := runVars(s, t, o)
	return rep
}

// runVars runs the transcript and returns its variables at the end too.
func runVars(s *Script, t Target, o Options) (vars map[string]string, rep Report) {
	if t.Timeout == 0 {
		t.Timeout = 5 * time.Second
	}
	r := &run{s: s, t: t, o: o, conns: map[int]*conn{}, vars: map[string]string{
		"user": o.User,
		"pass": o.Password,
		// SASL PLAIN's initial response (RFC 4616) for the user.
		"plain": base64.StdEncoding.EncodeToString([]byte("\x00" + o.User + "\x00" + o.Password)),
		// The user name and the password in base64, for AUTHENTICATE LOGIN.
		"user64": base64.StdEncoding.EncodeToString([]byte(o.User)),
		"pass64": base64.StdEncoding.EncodeToString([]byte(o.Password)),
	}}
	defer func() {
		for _, c := range r.conns {
			c.c.Close()
		}
	}()
	defer func() {
		rep = r.rep
		rep.Trace = r.trace.String()
		vars = r.vars
	}()
	if err := r.setup(); err != nil {
		r.rep.Failure = "setup: " + err.Error()
		return
	}
	for _, b := range s.Blocks {
		if c := r.conns[b.Conn]; c != nil && c.closed {
			// A listed difference ended the connection: the rest of the
			// transcript cannot be compared.
			if r.o.Diffs != nil && len(r.rep.Used) > 0 {
				break
			}
			r.rep.Failure = fmt.Sprintf("%s:%d: the server closed connection %d", s.Path, b.Line, b.Conn)
			break
		}
		if err := r.block(b); err != nil {
			if r.rep.Failure != "" {
				r.rep.Failure += "\n"
			}
			r.rep.Failure += fmt.Sprintf("%s:%d: %v", s.Path, b.Line, err)
			// After a block that answered otherwise, the session goes on
			// (the rest may still be compared); after a broken exchange,
			// it cannot.
			var m *mismatch
			if !errors.As(err, &m) || m.broken {
				break
			}
		}
	}
	return
}

// dial opens a connection and reads the greeting, unless the transcript
// matches it itself.
func (r *run) dial(id int, greeting bool) (*conn, error) {
	nc, err := r.t.Dial()
	if err != nil {
		return nil, err
	}
	c := &conn{c: nc, r: bufio.NewReaderSize(nc, 64<<10), timeout: r.t.Timeout, id: id, trace: &r.trace}
	if !greeting {
		if g, err := c.read(); err != nil || !strings.HasPrefix(g, "* OK") && !strings.HasPrefix(g, "* PREAUTH") {
			nc.Close()
			return nil, fmt.Errorf("greeting %q: %v", g, err)
		}
	}
	return c, nil
}

func (r *run) login(c *conn) error {
	l, err := c.command("L0", "LOGIN "+r.o.User+" "+quote(r.o.Password))
	if err != nil {
		return err
	}
	if !strings.HasPrefix(l, "L0 OK") {
		return fmt.Errorf("LOGIN %s: %s", r.o.User, l)
	}
	return nil
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// setup establishes the preconditions on a connection of its own.
func (r *run) setup() error {
	if len(r.s.Setup) == 0 {
		return nil
	}
	c, err := r.dial(0, false)
	if err != nil {
		return err
	}
	defer c.c.Close()
	if err := r.login(c); err != nil {
		return err
	}
	for i, st := range r.s.Setup {
		tag := fmt.Sprintf("P%d", i)
		var l string
		switch st.Op {
		case "create":
			l, err = c.command(tag, "CREATE "+st.Mailbox)
		case "subscribe":
			l, err = c.command(tag, "SUBSCRIBE "+st.Mailbox)
		case "append":
			var data []byte
			data, err = os.ReadFile(st.File)
			if err != nil {
				return err
			}
			cmd := tag + " APPEND " + st.Mailbox
			if st.Flags != "" {
				cmd += " " + st.Flags
			}
			if st.Date != "" {
				cmd += " " + st.Date
			}
			if err = c.write(fmt.Sprintf("%s {%d}\r\n", cmd, len(data))); err != nil {
				return err
			}
			if l, err = c.read(); err != nil || !strings.HasPrefix(l, "+") {
				return fmt.Errorf("line %d: APPEND: %q %v", st.Line, l, err)
			}
			if err = c.write(string(data) + "\r\n"); err != nil {
				return err
			}
			l, err = c.until(tag)
		}
		if err != nil {
			return fmt.Errorf("line %d: %s: %v", st.Line, st.Op, err)
		}
		if !strings.HasPrefix(l, tag+" OK") {
			return fmt.Errorf("line %d: %s %s: %s", st.Line, st.Op, st.Mailbox, l)
		}
	}
	c.command("P", "LOGOUT")
	return nil
}

// connFor returns connection n, opening it (and logging in) at its first
// use; a connection whose first block is a server block matches the
// greeting there.
func (r *run) connFor(n int, first *Block) (*conn, error) {
	if c := r.conns[n]; c != nil {
		return c, nil
	}
	c, err := r.dial(n, !first.Client)
	if err != nil {
		return nil, err
	}
	r.conns[n] = c
	if r.s.Login {
		if !first.Client {
			// The greeting first, then the login.
			return c, nil
		}
		if err := r.login(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

var varRef = regexp.MustCompile(`\{\$([A-Za-z0-9_]+)\}`)

func (r *run) subst(s string) (string, error) {
	var err error
	out := varRef.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := r.vars[name]
		if !ok {
			err = fmt.Errorf("{$%s} has no value", name)
		}
		return v
	})
	return out, err
}

func (r *run) block(b *Block) error {
	greeting := r.conns[b.Conn] == nil && !b.Client
	c, err := r.connFor(b.Conn, b)
	if err != nil {
		return err
	}
	if b.Client {
		return r.send(c, b)
	}
	err = r.expect(c, b)
	if greeting && r.s.Login && err == nil {
		return r.login(c)
	}
	return err
}

// send writes a client block; before the data of each synchronizing
// literal it waits for the server's "+". When the server answers with a
// tagged response instead, the rest of that command is not sent.
func (r *run) send(c *conn, b *Block) error {
	skip := false
	for k, snd := range b.Sends {
		if snd.Continue && skip {
			continue
		}
		skip = false
		text, err := r.subst(snd.Text)
		if err != nil {
			return err
		}
		next := k+1 < len(b.Sends) && b.Sends[k+1].Continue
		lit := snd.Literal
		if lit == nil {
			if next {
				return fmt.Errorf("line %d: C+: follows a line without a literal", b.Sends[k+1].Line)
			}
			if err := c.write(text + "\r\n"); err != nil {
				return err
			}
			continue
		}
		var data strings.Builder
		for _, d := range lit.Data {
			t, err := r.subst(d.Text)
			if err != nil {
				return err
			}
			if d.Escaped {
				if t, err = unescape(t); err != nil {
					return err
				}
				data.WriteString(t)
			} else {
				data.WriteString(t + "\r\n")
			}
		}
		size := lit.Size
		if size == "#" {
			size = strconv.Itoa(data.Len())
		} else if n, _ := strconv.Atoi(size); lit.HasData && n != data.Len() {
			return fmt.Errorf("line %d: literal of %d bytes announced as {%s}", snd.Line, data.Len(), size)
		}
		plus := ""
		if lit.NonSync {
			plus = "+"
		}
		if err := c.write(text + lit.Prefix + "{" + size + plus + "}\r\n"); err != nil {
			return err
		}
		if !lit.HasData {
			skip = true
			continue
		}
		if !lit.NonSync {
			refused, err := c.awaitContinuation()
			if err != nil {
				return err
			}
			if refused {
				skip = true
				continue
			}
		}
		tail := ""
		if !next {
			tail = "\r\n"
		}
		if err := c.write(data.String() + tail); err != nil {
			return err
		}
	}
	return nil
}

// awaitContinuation reads until a "+" (true: go on) or a tagged response
// (the server refused the literal); other responses are kept for the
// next server block.
func (c *conn) awaitContinuation() (refused bool, err error) {
	var kept []string
	defer func() { c.pending = append(kept, c.pending...) }()
	for {
		l, err := c.read()
		if err != nil {
			return false, fmt.Errorf("waiting for a continuation: %v", err)
		}
		if l == "+" || strings.HasPrefix(l, "+ ") {
			return false, nil
		}
		kept = append(kept, l)
		if !strings.HasPrefix(l, "* ") {
			return true, nil
		}
	}
}

// expect reads the responses of a server block and matches them.
func (r *run) expect(c *conn, b *Block) error {
	exps := b.Expect
	var diff *Difference
	var diffKey string
	for _, k := range b.Keys(r.s.Name) {
		if d := r.o.Diffs[k]; d != nil {
			diff, diffKey = d, k
			exps = d.Expect
			break
		}
	}
	lines, rerr := c.readBlock(exps, b.Ordered, r.vars, b.Tag)
	if diff != nil {
		if _, ok := MatchBlock(b.Expect, lines, b.Ordered, r.vars); ok && rerr == nil {
			r.rep.Stale = append(r.rep.Stale, diffKey)
			return nil
		}
	}
	vars, ok := MatchBlock(exps, lines, b.Ordered, r.vars)
	if !ok || rerr != nil {
		var msg strings.Builder
		if diff != nil {
			fmt.Fprintf(&msg, "%s answered neither as the transcript nor as its listed difference %q\n", r.t.Name, diffKey)
		} else {
			fmt.Fprintf(&msg, "%s: %s answered differently (key %q)\n", r.t.Name, r.s.Name, b.Keys(r.s.Name)[len(b.Keys(r.s.Name))-1])
		}
		msg.WriteString("  expected:\n")
		for _, e := range exps {
			fmt.Fprintf(&msg, "    %s\n", e.source())
		}
		msg.WriteString("  got:\n")
		for _, l := range lines {
			fmt.Fprintf(&msg, "    S: %s\n", l)
		}
		if rerr != nil {
			fmt.Fprintf(&msg, "  then: %v\n", rerr)
		}
		if r.o.Diffs != nil && diff == nil && rerr == nil {
			// A starting point for the differences file: values that
			// change from run to run want a wildcard.
			keys := b.Keys(r.s.Name)
			fmt.Fprintf(&msg, "  if intended, list it (with wildcards for changing values):\n    %s\n", keys[len(keys)-1])
			for _, l := range lines {
				fmt.Fprintf(&msg, "      S: %s\n", l)
			}
			msg.WriteString("      reason: ...\n")
		}
		return &mismatch{text: strings.TrimRight(msg.String(), "\n"), broken: rerr != nil}
	}
	if diff != nil {
		r.rep.Used = append(r.rep.Used, diffKey)
	}
	r.vars = vars
	return nil
}

// mismatch is a block answered otherwise than expected; broken when the
// exchange itself failed (a timeout, the connection lost).
type mismatch struct {
	text   string
	broken bool
}

func (m *mismatch) Error() string { return m.text }

func (e *Expect) source() string {
	p := "S"
	switch {
	case e.Kind != ' ':
		p += string(e.Kind)
	case e.Strict:
		p += "="
	}
	return p + ": " + e.Pattern
}

// readBlock reads the responses of one server block: up to as many
// terminators (tagged responses, "+") as the block expects, or up to the
// block's tagged response; a block without any reads until its lines
// match.
func (c *conn) readBlock(exps []Expect, ordered bool, vars map[string]string, tag string) ([]string, error) {
	want := 0
	finalTag, closed := false, false
	for i := range exps {
		if exps[i].IsTerminator() {
			want++
			if tag != "" && strings.HasPrefix(exps[i].Pattern, tag+" ") {
				finalTag = true
			}
			closed = closed || exps[i].Pattern == closedLine
		}
	}
	// A block that expects the end of the connection reads up to it.
	finalTag = finalTag && !closed
	var lines []string
	seen := 0
	for {
		if want == 0 && len(lines) > 0 {
			if _, ok := MatchBlock(exps, lines, ordered, vars); ok {
				return c.lingering(exps, lines, ordered, vars), nil
			}
			if !anyMatches(exps, lines[len(lines)-1], vars) {
				return lines, errors.New("a response no line of the block matches")
			}
		}
		l, err := c.read()
		if errors.Is(err, io.EOF) && l == "" {
			// The server closed the connection: a pseudo-response that
			// {closed} matches.
			c.closed = true
			return append(lines, closedLine), nil
		}
		if err != nil {
			if l != "" {
				lines = append(lines, l)
			}
			return lines, err
		}
		lines = append(lines, l)
		if isTerminator(l) {
			seen++
			if want > 0 && seen >= want {
				return lines, nil
			}
			if finalTag && strings.HasPrefix(l, tag+" ") {
				return lines, nil
			}
			if want == 0 {
				return lines, nil
			}
		}
	}
}

// grace is how long a block without a tagged response waits, once its
// lines have matched, for the optional lines it allows: they belong to it
// when they come before the client's next line.
const grace = 100 * time.Millisecond

// lingering adds to a matched block's lines those that arrive within
// grace and still let the block match; the first that does not is kept
// for the next block.
func (c *conn) lingering(exps []Expect, lines []string, ordered bool, vars map[string]string) []string {
	optional := false
	for i := range exps {
		optional = optional || exps[i].Kind != ' '
	}
	if !optional {
		return lines
	}
	for {
		if len(c.pending) == 0 {
			c.c.SetReadDeadline(time.Now().Add(grace))
			if _, err := c.r.Peek(1); err != nil {
				return lines
			}
		}
		l, err := c.read()
		if err != nil {
			return lines
		}
		if _, ok := MatchBlock(exps, append(lines[:len(lines):len(lines)], l), ordered, vars); !ok {
			c.pending = append([]string{l}, c.pending...)
			return lines
		}
		lines = append(lines, l)
	}
}

func anyMatches(exps []Expect, line string, vars map[string]string) bool {
	for i := range exps {
		if _, ok := exps[i].Match(line, vars); ok {
			return true
		}
		// A pattern that refers to a capture of the same block may
		// match once the capture has its value.
		if strings.Contains(exps[i].Pattern, "{$") {
			return true
		}
	}
	return false
}
