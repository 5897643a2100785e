package sasl

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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
	pl := []string{"PLAIN", "LOGIN"}
	tests := []struct {
		name      string
		opts      Options
		ssf       int
		want      []string
		plaintext bool
	}{
		{"ssf 0 no plaintext", Options{MechList: pl}, 0, nil, false},
		{"ssf 1 no plaintext", Options{MechList: pl}, 1, nil, false},
		{"ssf 2 no plaintext", Options{MechList: pl}, 2, pl, true},
		{"tls ssf", Options{MechList: pl}, 256, pl, true},
		{"ssf 0 allowplaintext", Options{MechList: pl, AllowPlaintext: true}, 0, pl, true},
		{"ssf 2 allowplaintext", Options{MechList: []string{"LOGIN", "PLAIN"}, AllowPlaintext: true}, 2, []string{"LOGIN", "PLAIN"}, true},
		{"unsupported dropped, case folded", Options{MechList: []string{"scram-sha-256", "plain", "GSSAPI", "PLAIN"}, AllowPlaintext: true}, 0, []string{"SCRAM-SHA-256", "PLAIN"}, true},
		{"default list, no layer", Options{}, 0, []string{"SCRAM-SHA-256"}, false},
		{"default list, no layer, allowplaintext", Options{AllowPlaintext: true}, 0, []string{"SCRAM-SHA-256", "PLAIN", "LOGIN"}, true},
		{"default list, layer without TLS state", Options{}, 256, []string{"SCRAM-SHA-256", "PLAIN", "LOGIN"}, true},
		{"default list, client certificates, layer without TLS state", Options{ClientCerts: true}, 256, []string{"SCRAM-SHA-256", "PLAIN", "LOGIN"}, true},
		{"default list, client certificates, no layer", Options{ClientCerts: true}, 0, []string{"SCRAM-SHA-256"}, false},
		{"configured order", Options{MechList: []string{"login", "scram-sha-256-plus", "external", "scram-sha-256"}, ClientCerts: true}, 128, []string{"LOGIN", "SCRAM-SHA-256"}, true},
		{"tls_required, no layer", Options{TLSRequired: true, AllowPlaintext: true}, 0, nil, false},
		{"tls_required, ssf 1", Options{TLSRequired: true, AllowPlaintext: true}, 1, nil, false},
		{"tls_required, layer", Options{TLSRequired: true}, 256, []string{"SCRAM-SHA-256", "PLAIN", "LOGIN"}, true},
		{"saslauthd: no SCRAM", Options{PwcheckMethods: []string{"saslauthd"}}, 256, pl, true},
		{"saslauthd, no layer", Options{PwcheckMethods: []string{"saslauthd"}}, 0, nil, false},
		{"alwaystrue: no SCRAM", Options{PwcheckMethods: []string{"alwaystrue"}, AllowPlaintext: true}, 0, pl, true},
		{"auxprop then saslauthd: SCRAM", Options{PwcheckMethods: []string{"auxprop", "saslauthd"}}, 0, []string{"SCRAM-SHA-256"}, false},
		{"saslauthd, EXTERNAL needs a certificate", Options{PwcheckMethods: []string{"saslauthd"}, ClientCerts: true, MechList: []string{"EXTERNAL", "PLAIN"}}, 256, []string{"PLAIN"}, true},
		{"empty configured list is the default", Options{MechList: []string{}}, 0, []string{"SCRAM-SHA-256"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(tt.opts, Open(t.TempDir()))
			if got := a.Mechanisms(ports.ConnInfo{SSF: tt.ssf}); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Mechanisms(%d) = %q, want %q", tt.ssf, got, tt.want)
			}
			if got := a.PlaintextAllowed(tt.ssf); got != tt.plaintext {
				t.Errorf("PlaintextAllowed(%d) = %v", tt.ssf, got)
			}
		})
	}
}

// MechanismsFor knows the connection: -PLUS needs channel binding data,
// EXTERNAL a client certificate the transport verified.
func TestMechanismsFor(t *testing.T) {
	pki := newTestPKI(t)
	alice := pki.issue(t, "alice", x509.ExtKeyUsageClientAuth)
	stranger := selfSigned(t, "alice")
	verified, _ := pki.tlsPair(t, tls.VersionTLS13, &alice, tls.VerifyClientCertIfGiven)
	unverified, _ := pki.tlsPair(t, tls.VersionTLS13, &stranger, tls.RequestClientCert)
	tls12, _ := pki.tlsPair(t, tls.VersionTLS12, &alice, tls.RequireAndVerifyClientCert)
	noCert, _ := pki.tlsPair(t, tls.VersionTLS13, nil, tls.VerifyClientCertIfGiven)
	if len(unverified.PeerCertificates) == 0 || len(unverified.VerifiedChains) != 0 {
		t.Fatal("the unverified connection is not what the test needs")
	}
	ci := func(st tls.ConnectionState) ports.ConnInfo { return ports.ConnInfo{SSF: 128, TLS: true, TLSState: &st} }
	all := Options{ClientCerts: true}
	tests := []struct {
		name string
		opts Options
		conn ports.ConnInfo
		want []string
	}{
		{"no TLS", all, ports.ConnInfo{}, []string{"SCRAM-SHA-256"}},
		{"external layer, no TLS", all, ports.ConnInfo{SSF: 2}, []string{"SCRAM-SHA-256", "PLAIN", "LOGIN"}},
		{"TLS, no certificate", all, ci(noCert), []string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN", "LOGIN"}},
		{"TLS, verified certificate", all, ci(verified), []string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN", "LOGIN", "EXTERNAL"}},
		{"TLS 1.2, verified certificate", all, ci(tls12), []string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN", "LOGIN", "EXTERNAL"}},
		{"TLS, unverified certificate", all, ci(unverified), []string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN", "LOGIN"}},
		{"EXTERNAL not configured in the list", Options{MechList: []string{"PLAIN"}}, ci(verified), []string{"PLAIN"}},
		{"tls_required, TLS", Options{TLSRequired: true, MechList: []string{"EXTERNAL"}}, ci(verified), []string{"EXTERNAL"}},
		{"tls_required, no TLS", Options{TLSRequired: true, AllowPlaintext: true}, ports.ConnInfo{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(tt.opts, Open(t.TempDir()))
			if got := a.Mechanisms(tt.conn); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("MechanismsFor = %q, want %q", got, tt.want)
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

// After a refusal, Identity names the user the client claimed, for the
// log's badlogin line, as Cyrus's SASL_USERNAME does.
func TestIdentityAfterRefusal(t *testing.T) {
	a := newAuth(t, Options{MechList: []string{"PLAIN", "LOGIN"}, AllowPlaintext: true})
	s, _ := a.NewSASL(context.Background(), "PLAIN", ports.ConnInfo{})
	if _, _, err := s.Next([]byte("\x00alice\x00wrong")); !errors.Is(err, imap.ErrAuthFailed) {
		t.Fatalf("err = %v", err)
	}
	if s.Identity() != "alice" {
		t.Errorf("PLAIN: Identity = %q", s.Identity())
	}
	s, _ = a.NewSASL(context.Background(), "LOGIN", ports.ConnInfo{})
	s.Next([]byte("alice"))
	if _, _, err := s.Next([]byte("wrong")); !errors.Is(err, imap.ErrAuthFailed) {
		t.Fatalf("err = %v", err)
	}
	if s.Identity() != "alice" {
		t.Errorf("LOGIN: Identity = %q", s.Identity())
	}
}
