package sqlite

import (
	"strings"
	"testing"

	"github.com/imapd-go/imapd/ports"
)

// TestBodiesHaveTheirOwnPool: message bodies are read on connections of
// their own, which map the file, never on those of the other reads. SQLite
// drops a connection's whole mapping at its first read after any commit,
// at a cost that grows with the pages mapped: were the bodies of a FETCH
// 1:* BODY[] mapped by the connections that also read flags and changes,
// the next STORE would pay for unmapping all of them.
func TestBodiesHaveTheirOwnPool(t *testing.T) {
	s, ctx := userStore(t)
	res, err := s.Append(ctx, "u", "INBOX", ports.NewMessage{Size: 3, Body: strings.NewReader("x\r\n"), Structure: []byte("s")})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Open(ctx, "u", "INBOX", res.UID)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	u, err := s.acquire("u")
	if err != nil {
		t.Fatal(err)
	}
	defer s.release(u)
	pool := m.(*body).db
	if pool == u.r || pool == u.w {
		t.Fatalf("bodies are read on the pool of the other reads or of the writes")
	}
	var got int64
	if err := pool.QueryRow("PRAGMA mmap_size").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != mmapSize {
		t.Errorf("body pool: mmap_size %d, want %d", got, mmapSize)
	}
}
