package sqlite

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/imapd-go/imapd/ports"
)

// BenchmarkAppendManyUsers runs durable APPENDs by 16 goroutines, each as
// a user of its own, as sessions in separate processes would: with one
// database per user, their commits (and fsyncs) do not queue for one lock.
func BenchmarkAppendManyUsers(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	const users = 16
	for i := range users {
		if err := s.EnsureUser(ctx, fmt.Sprintf("user%d", i)); err != nil {
			b.Fatal(err)
		}
	}
	msg := "Subject: x\r\n\r\n" + strings.Repeat("body\r\n", 300)
	var next atomic.Int32
	b.SetParallelism((users + 1) / 2)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		user := fmt.Sprintf("user%d", next.Add(1)%users)
		for pb.Next() {
			if _, err := s.Append(ctx, user, "INBOX", ports.NewMessage{Size: int64(len(msg)), Body: strings.NewReader(msg)}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
