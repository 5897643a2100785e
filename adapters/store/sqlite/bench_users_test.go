package sqlite

import (
	"context"
	"fmt"
	"syscall"
	"testing"
)

// cpuTime is the CPU time the process has used so far, user and system.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkUserSession measures what a session of a user whose database
// the process has not open costs the store: EnsureUser (the first open),
// Status, ClaimRecent, a few more reads, as LOGIN and SELECT do, over more
// users than a process keeps open.
func BenchmarkUserSession(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	users := make([]string, 4*maxOpenUsers)
	for i := range users {
		users[i] = fmt.Sprintf("user%d", i)
		if err := s.EnsureUser(ctx, users[i]); err != nil {
			b.Fatal(err)
		}
	}
	start := cpuTime()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		u := users[i%len(users)]
		if err := s.EnsureUser(ctx, u); err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.Snapshot(ctx, u, "INBOX"); err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.ClaimRecent(ctx, u, "INBOX"); err != nil {
			b.Fatal(err)
		}
		for range 5 {
			if _, err := s.ChangesSince(ctx, u, "INBOX", 0); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}
