package sqlite

// Memory that a process gives back once its sessions are idle.
// A user's database gets a connection per operation running at once (up
// to maxConns in each pool), and each connection keeps its page cache,
// its prepared statements and SQLite's lookaside buffers while idle:
// about 110 KB. A burst of logins leaves users with several idle
// connections each (measured: 100 users' databases at 275 KB with one
// operation at a time, 1.1 MB with ten), though their sessions now only
// wait. SQLite's memory comes from malloc, which keeps what is freed in
// its arenas until asked to give it back.

/*
#include <malloc.h>
*/
import "C"

// ReleaseMemory closes the idle connections of the open user databases,
// then returns the C heap's free pages to the system. The app calls it
// when the process has gone quiet: sessions then mostly wait, and a
// waiting session does not touch its store until a commit wakes it (Watch
// reports commits only, so the checkpoint and removal of the WAL that the
// close of a database's last connection does wake nobody). An operation
// running meanwhile keeps its connection.
func (s *Store) ReleaseMemory() {
	s.mu.Lock()
	open := make([]*userDB, 0, len(s.dbs))
	for _, u := range s.dbs {
		open = append(open, u)
	}
	s.mu.Unlock()
	for _, u := range open {
		// Lowering a bound closes the surplus idle connections at
		// once; raising it again lets a busy user keep more.
		u.r.SetMaxIdleConns(0)
		u.r.SetMaxIdleConns(maxConns)
		u.b.SetMaxIdleConns(0)
		u.b.SetMaxIdleConns(maxConns)
		u.w.SetMaxIdleConns(0)
		u.w.SetMaxIdleConns(maxConns)
	}
	C.malloc_trim(0)
}
