package maildir

import (
	"os"
	"sync/atomic"
)

// SetLogLimit changes the log length past which writers compact, for
// tests that want compactions to happen often; it returns the old value.
func SetLogLimit(n int64) int64 {
	old := logLimit
	logLimit = n
	return old
}

// CountSyncs counts the fsyncs and fdatasyncs of the package from now
// on, until the returned stop is called; count returns how many so far.
func CountSyncs() (count func() int64, stop func()) {
	var n atomic.Int64
	oldSync, oldData := fsync, fdatasync
	fsync = func(f *os.File) error { n.Add(1); return oldSync(f) }
	fdatasync = func(f *os.File) error { n.Add(1); return oldData(f) }
	return n.Load, func() { fsync, fdatasync = oldSync, oldData }
}

// SetCrashHook sets the function called at the named moments of a
// compaction (see crashPoint); nil removes it.
func SetCrashHook(f func(point string)) { crashHook = f }
