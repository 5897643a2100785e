package postgres

import "time"

// SetListenLinger changes how long the listening connection outlives its
// last watcher, and returns the old value.
func SetListenLinger(d time.Duration) time.Duration {
	old := listenLinger
	listenLinger = d
	return old
}
