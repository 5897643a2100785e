package app

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestAccessKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "urlauth")
	k := &accessKeys{dir: dir}
	if key, err := k.Key("alice", "INBOX", 7, false); err != nil || key != nil {
		t.Fatalf("no key yet: %x, %v", key, err)
	}
	key, err := k.Key("alice", "INBOX", 7, true)
	if err != nil || len(key) != 32 {
		t.Fatalf("new key: %x, %v", key, err)
	}
	if again, _ := k.Key("alice", "INBOX", 7, true); !bytes.Equal(again, key) {
		t.Error("the key changed without RESETKEY")
	}
	if got, _ := k.Key("alice", "INBOX", 7, false); !bytes.Equal(got, key) {
		t.Error("lookup does not find the key")
	}
	if got, _ := k.Key("bob", "INBOX", 7, false); got != nil {
		t.Error("bob sees alice's key")
	}
	// A mailbox made again (another UIDVALIDITY) has no key of the old one.
	if got, _ := k.Key("alice", "INBOX", 8, false); got != nil {
		t.Error("a key outlived its UIDVALIDITY")
	}
	other, _ := k.Key("alice", "Drafts", 1, true)
	if err := k.Reset("alice", "INBOX"); err != nil {
		t.Fatal(err)
	}
	if got, _ := k.Key("alice", "INBOX", 7, false); got != nil {
		t.Error("RESETKEY INBOX kept the key")
	}
	if got, _ := k.Key("alice", "Drafts", 1, false); !bytes.Equal(got, other) {
		t.Error("RESETKEY INBOX dropped Drafts' key")
	}
	if err := k.Reset("alice", ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := k.Key("alice", "Drafts", 1, false); got != nil {
		t.Error("RESETKEY kept a key")
	}
	// Only the server's user may read them.
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode: %v %v", fi, err)
	}
	fi, err = os.Stat(k.path("alice"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode: %v %v", fi, err)
	}
}

// Sessions that make keys at once (as processes do) agree on one key per
// mailbox and lose none.
func TestAccessKeysConcurrent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "urlauth")
	var wg sync.WaitGroup
	keys := make([][]byte, 20)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := &accessKeys{dir: dir}
			box := []string{"INBOX", "Drafts"}[i%2]
			key, err := k.Key("alice", box, 1, true)
			if err != nil {
				t.Error(err)
			}
			keys[i] = key
		}()
	}
	wg.Wait()
	for i := range keys {
		if !bytes.Equal(keys[i], keys[i%2]) {
			t.Errorf("session %d got another key", i)
		}
	}
}

// Forget removes a deleted user's keys, and only theirs.
func TestAccessKeysForget(t *testing.T) {
	k := &accessKeys{dir: filepath.Join(t.TempDir(), "urlauth")}
	old, err := k.Key("alice", "INBOX", 7, true)
	if err != nil {
		t.Fatal(err)
	}
	bob, _ := k.Key("bob", "INBOX", 7, true)
	if err := k.Forget("alice"); err != nil {
		t.Fatal(err)
	}
	if got, _ := k.Key("alice", "INBOX", 7, false); got != nil {
		t.Error("alice's key survived Forget")
	}
	if got, _ := k.Key("bob", "INBOX", 7, false); !bytes.Equal(got, bob) {
		t.Error("Forget of alice took bob's key")
	}
	if err := k.Forget("alice"); err != nil {
		t.Errorf("Forget of a user without keys: %v", err)
	}
	if again, _ := k.Key("alice", "INBOX", 7, true); bytes.Equal(again, old) {
		t.Error("a new alice got the old key")
	}
}
