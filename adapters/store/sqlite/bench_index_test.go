package sqlite

import (
	"context"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/adapters/store/ftsindex"
	"github.com/imapd-go/imapd/test/storetest"
)

// BenchmarkAppendIndexed: a durable APPEND of a small message, alone and
// followed by IndexMailbox, as a session runs them.
func BenchmarkAppendIndexed(b *testing.B) {
	if !ftsindex.Available() {
		b.Skip("no FTS5")
	}
	raw := "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: lunch on friday\r\nMessage-ID: <x@example.org>\r\n\r\n" +
		strings.Repeat("Shall we meet at noon by the fountain? ", 40) + "\r\n"
	for _, index := range []bool{false, true} {
		name := "append"
		if index {
			name = "append+index"
		}
		b.Run(name, func(b *testing.B) {
			s, err := Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			if err := s.EnsureUser(ctx, "u"); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := s.Append(ctx, "u", "INBOX", storetest.RealMessage(b, raw)); err != nil {
					b.Fatal(err)
				}
				if index {
					if err := s.IndexMailbox(ctx, "u", "INBOX"); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
