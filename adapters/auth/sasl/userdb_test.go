package sasl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/test/pgtest"
)

func TestMain(m *testing.M) {
	if DefaultCost != 10 {
		panic("DefaultCost changed")
	}
	bcryptCost = bcrypt.MinCost
	os.Exit(pgtest.Main(m))
}

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"alice", true}, {"Alice.Smith", true}, {"a-b_c+d@example.org", true}, {"élodie", true},
		{strings.Repeat("x", 64), true},
		{"", false}, {strings.Repeat("x", 65), false}, {"a:b", false}, {"a/b", false}, {"a b", false},
		{"a\tb", false}, {"a\x00b", false}, {"a\nb", false}, {"a\x7fb", false}, {".", false}, {"..", false},
		{"\xff", false},
	}
	for _, tt := range tests {
		err := ValidName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidName(%q) = %v", tt.name, err)
		}
		if err != nil && !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidName(%q) error %v is not ErrInvalidName", tt.name, err)
		}
	}
}

func TestUserDB(t *testing.T) {
	dir := t.TempDir()
	db := Open(dir)
	if names, err := db.List(); err != nil || len(names) != 0 {
		t.Fatalf("empty List = %v, %v", names, err)
	}
	if err := db.Add("bob", "secret1"); err != nil {
		t.Fatal(err)
	}
	if err := db.Add("alice", "pw:with spaces"); err != nil {
		t.Fatal(err)
	}
	if err := db.Add("bob", "other"); !errors.Is(err, ErrUserExists) {
		t.Errorf("Add existing: %v", err)
	}
	if err := db.Add("bad/name", "x"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("Add bad name: %v", err)
	}
	if err := db.Add("carol", ""); !errors.Is(err, ErrBadPassword) {
		t.Errorf("Add empty password: %v", err)
	}
	names, err := db.List()
	if err != nil || !reflect.DeepEqual(names, []string{"alice", "bob"}) {
		t.Fatalf("List = %v, %v", names, err)
	}
	for _, c := range []struct {
		user, pw string
		ok       bool
	}{
		{"bob", "secret1", true}, {"alice", "pw:with spaces", true},
		{"bob", "secret", false}, {"Bob", "secret1", false}, {"nobody", "secret1", false}, {"bob", "", false},
	} {
		err := db.Verify(c.user, c.pw)
		if c.ok && err != nil || !c.ok && !errors.Is(err, imap.ErrAuthFailed) {
			t.Errorf("Verify(%q, %q) = %v", c.user, c.pw, err)
		}
	}
	if err := db.SetPassword("bob", "new"); err != nil {
		t.Fatal(err)
	}
	if err := db.Verify("bob", "secret1"); err == nil {
		t.Error("old password still accepted")
	}
	if err := db.Verify("bob", "new"); err != nil {
		t.Error(err)
	}
	if err := db.SetPassword("nobody", "x"); !errors.Is(err, imap.ErrNoUser) {
		t.Errorf("SetPassword unknown: %v", err)
	}
	if err := db.Delete("alice"); err != nil {
		t.Fatal(err)
	}
	if err := db.Delete("alice"); !errors.Is(err, imap.ErrNoUser) {
		t.Errorf("Delete twice: %v", err)
	}
	if ok, err := db.Exists("alice"); ok || err != nil {
		t.Errorf("Exists(alice) = %v %v", ok, err)
	}
	if ok, err := db.Exists("bob"); !ok || err != nil {
		t.Errorf("Exists(bob) = %v %v", ok, err)
	}

	// The file format: name:bcrypt-hash, one per line, mode 0600, no
	// temporary files left behind.
	data, err := os.ReadFile(filepath.Join(dir, PasswdFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "bob:$2a$04$") {
		t.Errorf("file = %q", data)
	}
	fi, _ := os.Stat(filepath.Join(dir, PasswdFile))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v", fi.Mode())
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

// Another process (here: another UserDB on the same folder) sees changes.
func TestUserDBFreshReads(t *testing.T) {
	dir := t.TempDir()
	a, b := Open(dir), Open(dir)
	if ok, _ := b.Exists("dave"); ok {
		t.Fatal("dave exists early")
	}
	if err := a.Add("dave", "pw"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := b.Exists("dave"); !ok {
		t.Error("b does not see dave")
	}
	if err := a.Delete("dave"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := b.Exists("dave"); ok {
		t.Error("b still sees dave")
	}
}

func TestUserDBConcurrentAdds(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	const n = 8
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := Open(dir).Add(fmt.Sprintf("u%d", i), "pw"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	names, err := Open(dir).List()
	if err != nil || len(names) != n {
		t.Errorf("List = %v, %v; want %d users", names, err, n)
	}
}

func TestUserDBMalformed(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, PasswdFile), []byte("ok:$2a$x\nbroken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := Open(dir).Verify("ok", "x")
	if err == nil || errors.Is(err, imap.ErrAuthFailed) || !strings.Contains(err.Error(), ":2: malformed") {
		t.Errorf("Verify on a corrupt file = %v, want a fault naming line 2", err)
	}
}

// TestVerifyRemembersOnlyTheRightPassword: a remembered check never lets a
// wrong password in, and a changed password forgets the old one.
func TestVerifyRemembersOnlyTheRightPassword(t *testing.T) {
	db := Open(t.TempDir())
	if err := db.Add("ann", "first"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := db.Verify("ann", "first"); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if err := db.Verify("ann", "wrong"); err == nil {
			t.Fatalf("round %d: wrong password accepted", i)
		}
	}
	if err := db.SetPassword("ann", "second"); err != nil {
		t.Fatal(err)
	}
	if err := db.Verify("ann", "first"); err == nil {
		t.Fatal("old password accepted after a change")
	}
	if err := db.Verify("ann", "second"); err != nil {
		t.Fatal(err)
	}
}

// The password file takes argon2id hashes as SQL does; a hash of no known
// kind is a fault reported as such, not a refusal.
func TestUserDBHashKinds(t *testing.T) {
	db := Open(t.TempDir())
	argon, err := NewArgon2idHash("argon")
	if err != nil {
		t.Fatal(err)
	}
	lines := "ann:" + argon + "\nplain:secret\n"
	if err := os.WriteFile(db.Path(), []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := db.Verify("ann", "argon"); err != nil {
		t.Errorf("argon2id: %v", err)
	}
	if err := db.Verify("ann", "other"); !errors.Is(err, imap.ErrAuthFailed) {
		t.Errorf("argon2id, wrong password: %v", err)
	}
	if err := db.Verify("plain", "secret"); err == nil || errors.Is(err, imap.ErrAuthFailed) || !errors.Is(err, ErrUnknownHash) {
		t.Errorf("plaintext value: %v, want ErrUnknownHash, not a refusal", err)
	}
}
