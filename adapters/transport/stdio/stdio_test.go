package stdio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
)

type closeCounter struct {
	io.Reader
	io.Writer
	n int
}

func (c *closeCounter) Close() error { c.n++; return nil }

func TestTransportOneConn(t *testing.T) {
	in := &closeCounter{Reader: strings.NewReader("a1 NOOP\r\n")}
	var out bytes.Buffer
	outC := &closeCounter{Writer: &out}
	tr := New(in, outC, 3)
	ctx := context.Background()

	c, err := tr.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.SSF() != 3 || c.TLS() || c.RemoteAddr() != "" {
		t.Errorf("ssf %d tls %v remote %q", c.SSF(), c.TLS(), c.RemoteAddr())
	}
	got, _ := io.ReadAll(c)
	if string(got) != "a1 NOOP\r\n" {
		t.Errorf("read %q", got)
	}
	io.WriteString(c, "* OK\r\n")
	if out.String() != "* OK\r\n" {
		t.Errorf("wrote %q", out.String())
	}
	if err := c.StartTLS(ctx); !errors.Is(err, imap.ErrCannot) {
		t.Errorf("StartTLS = %v", err)
	}
	if _, err := tr.Accept(ctx); err != io.EOF {
		t.Errorf("second Accept = %v, want io.EOF", err)
	}
	c.Close()
	c.Close()
	if in.n != 1 || outC.n != 1 {
		t.Errorf("closed in %d, out %d times; want once each", in.n, outC.n)
	}
	if tr.Close() != nil || tr.Close() != nil {
		t.Error("Close not idempotent")
	}
}

func TestTransportClosedOrCancelled(t *testing.T) {
	tr := New(strings.NewReader(""), io.Discard, 0)
	tr.Close()
	if _, err := tr.Accept(context.Background()); err != io.EOF {
		t.Errorf("Accept after Close = %v", err)
	}
	tr = New(strings.NewReader(""), io.Discard, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tr.Accept(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Accept with cancelled ctx = %v", err)
	}
}

func TestNewConnSocket(t *testing.T) {
	a, b := net.Pipe()
	c := NewConn(a, "192.0.2.1:1234", 0)
	if c.RemoteAddr() != "192.0.2.1:1234" || c.SSF() != 0 || c.TLS() {
		t.Error("conn info")
	}
	go func() { io.WriteString(b, "hi"); b.Close() }()
	got, _ := io.ReadAll(c)
	if string(got) != "hi" {
		t.Errorf("read %q", got)
	}
	if err := c.Close(); err != nil {
		t.Error(err)
	}
	if _, err := c.Write([]byte("x")); err == nil {
		t.Error("write after close succeeded")
	}
}

// TestPollableCloseEndsRead: with a pollable descriptor, Close from another
// goroutine ends a Read that waits for input (what the autologout needs).
func TestPollableCloseEndsRead(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	pr, restore := Pollable(r)
	defer restore()
	done := make(chan error, 1)
	go func() {
		_, err := pr.Read(make([]byte, 1))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	pr.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Read returned no error after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the pending Read")
	}
}
