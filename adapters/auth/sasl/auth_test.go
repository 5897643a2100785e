package sasl

import (
	"context"
	"errors"
	"reflect"
	"testing"

	gosasl "github.com/emersion/go-sasl"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

func newAuth(t *testing.T, opts Options) *Auth {
	t.Helper()
	db := Open(t.TempDir())
	if err := db.Add("alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	return New(opts, db)
}

func TestMechanisms(t *testing.T) {
	tests := []struct {
		name      string
		opts      Options
		ssf       int
		want      []string
		plaintext bool
	}{
		{"ssf 0 no plaintext", Options{MechList: []string{"PLAIN", "LOGIN"}}, 0, nil, false},
		{"ssf 1 no plaintext", Options{MechList: []string{"PLAIN", "LOGIN"}}, 1, nil, false},
		{"ssf 2 no plaintext", Options{MechList: []string{"PLAIN", "LOGIN"}}, 2, []string{"PLAIN", "LOGIN"}, true},
		{"tls ssf", Options{MechList: []string{"PLAIN", "LOGIN"}}, 256, []string{"PLAIN", "LOGIN"}, true},
		{"ssf 0 allowplaintext", Options{MechList: []string{"PLAIN", "LOGIN"}, AllowPlaintext: true}, 0, []string{"PLAIN", "LOGIN"}, true},
		{"ssf 2 allowplaintext", Options{MechList: []string{"LOGIN", "PLAIN"}, AllowPlaintext: true}, 2, []string{"LOGIN", "PLAIN"}, true},
		{"unsupported dropped, case folded", Options{MechList: []string{"scram-sha-256", "plain", "GSSAPI", "PLAIN"}, AllowPlaintext: true}, 0, []string{"PLAIN"}, true},
		{"empty list", Options{AllowPlaintext: true}, 0, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(tt.opts, Open(t.TempDir()))
			if got := a.Mechanisms(tt.ssf); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Mechanisms(%d) = %q, want %q", tt.ssf, got, tt.want)
			}
			if got := a.PlaintextAllowed(tt.ssf); got != tt.plaintext {
				t.Errorf("PlaintextAllowed(%d) = %v", tt.ssf, got)
			}
		})
	}
}

// exchange runs a server with a go-sasl client, as a real client would.
func exchange(t *testing.T, a *Auth, client gosasl.Client, useIR bool) (string, error) {
	t.Helper()
	mech, ir, err := client.Start()
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.NewSASL(context.Background(), mech, ports.ConnInfo{SSF: 0})
	if err != nil {
		return "", err
	}
	var resp []byte
	if useIR {
		resp = ir
	}
	for range 5 {
		chal, done, err := s.Next(resp)
		if err != nil {
			return "", err
		}
		if done {
			return s.Identity(), nil
		}
		if !useIR && ir != nil && resp == nil {
			// The client had an initial response but did not send it
			// with the command: it answers the first challenge with it.
			resp = ir
			ir = nil
			continue
		}
		if resp, err = client.Next(chal); err != nil {
			t.Fatalf("client.Next(%q): %v", chal, err)
		}
	}
	t.Fatal("exchange did not finish")
	return "", nil
}

func TestPlainAndLogin(t *testing.T) {
	a := newAuth(t, Options{MechList: []string{"PLAIN", "LOGIN"}, AllowPlaintext: true})
	tests := []struct {
		name   string
		client gosasl.Client
		ir     bool
		ok     bool
	}{
		{"plain with IR", gosasl.NewPlainClient("", "alice", "wonderland"), true, true},
		{"plain without IR", gosasl.NewPlainClient("", "alice", "wonderland"), false, true},
		{"plain authzid equal", gosasl.NewPlainClient("alice", "alice", "wonderland"), true, true},
		{"plain authzid other", gosasl.NewPlainClient("bob", "alice", "wonderland"), true, false},
		{"plain wrong password", gosasl.NewPlainClient("", "alice", "looking-glass"), true, false},
		{"plain unknown user", gosasl.NewPlainClient("", "mallory", "wonderland"), true, false},
		{"login with IR", gosasl.NewLoginClient("alice", "wonderland"), true, true},
		{"login wrong password", gosasl.NewLoginClient("alice", "x"), true, false},
		{"login unknown user", gosasl.NewLoginClient("nobody", "wonderland"), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := exchange(t, a, tt.client, tt.ir)
			if tt.ok {
				if err != nil || id != "alice" {
					t.Fatalf("identity %q, err %v", id, err)
				}
				return
			}
			if !errors.Is(err, imap.ErrAuthFailed) {
				t.Fatalf("err = %v, want ErrAuthFailed", err)
			}
		})
	}
}

// LOGIN without an initial response asks for the user name first; the
// challenges are the raw strings (the app base64-encodes them).
func TestLoginChallenges(t *testing.T) {
	a := newAuth(t, Options{MechList: []string{"LOGIN"}, AllowPlaintext: true})
	s, err := a.NewSASL(context.Background(), "login", ports.ConnInfo{})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		resp []byte
		chal string
		done bool
	}{
		{nil, "Username:", false},
		{[]byte("alice"), "Password:", false},
		{[]byte("wonderland"), "", true},
	}
	for i, st := range steps {
		chal, done, err := s.Next(st.resp)
		if err != nil || string(chal) != st.chal || done != st.done {
			t.Fatalf("step %d: %q %v %v", i, chal, done, err)
		}
	}
	if s.Identity() != "alice" {
		t.Errorf("Identity = %q", s.Identity())
	}
	if _, _, err := s.Next([]byte("more")); !errors.Is(err, imap.ErrAuthFailed) {
		t.Errorf("after done: %v", err)
	}
}

func TestPlainMalformed(t *testing.T) {
	a := newAuth(t, Options{MechList: []string{"PLAIN"}, AllowPlaintext: true})
	s, _ := a.NewSASL(context.Background(), "PLAIN", ports.ConnInfo{})
	if _, _, err := s.Next([]byte("no-nuls-here")); !errors.Is(err, imap.ErrAuthFailed) {
		t.Errorf("err = %v", err)
	}
	if s.Identity() != "" {
		t.Errorf("Identity = %q", s.Identity())
	}
}

func TestNewSASLRefused(t *testing.T) {
	a := newAuth(t, Options{MechList: []string{"PLAIN", "LOGIN"}})
	for _, c := range []struct {
		mech string
		ssf  int
	}{{"PLAIN", 0}, {"LOGIN", 1}, {"CRAM-MD5", 256}, {"", 256}} {
		if _, err := a.NewSASL(context.Background(), c.mech, ports.ConnInfo{SSF: c.ssf}); !errors.Is(err, imap.ErrCannot) {
			t.Errorf("NewSASL(%q, ssf %d) = %v, want ErrCannot", c.mech, c.ssf, err)
		}
	}
	if _, err := a.NewSASL(context.Background(), "plain", ports.ConnInfo{SSF: 2}); err != nil {
		t.Errorf("ssf 2: %v", err)
	}
}

func TestCheckPasswordAndUsers(t *testing.T) {
	a := newAuth(t, Options{Admins: []string{"cyrus", "alice"}})
	ctx := context.Background()
	if u, err := a.CheckPassword(ctx, "alice", "wonderland"); u != "alice" || err != nil {
		t.Errorf("good: %q %v", u, err)
	}
	for _, c := range [][2]string{{"alice", "x"}, {"bob", "wonderland"}, {"", ""}, {"a/b", "x"}} {
		if _, err := a.CheckPassword(ctx, c[0], c[1]); !errors.Is(err, imap.ErrAuthFailed) {
			t.Errorf("CheckPassword(%q, %q) = %v", c[0], c[1], err)
		}
	}
	if ok, err := a.UserExists(ctx, "alice"); !ok || err != nil {
		t.Errorf("UserExists(alice) = %v %v", ok, err)
	}
	if ok, err := a.UserExists(ctx, "bob"); ok || err != nil {
		t.Errorf("UserExists(bob) = %v %v", ok, err)
	}
	if !a.IsAdmin("cyrus") || !a.IsAdmin("alice") || a.IsAdmin("bob") || a.IsAdmin("Cyrus") {
		t.Error("IsAdmin wrong")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := a.CheckPassword(cctx, "alice", "wonderland"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
