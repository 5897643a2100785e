// Package fswatch wakes a store's watchers when files it writes change, in
// this process or any other: Linux inotify on the folders a store writes to,
// with a slow periodic wake-up as the fallback for file systems that do not
// report changes (network mounts). Store adapters share it; it knows nothing
// of IMAP.
package fswatch

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Settle is how long after a change event the first follow-up wake-up
// comes; more follow at ten and a hundred times that.
const Settle = 2 * time.Millisecond

// Fallback is the period of the wake-up sent even when no event came.
const Fallback = 5 * time.Second

// Watch returns a channel (buffer of one, so wake-ups coalesce) that
// receives a value after any change to the given folders or files, and at
// least every fallback; it is closed when ctx ends. A folder that cannot
// be watched leaves only the fallback.
func Watch(ctx context.Context, fallback time.Duration, paths ...string) (<-chan struct{}, error) {
	ch := make(chan struct{}, 1)
	wake := func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	var f *os.File
	if err == nil {
		watched := 0
		for _, p := range paths {
			if _, err := unix.InotifyAddWatch(fd, p, unix.IN_MODIFY|unix.IN_CREATE|unix.IN_DELETE|unix.IN_MOVED_TO|unix.IN_MOVED_FROM|unix.IN_CLOSE_WRITE); err == nil {
				watched++
			}
		}
		if watched > 0 {
			// A non-blocking descriptor makes the File pollable, so
			// Close below ends a pending Read.
			f = os.NewFile(uintptr(fd), "inotify")
		} else {
			unix.Close(fd)
		}
	}
	readerDone := make(chan struct{})
	// A write is often seen before the writer finished its commit (SQLite
	// writes the WAL, then publishes it in its index; maildir renames the
	// file, then writes its own index), so every event is followed by three
	// later wake-ups that see the finished change.
	var mu sync.Mutex
	stopped := false
	later := func() {
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			wake()
		}
	}
	var settle1, settle2, settle3 *time.Timer
	if f == nil {
		close(readerDone)
	} else {
		settle1 = time.AfterFunc(time.Hour, later)
		settle2 = time.AfterFunc(time.Hour, later)
		settle3 = time.AfterFunc(time.Hour, later)
		go func() {
			defer close(readerDone)
			buf := make([]byte, 4096)
			for {
				if _, err := f.Read(buf); err != nil {
					if errors.Is(err, os.ErrClosed) || ctx.Err() != nil {
						return
					}
					// Overflow or a transient error: wake and go on.
				}
				wake()
				settle1.Reset(Settle)
				settle2.Reset(10 * Settle)
				settle3.Reset(100 * Settle)
			}
		}()
	}
	go func() {
		t := time.NewTicker(fallback)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				if f != nil {
					f.Close()
				}
				<-readerDone // no wake-up may follow the close
				mu.Lock()
				stopped = true
				mu.Unlock()
				if settle1 != nil {
					settle1.Stop()
					settle2.Stop()
					settle3.Stop()
				}
				close(ch)
				return
			case <-t.C:
				wake()
			}
		}
	}()
	return ch, nil
}
