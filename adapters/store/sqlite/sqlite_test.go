package sqlite_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"

	"github.com/imapd-go/imapd/adapters/store/sqlite"
	"github.com/imapd-go/imapd/ports"
	"github.com/imapd-go/imapd/test/storetest"
)

func open(t testing.TB, dir string) ports.Store {
	s, err := sqlite.Open(dir)
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, open)
}

// The tests below run the store in several OS processes: the test binary
// started again as a helper that appends messages and prints each UID once
// Append has returned.

const helperDir = "IMAPD_SQLITE_HELPER_DIR"
const helperCount = "IMAPD_SQLITE_HELPER_COUNT"

// helperBody is the i-th message a helper appends: large enough to span
// several chunks, so that a kill often lands inside a transaction.
func helperBody(pid, i int) []byte {
	head := fmt.Sprintf("Subject: %d-%d\r\n\r\n", pid, i)
	return append([]byte(head), bytes.Repeat([]byte{byte('a' + i%26)}, 150000)...)
}

func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperDir)
	if dir == "" {
		t.Skip("runs only as a helper of the multi-process tests")
	}
	n, _ := strconv.Atoi(os.Getenv(helperCount)) // 0: until killed
	s, err := sqlite.Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx := context.Background()
	for i := 0; n == 0 || i < n; i++ {
		body := helperBody(os.Getpid(), i)
		r, err := s.Append(ctx, "u", "INBOX", ports.NewMessage{
			InternalDate: time.Now(), Size: int64(len(body)), Body: bytes.NewReader(body),
		})
		if err == nil {
			_, err = s.UpdateFlags(ctx, "u", "INBOX", []imap.UID{r.UID}, ports.FlagsAdd, []string{imap.FlagSeen})
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("acked %d %d %d\n", os.Getpid(), i, r.UID)
	}
	s.Close()
	os.Exit(0)
}

// helper starts the test binary as a helper process on dir.
func helper(t *testing.T, dir string, count int) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperDir+"="+dir, helperCount+"="+strconv.Itoa(count))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, bufio.NewScanner(out)
}

type ack struct {
	pid, i int
	uid    imap.UID
}

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

func setup(t *testing.T) (string, *sqlite.Store) {
	t.Helper()
	dir := t.TempDir()
	s, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.EnsureUser(context.Background(), "u"); err != nil {
		t.Fatal(err)
	}
	return dir, s
}

// checkAcked verifies that every acknowledged message is present with its
// exact bytes.
func checkAcked(t *testing.T, s *sqlite.Store, acks []ack) {
	t.Helper()
	ctx := context.Background()
	for _, a := range acks {
		b, err := s.Open(ctx, "u", "INBOX", a.uid)
		if err != nil {
			t.Errorf("acknowledged UID %d: %v", a.uid, err)
			continue
		}
		got, err := io.ReadAll(io.NewSectionReader(b, 0, b.Size()))
		b.Close()
		if err != nil || !bytes.Equal(got, helperBody(a.pid, a.i)) {
			t.Errorf("UID %d: wrong bytes (%d read, %v)", a.uid, len(got), err)
		}
	}
}

func TestProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir, s := setup(t)
	const procs, each = 4, 30
	var wg sync.WaitGroup
	var mu sync.Mutex
	var acks []ack
	for range procs {
		cmd, sc := helper(t, dir, each)
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := readAcks(sc, 0)
			if err := cmd.Wait(); err != nil {
				t.Errorf("helper: %v", err)
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
	st, metas, err := s.Snapshot(context.Background(), "u", "INBOX")
	if err != nil || st.Messages != procs*each || st.Unseen != 0 {
		t.Fatalf("status %+v, %v", st, err)
	}
	seen := map[imap.UID]bool{}
	for _, a := range acks {
		if seen[a.uid] {
			t.Errorf("UID %d handed out twice", a.uid)
		}
		seen[a.uid] = true
	}
	for _, m := range metas {
		if !seen[m.UID] {
			t.Errorf("UID %d stored but never acknowledged", m.UID)
		}
	}
	checkAcked(t, s, acks)
}

// TestKillDuringAppend kills a process in the middle of its appends (as
// kill -9 would) and checks that the database is intact, every acknowledged
// message is there, and no UID comes back.
func TestKillDuringAppend(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir, s := setup(t)
	cmd, sc := helper(t, dir, 0)
	acks := readAcks(sc, 25)
	cmd.Process.Kill()
	cmd.Wait()
	if len(acks) != 25 {
		t.Fatalf("helper acknowledged %d messages", len(acks))
	}
	db, err := sql.Open("sqlite3", filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	checkAcked(t, s, acks)
	ctx := context.Background()
	st, metas, err := s.Snapshot(ctx, "u", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	// A message committed just before the kill may not have been printed:
	// at most the acknowledged ones plus one, each whole.
	if n := len(metas); n < len(acks) || n > len(acks)+1 {
		t.Errorf("%d messages stored, %d acknowledged", n, len(acks))
	}
	for _, m := range metas {
		b, err := s.Open(ctx, "u", "INBOX", m.UID)
		if err != nil {
			t.Fatalf("UID %d: %v", m.UID, err)
		}
		if _, err := io.ReadAll(io.NewSectionReader(b, 0, b.Size())); err != nil {
			t.Errorf("UID %d unreadable: %v", m.UID, err)
		}
		b.Close()
	}
	r, err := s.Append(ctx, "u", "INBOX", ports.NewMessage{InternalDate: time.Now(), Size: 1, Body: strings.NewReader("x")})
	if err != nil {
		t.Fatal(err)
	}
	if last := metas[len(metas)-1].UID; r.UID <= last || r.UID < st.UIDNext {
		t.Errorf("UID %d after a crash, last stored %d, UIDNEXT %d", r.UID, last, st.UIDNext)
	}
}
