package storetest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/ports"
)

// The multi-process tests start child OS processes that open the same store
// and append in a loop. A test binary is its own child: RunCrash and
// RunProcesses start it again with environment variables that make Child,
// called first thing in the adapter's TestMain, do the child's work:
//
//	func TestMain(m *testing.M) {
//		storetest.Child(func(dir string) (ports.Store, error) { return mystore.Open(dir) })
//		os.Exit(m.Run())
//	}

// Environment variables of a child process.
const (
	ChildEnv = "STORETEST_CHILD" // the child's job: "append" or "replace"
	dirEnv   = "STORETEST_DIR"
	countEnv = "STORETEST_COUNT" // messages to append; 0: until killed
	flagEnv  = "STORETEST_FLAG"  // "1": flag each message after appending it
	// fullEnv "1": an append refused as over quota ends the child
	// successfully, printing "full" (RunQuotaProcesses).
	fullEnv = "STORETEST_UNTIL_FULL"
)

// ChildOpener opens the store in dir inside a child process.
type ChildOpener func(dir string) (ports.Store, error)

// Helper returns the command that starts a child process with the extra
// environment variables env; ReExec is the usual one.
type Helper func(env ...string) *exec.Cmd

// ReExec starts the running test binary again, running no test, so that
// its TestMain reaches Child.
func ReExec(env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// childUser and childBox are where children append.
const childUser, childBox = "u", "INBOX"

// ChildBody is the i-th message the child with the given pid appends:
// large enough that a kill often lands in the middle of an append, and
// unique, so that the checks can tell every message from every other.
func ChildBody(pid, i int) []byte {
	head := fmt.Sprintf("Subject: %d-%d\r\n\r\n", pid, i)
	return append([]byte(head), bytes.Repeat([]byte{byte('a' + (pid+i)%26)}, 150000)...)
}

// Child does a child's work and exits when this process was started as a
// child by the suite; otherwise it returns at once. It prints one line
// "acked PID I UID" after each Append returned.
func Child(open ChildOpener) {
	if os.Getenv(ChildEnv) == "replace" {
		replaceChild(open)
	}
	if os.Getenv(ChildEnv) != "append" {
		return
	}
	s, err := open(os.Getenv(dirEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: open:", err)
		os.Exit(1)
	}
	n, _ := strconv.Atoi(os.Getenv(countEnv))
	flag := os.Getenv(flagEnv) == "1"
	ctx := context.Background()
	out := bufio.NewWriter(os.Stdout)
	pid := os.Getpid()
	for i := 0; n == 0 || i < n; i++ {
		body := ChildBody(pid, i)
		// The real structure, so that a store's full-text index reads
		// the message as it would the server's (checkCrashIndex).
		st, err := message.Parse(bytes.NewReader(body))
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		structure, _ := st.MarshalBinary()
		r, err := s.Append(ctx, childUser, childBox, ports.NewMessage{
			InternalDate: time.Now(), Size: int64(len(body)), Body: bytes.NewReader(body),
			Structure: structure,
		})
		if errors.Is(err, imap.ErrOverQuota) && os.Getenv(fullEnv) == "1" {
			fmt.Fprintln(out, "full")
			out.Flush()
			s.Close()
			os.Exit(0)
		}
		if err == nil && flag {
			_, err = s.UpdateFlags(ctx, childUser, childBox, []imap.UID{r.UID}, ports.FlagsAdd, []string{imap.FlagSeen})
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		fmt.Fprintf(out, "acked %d %d %d\n", pid, i, r.UID)
		out.Flush()
	}
	s.Close()
	os.Exit(0)
}

// ack is one acknowledged append of a child.
type ack struct {
	pid, i int
	uid    imap.UID
}

// startChild starts a child appending count messages (0: forever) to dir.
func startChild(t *testing.T, helper Helper, dir string, count int, flag bool, env ...string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	f := "0"
	if flag {
		f = "1"
	}
	cmd := helper(append([]string{ChildEnv + "=append", dirEnv + "=" + dir, countEnv + "=" + strconv.Itoa(count), flagEnv + "=" + f}, env...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Never leave a child behind, whatever happens to the test.
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, bufio.NewScanner(out)
}

// readAcks reads acknowledgements until limit (0: the end of output).
func readAcks(sc *bufio.Scanner, limit int) []ack {
	var acks []ack
	for (limit == 0 || len(acks) < limit) && sc.Scan() {
		var a ack
		if _, err := fmt.Sscanf(sc.Text(), "acked %d %d %d", &a.pid, &a.i, &a.uid); err == nil {
			acks = append(acks, a)
		}
	}
	return acks
}

// prepare opens a store on a fresh directory with the children's user.
func prepare(t *testing.T, open Opener) (string, ports.Store) {
	t.Helper()
	dir := t.TempDir()
	s := open(t, dir)
	t.Cleanup(func() { s.Close() })
	if err := s.EnsureUser(context.Background(), childUser); err != nil {
		t.Fatal(err)
	}
	return dir, s
}

// checkStored verifies the mailbox after children wrote to it: every
// acknowledged message present once with its exact bytes, every stored
// message a whole message some child sent, UIDs strictly increasing.
// It returns the metadata.
func checkStored(t *testing.T, s ports.Store, acks []ack) (ports.MailboxStatus, []ports.MessageMeta) {
	t.Helper()
	ctx := context.Background()
	st, metas, err := s.Snapshot(ctx, childUser, childBox)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	stored := map[imap.UID]bool{}
	bodies := map[string]imap.UID{}
	for i, m := range metas {
		if i > 0 && m.UID <= metas[i-1].UID {
			t.Errorf("UIDs not increasing: %d after %d", m.UID, metas[i-1].UID)
		}
		stored[m.UID] = true
		b, err := s.Open(ctx, childUser, childBox, m.UID)
		if err != nil {
			t.Errorf("UID %d listed but not readable: %v", m.UID, err)
			continue
		}
		data, err := io.ReadAll(io.NewSectionReader(b, 0, b.Size()))
		b.Close()
		if err != nil {
			t.Errorf("UID %d: %v", m.UID, err)
			continue
		}
		var pid, n int
		if _, err := fmt.Sscanf(string(data), "Subject: %d-%d", &pid, &n); err != nil || !bytes.Equal(data, ChildBody(pid, n)) {
			t.Errorf("UID %d holds a partial or foreign message (%d bytes)", m.UID, len(data))
			continue
		}
		if prev, dup := bodies[string(data[:40])]; dup {
			t.Errorf("message %d-%d stored twice, as UIDs %d and %d", pid, n, prev, m.UID)
		}
		bodies[string(data[:40])] = m.UID
	}
	seen := map[imap.UID]bool{}
	for _, a := range acks {
		if seen[a.uid] {
			t.Errorf("UID %d acknowledged twice", a.uid)
		}
		seen[a.uid] = true
		if !stored[a.uid] {
			t.Errorf("acknowledged UID %d (message %d-%d) is missing", a.uid, a.pid, a.i)
			continue
		}
		if u, ok := bodies[string(ChildBody(a.pid, a.i)[:40])]; !ok || u != a.uid {
			t.Errorf("acknowledged message %d-%d is UID %d, stored as %d", a.pid, a.i, a.uid, u)
		}
	}
	if int(st.Messages) != len(metas) {
		t.Errorf("status says %d messages, snapshot lists %d", st.Messages, len(metas))
	}
	return st, metas
}

// RunProcesses checks that several processes appending to and flagging one
// mailbox at once lose nothing and never share a UID.
func RunProcesses(t *testing.T, open Opener, helper Helper) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir, _ := prepare(t, open)
	const procs, each = 4, 25
	var wg sync.WaitGroup
	var mu sync.Mutex
	var acks []ack
	for range procs {
		cmd, sc := startChild(t, helper, dir, each, true)
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := readAcks(sc, 0)
			if err := cmd.Wait(); err != nil {
				t.Errorf("child: %v", err)
			}
			mu.Lock()
			acks = append(acks, a...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(acks) != procs*each {
		t.Fatalf("%d messages acknowledged, want %d", len(acks), procs*each)
	}
	s := open(t, dir)
	defer s.Close()
	st, metas := checkStored(t, s, acks)
	if len(metas) != procs*each || st.Unseen != 0 {
		t.Errorf("%d messages stored (%d unseen), want %d all seen", len(metas), st.Unseen, procs*each)
	}
}

// CrashKills is how many times RunCrash kills a child.
const CrashKills = 20

// RunCrash kills children with SIGKILL at random moments of their appends,
// again and again, then reopens the store and checks that every
// acknowledged message is there once with its exact bytes, no partial
// message exists, UIDs are unique and increasing, UIDVALIDITY has not
// changed, and the next UID is above every UID ever seen.
func RunCrash(t *testing.T, open Opener, helper Helper) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir, s := prepare(t, open)
	ctx := context.Background()
	before, err := s.Status(ctx, childUser, childBox)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var acks []ack
	for k := range CrashKills {
		cmd, sc := startChild(t, helper, dir, 0, k%2 == 1)
		// Let it acknowledge a few messages, then kill it a random
		// moment later: inside an append, between two, or anywhere.
		acks = append(acks, readAcks(sc, 1+rng.IntN(3))...)
		time.Sleep(time.Duration(rng.IntN(15000)) * time.Microsecond)
		cmd.Process.Kill()
		// Acknowledgements printed before the kill count too.
		acks = append(acks, readAcks(sc, 0)...)
		cmd.Wait()
	}
	if len(acks) < CrashKills {
		t.Fatalf("only %d messages acknowledged in %d runs", len(acks), CrashKills)
	}
	s2 := open(t, dir)
	defer s2.Close()
	st, metas := checkStored(t, s2, acks)
	checkCrashIndex(t, s2, metas)
	if q, ok := s2.(ports.Quotas); ok {
		// The quota usage is in step with the mail (ports.Quotas).
		e := &env{t: t, ctx: ctx, s: s2}
		e.checkUsage(q, childUser)
	}
	if st.UIDValidity != before.UIDValidity {
		t.Errorf("UIDVALIDITY changed from %d to %d", before.UIDValidity, st.UIDValidity)
	}
	var last imap.UID
	for _, a := range acks {
		last = max(last, a.uid)
	}
	if len(metas) > 0 {
		last = max(last, metas[len(metas)-1].UID)
	}
	r, err := s2.Append(ctx, childUser, childBox, ports.NewMessage{InternalDate: time.Now(), Size: 1, Body: bytes.NewReader([]byte("x"))})
	if err != nil {
		t.Fatalf("Append after the crashes: %v", err)
	}
	if r.UID <= last || r.UID < st.UIDNext || r.UIDValidity != before.UIDValidity {
		t.Errorf("Append after the crashes = %+v; last UID seen %d, UIDNEXT %d", r, last, st.UIDNext)
	}
	t.Logf("%d kills, %d messages acknowledged, %d stored", CrashKills, len(acks), len(metas))
}
