package sasl

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// fakeSaslauthd speaks saslauthd's protocol on a Unix socket: it accepts
// the passwords in users and records every request.
type fakeSaslauthd struct {
	path  string
	users map[string]string

	mu   sync.Mutex
	reqs [][4]string
}

func startFakeSaslauthd(t *testing.T, users map[string]string, answer func(req [4]string) string) *fakeSaslauthd {
	t.Helper()
	f := &fakeSaslauthd{path: filepath.Join(t.TempDir(), "mux"), users: users}
	ln, err := net.Listen("unix", f.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(c, answer)
		}
	}()
	return f
}

func (f *fakeSaslauthd) serve(c net.Conn, answer func(req [4]string) string) {
	defer c.Close()
	r := bufio.NewReader(c)
	var req [4]string
	for i := range req {
		var n uint16
		if binary.Read(r, binary.BigEndian, &n) != nil {
			return
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return
		}
		req[i] = string(b)
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	var a string
	if answer != nil {
		a = answer(req)
	} else if pw, ok := f.users[req[0]]; ok && pw == req[1] {
		a = "OK"
	} else {
		a = "NO authentication failed"
	}
	if a == "hang" {
		io.Copy(io.Discard, r)
		return
	}
	c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(a))))
	c.Write([]byte(a))
}

func TestSaslauthdProtocol(t *testing.T) {
	f := startFakeSaslauthd(t, map[string]string{"bob": "builder", "": ""}, nil)
	s := &Saslauthd{Path: f.path, Service: "imap", Realm: "example.org"}
	ctx := context.Background()
	long := strings.Repeat("p", 70000)
	tests := []struct {
		user, pw string
		want     error
	}{
		{"bob", "builder", nil},
		{"bob", "wrong", imap.ErrAuthFailed},
		{"nobody", "builder", imap.ErrAuthFailed},
		{"bob", "with\x00nul and ünïcode", imap.ErrAuthFailed},
		{"bob", long, imap.ErrAuthFailed},
	}
	for _, tt := range tests {
		if err := s.Check(ctx, tt.user, tt.pw); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("Check(%q, %.10q) = %v, want %v", tt.user, tt.pw, err, tt.want)
		}
	}
	f.mu.Lock()
	if len(f.reqs) != 4 || f.reqs[0] != [4]string{"bob", "builder", "imap", "example.org"} || f.reqs[3][1] != "with\x00nul and ünïcode" {
		t.Errorf("requests = %q", f.reqs)
	}
	f.mu.Unlock()

	// Faults are not refusals.
	odd := startFakeSaslauthd(t, nil, func([4]string) string { return "MAYBE" })
	if err := (&Saslauthd{Path: odd.path}).Check(ctx, "bob", "x"); !errors.Is(err, ErrSaslauthd) || errors.Is(err, imap.ErrAuthFailed) {
		t.Errorf("odd answer: %v", err)
	}
	if err := (&Saslauthd{Path: filepath.Join(t.TempDir(), "none")}).Check(ctx, "bob", "x"); !errors.Is(err, ErrSaslauthd) {
		t.Errorf("no daemon: %v", err)
	}
	// A daemon that never answers: the context ends the wait.
	asked := make(chan bool, 1)
	hang := startFakeSaslauthd(t, nil, func([4]string) string { asked <- true; return "hang" })
	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- (&Saslauthd{Path: hang.path}).Check(cctx, "bob", "x") }()
	<-asked
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// sasl_pwcheck_method through the Auth: LOGIN, PLAIN and CheckPassword go
// to each method in turn.
func TestPwcheckMethods(t *testing.T) {
	f := startFakeSaslauthd(t, map[string]string{"bob": "builder", "alice": "from-saslauthd"}, nil)
	down := filepath.Join(t.TempDir(), "down")
	db := Open(t.TempDir())
	if err := db.Add("alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	type check struct {
		user, pw string
		ok       bool
	}
	tests := []struct {
		name    string
		methods []string
		path    string
		checks  []check
		exists  map[string]bool
		fault   bool // a failed check is a fault, not a refusal
	}{
		{"auxprop (default)", nil, f.path,
			[]check{{"alice", "wonderland", true}, {"bob", "builder", false}, {"alice", "from-saslauthd", false}},
			map[string]bool{"alice": true, "bob": false}, false},
		{"saslauthd", []string{"saslauthd"}, f.path,
			[]check{{"bob", "builder", true}, {"alice", "from-saslauthd", true}, {"alice", "wonderland", false}},
			map[string]bool{"alice": true, "bob": true, "anyone": true, "bad/name": false}, false},
		{"auxprop then saslauthd", []string{"auxprop", "saslauthd"}, f.path,
			[]check{{"alice", "wonderland", true}, {"alice", "from-saslauthd", true}, {"bob", "builder", true}, {"bob", "x", false}},
			nil, false},
		{"alwaystrue", []string{"alwaystrue"}, f.path,
			[]check{{"anyone", "anything", true}, {"alice", "", true}, {"bad/name", "x", false}},
			map[string]bool{"anyone": true}, false},
		{"saslauthd down", []string{"saslauthd"}, down,
			[]check{{"bob", "builder", false}}, nil, true},
		{"saslauthd down, auxprop first", []string{"AUXPROP", "saslauthd"}, down,
			[]check{{"alice", "wonderland", true}, {"bob", "builder", false}}, nil, true},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(Options{PwcheckMethods: tt.methods, SaslauthdPath: tt.path, AllowPlaintext: true}, db)
			for _, c := range tt.checks {
				user, err := a.CheckPassword(ctx, c.user, c.pw)
				if c.ok {
					if err != nil || user != c.user {
						t.Errorf("CheckPassword(%q, %q) = %q, %v", c.user, c.pw, user, err)
					}
				} else if tt.fault && c.user != "bad/name" {
					if !errors.Is(err, ErrSaslauthd) {
						t.Errorf("CheckPassword(%q, %q) = %v, want a saslauthd fault", c.user, c.pw, err)
					}
				} else if !errors.Is(err, imap.ErrAuthFailed) {
					t.Errorf("CheckPassword(%q, %q) = %v, want ErrAuthFailed", c.user, c.pw, err)
				}
				// PLAIN gives the same answer.
				srv, err := a.NewSASL(ctx, Plain, ports.ConnInfo{})
				if err != nil {
					t.Fatal(err)
				}
				_, done, err := srv.Next([]byte("\x00" + c.user + "\x00" + c.pw))
				if done != c.ok || (c.ok && srv.Identity() != c.user) {
					t.Errorf("PLAIN %q/%q: done %v err %v", c.user, c.pw, done, err)
				}
			}
			for u, want := range tt.exists {
				if got, err := a.UserExists(ctx, u); got != want || err != nil {
					t.Errorf("UserExists(%q) = %v, %v", u, got, err)
				}
			}
		})
	}
}

// saslauthdBinary finds Debian's saslauthd (sasl2-bin), which lives in
// /usr/sbin, often outside a user's PATH.
func saslauthdBinary(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the real saslauthd test runs as root (saslauthd expects to)")
	}
	for _, p := range []string{"saslauthd", "/usr/sbin/saslauthd"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Skip("saslauthd is not installed (Debian package sasl2-bin)")
	return ""
}

// fakeIMAP is the remote IMAP server saslauthd's rimap mechanism checks
// passwords against: it answers LOGIN with OK for the users it knows. This
// lets the test define users without touching the system's.
func fakeIMAP(t *testing.T, users map[string]string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(time.Minute))
				io.WriteString(c, "* OK test server ready\r\n")
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					tag, rest, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
					cmd, args, _ := strings.Cut(rest, " ")
					switch strings.ToUpper(cmd) {
					case "LOGIN":
						u, p, ok := twoQuoted(args)
						if pw, known := users[u]; ok && known && pw == p {
							io.WriteString(c, tag+" OK logged in\r\n")
						} else {
							io.WriteString(c, tag+" NO login failed\r\n")
						}
					case "LOGOUT":
						io.WriteString(c, "* BYE\r\n"+tag+" OK bye\r\n")
						return
					default:
						io.WriteString(c, tag+" BAD unknown\r\n")
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// twoQuoted reads two IMAP quoted strings separated by a space.
func twoQuoted(s string) (string, string, bool) {
	var out []string
	for len(out) < 2 {
		s = strings.TrimPrefix(s, " ")
		if !strings.HasPrefix(s, `"`) {
			return "", "", false
		}
		var b strings.Builder
		i := 1
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
			}
			b.WriteByte(s[i])
		}
		if i >= len(s) {
			return "", "", false
		}
		out = append(out, b.String())
		s = s[i+1:]
	}
	return out[0], out[1], s == ""
}

// The real saslauthd (rimap against fakeIMAP), spoken to by our client.
func TestRealSaslauthd(t *testing.T) {
	bin := saslauthdBinary(t)
	addr := fakeIMAP(t, map[string]string{"carol": `pa ss"word`})
	host, port, _ := net.SplitHostPort(addr)
	dir, err := os.MkdirTemp("", "saslauthd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cmd := exec.Command(bin, "-d", "-a", "rimap", "-O", host+"/"+port, "-m", dir, "-n", "1")
	logs, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	mux := filepath.Join(dir, "mux")
	for i := 0; ; i++ {
		if c, err := net.Dial("unix", mux); err == nil {
			c.Close()
			break
		}
		if i == 100 {
			t.Fatalf("saslauthd did not start listening on %s", mux)
		}
		time.Sleep(50 * time.Millisecond)
	}

	a := New(Options{PwcheckMethods: []string{PwcheckSaslauthd}, SaslauthdPath: mux, AllowPlaintext: true}, Open(t.TempDir()))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i, c := range []struct {
		user, pw string
		ok       bool
	}{
		{"carol", `pa ss"word`, true},
		{"carol", "wrong", false},
		{"dave", `pa ss"word`, false},
	} {
		user, err := a.CheckPassword(ctx, c.user, c.pw)
		if c.ok && (err != nil || user != c.user) || !c.ok && !errors.Is(err, imap.ErrAuthFailed) {
			t.Errorf("case %d: CheckPassword(%q) = %q, %v", i, c.user, user, err)
		}
	}
	if t.Failed() {
		out, _ := os.ReadFile(logs.Name())
		t.Logf("saslauthd's log:\n%s", out)
	}
}
