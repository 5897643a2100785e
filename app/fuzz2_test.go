package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/auth/sasl"
	"github.com/imapd-go/imapd/adapters/store/maildir"
	"github.com/imapd-go/imapd/adapters/store/sqlite"
	"github.com/imapd-go/imapd/adapters/telemetry/filelog"
	"github.com/imapd-go/imapd/adapters/transport/stdio"
	"github.com/imapd-go/imapd/app"
	"github.com/imapd-go/imapd/ports"
)

// FuzzTwoSessions drives two sessions of one user on one mailbox, the way
// two clients (two processes under master) would: one mostly changes the
// mailbox (STORE, EXPUNGE, UID EXPUNGE, MOVE, COPY, APPEND, CLOSE), the
// other mostly reads it (FETCH, UID FETCH, SEARCH, NOOP, IDLE/DONE, CHECK,
// STATUS, EXAMINE). The fuzz input chooses the store, the commands, their
// arguments and their interleaving, may run one command in each session at
// the same time, and may inject junk lines into either session. Each
// session learns of the other's changes only through the store's change
// feed and watch, as it would across processes.
//
// The input is a configuration byte (bit 0 the store, sqlite or maildir;
// bit 1 QRESYNC for the reader, bit 2 for the changer; bit 3 IMAP4rev2 for
// the reader; bits 4-6 how many messages are there before the reader
// selects), then operations: one byte each (see opStore...), followed by
// their argument bytes.
//
// The client side keeps, for each session, the view the server has told it
// of (sequence number -> UID where known, flags where known), built only
// from that session's own untagged EXISTS, EXPUNGE, VANISHED and FETCH
// responses, and checks these invariants after every response and step:
//
//  1. UIDVALIDITY never changes (RFC 3501 2.3.1.1: the mailbox is not
//     recreated here, so UIDs must stay valid).
//  2. No UID is reused (RFC 3501 2.3.1.1, RFC 9051 2.3.1.1: UIDs are
//     assigned in strictly ascending order and never reassigned within one
//     UIDVALIDITY):
//     a. the UIDs known in a view ascend with the sequence numbers;
//     b. a message that entered a view after a UID was seen expunged (by
//     either session) cannot have that UID;
//     c. APPENDUID (RFC 4315) and COPYUID destination UIDs of a COPY or
//     MOVE into the same mailbox are above every UID seen before the
//     command was sent;
//     d. UIDNEXT is above every UID seen before the command that reports
//     it, and never decreases;
//     e. a message announced by EXISTS after SELECT has a UID at or above
//     the UIDNEXT that SELECT reported.
//  3. The view's size is what EXISTS and EXPUNGE said: EXISTS never
//     shrinks the view (RFC 3501 and RFC 9051 5.2: "it is NOT permitted to
//     send an EXISTS response that would reduce the number of messages");
//     EXPUNGE, FETCH and SEARCH sequence numbers lie within the view, and
//     RECENT is not above its size (RFC 3501 7.3.2); a FETCH's UID matches
//     what the view already knows of that number; a VANISHED UID (RFC 7162
//     3.2.10) and a UID SEARCH result are UIDs the view can hold.
//  4. No EXPUNGE (nor VANISHED without EARLIER, which replaces it, RFC 7162
//     3.2.10) while no command is in progress, nor while answering FETCH,
//     STORE or SEARCH; the UID forms may carry them (RFC 3501 7.4.1, RFC
//     9051 7.5.1). Here "no command in progress" is everything the server
//     sends between a tagged response and the next command. Nor any while
//     answering CLOSE, which expunges silently (RFC 3501 6.4.2).
//  5. Every command gets exactly one tagged response, with its own tag,
//     within a deadline; no BYE comes before LOGOUT; the session still
//     answers NOOP with OK at the end, and LOGOUT cleanly; ServeConn never
//     panics.
//  6. After a successful MOVE (RFC 6851 3), the moved messages' source UIDs
//     are no longer in the mover's view; after a successful EXPUNGE, no
//     message the session knows as \Deleted is left in its view (RFC 3501
//     6.4.3). The latter is checked only when the other session is not
//     running a command at the same time (it could set \Deleted meanwhile).
//  7. After NOOP, the session's view is the mailbox as the store holds it:
//     same number of messages, same UIDs and same flags (without \Recent)
//     where the client knows them. The RFC only says a server SHOULD report
//     other sessions' changes (RFC 3501 5.2, 6.1.2); this server promises it
//     at every command boundary where the RFCs allow updates, and NOOP
//     allows all of them. Checked when the other session is quiet.
//  8. A session in IDLE is told of the other session's changes while it
//     idles, before DONE (RFC 2177 3: the server sends untagged updates
//     during IDLE; this server's store watch wakes it at once, its fallback
//     poll within 5s): its view matches the store before DONE is sent.
//  9. SEARCH by flags (ALL, DELETED, SEEN, FLAGGED, KEYWORD, NOT, OR)
//     agrees with the flags the client knows: a message whose UID and
//     flags it knows, unchanged across the command and not known to be
//     expunged, is in the result exactly when its flags match (RFC 3501
//     6.4.4). Checked when the other session is quiet.
func FuzzTwoSessions(f *testing.F) {
	for _, s := range fuzz2Seeds() {
		for _, store := range []byte{0, 1} { // sqlite, maildir
			seed := append([]byte(nil), s...)
			seed[0] = seed[0]&^1 | store
			f.Add(seed)
		}
	}
	backends := fuzz2Backends(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		runTwoSessions(t, backends, in)
	})
}

// Operations the fuzz input chooses from (the byte modulo opCount), with
// their argument bytes. The first group is the changing session's, the
// second the reading session's; a byte >= 128 runs it in the other session.
const (
	opStore      = iota // set, mode (+/-/=, .SILENT), flag
	opUIDStore          // the same with a UID set
	opExpunge           // -
	opUIDExpunge        // UID set
	opMove              // set, target (bit 0: this mailbox; bit 1: COPY instead)
	opUIDMove           // the same with a UID set
	opAppend            // flags (bit 3: any), how (bit 0: sync literal; bit 1: two messages; bit 2: other mailbox)
	opFetch             // set, items
	opUIDFetch          // UID set, items
	opSearch            // key
	opUIDSearch         // key
	opNoop              // -
	opIdle              // - (the session idles until its next operation)
	opCheck             // -
	opStatus            // mailbox (bit 0: the other one)
	opJunk              // session (bit 0: the reader), length, bytes of the line
	opReselect          // bit 0: the reader; bit 1: CLOSE first; bit 2: EXAMINE
	opPair              // two operations (code, 3 argument bytes), one per session, at once
	opCount
)

// fuzz2Seeds are meaningful scripts: each is a config byte, then
// operation bytes each followed by its argument bytes.
func fuzz2Seeds() [][]byte {
	const other = 128
	return [][]byte{
		// 3 messages; A flags 2 \Deleted and expunges; B fetches, searches, NOOPs.
		{0x30, opStore, 1, 0, 0, opFetch, 3, 0, opExpunge, opFetch, 3, 0, opSearch, 0, opNoop, opFetch, 3, 0},
		// B idles while A appends, stores and expunges.
		{0x40, opIdle, opAppend, 0, 1, opStore, 0, 0, 0, opExpunge, opAppend, 1, 2, opNoop, opUIDFetch, 2, 0},
		// MOVE within the mailbox and to another, with UID forms.
		{0x50, opMove, 1, 1, opUIDMove, 3, 0, opNoop, opUIDFetch, 3, 1, opUIDSearch, 1, opStatus, 0},
		// QRESYNC on the reader: VANISHED instead of EXPUNGE.
		{0x32, opStore, 3, 0, 0, opUIDExpunge, 3, opFetch, 3, 0, opIdle, opAppend, 2, 0, opUIDMove, 0, 0, opNoop},
		// QRESYNC on both, IMAP4rev2 on the reader.
		{0x3e, opFetch, 3, 0, opStore | other, 1, 1, 1, opExpunge, opUIDExpunge | other, 3, opNoop, opCheck, opStatus, 1},
		// Junk into both sessions, then work.
		cat([]byte{0x20}, junkOp(0, "FETCH 1:* ()"), junkOp(1, "STORE x\xff\""), []byte{opStore, 1, 0, 2, opNoop},
			junkOp(0, "UID "), []byte{opExpunge, opNoop}),
		// Junk in place of DONE ends IDLE with BAD.
		cat([]byte{0x20, opIdle}, junkOp(1, "DONEX"), []byte{opFetch, 1, 0, opNoop}),
		// Expunge while the reader's FETCH/STORE/SEARCH must hold it back.
		{0x60, opStore, 3, 0, 0, opExpunge, opFetch, 3, 0, opSearch, 2, opStore | other, 3, 1, 1, opUIDFetch, 3, 0, opNoop},
		// Re-SELECT by both, then an empty mailbox.
		{0x20, opStore, 3, 0, 0, opReselect, 1, opExpunge, opReselect, 0, opFetch, 3, 0, opAppend, 0, 0, opNoop},
		// Sync literal APPEND, \Deleted on new messages, UID EXPUNGE of them.
		{0x10, opAppend, 3, 3, opAppend, 1, 0, opUIDStore, 3, 0, 0, opUIDExpunge, 3, opIdle, opExpunge, opNoop},
		// The reader works on a message the other session expunged
		// (RFC 2180 4.1): STORE, FETCH, UID SEARCH and MOVE of it.
		{0x30, opStore, 0, 0, 0, opExpunge, opStore | other, 0, 0, 1, opFetch, 1, 0, opUIDSearch, 0,
			opMove | other, 0, 0, opNoop, opFetch, 1, 0},
		// A new message arrives while an expunged one is still in the view.
		{0x30, opStore, 0, 0, 0, opExpunge, opAppend, 0, 0, opFetch, 1, 0, opSearch, 0, opNoop, opFetch, 1, 0},
		// MOVE into the mailbox itself while a QRESYNC reader idles.
		{0x32, opIdle, opMove, 1, 1, opUIDMove, 0, 1, opFetch, 1, 0, opNoop, opUIDFetch, 1, 0},
		// QRESYNC's VANISHED (EARLIER) from UID FETCH, sent as a line of its own.
		cat([]byte{0x3a, opStore, 1, 0, 0, opExpunge}, junkOp(1, "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)"), []byte{opNoop}),
		// COPY into the mailbox itself, MULTIAPPEND, then CLOSE (silent
		// expunge) and SELECT again while the reader idles.
		{0x20, opMove, 1, 3, opUIDMove, 1, 2, opAppend, 0, 2, opStore, 1, 0, 0, opIdle, opReselect, 2, opNoop, opFetch, 1, 0},
		// The reader EXAMINEs: read-only, its STORE and EXPUNGE refused.
		{0x30, opReselect, 5, opStore | other, 1, 0, 0, opExpunge | other, opStore, 1, 0, 0, opExpunge, opNoop, opFetch, 1, 0},
		// Both sessions at once: an EXPUNGE against a FETCH, an APPEND
		// against a STATUS, a MOVE into the mailbox against a NOOP, two
		// STOREs, a UID EXPUNGE against a SEARCH.
		{0x50, opStore, 1, 0, 0, opPair, opExpunge, 0, 0, 0, opFetch, 1, 0, 0,
			opPair, opAppend, 0, 2, 0, opStatus, 0, 0, 0, opPair, opMove, 1, 1, 0, opNoop, 0, 0, 0,
			opPair, opStore, 1, 0, 2, opStore, 1, 1, 2, opPair, opUIDExpunge, 1, 0, 0, opSearch, 0, 0, 0, opNoop},
		// Two APPENDs at once, two COPYs into the mailbox at once, on
		// both stores: no UID given twice.
		{0x20, opPair, opAppend, 0, 0, 0, opAppend, 0, 2, 0, opPair, opMove, 1, 3, 0, opMove, 1, 3, 0,
			opPair, opAppend, 8, 1, 0, opMove, 1, 3, 0, opPair, opExpunge, 0, 0, 0, opMove, 1, 1, 0, opNoop},
		// The reader's silent STORE on a message whose flags the changer
		// has just changed: the reader must still be told of that change.
		{0x30, opFetch, 1, 0, opStore, 0, 0, 2, opStore | other, 0, 3, 1, opNoop, opUIDStore | other, 1, 4, 0, opNoop},
		// SEARCH by flags the reader knows, before and after the changer's
		// STOREs and EXPUNGE.
		{0x40, opFetch, 1, 0, opStore, 4, 0, 0, opStore, 8, 0, 2, opSearch, 1, opNoop, opSearch, 1, opUIDSearch, 2,
			opSearch, 7, opExpunge, opUIDSearch, 0, opSearch, 3, opNoop, opSearch, 0, opUIDSearch, 6},
		// A junk STORE .SILENT by the reader, then an EXPUNGE by the writer.
		cat([]byte{0x40}, junkOp(1, `STORE 2:* +FLAGS.SILENT (\Deleted)`), []byte{opExpunge, opFetch, 1, 0, opNoop}),
	}
}

// junkOp is the bytes of an operation sending line to session 0 (A) or 1 (B).
func junkOp(session byte, line string) []byte {
	return append([]byte{opJunk, session, byte(len(line))}, line...)
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// fuzz2Backend is one server over one store, shared by all inputs of a
// fuzz worker; each input works in mailboxes of its own.
type fuzz2Backend struct {
	name  string
	srv   *app.Server
	store ports.Store
}

var (
	fuzz2Once sync.Once
	fuzz2Srvs []*fuzz2Backend
	fuzz2Seq  atomic.Uint64
	// fuzz2Dir holds the stores; TestMain removes it when the process
	// ends, since they serve every run of the target in this process
	// (go test -count=2 runs it twice).
	fuzz2Dir string
)

// fuzz2Backends opens both stores once per process, in tmpfs when there
// is one (every APPEND and EXPUNGE is fsynced).
func fuzz2Backends(tb testing.TB) []*fuzz2Backend {
	fuzz2Once.Do(func() {
		base := ""
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			base = "/dev/shm"
		}
		dir, err := os.MkdirTemp(base, "imapd-fuzz2-")
		if err != nil {
			tb.Fatal(err)
		}
		fuzz2Dir = dir
		db := sasl.Open(dir)
		if err := db.Add("alice", "secret"); err != nil {
			tb.Fatal(err)
		}
		auth := sasl.New(sasl.Options{MechList: []string{"PLAIN"}, AllowPlaintext: true}, db)
		sq, err := sqlite.Open(dir + "/sqlite")
		if err != nil {
			tb.Fatal(err)
		}
		md, err := maildir.Open(dir + "/maildir")
		if err != nil {
			tb.Fatal(err)
		}
		for _, b := range []struct {
			name string
			st   ports.Store
		}{{"sqlite", sq}, {"maildir", md}} {
			srv := app.New(app.Options{ServerName: "fuzz2", ConfigDir: dir, NoPasswordCheck: true, IdleTimeout: time.Hour},
				b.st, auth, filelog.New(dir, "imap", nil), nil)
			fuzz2Srvs = append(fuzz2Srvs, &fuzz2Backend{name: b.name, srv: srv, store: b.st})
		}
	})
	return fuzz2Srvs
}

// input hands out the fuzz bytes; past the end it gives zeros.
type input struct {
	b []byte
	i int
}

func (in *input) next() byte {
	if in.i >= len(in.b) {
		in.i++
		return 0
	}
	in.i++
	return in.b[in.i-1]
}

func (in *input) peek() byte {
	if in.i >= len(in.b) {
		return 0
	}
	return in.b[in.i]
}

func (in *input) done() bool { return in.i >= len(in.b) }

// maxSteps bounds one input's work, so that an iteration stays short.
const maxSteps = 64

func runTwoSessions(t *testing.T, backends []*fuzz2Backend, data []byte) {
	in := &input{b: data}
	cfg := in.next()
	be := backends[int(cfg&1)%len(backends)]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n := fuzz2Seq.Add(1)
	w := &world{
		t:       t,
		mailbox: fmt.Sprintf("fz%d-%d", os.Getpid(), n),
		backend: be,
		ctx:     ctx,
		seen:    map[uint32]bool{},
		gone:    map[uint32]int64{},
	}
	w.other = w.mailbox + "-t"
	for _, name := range []string{w.mailbox, w.other} {
		if err := be.store.CreateMailbox(ctx, "alice", name); err != nil {
			t.Fatalf("%s: create %s: %v", be.name, name, err)
		}
	}
	defer func() {
		for _, name := range []string{w.mailbox, w.other} {
			be.store.DeleteMailbox(context.Background(), "alice", name)
		}
	}()
	a := w.open("A")
	b := w.open("B")
	defer a.kill()
	defer b.kill()
	// Config: bit 1 QRESYNC for B, bit 2 QRESYNC for A, bit 3 IMAP4rev2 for
	// B, bits 4-6 the number of messages A appends before B selects.
	a.login(cfg&4 != 0, false)
	b.login(cfg&2 != 0, cfg&8 != 0)
	a.selectBox()
	for i := 0; i < int(cfg>>4&7); i++ {
		a.appendMsg(byte(i*3), byte(i&1))
	}
	b.selectBox()
	w.check()
	for step := 0; step < maxSteps && !in.done() && !t.Failed(); step++ {
		op := in.next()
		s, o := a, b
		code := int(op&127) % opCount
		if code >= opFetch && code < opJunk {
			s, o = o, s // the reader's operations
		}
		if op >= 128 {
			s = o
		}
		switch code {
		case opJunk:
			s = a
			if in.next()&1 == 1 {
				s = b
			}
			s.junk(in)
		case opPair:
			runPair(a, b, in)
		case opReselect:
			s = a
			if in.peek()&1 == 1 {
				s = b
			}
			s.endIdle()
			s.reselect(in.next())
		default:
			s.endIdle()
			s.op(code, in)
		}
		w.check()
	}
	if t.Failed() {
		return
	}
	for _, s := range []*session{a, b} {
		s.endIdle()
		if st := s.run("NOOP", nil); st != "OK" {
			s.failf("NOOP at the end answered %s", st)
		}
		s.compareStore()
	}
	for _, s := range []*session{a, b} {
		s.logout()
	}
}

// runPair sends one command in each session at the same time and waits
// for both: the changes of one race with the other's reads, as they do
// between processes. Each operation takes its code and up to three
// argument bytes from the input; IDLE, junk and re-SELECT are left out.
func runPair(a, b *session, in *input) {
	a.endIdle()
	b.endIdle()
	type job struct {
		s    *session
		code int
		args *input
	}
	var jobs []job
	for _, s := range []*session{a, b} {
		code := int(in.next()&127) % opJunk
		if code == opIdle {
			code = opNoop
		}
		args := &input{b: []byte{in.next(), in.next(), in.next()}}
		jobs = append(jobs, job{s, code, args})
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		j.s.concurrent = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			j.s.op(j.code, j.args)
		}()
	}
	wg.Wait()
	a.concurrent, b.concurrent = false, false
}

// world is what both sessions share: the mailbox, and what any session has
// seen of its UIDs.
type world struct {
	t       *testing.T
	backend *fuzz2Backend
	ctx     context.Context
	mailbox string
	other   string
	// mu guards what follows while both sessions run commands at once
	// (opPair); each session's own fields belong to its goroutine.
	mu sync.Mutex

	clock       atomic.Int64     // orders commands sent and responses read
	uidValidity uint32           // 0 until first seen
	seen        map[uint32]bool  // every UID seen in any response
	maxSeen     uint32           // the highest of them
	maxUIDNext  uint32           // the highest UIDNEXT reported
	gone        map[uint32]int64 // UID -> clock when an EXPUNGE/VANISHED of it was read
	sessions    []*session
	msgs        atomic.Int32
}

func (w *world) sawUID(s *session, u uint32, what string) {
	if u == 0 {
		s.failf("%s: UID 0", what)
		return
	}
	w.seen[u] = true
	if u > w.maxSeen {
		w.maxSeen = u
	}
}

// sawNewUID records the UID of a message just created: no response can
// have shown it before (not even from a command that ran at the same time,
// which reads the view as it was when it started), so a UID seen twice
// here was given to two messages.
func (w *world) sawNewUID(s *session, u uint32, what string) {
	if w.seen[u] {
		s.failf("%s %d: that UID was already seen", what, u)
	}
	w.sawUID(s, u, what)
}

func (w *world) sawUIDValidity(s *session, v uint32) {
	switch {
	case v == 0:
		s.failf("UIDVALIDITY 0")
	case w.uidValidity == 0:
		w.uidValidity = v
	case v != w.uidValidity:
		s.failf("UIDVALIDITY changed from %d to %d", w.uidValidity, v)
	}
}

// sawUIDNext checks invariant 2d against what was seen before the command
// p that reported it was sent (a command running at the same time in the
// other session may add messages after this one read UIDNEXT).
func (w *world) sawUIDNext(s *session, u uint32, p *pending) {
	maxSeen, maxNext := w.maxSeen, w.maxUIDNext
	if p != nil {
		maxSeen, maxNext = p.maxSeen, p.maxUIDNext
	}
	if u <= maxSeen {
		s.failf("UIDNEXT %d is not above UID %d seen before", u, maxSeen)
	}
	if u < maxNext {
		s.failf("UIDNEXT went down from %d to %d", maxNext, u)
	}
	if u > w.maxUIDNext {
		w.maxUIDNext = u
	}
}

// check runs the invariants that hold between steps.
func (w *world) check() {
	for _, s := range w.sessions {
		s.drain()
		s.checkOrder()
		if err := s.exitErr(); err != nil {
			s.failf("session ended: %v", err)
		}
	}
}

// slot is one message of a session's view.
type slot struct {
	uid        uint32 // 0: not known yet
	flags      []string
	flagsKnown bool
	since      int64 // clock when the command that announced it was sent
	afterSel   bool  // announced by EXISTS after SELECT
}

// session is one client connection and its view of the mailbox.
type session struct {
	w    *world
	name string
	tw   *io.PipeWriter
	out  *outBuf
	end  chan error
	err  error

	tagN int
	// concurrent is set while the other session runs a command at the
	// same time: invariants 6 (EXPUNGE) and 7 wait for a quiet mailbox.
	concurrent bool
	cur        *pending // the command in progress
	idling     *pending // the IDLE waiting for DONE
	view       []slot
	sel        bool
	selNext    uint32 // UIDNEXT at SELECT
}

// pending is a command in progress.
type pending struct {
	tag        string
	name       string // FETCH, STORE, ... (UID stripped)
	uid        bool
	sent       int64
	maxSeen    uint32 // world.maxSeen when sent
	maxUIDNext uint32 // world.maxUIDNext when sent
	status     string
	code       string // the tagged response's text, for response codes
	moved      []uint32
	// searched is set by a "* SEARCH" response, found holds its numbers.
	searched bool
	found    []uint32
	copyDst  []uint32
}

func (w *world) open(name string) *session {
	cr, cw := io.Pipe()
	s := &session{w: w, name: name, tw: cw, out: newOutBuf(), end: make(chan error, 1)}
	conn := stdio.NewConn(&fuzzPipe{r: cr, w: s.out}, "fuzz2-"+name, 0)
	go func() { s.end <- w.backend.srv.ServeConn(w.ctx, conn) }()
	w.sessions = append(w.sessions, s)
	line, ok := s.out.line(5 * time.Second)
	if !ok || !strings.HasPrefix(line, "* OK ") {
		s.failf("no greeting: %q", line)
	}
	return s
}

// fuzzPipe is the server's end of a session: it reads what the client
// writes on a pipe and writes into a buffer that never blocks it.
type fuzzPipe struct {
	r *io.PipeReader
	w *outBuf
}

func (p *fuzzPipe) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p *fuzzPipe) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p *fuzzPipe) Close() error {
	p.w.close()
	return p.r.Close()
}

// outBuf collects what the server writes; the client reads it line by line.
type outBuf struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	closed bool
	more   chan struct{}
}

func newOutBuf() *outBuf { return &outBuf{more: make(chan struct{}, 1)} }

func (o *outBuf) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return 0, io.ErrClosedPipe
	}
	o.buf.Write(p)
	select {
	case o.more <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (o *outBuf) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	select {
	case o.more <- struct{}{}:
	default:
	}
}

// take returns n bytes, or the next line with its CRLF when n < 0, if
// they are there.
func (o *outBuf) take(n int) ([]byte, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	b := o.buf.Bytes()
	if n < 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return nil, false
		}
		n = i + 1
	}
	if len(b) < n {
		return nil, false
	}
	return append([]byte(nil), o.buf.Next(n)...), true
}

func (o *outBuf) isClosed() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.closed
}

// read waits up to d for n bytes (a line when n < 0).
func (o *outBuf) read(n int, d time.Duration) ([]byte, bool) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		if b, ok := o.take(n); ok {
			return b, true
		}
		if o.isClosed() {
			return nil, false
		}
		select {
		case <-o.more:
		case <-deadline.C:
			return nil, false
		}
	}
}

// line returns one response line without CRLF, with the literals it
// carries inlined as quoted text.
func (o *outBuf) line(d time.Duration) (string, bool) {
	var full []byte
	for {
		b, ok := o.read(-1, d)
		if !ok {
			return string(full), false
		}
		b = bytes.TrimRight(b, "\r\n")
		n, lit := literalAtEnd(b)
		if !lit {
			return string(append(full, b...)), true
		}
		full = append(full, b[:bytes.LastIndexByte(b, '{')]...)
		body, ok := o.read(n, d)
		if !ok {
			return string(full), false
		}
		full = append(full, strconv.Quote(string(body))...)
	}
}

// literalAtEnd reports a "{n}" at the end of a line.
func literalAtEnd(b []byte) (int, bool) {
	if len(b) < 3 || b[len(b)-1] != '}' {
		return 0, false
	}
	i := bytes.LastIndexByte(b, '{')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(string(b[i+1 : len(b)-1]))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

const replyWait = 10 * time.Second

func (s *session) failf(format string, args ...any) {
	s.w.t.Helper()
	s.w.t.Errorf("%s (%s, %s): %s", s.name, s.w.backend.name, s.w.mailbox, fmt.Sprintf(format, args...))
}

func (s *session) exitErr() error {
	if s.err != nil {
		return s.err
	}
	select {
	case err := <-s.end:
		if err == nil {
			err = errors.New("ended without error")
		}
		s.err = err
		return err
	default:
		return nil
	}
}

// kill ends the session (if LOGOUT has not) and waits for the server's
// side to finish, so that nothing touches the store after the input.
func (s *session) kill() {
	s.tw.Close()
	if s.err != nil {
		return
	}
	select {
	case err := <-s.end:
		s.err = err
	case <-time.After(replyWait):
		s.failf("session still running after its input was closed")
	}
}

// trace logs both directions when IMAPD_FUZZ2_TRACE is set: set it to
// read the transcript of a failing input.
var trace = os.Getenv("IMAPD_FUZZ2_TRACE") != ""

// send writes a line: a command, or DONE.
func (s *session) send(line string) {
	if trace {
		s.w.t.Logf("%s C: %s", s.name, line)
	}
	if _, err := io.WriteString(s.tw, line+"\r\n"); err != nil {
		s.failf("writing %q: %v", line, err)
	}
}

// drain handles whatever the server sent that is already here.
func (s *session) drain() {
	for {
		b, ok := s.out.take(-1)
		if !ok {
			return
		}
		line := string(bytes.TrimRight(b, "\r\n"))
		if n, lit := literalAtEnd([]byte(line)); lit {
			body, ok := s.out.read(n, replyWait)
			rest, _ := s.out.line(replyWait)
			if !ok {
				s.failf("literal cut short")
				return
			}
			line = line[:strings.LastIndexByte(line, '{')] + strconv.Quote(string(body)) + rest
		}
		s.handle(line)
	}
}

// start sends a command and makes it the one in progress.
func (s *session) start(line string) *pending {
	s.tagN++
	tag := s.name + strconv.Itoa(s.tagN)
	s.w.mu.Lock()
	p := &pending{tag: tag, sent: s.w.clock.Add(1), maxSeen: s.w.maxSeen, maxUIDNext: s.w.maxUIDNext}
	s.w.mu.Unlock()
	f := strings.Fields(line)
	if len(f) > 0 {
		p.name = strings.ToUpper(f[0])
		if p.name == "UID" && len(f) > 1 {
			p.uid = true
			p.name = strings.ToUpper(f[1])
		}
	}
	s.drain()
	s.cur = p
	s.send(tag + " " + line)
	return p
}

// finish reads responses until p's tagged one.
func (s *session) finish(p *pending) string {
	for p.status == "" {
		line, ok := s.out.line(replyWait)
		if !ok {
			s.failf("no tagged response to %s %s %s (got %q)", p.tag, p.name, s.exitNote(), line)
			p.status = "NONE"
			break
		}
		s.handle(line)
	}
	s.cur = nil
	return p.status
}

func (s *session) exitNote() string {
	select {
	case err := <-s.end:
		s.err = err
		return fmt.Sprintf("(session ended: %v)", err)
	case <-time.After(10 * time.Millisecond):
		return "(session alive, no answer)"
	}
}

// run sends a command and waits for its tagged response.
func (s *session) run(line string, p **pending) string {
	c := s.start(line)
	if p != nil {
		*p = c
	}
	return s.finish(c)
}

// waitContinue reads responses until a continuation request.
func (s *session) waitContinue(p *pending) bool {
	for p.status == "" {
		line, ok := s.out.line(replyWait)
		if !ok {
			s.failf("no continuation for %s %s %s", p.tag, p.name, s.exitNote())
			p.status = "NONE"
			return false
		}
		if strings.HasPrefix(line, "+") {
			return true
		}
		s.handle(line)
	}
	return false
}

func (s *session) login(qresync, rev2 bool) {
	if st := s.run("LOGIN alice x", nil); st != "OK" {
		s.failf("LOGIN answered %s", st)
	}
	var caps []string
	if qresync {
		caps = append(caps, "QRESYNC")
	}
	if rev2 {
		caps = append(caps, "IMAP4rev2")
	}
	if len(caps) > 0 {
		if st := s.run("ENABLE "+strings.Join(caps, " "), nil); st != "OK" {
			s.failf("ENABLE answered %s", st)
		}
	}
}

func (s *session) selectBox() { s.open("SELECT") }

// open selects or examines the mailbox: a new view.
func (s *session) open(how string) {
	s.drain()
	s.view, s.sel, s.selNext = nil, false, 0
	if st := s.run(how+" "+s.w.mailbox, nil); st != "OK" {
		s.failf("%s answered %s", how, st)
		return
	}
	s.sel = true
}

// reselect opens the mailbox again (bit 1 of b: after CLOSE, which
// expunges silently; bit 2: read-only, with EXAMINE).
func (s *session) reselect(b byte) {
	if b&2 != 0 && s.sel {
		if st := s.run("CLOSE", nil); st != "OK" {
			s.failf("CLOSE answered %s", st)
		}
		s.view, s.sel = nil, false
	}
	if b&4 != 0 {
		s.open("EXAMINE")
	} else {
		s.open("SELECT")
	}
}

func (s *session) logout() {
	var p *pending
	if st := s.run("LOGOUT", &p); st != "OK" {
		s.failf("LOGOUT answered %s", st)
	}
	select {
	case err := <-s.end:
		if err != nil {
			s.failf("session ended with %v", err)
		}
	case <-time.After(replyWait):
		s.failf("session did not end after LOGOUT")
	}
	s.err = errors.New("logged out")
}

// messageText is a small message numbered k.
func messageText(k byte) string {
	return fmt.Sprintf("From: a@example.org\r\nSubject: m%d\r\n\r\nbody %d\r\n", k, k)
}

var fuzzFlags = []string{`\Deleted`, `\Seen`, `\Flagged`, `\Answered`, `$Junk`, `kw1`, `\Draft`, `\Deleted \Seen`}

// appendMsg appends one message with a synchronizing literal or LITERAL+,
// or two in one command (MULTIAPPEND, RFC 3502).
func (s *session) appendMsg(flagsByte, how byte) {
	msg := messageText(byte(s.w.msgs.Add(1)))
	flags := ""
	if flagsByte&8 != 0 {
		flags = "(" + fuzzFlags[int(flagsByte)%len(fuzzFlags)] + ") "
	}
	target := s.w.mailbox
	if how&4 != 0 {
		target = s.w.other
	}
	var p *pending
	switch {
	case how&2 != 0:
		msg2 := messageText(byte(s.w.msgs.Add(1)))
		p = s.start(fmt.Sprintf("APPEND %s %s{%d+}\r\n%s {%d+}\r\n%s", target, flags, len(msg), msg, len(msg2), msg2))
	case how&1 == 0:
		p = s.start(fmt.Sprintf("APPEND %s %s{%d+}\r\n%s", target, flags, len(msg), msg))
	default:
		p = s.start(fmt.Sprintf("APPEND %s %s{%d}", target, flags, len(msg)))
		if !s.waitContinue(p) {
			s.cur = nil
			return
		}
		io.WriteString(s.tw, msg+"\r\n")
	}
	if st := s.finish(p); st != "OK" {
		s.failf("APPEND answered %s", st)
		return
	}
	// RFC 4315: [APPENDUID uidvalidity uid-set], above any UID seen before.
	f := strings.Fields(strings.Trim(codeOf(p.code), "[]"))
	if len(f) != 3 || f[0] != "APPENDUID" {
		s.failf("APPEND without APPENDUID: %q", p.code)
		return
	}
	v, _ := strconv.ParseUint(f[1], 10, 32)
	uids := expandSet(f[2])
	if want := 1 + int(how>>1&1); len(uids) != want {
		s.failf("APPENDUID %s for %d messages", f[2], want)
	}
	if target != s.w.mailbox {
		return
	}
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	s.w.sawUIDValidity(s, uint32(v))
	for _, u := range uids {
		if u <= p.maxSeen {
			s.failf("APPENDUID %d is not above UID %d seen before", u, p.maxSeen)
		}
		s.w.sawNewUID(s, u, "APPENDUID")
	}
}

// codeOf returns the "[...]" at the start of a response text.
func codeOf(text string) string {
	if !strings.HasPrefix(text, "[") {
		return ""
	}
	if i := strings.IndexByte(text, ']'); i > 0 {
		return text[:i+1]
	}
	return ""
}

// seqSet builds a sequence set from a byte, mostly inside the view.
func (s *session) seqSet(b byte) string {
	n := len(s.view)
	if n == 0 {
		return []string{"1", "*", "1:*"}[int(b)%3]
	}
	k := int(b>>2)%n + 1
	m := int(b>>5)%n + 1
	switch b & 3 {
	case 0:
		return strconv.Itoa(k)
	case 1:
		return "1:*"
	case 2:
		return fmt.Sprintf("%d:%d", k, m)
	default:
		return fmt.Sprintf("%d,*", k)
	}
}

// uidSet builds a UID set from a byte: known UIDs, ranges, or past the end.
func (s *session) uidSet(b byte) string {
	var known []uint32
	for _, sl := range s.view {
		if sl.uid != 0 {
			known = append(known, sl.uid)
		}
	}
	switch {
	case b&3 == 1 || len(known) == 0 && b&3 != 3:
		return "1:*"
	case b&3 == 3:
		s.w.mu.Lock()
		defer s.w.mu.Unlock()
		return strconv.Itoa(int(s.w.maxSeen) + 1 + int(b>>2)%3)
	case b&3 == 0:
		return strconv.Itoa(int(known[int(b>>2)%len(known)]))
	default:
		u := known[int(b>>2)%len(known)]
		return fmt.Sprintf("%d:*", u)
	}
}

var searchKeys = []string{"ALL", "DELETED", "UNDELETED", "SEEN", "FLAGGED", "KEYWORD $Junk", "NOT DELETED",
	"OR SEEN FLAGGED", "LARGER 10", "UID 1:*", "1:*", "TEXT body", "NEW", "RECENT"}

var fetchItems = []string{"(UID FLAGS)", "FLAGS", "(UID RFC822.SIZE)", "(UID FLAGS INTERNALDATE)", "UID",
	"(ENVELOPE UID)", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])", "(UID BODY[TEXT])"}

// op runs one operation of the fuzz input.
func (s *session) op(code int, in *input) {
	if !s.sel {
		s.selectBox()
		return
	}
	var p *pending
	switch code {
	case opStore, opUIDStore:
		set, mode, fl := in.next(), in.next(), in.next()
		item := []string{"+FLAGS", "-FLAGS", "FLAGS", "+FLAGS.SILENT", "-FLAGS.SILENT", "FLAGS.SILENT"}[int(mode)%6]
		seqs := s.seqSet(set)
		cmd := "STORE " + seqs
		if code == opUIDStore {
			seqs = s.uidSet(set)
			cmd = "UID STORE " + seqs
		}
		flags := fuzzFlags[int(fl)%len(fuzzFlags)]
		n := len(s.view)
		if s.run(cmd+" "+item+" ("+flags+")", &p) == "OK" && strings.Contains(item, "SILENT") {
			// RFC 3501 6.4.6: the session is not told the new flags, and
			// knows them as the old ones changed as it asked.
			s.storedSilently(code == opUIDStore, seqs, n, item[0], strings.Fields(flags))
		}
	case opExpunge:
		if s.run("EXPUNGE", &p) == "OK" && !s.concurrent {
			for i, sl := range s.view {
				if sl.flagsKnown && hasFlag(sl.flags, `\Deleted`) {
					s.failf("after EXPUNGE, %d (UID %d) is still in the view with \\Deleted", i+1, sl.uid)
				}
			}
		}
	case opUIDExpunge:
		s.run("UID EXPUNGE "+s.uidSet(in.next()), &p)
	case opMove, opUIDMove:
		set, where := in.next(), in.next()
		target := s.w.other
		if where&1 == 1 {
			target = s.w.mailbox
		}
		verb := "MOVE "
		if where&2 != 0 {
			verb = "COPY "
		}
		cmd := verb + s.seqSet(set)
		if code == opUIDMove {
			cmd = "UID " + verb + s.uidSet(set)
		}
		if s.run(cmd+" "+target, &p) == "OK" {
			s.checkMoved(p, verb == "MOVE ", target == s.w.mailbox)
		}
	case opAppend:
		s.appendMsg(in.next(), in.next())
	case opFetch:
		set, items := in.next(), in.next()
		s.run("FETCH "+s.seqSet(set)+" "+fetchItems[int(items)%len(fetchItems)], &p)
	case opUIDFetch:
		set, items := in.next(), in.next()
		s.run("UID FETCH "+s.uidSet(set)+" "+fetchItems[int(items)%len(fetchItems)], &p)
	case opSearch, opUIDSearch:
		key := searchKeys[int(in.next())%len(searchKeys)]
		before := append([]slot(nil), s.view...)
		cmd := "SEARCH " + key
		if code == opUIDSearch {
			cmd = "UID " + cmd
		}
		if s.run(cmd, &p) == "OK" && p.searched && !s.concurrent {
			s.checkSearch(key, code == opUIDSearch, before, p.found)
		}
	case opNoop:
		if st := s.run("NOOP", &p); st != "OK" {
			s.failf("NOOP answered %s", st)
		}
		if !s.concurrent {
			s.compareStore()
		}
	case opIdle:
		p = s.start("IDLE")
		if s.waitContinue(p) {
			s.idling = p
		} else {
			s.failf("IDLE not continued: %s", p.status)
			s.cur = nil
		}
	case opCheck:
		if st := s.run("CHECK", &p); st != "OK" {
			s.failf("CHECK answered %s", st)
		}
	case opStatus:
		mb := s.w.mailbox
		if in.next()&1 == 1 {
			mb = s.w.other
		}
		if st := s.run("STATUS "+mb+" (MESSAGES UIDNEXT UIDVALIDITY UNSEEN RECENT)", &p); st != "OK" {
			s.failf("STATUS answered %s", st)
		}
	}
}

// searchPredicates say which flags match the search keys whose result
// the client can check from the flags it knows.
var searchPredicates = map[string]func(fl []string) bool{
	"ALL":             func([]string) bool { return true },
	"DELETED":         func(fl []string) bool { return hasFlag(fl, `\Deleted`) },
	"UNDELETED":       func(fl []string) bool { return !hasFlag(fl, `\Deleted`) },
	"NOT DELETED":     func(fl []string) bool { return !hasFlag(fl, `\Deleted`) },
	"SEEN":            func(fl []string) bool { return hasFlag(fl, `\Seen`) },
	"FLAGGED":         func(fl []string) bool { return hasFlag(fl, `\Flagged`) },
	"OR SEEN FLAGGED": func(fl []string) bool { return hasFlag(fl, `\Seen`) || hasFlag(fl, `\Flagged`) },
	"KEYWORD $Junk":   func(fl []string) bool { return hasFlag(fl, "$Junk") },
}

// checkSearch checks invariant 9: a message the client knows (UID and
// flags, the same before and after the SEARCH, so whether the server
// searched the flags it had told or the current ones does not matter), and
// not known as expunged, is in the result exactly when its flags match.
func (s *session) checkSearch(key string, uid bool, before []slot, found []uint32) {
	match := searchPredicates[key]
	if match == nil {
		return
	}
	in := map[uint32]bool{}
	for _, n := range found {
		switch {
		case uid:
			in[n] = true
		case n >= 1 && int(n) <= len(before):
			if u := before[n-1].uid; u != 0 {
				in[u] = true
			}
		}
	}
	after := map[uint32]slot{}
	for _, sl := range s.view {
		if sl.uid != 0 {
			after[sl.uid] = sl
		}
	}
	for _, b := range before {
		a, ok := after[b.uid]
		if b.uid == 0 || !ok || !b.flagsKnown || !a.flagsKnown || !sameFlags(a.flags, b.flags) {
			continue
		}
		if _, gone := s.w.gone[b.uid]; gone {
			continue
		}
		if want := match(b.flags); in[b.uid] != want {
			s.failf("SEARCH %s: UID %d with flags %v is %sin the result %v", key, b.uid, b.flags, map[bool]string{true: "", false: "not "}[in[b.uid]], found)
		}
	}
}

// endIdle sends DONE to an IDLE in progress.
func (s *session) endIdle() {
	p := s.idling
	if p == nil {
		return
	}
	s.awaitIdle()
	s.idling = nil
	s.send("DONE")
	if st := s.finish(p); st != "OK" {
		s.failf("IDLE ended with %s", st)
	}
}

// storedSilently updates what the view knows of flags after a STORE
// .SILENT of set (sequence numbers, resolved against n messages, or UIDs)
// with op '+', '-' or 'F' (replace).
func (s *session) storedSilently(uid bool, set string, n int, op byte, flags []string) {
	if s.concurrent {
		// The other session's changes may land before or after it.
		s.forgetFlags()
		return
	}
	for i := range s.view {
		sl := &s.view[i]
		var in bool
		switch {
		case !uid:
			in = i < n && setContains(set, uint32(i+1), uint32(n))
		case sl.uid == 0:
			sl.flagsKnown = false
			continue
		default:
			in = setContains(set, sl.uid, s.maxKnownUID())
		}
		if !in || !sl.flagsKnown {
			continue
		}
		next := []string{}
		for _, f := range sl.flags {
			if op == 'F' || op == '-' && hasFlag(flags, f) {
				continue
			}
			next = append(next, f)
		}
		if op != '-' {
			for _, f := range flags {
				if !hasFlag(next, f) {
					next = append(next, f)
				}
			}
		}
		sl.flags = next
	}
}

// maxKnownUID is the UID of the last message when the view knows it, else
// the highest UID seen (what "*" means in a UID set, RFC 3501 6.4.8).
func (s *session) maxKnownUID() uint32 {
	if n := len(s.view); n > 0 && s.view[n-1].uid != 0 {
		return s.view[n-1].uid
	}
	return s.w.maxSeen
}

// setContains reports whether a sequence set (as built by seqSet and
// uidSet) contains x, "*" being star.
func setContains(set string, x, star uint32) bool {
	num := func(t string) uint32 {
		if t == "*" {
			return star
		}
		n, _ := strconv.ParseUint(t, 10, 32)
		return uint32(n)
	}
	for _, part := range strings.Split(set, ",") {
		a, b, isRange := strings.Cut(part, ":")
		lo, hi := num(a), num(a)
		if isRange {
			hi = num(b)
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		if x >= lo && x <= hi {
			return true
		}
	}
	return false
}

// forgetFlags drops what the view knows of flags.
func (s *session) forgetFlags() {
	for i := range s.view {
		s.view[i].flagsKnown = false
	}
}

// junk sends a line made of fuzz bytes. It never opens a literal, nor names
// a command that would leave the mailbox (so the session stays
// comparable), but is otherwise anything: often malformed.
func (s *session) junk(in *input) {
	n := int(in.next()) % 200
	var b []byte
	for i := 0; i < n && !in.done(); i++ {
		c := in.next()
		if c == '\r' || c == '\n' || c == '{' {
			c = '?'
		}
		b = append(b, c)
	}
	s.forgetFlags() // a junk STORE .SILENT is possible
	if p := s.idling; p != nil {
		// In IDLE, the line ends it: DONE gives OK, anything else BAD.
		s.idling = nil
		s.send(string(b))
		st := s.finish(p)
		want := "BAD"
		if strings.EqualFold(strings.TrimSpace(string(b)), "DONE") {
			want = "OK"
		}
		if st != want {
			s.failf("IDLE ended by %q answered %s", b, st)
		}
		return
	}
	line := strings.TrimLeft(string(b), " ")
	word := strings.ToUpper(leadingLetters(line))
	if word == "UID" {
		rest := strings.TrimLeft(line[3:], " ")
		word = "UID " + strings.ToUpper(leadingLetters(rest))
	}
	switch word {
	case "IDLE", "LOGOUT", "CLOSE", "UNSELECT", "SELECT", "EXAMINE", "DELETE", "RENAME", "CREATE",
		"AUTHENTICATE", "LOGIN", "STARTTLS", "APPEND", "COPY", "UID COPY", "MOVE", "UID MOVE":
		line = "X" + line
	}
	var p *pending
	s.run(line, &p)
	if p.status != "OK" && p.status != "NO" && p.status != "BAD" {
		s.failf("junk %q answered %q", line, p.status)
	}
}

func leadingLetters(s string) string {
	i := 0
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z') {
		i++
	}
	return s[:i]
}

// checkMoved checks invariant 6 for MOVE, and 2c for a copy or move into
// the same mailbox.
func (s *session) checkMoved(p *pending, move, same bool) {
	for _, u := range p.moved {
		if !move {
			break
		}
		for i, sl := range s.view {
			if sl.uid == u {
				s.failf("UID %d moved but still at %d in the view", u, i+1)
			}
		}
	}
	if same {
		s.w.mu.Lock()
		defer s.w.mu.Unlock()
		for _, u := range p.copyDst {
			if u <= p.maxSeen {
				s.failf("%s into the mailbox gave UID %d, not above UID %d seen before", p.name, u, p.maxSeen)
			}
			s.w.sawNewUID(s, u, "COPYUID")
		}
	}
}

// compareStore checks invariant 7 against the store's own snapshot.
func (s *session) compareStore() {
	if diff := s.diffStore(); diff != "" {
		s.failf("after NOOP %s", diff)
	}
}

// diffStore says how the view differs from the mailbox in the store, ""
// when it does not.
func (s *session) diffStore() string {
	if !s.sel {
		return ""
	}
	st, metas, err := s.w.backend.store.Snapshot(s.w.ctx, "alice", s.w.mailbox)
	if err != nil {
		return fmt.Sprintf("snapshot: %v", err)
	}
	s.w.mu.Lock()
	s.w.sawUIDValidity(s, st.UIDValidity)
	s.w.mu.Unlock()
	if len(metas) != len(s.view) {
		return fmt.Sprintf("the view has %d messages, the mailbox %d", len(s.view), len(metas))
	}
	for i, m := range metas {
		sl := s.view[i]
		if sl.uid != 0 && sl.uid != uint32(m.UID) {
			return fmt.Sprintf("%d is UID %d in the view, %d in the mailbox", i+1, sl.uid, m.UID)
		}
		if sl.flagsKnown && !sameFlags(sl.flags, m.Flags) {
			return fmt.Sprintf("%d (UID %d) has flags %v in the view, %v in the mailbox", i+1, m.UID, sl.flags, m.Flags)
		}
	}
	return ""
}

// idleWait bounds how long an idling session may take to report a change:
// the store's watch wakes it at once, or its fallback poll after 5s.
const idleWait = 8 * time.Second

// awaitIdle checks invariant 8: an idling session is told of every change
// without ending IDLE.
func (s *session) awaitIdle() {
	deadline := time.Now().Add(idleWait)
	for {
		s.drain()
		diff := s.diffStore()
		if diff == "" {
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			s.failf("in IDLE for %v and still not told: %s", idleWait, diff)
			return
		}
		select {
		case <-s.out.more:
		case <-time.After(min(left, 50*time.Millisecond)):
		}
	}
}

func sameFlags(a, b []string) bool {
	norm := func(fl []string) string {
		var out []string
		for _, f := range fl {
			if !strings.EqualFold(f, `\Recent`) {
				out = append(out, strings.ToLower(f))
			}
		}
		sort.Strings(out)
		return strings.Join(out, " ")
	}
	return norm(a) == norm(b)
}

func hasFlag(fl []string, f string) bool {
	for _, x := range fl {
		if strings.EqualFold(x, f) {
			return true
		}
	}
	return false
}

// checkOrder checks invariant 2a over the whole view.
func (s *session) checkOrder() {
	var last uint32
	for i, sl := range s.view {
		if sl.uid == 0 {
			continue
		}
		if sl.uid <= last {
			s.failf("UIDs out of order in the view: %d at %d after %d", sl.uid, i+1, last)
		}
		last = sl.uid
	}
}

// handle folds one response line into the session's view, checking it.
func (s *session) handle(line string) {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	w := s.w
	if trace {
		w.t.Logf("%s S: %s", s.name, line)
	}
	w.clock.Add(1)
	p := s.cur
	if s.idling != nil {
		p = s.idling
	}
	if strings.HasPrefix(line, "+") {
		if p == nil || p.name != "IDLE" && p.name != "APPEND" {
			s.failf("unexpected continuation request %q", line)
		}
		return
	}
	if !strings.HasPrefix(line, "* ") {
		tag, rest, _ := strings.Cut(line, " ")
		if p == nil || tag != p.tag {
			s.failf("tagged response %q while no command with that tag is in progress", line)
			return
		}
		status, text, _ := strings.Cut(rest, " ")
		p.status, p.code = status, text
		s.statusCode(text, p)
		if s.idling == p {
			s.idling = nil
		}
		return
	}
	f := strings.Fields(line[2:])
	if len(f) == 0 {
		s.failf("empty untagged response")
		return
	}
	if f[0] == "BYE" {
		if p == nil || p.name != "LOGOUT" {
			s.failf("BYE before LOGOUT: %q", line)
		}
		return
	}
	if f[0] == "OK" || f[0] == "NO" || f[0] == "BAD" {
		s.statusCode(strings.TrimPrefix(line[2:], f[0]+" "), p)
		return
	}
	if f[0] == "STATUS" {
		s.statusResp(line, p)
		return
	}
	if f[0] == "VANISHED" {
		if len(f) > 1 && strings.EqualFold(f[1], "(EARLIER)") {
			return
		}
		s.expungeAllowed(p, line)
		if len(f) < 2 {
			s.failf("VANISHED without UIDs")
			return
		}
		for _, u := range expandSet(f[1]) {
			s.vanish(u)
		}
		return
	}
	if f[0] == "SEARCH" {
		if p != nil {
			p.searched = true
		}
		for _, x := range f[1:] {
			if strings.HasPrefix(x, "(") {
				break // (MODSEQ n)
			}
			n, err := strconv.ParseUint(x, 10, 32)
			if err != nil {
				s.failf("SEARCH result %q", x)
				continue
			}
			if p != nil {
				p.found = append(p.found, uint32(n))
			}
			if p != nil && p.uid {
				s.checkUIDInView(uint32(n), "UID SEARCH result")
			} else if n < 1 || int(n) > len(s.view) {
				s.failf("SEARCH result %d outside the view (1:%d)", n, len(s.view))
			}
		}
		return
	}
	if len(f) < 2 {
		return // FLAGS, CAPABILITY, ENABLED, LIST, ...
	}
	num, err := strconv.ParseUint(f[0], 10, 32)
	if err != nil {
		return
	}
	switch strings.ToUpper(f[1]) {
	case "EXISTS":
		if int(num) < len(s.view) {
			s.failf("EXISTS %d below the view's %d messages", num, len(s.view))
			return
		}
		since := int64(0)
		if p != nil {
			since = p.sent
		}
		for len(s.view) < int(num) {
			s.view = append(s.view, slot{since: since, afterSel: s.sel})
		}
	case "RECENT":
		// RFC 3501 7.3.2: the number of messages with \Recent, which
		// cannot be more than the messages there are.
		if int(num) > len(s.view) {
			s.failf("RECENT %d above the view's %d messages", num, len(s.view))
		}
	case "EXPUNGE":
		s.expungeAllowed(p, line)
		if num < 1 || int(num) > len(s.view) {
			s.failf("EXPUNGE %d outside the view (1:%d)", num, len(s.view))
			return
		}
		if u := s.view[num-1].uid; u != 0 {
			w.gone[u] = w.clock.Load()
		}
		s.view = append(s.view[:num-1], s.view[num:]...)
	case "FETCH":
		if num < 1 || int(num) > len(s.view) {
			s.failf("FETCH %d outside the view (1:%d): %q", num, len(s.view), line)
			return
		}
		s.fetchResp(int(num), line[strings.Index(line, "FETCH")+len("FETCH"):])
	}
}

// expungeAllowed checks invariant 4.
func (s *session) expungeAllowed(p *pending, line string) {
	switch {
	case p == nil:
		s.failf("%q while no command is in progress", line)
	case !p.uid && (p.name == "FETCH" || p.name == "STORE" || p.name == "SEARCH"):
		s.failf("%q while answering %s", line, p.name)
	case p.name == "CLOSE":
		// RFC 3501 6.4.2: CLOSE removes messages with no EXPUNGE responses.
		s.failf("%q while answering CLOSE", line)
	}
}

// statusCode checks the response codes of untagged OK responses.
func (s *session) statusCode(text string, p *pending) {
	code := strings.Fields(strings.Trim(codeOf(text), "[]"))
	if len(code) == 0 {
		return
	}
	num := func(i int) uint32 {
		if i >= len(code) {
			return 0
		}
		n, _ := strconv.ParseUint(code[i], 10, 32)
		return uint32(n)
	}
	switch strings.ToUpper(code[0]) {
	case "UIDVALIDITY":
		s.w.sawUIDValidity(s, num(1))
	case "UIDNEXT":
		s.w.sawUIDNext(s, num(1), p)
		if p != nil && p.name == "SELECT" {
			s.selNext = num(1)
		}
	case "COPYUID":
		if p == nil || len(code) < 4 {
			return
		}
		p.moved = append(p.moved, expandSet(code[2])...)
		p.copyDst = append(p.copyDst, expandSet(code[3])...)
	}
}

// statusResp checks a STATUS response on the mailbox under test.
func (s *session) statusResp(line string, p *pending) {
	i := strings.LastIndexByte(line, '(')
	if i < 0 || !strings.Contains(line[:i], " "+s.w.mailbox+" ") {
		return
	}
	f := strings.Fields(strings.Trim(line[i:], "()"))
	for j := 0; j+1 < len(f); j += 2 {
		n, _ := strconv.ParseUint(f[j+1], 10, 32)
		switch f[j] {
		case "UIDVALIDITY":
			s.w.sawUIDValidity(s, uint32(n))
		case "UIDNEXT":
			s.w.sawUIDNext(s, uint32(n), p)
		}
	}
}

// vanish removes uid from the view (VANISHED): the slot that holds it, or
// an unknown one where it would sit in UID order.
func (s *session) vanish(u uint32) {
	s.w.gone[u] = s.w.clock.Load()
	lo, hi := s.gap(u)
	if lo < 0 {
		s.view = append(s.view[:hi], s.view[hi+1:]...)
		return
	}
	var unknown []int
	for i := lo; i < hi; i++ {
		if s.view[i].uid == 0 {
			unknown = append(unknown, i)
		}
	}
	if len(unknown) == 0 {
		s.failf("VANISHED %d: no such UID in the view", u)
		return
	}
	if len(unknown) > 1 {
		// Which of these messages went is unknown: what the view knows
		// of each now holds only if it held for all of them.
		merged := s.view[unknown[0]]
		for _, i := range unknown[1:] {
			sl := s.view[i]
			merged.since = min(merged.since, sl.since)
			merged.afterSel = merged.afterSel && sl.afterSel
			merged.flagsKnown = merged.flagsKnown && sl.flagsKnown && sameFlags(merged.flags, sl.flags)
		}
		for _, i := range unknown {
			s.view[i] = merged
		}
	}
	i := unknown[len(unknown)-1]
	s.view = append(s.view[:i], s.view[i+1:]...)
}

// gap finds where uid sits in the view: lo < 0 and hi its index when a
// slot holds it, else the index range [lo, hi) of slots between the known
// UIDs around it.
func (s *session) gap(u uint32) (lo, hi int) {
	lo = 0
	for i, sl := range s.view {
		switch {
		case sl.uid == 0:
		case sl.uid == u:
			return -1, i
		case sl.uid < u:
			lo = i + 1
		default:
			return lo, i
		}
	}
	return lo, len(s.view)
}

func (s *session) checkUIDInView(u uint32, what string) {
	lo, hi := s.gap(u)
	if lo < 0 {
		return
	}
	for i := lo; i < hi; i++ {
		if s.view[i].uid == 0 {
			return
		}
	}
	s.failf("%s %d is not in the view", what, u)
}

// fetchResp reads UID and FLAGS from "(...)" of message seq.
func (s *session) fetchResp(seq int, rest string) {
	items := parseList(strings.TrimSpace(rest))
	sl := &s.view[seq-1]
	for i := 0; i+1 < len(items); i += 2 {
		switch strings.ToUpper(items[i]) {
		case "UID":
			n, err := strconv.ParseUint(items[i+1], 10, 32)
			if err != nil || n == 0 {
				s.failf("bad UID in FETCH %d: %q", seq, items[i+1])
				continue
			}
			s.learnUID(seq, uint32(n))
		case "FLAGS":
			sl.flags = strings.Fields(strings.Trim(items[i+1], "()"))
			sl.flagsKnown = true
		}
	}
}

// learnUID checks invariants 2a, 2b, 2e and 3 for a UID a FETCH gave
// message seq.
func (s *session) learnUID(seq int, u uint32) {
	w := s.w
	sl := &s.view[seq-1]
	if sl.uid != 0 {
		if sl.uid != u {
			s.failf("FETCH %d says UID %d, the view holds UID %d there", seq, u, sl.uid)
		}
		return
	}
	for i := seq - 2; i >= 0; i-- {
		if s.view[i].uid != 0 {
			if s.view[i].uid >= u {
				s.failf("FETCH %d says UID %d, not above UID %d at %d", seq, u, s.view[i].uid, i+1)
			}
			break
		}
	}
	for i := seq; i < len(s.view); i++ {
		if s.view[i].uid != 0 {
			if s.view[i].uid <= u {
				s.failf("FETCH %d says UID %d, not below UID %d at %d", seq, u, s.view[i].uid, i+1)
			}
			break
		}
	}
	if at, ok := w.gone[u]; ok && at < sl.since {
		s.failf("FETCH %d says UID %d, which was expunged before the message entered the view", seq, u)
	}
	if sl.afterSel && s.selNext != 0 && u < s.selNext {
		s.failf("FETCH %d says UID %d for a message announced after SELECT reported UIDNEXT %d", seq, u, s.selNext)
	}
	sl.uid = u
	w.sawUID(s, u, "FETCH")
}

// parseList splits "(a b (c d) e "q")" into its top-level elements.
func parseList(s string) []string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		s = s[1 : len(s)-1]
	}
	var out []string
	for i := 0; i < len(s); {
		if s[i] == ' ' {
			i++
			continue
		}
		j := i
		depth := 0
		for j < len(s) {
			c := s[j]
			switch {
			case c == '"':
				j++
				for j < len(s) && s[j] != '"' {
					if s[j] == '\\' {
						j++
					}
					j++
				}
			case c == '(' || c == '[':
				depth++
			case c == ')' || c == ']':
				depth--
			case c == ' ' && depth == 0:
				goto done
			}
			j++
		}
	done:
		if j > len(s) {
			j = len(s)
		}
		out = append(out, s[i:j])
		i = j
	}
	return out
}

// expandSet expands a UID set without "*".
func expandSet(set string) []uint32 {
	var out []uint32
	for _, part := range strings.Split(set, ",") {
		a, b, isRange := strings.Cut(part, ":")
		x, err := strconv.ParseUint(a, 10, 32)
		if err != nil {
			continue
		}
		y := x
		if isRange {
			if y, err = strconv.ParseUint(b, 10, 32); err != nil {
				continue
			}
		}
		if x > y {
			x, y = y, x
		}
		for u := x; u <= y && u-x < 100000; u++ {
			out = append(out, uint32(u))
		}
	}
	return out
}
