package e2e

import (
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/imapd-go/imapd/adapters/transport/master"
)

// multiServer is the server of a test in multi mode: app.Server.Serve on
// a master.Transport in multi mode, on a listening Unix socket of the test
// process, with a status pipe that nobody but a drain reads.
type multiServer struct {
	path string
	tr   *master.Transport
	done chan error
}

// dialMulti connects to the env's multi-mode server, starting it at the
// first call. The server stops accepting at the end of the test and must
// then return once every session ended.
func (e *env) dialMulti() net.Conn {
	e.t.Helper()
	if e.multi == nil {
		e.multi = e.startMulti()
	}
	c, err := net.Dial("unix", e.multi.path)
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

func (e *env) startMulti() *multiServer {
	e.t.Helper()
	// A short folder: a socket's path has room for 107 bytes.
	sockDir, err := os.MkdirTemp("", "e2e")
	if err != nil {
		e.t.Fatal(err)
	}
	path := filepath.Join(sockDir, "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		e.t.Fatalf("listen: %v", err)
	}
	lf, err := ln.(*net.UnixListener).File()
	if err != nil {
		e.t.Fatal(err)
	}
	defer lf.Close()
	sr, sw, err := os.Pipe()
	if err != nil {
		e.t.Fatal(err)
	}
	go io.Copy(io.Discard, sr)
	tr, err := master.New(sw, lf, master.Options{
		Multi: true,
		Uses:  1 << 30,
		Exe:   os.DevNull,
		Log:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		e.t.Fatalf("master transport: %v", err)
	}
	m := &multiServer{path: path, tr: tr, done: make(chan error, 1)}
	go func() { m.done <- e.srv.Serve(e.ctx, tr) }()
	e.t.Cleanup(func() {
		// Runs after the clients' cleanups (registered later): the
		// sessions end as their clients go, then Serve returns.
		tr.Hangup()
		select {
		case err := <-m.done:
			if err != nil {
				e.t.Errorf("Serve: %v", err)
			}
		case <-time.After(ioTimeout):
			e.t.Errorf("Serve did not return after the clients closed (%d sessions live)", e.srv.Live())
		}
		ln.Close()
		sw.Close()
		sr.Close()
		os.RemoveAll(sockDir)
	})
	return m
}
