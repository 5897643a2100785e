package lmtp

import (
	"io"
	"time"
)

// DefaultTimeout is lmtptxn_timeout's default, Cyrus's: how long a read
// from the client may wait.
const DefaultTimeout = 300 * time.Second

// timedReader closes the connection when one Read waits longer than
// timeout, so that a client that stops talking, in a command or inside a
// message, does not hold a process forever (the read then fails and the
// session ends, storing nothing of an unfinished message).
type timedReader struct {
	r       io.Reader
	timeout time.Duration
	timer   *time.Timer
}

func newTimedReader(r io.ReadCloser, timeout time.Duration) *timedReader {
	t := &timedReader{r: r, timeout: timeout}
	t.timer = time.AfterFunc(timeout, func() { r.Close() })
	t.timer.Stop()
	return t
}

func (t *timedReader) Read(p []byte) (int, error) {
	t.timer.Reset(t.timeout)
	n, err := t.r.Read(p)
	t.timer.Stop()
	return n, err
}

// stop disarms the timer for good.
func (t *timedReader) stop() { t.timer.Stop() }
