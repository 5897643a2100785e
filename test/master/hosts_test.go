package master

import (
	"bufio"
	"fmt"
	"net"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imapd-go/imapd/test/pgtest"
)

// postgresConf is the imapd.conf of a host whose store is the PostgreSQL
// database dsn.
func postgresConf(dsn string) string {
	return "store: postgres\npostgres_dsn: " + dsn + "\nallowplaintext: yes\n"
}

// twoHosts starts two imapd hosts on one PostgreSQL database, each with
// its own configdirectory under a master of its own: ours, and Cyrus's
// where it is installed (else ours again).
func twoHosts(t *testing.T, dsn string) (a, b *env) {
	t.Helper()
	kinds := masters(t)
	conf := layout{socketDir: true, conf: postgresConf(dsn)}
	a = startLayout(t, "ours", []*svc{{name: "imap", prefork: 1}}, conf)
	b = startLayout(t, kinds[0], []*svc{{name: "imap", prefork: 1}}, conf)
	return a, b
}

// selected opens a session on service of e, logs alice in and selects
// INBOX with CONDSTORE.
func (e *env) selected(service string) *raw {
	e.t.Helper()
	r := e.login(service)
	r.ok("s", "SELECT INBOX (CONDSTORE)")
	return r
}

// appendMsg appends one message with the given subject (LITERAL+) and
// returns its UID from APPENDUID.
func (r *raw) appendMsg(subject string) int {
	r.t.Helper()
	msg := "From: storm@example.com\r\nSubject: " + subject + "\r\n\r\nbody of " + subject + "\r\n"
	lines := r.ok("a", fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(msg), msg))
	uid, ok := ackedUID(lines[len(lines)-1])
	if !ok {
		r.t.Fatalf("APPEND: no APPENDUID in %q", lines)
	}
	return uid
}

// ackedUID reads the UID of an APPEND's tagged OK.
func ackedUID(line string) (int, bool) {
	m := appendUID.FindStringSubmatch(line)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

// existsIn reads the count of an untagged EXISTS line. (Sscanf stores
// the number before it fails on the word, so its error must be checked:
// a RECENT line is no EXISTS.)
func existsIn(l string) (int, bool) {
	var n int
	_, err := fmt.Sscanf(l, "* %d EXISTS", &n)
	return n, err == nil
}

// An APPEND through one host is seen by an IDLE session on the other
// within a second, both ways.
func TestTwoHostsIdle(t *testing.T) {
	masters(t)
	pg := pgtest.Shared(t)
	a, b := twoHosts(t, pg.TCPDSN(pgtest.DatabaseOf(pg.NewDatabase(t))))
	for _, dir := range []struct {
		name       string
		from, idle *env
	}{{"a to b", a, b}, {"b to a", b, a}} {
		t.Run(dir.name, func(t *testing.T) {
			idler := dir.idle.selected("imap")
			writer := dir.from.selected("imap")
			exists := -1
			for _, l := range idler.ok("s2", "SELECT INBOX") {
				if n, ok := existsIn(l); ok {
					exists = n
				}
			}
			if exists < 0 {
				t.Fatal("SELECT: no EXISTS")
			}
			if _, err := idler.c.Write([]byte("i IDLE\r\n")); err != nil {
				t.Fatal(err)
			}
			if l := idler.line(); !strings.HasPrefix(l, "+") {
				t.Fatalf("IDLE: %q", l)
			}
			writer.appendMsg("idle " + dir.name)
			acked := time.Now()
			idler.c.SetDeadline(time.Now().Add(patience))
			for {
				l := idler.line()
				if n, ok := existsIn(l); ok && n > exists {
					if d := time.Since(acked); d > time.Second {
						t.Errorf("EXISTS seen %v after the APPEND's OK, more than 1 s", d)
					}
					break
				}
			}
			idler.c.Write([]byte("DONE\r\n"))
			for {
				l := idler.line()
				if strings.HasPrefix(l, "i ") {
					if !strings.HasPrefix(l, "i OK") {
						t.Fatalf("IDLE's end: %q", l)
					}
					break
				}
			}
			idler.finish()
			writer.finish()
		})
	}
}

// Both hosts change the same messages' flags at once, each with
// UNCHANGEDSINCE the same mod-sequence: every message is changed by
// exactly one of them, the other hears MODIFIED for it (RFC 7162 section
// 3.1.3), and both hosts then show the same flags and mod-sequences.
func TestTwoHostsFlagsConverge(t *testing.T) {
	masters(t)
	pg := pgtest.Shared(t)
	a, b := twoHosts(t, pg.TCPDSN(pgtest.DatabaseOf(pg.NewDatabase(t))))
	ra, rb := a.selected("imap"), b.selected("imap")
	const n = 30
	for i := 0; i < n; i++ {
		ra.appendMsg(fmt.Sprintf("flags %d", i))
	}
	for round := 0; round < 5; round++ {
		modseq := highestModseq(t, ra.ok("n", "NOOP"), ra)
		rb.ok("n", "NOOP")
		fa, fb := fmt.Sprintf("hostA%d", round), fmt.Sprintf("hostB%d", round)
		var wg sync.WaitGroup
		var la, lb []string
		wg.Add(2)
		go func() {
			defer wg.Done()
			la = send(ra, "f", fmt.Sprintf("UID STORE 1:* (UNCHANGEDSINCE %d) +FLAGS.SILENT (%s)", modseq, fa))
		}()
		go func() {
			defer wg.Done()
			lb = send(rb, "f", fmt.Sprintf("UID STORE 1:* (UNCHANGEDSINCE %d) +FLAGS.SILENT (%s)", modseq, fb))
		}()
		wg.Wait()
		ma, mb := modified(t, la), modified(t, lb)
		va, vb := flagView(t, ra, "v"), flagView(t, rb, "v")
		if fmt.Sprint(va) != fmt.Sprint(vb) {
			t.Fatalf("round %d: the hosts disagree:\na: %v\nb: %v", round, va, vb)
		}
		for uid := 1; uid <= n; uid++ {
			hasA := strings.Contains(va[uid], fa)
			hasB := strings.Contains(va[uid], fb)
			if hasA == hasB {
				t.Errorf("round %d: UID %d has %s=%v and %s=%v: want exactly one", round, uid, fa, hasA, fb, hasB)
			}
			if ma[uid] == hasA || mb[uid] == hasB {
				t.Errorf("round %d: UID %d: MODIFIED from A %v, from B %v, flags %q", round, uid, ma[uid], mb[uid], va[uid])
			}
		}
	}
	ra.finish()
	rb.finish()
}

// send writes a command and reads to its tagged answer without failing
// the test from a goroutine other than the test's.
func send(r *raw, tag, text string) []string {
	if _, err := r.c.Write([]byte(tag + " " + text + "\r\n")); err != nil {
		return []string{err.Error()}
	}
	var lines []string
	for {
		l, err := r.r.ReadString('\n')
		if err != nil {
			return append(lines, err.Error())
		}
		lines = append(lines, l)
		if strings.HasPrefix(l, tag+" ") {
			return lines
		}
	}
}

var highestModseqRe = regexp.MustCompile(`HIGHESTMODSEQ (\d+)`)

// highestModseq asks r for the mailbox's HIGHESTMODSEQ.
func highestModseq(t *testing.T, _ []string, r *raw) uint64 {
	t.Helper()
	for _, l := range r.ok("st", "STATUS INBOX (HIGHESTMODSEQ)") {
		if m := highestModseqRe.FindStringSubmatch(l); m != nil {
			v, _ := strconv.ParseUint(m[1], 10, 64)
			return v
		}
	}
	t.Fatal("STATUS: no HIGHESTMODSEQ")
	return 0
}

var modifiedRe = regexp.MustCompile(`\[MODIFIED ([0-9:,]+)\]`)

// modified returns the UIDs a tagged STORE answer lists in MODIFIED.
func modified(t *testing.T, lines []string) map[int]bool {
	t.Helper()
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "f OK") {
		t.Fatalf("STORE: %q", lines)
	}
	set := map[int]bool{}
	m := modifiedRe.FindStringSubmatch(last)
	if m == nil {
		return set
	}
	for _, r := range strings.Split(m[1], ",") {
		lo, hi, _ := strings.Cut(r, ":")
		l, _ := strconv.Atoi(lo)
		h := l
		if hi != "" {
			h, _ = strconv.Atoi(hi)
		}
		if h < l {
			l, h = h, l
		}
		for i := l; i <= h; i++ {
			set[i] = true
		}
	}
	return set
}

var flagLineRe = regexp.MustCompile(`UID (\d+)|FLAGS \(([^)]*)\)|MODSEQ \((\d+)\)`)

// flagView returns, by UID, each message's sorted flags (\Recent aside)
// and mod-sequence.
func flagView(t *testing.T, r *raw, tag string) map[int]string {
	t.Helper()
	r.ok("n", "NOOP")
	view := map[int]string{}
	for _, l := range r.ok(tag, "UID FETCH 1:* (FLAGS MODSEQ)") {
		if !strings.HasPrefix(l, "* ") || !strings.Contains(l, "FETCH") {
			continue
		}
		uid, flags, modseq := 0, "", ""
		for _, m := range flagLineRe.FindAllStringSubmatch(l, -1) {
			switch {
			case m[1] != "":
				uid, _ = strconv.Atoi(m[1])
			case m[3] != "":
				modseq = m[3]
			default:
				// \Recent is the session's own (RFC 3501 2.3.2).
				f := slices.DeleteFunc(strings.Fields(m[2]), func(f string) bool { return f == `\Recent` })
				sort.Strings(f)
				flags = strings.Join(f, " ")
			}
		}
		view[uid] = flags + " modseq=" + modseq
	}
	return view
}

// stormMessage is the message of the APPEND storm with subject.
func stormMessage(subject string) string {
	return "From: storm@example.com\r\nSubject: " + subject + "\r\n\r\n" + strings.Repeat("x", 2000) + "\r\n"
}

// A kill -9 of one host in the middle of an APPEND storm leaves the other
// serving, with every APPEND the dead host acknowledged there, whole.
func TestTwoHostsKillDuringAppends(t *testing.T) {
	masters(t)
	pg := pgtest.Shared(t)
	a, b := twoHosts(t, pg.TCPDSN(pgtest.DatabaseOf(pg.NewDatabase(t))))
	const clients = 4
	var mu sync.Mutex
	acked := map[int]string{} // UID -> subject
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		conn, err := net.DialTimeout("tcp", a.services["imap"].addr, patience)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		r := &raw{t: t, c: conn, r: bufio.NewReader(conn)}
		conn.SetDeadline(time.Now().Add(2 * patience))
		r.r.ReadString('\n')
		if l := send(r, "l", "LOGIN alice secret"); !strings.HasPrefix(l[len(l)-1], "l OK") {
			t.Fatalf("LOGIN: %q", l)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				subject := fmt.Sprintf("storm-%d-%d", c, i)
				msg := stormMessage(subject)
				lines := send(r, "a", fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(msg), msg))
				last := lines[len(lines)-1]
				if !strings.HasPrefix(last, "a OK") {
					return // the host is gone
				}
				if uid, ok := ackedUID(last); ok {
					mu.Lock()
					acked[uid] = subject
					mu.Unlock()
				}
			}
		}()
	}
	// Let the storm run, then kill the whole host at once.
	deadline := time.Now().Add(patience)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 50 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	syscall.Kill(-a.pid, syscall.SIGKILL)
	syscall.Kill(a.pid, syscall.SIGKILL)
	for _, p := range a.procs("") {
		syscall.Kill(p, syscall.SIGKILL)
	}
	a.pid = 0
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(acked) == 0 {
		t.Fatal("no APPEND was acknowledged before the kill")
	}

	r := b.selected("imap")
	seen := map[int]string{}
	subjectRe := regexp.MustCompile(`UID (\d+) .*"(storm-\d+-\d+)"`)
	for _, l := range r.ok("f", "UID FETCH 1:* (UID RFC822.SIZE ENVELOPE)") {
		if m := subjectRe.FindStringSubmatch(l); m != nil {
			uid, _ := strconv.Atoi(m[1])
			seen[uid] = m[2]
			if size := fmt.Sprintf("RFC822.SIZE %d", len(stormMessage(m[2]))); !strings.Contains(l, size) {
				t.Errorf("UID %d is not whole: %q, want %s", uid, l, size)
			}
		}
	}
	for uid, subject := range acked {
		if seen[uid] != subject {
			t.Errorf("acknowledged UID %d (%s) is %q on the other host", uid, subject, seen[uid])
		}
	}
	t.Logf("%d APPENDs acknowledged before the kill, %d messages on the surviving host", len(acked), len(seen))
	r.appendMsg("after the kill")
	r.finish()
}

// The database stopped under load: sessions answer NO or BYE with
// [UNAVAILABLE], never BAD or a broken mailbox, and serve again once it is
// back, with every acknowledged APPEND kept.
func TestDatabaseRestart(t *testing.T) {
	masters(t)
	pg, err := pgtest.Start(pgtest.Options{})
	if err != nil {
		pgtest.Unavailable(t, err)
	}
	defer pg.Stop()
	name, err := pg.CreateDatabase()
	if err != nil {
		t.Fatal(err)
	}
	e := startLayout(t, "ours", []*svc{{name: "imap", prefork: 1}},
		layout{socketDir: true, conf: postgresConf(pg.TCPDSN(name))})
	r := e.selected("imap")
	var acked []int
	for i := 0; i < 20; i++ {
		acked = append(acked, r.appendMsg(fmt.Sprintf("before %d", i)))
	}
	pg.Kill()
	// Each command now fails with UNAVAILABLE, as NO or as BYE; the
	// session may end, but it must say why.
	msg := "Subject: down\r\n\r\nx\r\n"
	for _, cmd := range []string{fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(msg), msg), "UID STORE 1 +FLAGS (x)", "NOOP"} {
		lines := send(r, "d", cmd)
		last := lines[len(lines)-1]
		if strings.HasPrefix(last, "d OK") && cmd == "NOOP" {
			continue
		}
		all := strings.Join(lines, "")
		if !strings.Contains(all, "[UNAVAILABLE]") {
			t.Errorf("%s with the database down: %q, want NO or BYE [UNAVAILABLE]", strings.SplitN(cmd, " ", 2)[0], lines)
		}
		if strings.Contains(all, "* BYE") {
			break
		}
	}
	if err := pg.Restart(); err != nil {
		t.Fatal(err)
	}
	r2 := e.selected("imap")
	var uids []string
	for _, l := range r2.ok("u", "UID SEARCH ALL") {
		if strings.HasPrefix(l, "* SEARCH") {
			uids = strings.Fields(l)[2:]
		}
	}
	have := map[string]bool{}
	for _, u := range uids {
		have[u] = true
	}
	for _, u := range acked {
		if !have[strconv.Itoa(u)] {
			t.Errorf("acknowledged UID %d lost across the database restart", u)
		}
	}
	r2.appendMsg("after the restart")
	r2.finish()
}
