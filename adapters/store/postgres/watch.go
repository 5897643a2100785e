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
// session then asks the store what changed. The connection is opened for
// the first watcher and closed listenLinger after the last one left, so a
// process whose sessions do not IDLE holds none.
type listener struct {
	cfg *pgx.ConnConfig

	mu       sync.Mutex
	watchers map[string]map[*watcher]struct{} // by user
	count    int                              // watchers in all
	cur      *listenRun                       // nil while no connection is kept
	linger   *time.Timer                      // ends cur once no one watches
}

// listenRun is one life of the listening connection.
type listenRun struct {
	ready chan struct{} // closed once the first LISTEN succeeded
	stop  context.CancelFunc
	done  chan struct{}
}

// listenLinger is how long the connection stays after the last watcher
// left: a session's IDLE ends and starts again after each command.
var listenLinger = 30 * time.Second

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
	return &listener{cfg: cfg, watchers: map[string]map[*watcher]struct{}{}}
}

// readyTimeout bounds how long Watch waits for the first LISTEN.
const readyTimeout = 10 * time.Second

// add registers a watcher of user until ctx ends, starting the listener
// when none runs, and waits until the listener is listening.
func (l *listener) add(ctx context.Context, op, user string) (<-chan struct{}, error) {
	w := &watcher{ch: make(chan struct{}, 1)}
	l.mu.Lock()
	if l.watchers[user] == nil {
		l.watchers[user] = map[*watcher]struct{}{}
	}
	l.watchers[user][w] = struct{}{}
	l.count++
	if l.linger != nil {
		l.linger.Stop()
		l.linger = nil
	}
	if l.cur == nil {
		rctx, cancel := context.WithCancel(context.Background())
		l.cur = &listenRun{ready: make(chan struct{}), stop: cancel, done: make(chan struct{})}
		go l.run(rctx, l.cur)
	}
	ready := l.cur.ready
	l.mu.Unlock()
	select {
	case <-ready:
	case <-ctx.Done():
		l.remove(user, w)
		return nil, ctx.Err()
	case <-time.After(readyTimeout):
		l.remove(user, w)
		return nil, imap.Errorf(op, imap.ErrUnavailable, "cannot listen for changes")
	}
	go func() {
		<-ctx.Done()
		l.remove(user, w)
		close(w.ch)
	}()
	return w.ch, nil
}

// remove unregisters w, and lets the connection go listenLinger after
// the last watcher left.
func (l *listener) remove(user string, w *watcher) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.watchers[user], w)
	if len(l.watchers[user]) == 0 {
		delete(l.watchers, user)
	}
	l.count--
	if l.count == 0 && l.cur != nil && l.linger == nil {
		l.linger = time.AfterFunc(listenLinger, l.stopIdle)
	}
}

// stopIdle ends the connection if still no one watches.
func (l *listener) stopIdle() {
	l.mu.Lock()
	if l.count > 0 || l.cur == nil {
		l.mu.Unlock()
		return
	}
	r := l.cur
	l.cur, l.linger = nil, nil
	l.mu.Unlock()
	r.stop()
	<-r.done
}

// run keeps a connection listening until ctx ends.
func (l *listener) run(ctx context.Context, r *listenRun) {
	defer close(r.done)
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
			close(r.ready)
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
		if ctx.Err() == nil {
			l.wakeAll()
		}
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

// close ends the connection.
func (l *listener) close() {
	l.mu.Lock()
	r := l.cur
	l.cur = nil
	if l.linger != nil {
		l.linger.Stop()
		l.linger = nil
	}
	l.mu.Unlock()
	if r != nil {
		r.stop()
		<-r.done
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
