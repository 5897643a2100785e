package storetest

import (
	"bytes"
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/ports"
)

// crashAtTimeout bounds how long a child of RunCrashAt may append without
// reaching the moment it is to die at.
const crashAtTimeout = 2 * time.Minute

// RunCrashAt is RunCrash with the moments of death chosen by the adapter:
// each element of points is the extra environment of one child, which
// appends until it kills itself with SIGKILL at the moment that
// environment names (the adapter's TestMain reads it: a compaction's
// steps, say). The children run one after the other on one store; after
// each death the store, opened afresh, must hold every acknowledged
// message once with its exact bytes and structure, nothing partial, and
// take a new message above every UID seen. A child that exits otherwise,
// or does not die within a couple of minutes, fails the test.
func RunCrashAt(t *testing.T, open Opener, helper Helper, points ...[]string) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir, s := prepare(t, open)
	ctx := context.Background()
	before, err := s.Status(ctx, childUser, childBox)
	if err != nil {
		t.Fatal(err)
	}
	var acks []ack
	for _, env := range points {
		cmd, sc := startChild(t, helper, dir, 0, false, env...)
		timer := time.AfterFunc(crashAtTimeout, func() { cmd.Process.Kill() })
		start := time.Now()
		acks = append(acks, readAcks(sc, 0)...)
		cmd.Wait()
		timer.Stop()
		ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL || time.Since(start) >= crashAtTimeout {
			t.Fatalf("child %v: %v, not killed by itself at its moment", env, cmd.ProcessState)
		}
		s2 := open(t, dir)
		st, metas := checkStored(t, s2, acks)
		checkStructures(t, s2, metas)
		var last imap.UID
		for _, a := range acks {
			last = max(last, a.uid)
		}
		if len(metas) > 0 {
			last = max(last, metas[len(metas)-1].UID)
		}
		if st.UIDValidity != before.UIDValidity {
			t.Errorf("after %v: UIDVALIDITY changed from %d to %d", env, before.UIDValidity, st.UIDValidity)
		}
		if st.UIDNext <= last {
			t.Errorf("after %v: UIDNEXT %d, but UID %d was seen", env, st.UIDNext, last)
		}
		s2.Close()
		if t.Failed() {
			t.FailNow()
		}
		t.Logf("%v: %d messages acknowledged in all, %d stored", env, len(acks), len(metas))
	}
	s2 := open(t, dir)
	defer s2.Close()
	_, metas := checkStored(t, s2, acks)
	var last imap.UID
	if len(metas) > 0 {
		last = metas[len(metas)-1].UID
	}
	r, err := s2.Append(ctx, childUser, childBox, ports.NewMessage{InternalDate: time.Now(), Size: 1, Body: bytes.NewReader([]byte("x"))})
	if err != nil || r.UID <= last {
		t.Errorf("Append after the crashes = %+v, %v; last UID %d", r, err, last)
	}
}

// checkStructures verifies that every stored message of a child has the
// structure the child gave with it.
func checkStructures(t *testing.T, s ports.Store, metas []ports.MessageMeta) {
	t.Helper()
	uids := make([]imap.UID, len(metas))
	for i, m := range metas {
		uids[i] = m.UID
	}
	recs, err := s.Fetch(context.Background(), childUser, childBox, uids)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if len(recs) != len(metas) {
		t.Fatalf("Fetch returned %d records for %d messages", len(recs), len(metas))
	}
	for _, r := range recs {
		b, err := s.Open(context.Background(), childUser, childBox, r.UID)
		if err != nil {
			t.Fatalf("UID %d: %v", r.UID, err)
		}
		head := make([]byte, 40)
		k, _ := b.ReadAt(head, 0)
		b.Close()
		var pid, n int
		if _, err := fmt.Sscanf(string(head[:k]), "Subject: %d-%d", &pid, &n); err != nil {
			t.Errorf("UID %d holds no child's message", r.UID)
			continue
		}
		st, err := message.Parse(bytes.NewReader(ChildBody(pid, n)))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := st.MarshalBinary()
		if !bytes.Equal(r.Structure, want) {
			t.Errorf("UID %d: structure of %d bytes, want the %d of message %d-%d", r.UID, len(r.Structure), len(want), pid, n)
		}
	}
}
