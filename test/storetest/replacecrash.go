package storetest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/ports"
)

// replaceBox is the children's second mailbox: every third replacement
// moves the message between it and INBOX.
const replaceBox = "Drafts"

// replaceBody is version v of the message the children replace, large
// enough that a kill often lands in the middle of a replacement.
func replaceBody(v int) []byte {
	head := fmt.Sprintf("Subject: v%d\r\n\r\n", v)
	return append([]byte(head), bytes.Repeat([]byte{byte('a' + v%26)}, 150000)...)
}

func replaceMessage(v int) (ports.NewMessage, error) {
	body := replaceBody(v)
	st, err := message.Parse(bytes.NewReader(body))
	if err != nil {
		return ports.NewMessage{}, err
	}
	structure, _ := st.MarshalBinary()
	return ports.NewMessage{Flags: []string{`\Draft`}, InternalDate: time.Now(), Size: int64(len(body)),
		Body: bytes.NewReader(body), Structure: structure}, nil
}

// theMessage finds the one message the children replace, in INBOX or
// replaceBox, and its version; an error if there is not exactly one, or
// it is not whole.
func theMessage(ctx context.Context, s ports.Store) (box string, uid imap.UID, v int, err error) {
	n := 0
	for _, b := range []string{childBox, replaceBox} {
		_, metas, err := s.Snapshot(ctx, childUser, b)
		if err != nil {
			return "", 0, 0, err
		}
		for _, m := range metas {
			box, uid = b, m.UID
			n++
		}
	}
	if n != 1 {
		return "", 0, 0, fmt.Errorf("%d messages in %s and %s, want 1", n, childBox, replaceBox)
	}
	body, err := s.Open(ctx, childUser, box, uid)
	if err != nil {
		return "", 0, 0, err
	}
	defer body.Close()
	data, err := io.ReadAll(io.NewSectionReader(body, 0, body.Size()))
	if err != nil {
		return "", 0, 0, err
	}
	if _, err := fmt.Sscanf(string(data), "Subject: v%d", &v); err != nil || !bytes.Equal(data, replaceBody(v)) {
		return "", 0, 0, fmt.Errorf("UID %d of %s is not a whole message (%d bytes)", uid, box, len(data))
	}
	return box, uid, v, nil
}

// replaceChild replaces the one message with its next version until it
// is killed, printing "replaced V" after each Replace returned.
func replaceChild(open ChildOpener) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	s, err := open(os.Getenv(dirEnv))
	if err != nil {
		fail(err)
	}
	r, ok := s.(ports.Replacer)
	if !ok {
		fail(fmt.Errorf("%T does not replace", s))
	}
	ctx := context.Background()
	out := bufio.NewWriter(os.Stdout)
	for {
		box, uid, v, err := theMessage(ctx, s)
		if err != nil {
			fail(err)
		}
		dest := box
		if (v+1)%3 == 0 {
			dest = map[string]string{childBox: replaceBox, replaceBox: childBox}[box]
		}
		msg, err := replaceMessage(v + 1)
		if err != nil {
			fail(err)
		}
		if _, err := r.Replace(ctx, childUser, box, uid, dest, msg); err != nil {
			fail(err)
		}
		fmt.Fprintf(out, "replaced %d\n", v+1)
		out.Flush()
	}
}

// RunReplaceCrash kills children with SIGKILL at random moments of their
// replacements (in one mailbox, and from one mailbox to another), again
// and again; after each kill a new handle must find exactly one message:
// the version last acknowledged, or the one being written when the kill
// came, whole, never both and never neither. It skips a store without
// ports.Replacer.
func RunReplaceCrash(t *testing.T, open Opener, helper Helper) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir, s := prepare(t, open)
	if _, ok := s.(ports.Replacer); !ok {
		t.Skip("the store does not replace")
	}
	ctx := context.Background()
	if err := s.CreateMailbox(ctx, childUser, replaceBox); err != nil {
		t.Fatal(err)
	}
	msg, err := replaceMessage(0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, childUser, childBox, msg); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	acked, unacked := 0, 0
	for range CrashKills {
		cmd := helper(ChildEnv+"=replace", dirEnv+"="+dir)
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				cmd.Process.Kill()
				cmd.Wait()
			}
		})
		sc := bufio.NewScanner(stdout)
		read := func(limit int) {
			for n := 0; (limit == 0 || n < limit) && sc.Scan(); n++ {
				var v int
				if _, err := fmt.Sscanf(sc.Text(), "replaced %d", &v); err == nil {
					if v != acked+1 {
						t.Fatalf("child acknowledged version %d after %d", v, acked)
					}
					acked = v
				}
			}
		}
		read(1 + rng.IntN(3))
		time.Sleep(time.Duration(rng.IntN(15000)) * time.Microsecond)
		cmd.Process.Kill()
		read(0)
		cmd.Wait()
		s2 := open(t, dir)
		box, _, v, err := theMessage(ctx, s2)
		s2.Close()
		if err != nil {
			t.Fatalf("after a kill with version %d acknowledged: %v", acked, err)
		}
		if v != acked && v != acked+1 {
			t.Fatalf("after a kill: version %d in %s, but %d was acknowledged", v, box, acked)
		}
		if v == acked+1 {
			unacked++ // the kill came after the commit, before the acknowledgement
		}
		acked = v
	}
	t.Logf("%d kills, %d replacements, %d completed but not acknowledged", CrashKills, acked, unacked)
}
