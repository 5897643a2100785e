package fswatch

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestWakesOnChangeAndCloses(t *testing.T) {
	needInotify(t, defaultHub)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := Watch(ctx, time.Hour, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "x"), []byte("1"), 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no wake-up after a write")
	}
	cancel()
	for range ch {
	}
}

func TestFallbackWithoutEvents(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := Watch(ctx, 10*time.Millisecond, filepath.Join(t.TempDir(), "missing"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no fallback wake-up")
	}
}

// needInotify skips the test when the user's inotify instances are all
// taken (max_user_instances) by other processes.
func needInotify(t *testing.T, h *hub) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fd < 0 {
		h.open()
	}
	if h.fd < 0 {
		t.Skip("no inotify instance available")
	}
}

// waitWake fails unless ch receives within d.
func waitWake(t *testing.T, ch <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case _, ok := <-ch:
		if !ok {
			t.Fatalf("%s: channel closed", what)
		}
	case <-time.After(d):
		t.Fatalf("%s: no wake-up", what)
	}
}

// drain takes a pending wake-up, if any.
func drain(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		case <-time.After(300 * time.Millisecond):
			return
		}
	}
}

func TestManySubscribersShareOneWatch(t *testing.T) {
	h := newHub()
	defer h.close()
	needInotify(t, h)
	dir := t.TempDir()
	const n = 500
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	chans := make([]<-chan struct{}, n)
	for i := range chans {
		ch, err := h.watch(ctx, time.Hour, []string{dir})
		if err != nil {
			t.Fatal(err)
		}
		chans[i] = ch
	}
	if w, s := h.counts(); w != 1 || s != n {
		t.Fatalf("kernel watches %d, subscribers %d; want 1 and %d", w, s, n)
	}
	if err := os.WriteFile(filepath.Join(dir, "x"), []byte("1"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, ch := range chans {
		waitWake(t, ch, 5*time.Second, "subscriber "+strconv.Itoa(i))
	}
	// The follow-ups come for everyone too.
	for i, ch := range chans {
		waitWake(t, ch, 5*time.Second, "follow-up of subscriber "+strconv.Itoa(i))
	}
}

func TestCancelLeavesOthersAndLastRemovesWatch(t *testing.T) {
	h := newHub()
	defer h.close()
	needInotify(t, h)
	dir := t.TempDir()
	ctxA, cancelA := context.WithCancel(context.Background())
	ctxB, cancelB := context.WithCancel(context.Background())
	a, _ := h.watch(ctxA, time.Hour, []string{dir})
	b, _ := h.watch(ctxB, time.Hour, []string{dir, dir})
	cancelA()
	for range a {
		// Closed, with at most the wake-ups sent before.
	}
	if w, s := h.counts(); w != 1 || s != 1 {
		t.Fatalf("after one cancel: kernel watches %d, subscribers %d; want 1 and 1", w, s)
	}
	if err := os.WriteFile(filepath.Join(dir, "x"), []byte("1"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitWake(t, b, 5*time.Second, "remaining subscriber")
	drain(b)
	cancelB()
	for range b {
	}
	if w, s := h.counts(); w != 0 || s != 0 {
		t.Fatalf("after the last cancel: kernel watches %d, subscribers %d; want none", w, s)
	}
	// The kernel watch is gone too: a new one on the folder works.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, _ := h.watch(ctx, time.Hour, []string{dir})
	if err := os.WriteFile(filepath.Join(dir, "y"), []byte("1"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitWake(t, c, 5*time.Second, "new subscriber")
}

func TestNoWakeAfterClose(t *testing.T) {
	h := newHub()
	defer h.close()
	needInotify(t, h)
	dir := t.TempDir()
	stop := make(chan struct{})
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			os.WriteFile(filepath.Join(dir, "x"), []byte(strconv.Itoa(i)), 0o600)
		}
	}()
	defer close(stop)
	for range 200 {
		ctx, cancel := context.WithCancel(context.Background())
		ch, _ := h.watch(ctx, time.Millisecond, []string{dir})
		<-ch
		cancel()
		for range ch {
		}
	}
}

func TestFallbackSharedAndWhenUnwatchable(t *testing.T) {
	h := newHub()
	defer h.close()
	needInotify(t, h)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	a, _ := h.watch(ctx, 20*time.Millisecond, []string{filepath.Join(dir, "missing")})
	b, _ := h.watch(ctx, 20*time.Millisecond, []string{filepath.Join(dir, "gone"), dir})
	if w, _ := h.counts(); w != 1 {
		t.Fatalf("kernel watches %d, want 1 (the missing folders have none)", w)
	}
	if len(h.tickers) != 1 || h.tickers[20*time.Millisecond] == nil {
		t.Fatalf("fallback timers %v, want one for the asked period", h.tickers)
	}
	waitWake(t, a, 5*time.Second, "unwatchable folder's fallback")
	waitWake(t, b, 5*time.Second, "fallback of a watch with an unwatchable path")
}

// A folder watched on a local file system, where inotify sees every
// change, has the slow fallback: idle watchers are not sent to their
// store every few seconds for nothing. Changes still wake them at once.
func TestLocalFolderSlowFallback(t *testing.T) {
	dir := t.TempDir()
	if !localFS(dir) {
		t.Skip("the temporary folder is not on a file system known to be local")
	}
	h := newHub()
	defer h.close()
	needInotify(t, h)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, _ := h.watch(ctx, 20*time.Millisecond, []string{dir})
	if len(h.tickers) != 1 || h.tickers[LocalFallback] == nil {
		t.Fatalf("fallback timers %v, want one of LocalFallback", h.tickers)
	}
	select {
	case <-ch:
		t.Fatal("woken with no change, before LocalFallback")
	case <-time.After(300 * time.Millisecond):
	}
	os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o600)
	waitWake(t, ch, 5*time.Second, "change")
}

func TestFolderRemovedKeepsFallback(t *testing.T) {
	h := newHub()
	defer h.close()
	needInotify(t, h)
	dir := filepath.Join(t.TempDir(), "box")
	os.Mkdir(dir, 0o700)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, _ := h.watch(ctx, 50*time.Millisecond, []string{dir})
	os.RemoveAll(dir)
	waitWake(t, ch, 5*time.Second, "removal")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if w, _ := h.counts(); w == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the kernel's end of the watch was not noticed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-ch:
	default:
	}
	waitWake(t, ch, 5*time.Second, "fallback after removal")
}

// The fallback wakes its subscribers in turns, a group per slice of the
// period, never all at once; each is woken once a period.
func TestFallbackInTurns(t *testing.T) {
	h := newHub()
	defer h.close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const period = time.Hour // the timer never fires: the test ticks
	const n = 10 * fallbackGroups
	chans := make([]<-chan struct{}, n)
	for i := range chans {
		chans[i], _ = h.watch(ctx, period, nil)
	}
	woken := func() (count int) {
		for _, ch := range chans {
			select {
			case <-ch:
				count++
			default:
			}
		}
		return count
	}
	tk := h.tickers[period]
	for turn := range fallbackGroups {
		h.tick(period, tk)
		if got := woken(); got != n/fallbackGroups {
			t.Fatalf("turn %d woke %d subscribers, want %d", turn, got, n/fallbackGroups)
		}
	}
	// A whole period woke every subscriber once; the next turn starts
	// again with the first group.
	h.tick(period, tk)
	select {
	case <-chans[0]:
	default:
		t.Error("the first subscriber was not woken in the next period's first turn")
	}
}

// The inotify instance goes with the last subscriber (a user may have few
// of them), and the next Watch opens another that works.
func TestInstanceReleasedWhenNobodyWatches(t *testing.T) {
	h := newHub()
	defer h.close()
	needInotify(t, h)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	a, _ := h.watch(ctx, time.Hour, []string{dir})
	b, _ := h.watch(ctx, time.Hour, []string{dir})
	cancel()
	for range a {
	}
	for range b {
	}
	h.mu.Lock()
	fd := h.fd
	h.mu.Unlock()
	if fd >= 0 {
		t.Fatalf("inotify descriptor %d still open with no subscriber", fd)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	c, _ := h.watch(ctx2, time.Hour, []string{dir})
	if w, _ := h.counts(); w != 1 {
		t.Fatalf("kernel watches %d after a new Watch, want 1", w)
	}
	if err := os.WriteFile(filepath.Join(dir, "x"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitWake(t, c, 5*time.Second, "change after the instance was opened again")
}
