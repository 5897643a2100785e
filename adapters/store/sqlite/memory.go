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
// but one of each database's read pool, then returns the C heap's free
// pages to the system. The app calls it when the process has gone quiet:
// sessions then mostly wait, and a waiting session's only use of the
// store is IDLE's poll, a read. One connection stays: closing a
// database's last connection checkpoints its WAL and removes the file,
// which wakes every session watching that user's folder, whose polls,
// all at once, would open as many connections again. An operation
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
		u.r.SetMaxIdleConns(1)
		u.r.SetMaxIdleConns(maxConns)
		u.w.SetMaxIdleConns(0)
		u.w.SetMaxIdleConns(maxConns)
	}
	C.malloc_trim(0)
}
