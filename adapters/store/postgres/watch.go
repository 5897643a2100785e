package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/imapd-go/imapd/domain/imap"
)

// listener is a process's one LISTEN connection, shared by every watcher
// of the process. Every write transaction notifies notifyChannel with its
// user's name at commit; the listener wakes the watchers of that user.
// When the connection breaks (the database restarted, a network cut) it
// connects again with a growing pause, LISTENs again and wakes every
// watcher, since notifications sent meanwhile are lost: each watcher's
// session then asks the store what changed.
type listener struct {
	cfg *pgx.ConnConfig

	mu       sync.Mutex
	watchers map[string]map[*watcher]struct{} // by user
	started  bool
	ready    chan struct{} // closed once the first LISTEN succeeded
	stop     context.CancelFunc
	done     chan struct{}
}

// watcher is one Watch or WatchUser channel.
type watcher struct {
	ch chan struct{}
}

func (w *watcher) wake() {
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

func newListener(cfg *pgx.ConnConfig) *listener {
	return &listener{cfg: cfg, watchers: map[string]map[*watcher]struct{}{}, ready: make(chan struct{})}
}

// readyTimeout bounds how long Watch waits for the first LISTEN.
const readyTimeout = 10 * time.Second

// add registers a watcher of user until ctx ends, starting the listener
// on first use, and waits until the listener is listening.
func (l *listener) add(ctx context.Context, op, user string) (<-chan struct{}, error) {
	w := &watcher{ch: make(chan struct{}, 1)}
	l.mu.Lock()
	if l.watchers[user] == nil {
		l.watchers[user] = map[*watcher]struct{}{}
	}
	l.watchers[user][w] = struct{}{}
	if !l.started {
		l.started = true
		lctx, cancel := context.WithCancel(context.Background())
		l.stop, l.done = cancel, make(chan struct{})
		go l.run(lctx)
	}
	ready := l.ready
	l.mu.Unlock()
	remove := func() {
		l.mu.Lock()
		delete(l.watchers[user], w)
		if len(l.watchers[user]) == 0 {
			delete(l.watchers, user)
		}
		l.mu.Unlock()
	}
	select {
	case <-ready:
	case <-ctx.Done():
		remove()
		return nil, ctx.Err()
	case <-time.After(readyTimeout):
		remove()
		return nil, imap.Errorf(op, imap.ErrUnavailable, "cannot listen for changes")
	}
	go func() {
		<-ctx.Done()
		remove()
		close(w.ch)
	}()
	return w.ch, nil
}

// run keeps a connection listening until ctx ends.
func (l *listener) run(ctx context.Context) {
	defer close(l.done)
	pause := 50 * time.Millisecond
	first := true
	for ctx.Err() == nil {
		conn, err := pgx.ConnectConfig(ctx, l.cfg)
		if err == nil {
			_, err = conn.Exec(ctx, "LISTEN "+notifyChannel)
		}
		if err != nil {
			if conn != nil {
				conn.Close(context.Background())
			}
			select {
			case <-ctx.Done():
			case <-time.After(pause):
			}
			pause = min(2*pause, time.Second)
			continue
		}
		pause = 50 * time.Millisecond
		if first {
			first = false
			close(l.ready)
		} else {
			// Notifications may have been lost while disconnected.
			l.wakeAll()
		}
		for {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				break
			}
			l.wakeUser(n.Payload)
		}
		conn.Close(context.Background())
		l.wakeAll()
	}
}

func (l *listener) wakeUser(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for w := range l.watchers[user] {
		w.wake()
	}
}

func (l *listener) wakeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ws := range l.watchers {
		for w := range ws {
			w.wake()
		}
	}
}

// close stops the listener.
func (l *listener) close() {
	l.mu.Lock()
	stop, done := l.stop, l.done
	l.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// Watch wakes the caller after any commit of the user's, on any host: the
// wake-up is not specific to the mailbox; ChangesSince tells.
func (s *Store) Watch(ctx context.Context, user, name string) (<-chan struct{}, error) {
	if _, err := s.Status(ctx, user, name); err != nil {
		return nil, err
	}
	return s.listen.add(ctx, "watch", user)
}

// WatchUser wakes the caller after any commit of the user's, on any host:
// mailboxes, messages and subscriptions alike.
func (s *Store) WatchUser(ctx context.Context, user string) (<-chan struct{}, error) {
	if _, err := s.ListMailboxes(ctx, user); err != nil {
		return nil, err
	}
	return s.listen.add(ctx, "watch", user)
}
