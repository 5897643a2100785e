package main

import (
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const cmdTimeout = 2 * time.Minute

// load puts the corpus into bench's INBOX and perUser small messages into
// each load user's INBOX, over IMAP, so that every server holds the same
// messages.
func load(s *server, msgs []message, small [][]byte, users []string, perUser int) error {
	cl, err := login(s.addr, "bench", s.pass, cmdTimeout)
	if err != nil {
		return err
	}
	defer cl.Close()
	for _, m := range msgs {
		if _, err := cl.appendMsg(cmdTimeout, "INBOX", m.raw); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	r, err := cl.ok(cmdTimeout, "* ", "SELECT INBOX")
	if err != nil {
		return err
	}
	if want := fmt.Sprintf("* %d EXISTS", len(msgs)); !slices.Contains(r.kept, want) {
		return fmt.Errorf("bench's INBOX: want %q, got %q", want, r.kept)
	}
	return eachUser(s, users, func(i int, cl *client) error {
		for j := 0; j < perUser; j++ {
			if _, err := cl.appendMsg(cmdTimeout, "INBOX", small[(i+j)%len(small)]); err != nil {
				return err
			}
		}
		return nil
	})
}

// eachUser logs each user in, eight at a time, runs fn on the session
// and logs out; it returns the first error, naming its user.
func eachUser(s *server, users []string, fn func(i int, cl *client) error) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(users))
	sem := make(chan struct{}, 8)
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cl, err := login(s.addrFor(i), u, s.pass, cmdTimeout)
			if err != nil {
				errs <- fmt.Errorf("%s: %w", u, err)
				return
			}
			defer cl.Close()
			if err := fn(i, cl); err != nil {
				errs <- fmt.Errorf("%s: %w", u, err)
				return
			}
			cl.ok(cmdTimeout, "", "LOGOUT")
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// probe is one timed command of the single-connection table.
type probe struct {
	name string
	cmd  string // the command; empty for APPEND
	unit string
	goal float64 // ours/Dovecot at least this; 0: none
	// value turns the time taken into the figure shown.
	value func(d time.Duration) float64
}

func probes(msgs []message, appends int) []probe {
	n := float64(len(msgs))
	perMsg := func(d time.Duration) float64 { return n / d.Seconds() }
	perCmd := func(d time.Duration) float64 { return 1 / d.Seconds() }
	mb := float64(size(msgs)) / 1e6
	return []probe{
		{"FETCH 1:* BODY[]", "FETCH 1:* BODY[]", "MB/s", 1.5, func(d time.Duration) float64 { return mb / d.Seconds() }},
		{"FETCH 1:* ENVELOPE", "FETCH 1:* ENVELOPE", "msg/s", 1.5, perMsg},
		{"FETCH 1:* BODYSTRUCTURE", "FETCH 1:* BODYSTRUCTURE", "msg/s", 1.5, perMsg},
		{"SEARCH SUBJECT " + searchSubject, "SEARCH SUBJECT " + searchSubject, "msg/s", 1.5, perMsg},
		{"SEARCH FROM " + searchFrom, "SEARCH FROM " + searchFrom, "msg/s", 1.5, perMsg},
		{"SEARCH HEADER X-Foo " + searchHeader, "SEARCH HEADER X-Foo " + searchHeader, "msg/s", 1.5, perMsg},
		{"SEARCH BODY " + searchBody, "SEARCH BODY " + searchBody, "msg/s", 5, perMsg},
		{"SEARCH TEXT " + searchBody, "SEARCH TEXT " + searchBody, "msg/s", 5, perMsg},
		{"FETCH 1:* FLAGS", "FETCH 1:* FLAGS", "msg/s", 1.5, perMsg},
		// RFC 5256: every server here sorts and threads on the server.
		{"SORT (ARRIVAL) UTF-8 ALL", "SORT (ARRIVAL) UTF-8 ALL", "msg/s", 0, perMsg},
		{"SORT (DATE) UTF-8 ALL", "SORT (DATE) UTF-8 ALL", "msg/s", 0, perMsg},
		{"SORT (SUBJECT) UTF-8 ALL", "SORT (SUBJECT) UTF-8 ALL", "msg/s", 0, perMsg},
		{"SORT (FROM) UTF-8 ALL", "SORT (FROM) UTF-8 ALL", "msg/s", 0, perMsg},
		{"THREAD REFERENCES UTF-8 ALL", "THREAD REFERENCES UTF-8 ALL", "msg/s", 0, perMsg},
		// A flag change on ten messages, set then cleared in each
		// repetition, so that neither is a change to nothing.
		{`STORE 1:10 +FLAGS.SILENT (\Flagged)`, `STORE 1:10 +FLAGS.SILENT (\Flagged)`, "cmd/s", 1, perCmd},
		{`STORE 1:10 -FLAGS.SILENT (\Flagged)`, `STORE 1:10 -FLAGS.SILENT (\Flagged)`, "cmd/s", 1, perCmd},
		{fmt.Sprintf("APPEND, durable (%d msgs)", appends), "", "msg/s", 2, func(d time.Duration) float64 { return float64(appends) / d.Seconds() }},
	}
}

// session is a server's two connections for the single-connection table:
// bench with its INBOX selected, and appender, whose INBOX takes the
// APPENDs.
type session struct {
	bench, appender *client
	hits            map[string]string // SEARCH -> its answer, for a check across servers
}

func openSession(s *server) (*session, error) {
	b, err := login(s.addr, "bench", s.pass, cmdTimeout)
	if err != nil {
		return nil, err
	}
	if _, err := b.ok(cmdTimeout, "", "SELECT INBOX"); err != nil {
		b.Close()
		return nil, err
	}
	a, err := login(s.addr, "appender", s.pass, cmdTimeout)
	if err != nil {
		b.Close()
		return nil, err
	}
	return &session{bench: b, appender: a, hits: map[string]string{}}, nil
}

func (ss *session) close() {
	ss.bench.Close()
	ss.appender.Close()
}

// time runs p once on ss.
func (ss *session) time(p probe, appendMsgs []message) (time.Duration, error) {
	start := time.Now()
	if p.cmd == "" {
		for _, m := range appendMsgs {
			if _, err := ss.appender.appendMsg(cmdTimeout, "INBOX", m.raw); err != nil {
				return 0, err
			}
		}
		return time.Since(start), nil
	}
	r, err := ss.bench.ok(cmdTimeout, "* SEARCH", "%s", p.cmd)
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if strings.HasPrefix(p.cmd, "SEARCH") {
		hits := "0"
		if len(r.kept) > 0 {
			hits = strconv.Itoa(len(strings.Fields(r.kept[0])) - 2)
		}
		ss.hits[p.name] = hits
	}
	return d, nil
}

// loadStats is what one mixed-load run counted.
type loadStats struct {
	commands, errors atomic.Int64
	mu               sync.Mutex
	first            string
}

func (st *loadStats) fail(err error) {
	st.errors.Add(1)
	st.mu.Lock()
	if st.first == "" {
		st.first = err.Error()
	}
	st.mu.Unlock()
}

// mixedLoad runs n clients for d, each repeating whole sessions as one of
// users in turn: LOGIN, SELECT INBOX, APPEND, FETCH 1:* (UID FLAGS), UID
// FETCH of the new message's body, UID STORE +FLAGS (\Deleted), UID EXPUNGE
// of that message (RFC 4315), LOGOUT. Only commands answered OK before d
// is over count.
func mixedLoad(s *server, users []string, small [][]byte, n int, d time.Duration) *loadStats {
	st := &loadStats{}
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := i; time.Now().Before(end); k += n {
				if err := mixedSession(s, s.addrFor(k), users[k%len(users)], small[k%len(small)], end, &st.commands); err != nil {
					st.fail(err)
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	return st
}

func mixedSession(s *server, addr, user string, msg []byte, end time.Time, count *atomic.Int64) error {
	done := func() {
		if time.Now().Before(end) {
			count.Add(1)
		}
	}
	cl, err := dial(addr, cmdTimeout)
	if err != nil {
		return err
	}
	defer cl.Close()
	if _, err := cl.ok(cmdTimeout, "", "LOGIN %s %s", user, s.pass); err != nil {
		return err
	}
	done()
	if _, err := cl.ok(cmdTimeout, "", "SELECT INBOX"); err != nil {
		return err
	}
	done()
	r, err := cl.appendMsg(cmdTimeout, "INBOX", msg)
	if err != nil {
		return err
	}
	done()
	m := appendUID.FindStringSubmatch(r.tagged)
	if m == nil {
		return fmt.Errorf("APPEND: no APPENDUID in %q", r.tagged)
	}
	uid := m[1]
	for _, c := range []string{"FETCH 1:* (UID FLAGS)", "UID FETCH " + uid + " BODY.PEEK[]", "UID STORE " + uid + " +FLAGS.SILENT (\\Deleted)", "UID EXPUNGE " + uid, "LOGOUT"} {
		if _, err := cl.ok(cmdTimeout, "", "%s", c); err != nil {
			return err
		}
		done()
	}
	return nil
}

// loopback copies the corpus's bytes over a loopback TCP connection from a
// Go writer to a Go reader and returns MB/s: no server sends FETCH BODY[]
// faster than this.
func loopback(msgs []message) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		for _, m := range msgs {
			if _, err := c.Write(m.raw); err != nil {
				return
			}
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return 0, err
	}
	defer c.Close()
	start := time.Now()
	n, err := io.Copy(io.Discard, c)
	if err != nil {
		return 0, err
	}
	if n != size(msgs) {
		return 0, fmt.Errorf("loopback: %d of %d octets", n, size(msgs))
	}
	return float64(n) / 1e6 / time.Since(start).Seconds(), nil
}
