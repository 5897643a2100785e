package sasl

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// EXTERNAL over a real TLS connection with a client certificate the server
// verified against its CA: the identity is the certificate's CN.
func TestExternal(t *testing.T) {
	pki := newTestPKI(t)
	aliceCert := pki.issue(t, "alice", x509.ExtKeyUsageClientAuth)
	badCN := pki.issue(t, "not/a user", x509.ExtKeyUsageClientAuth)
	stranger := selfSigned(t, "alice")

	verified, _ := pki.tlsPair(t, tls.VersionTLS13, &aliceCert, tls.RequireAndVerifyClientCert)
	unverified, _ := pki.tlsPair(t, tls.VersionTLS13, &stranger, tls.RequireAnyClientCert)
	invalidName, _ := pki.tlsPair(t, tls.VersionTLS12, &badCN, tls.RequireAndVerifyClientCert)
	noCert, _ := pki.tlsPair(t, tls.VersionTLS13, nil, tls.VerifyClientCertIfGiven)

	a := New(Options{ClientCerts: true}, Open(t.TempDir()))
	ci := func(st tls.ConnectionState) ports.ConnInfo { return ports.ConnInfo{SSF: 256, TLS: true, TLSState: &st} }

	tests := []struct {
		name      string
		conn      ports.ConnInfo
		responses [][]byte // nil entry = no initial response
		want      string   // identity; "" = refused
	}{
		{"empty authzid as initial response", ci(verified), [][]byte{{}}, "alice"},
		{"no initial response", ci(verified), [][]byte{nil, {}}, "alice"},
		{"authzid equal", ci(verified), [][]byte{[]byte("alice")}, "alice"},
		{"authzid equal after challenge", ci(verified), [][]byte{nil, []byte("alice")}, "alice"},
		{"authzid other", ci(verified), [][]byte{[]byte("bob")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := a.NewSASL(context.Background(), "external", tt.conn)
			if err != nil {
				t.Fatal(err)
			}
			var done bool
			for i, r := range tt.responses {
				var chal []byte
				chal, done, err = srv.Next(r)
				if err != nil {
					break
				}
				if i < len(tt.responses)-1 && (done || len(chal) != 0) {
					t.Fatalf("step %d: %q %v", i, chal, done)
				}
			}
			if tt.want == "" {
				if !errors.Is(err, imap.ErrAuthFailed) || srv.Identity() != "" {
					t.Fatalf("err %v identity %q, want a refusal", err, srv.Identity())
				}
				return
			}
			if err != nil || !done || srv.Identity() != tt.want {
				t.Fatalf("done %v err %v identity %q", done, err, srv.Identity())
			}
			if _, _, err := srv.Next(nil); !errors.Is(err, imap.ErrAuthFailed) {
				t.Errorf("after done: %v", err)
			}
		})
	}

	// No EXTERNAL without a verified certificate naming a valid user.
	for name, conn := range map[string]ports.ConnInfo{
		"no TLS":                 {},
		"external layer":         {SSF: 2},
		"no certificate":         ci(noCert),
		"unverified certificate": ci(unverified),
		"CN not a user name":     ci(invalidName),
	} {
		if _, err := a.NewSASL(context.Background(), External, conn); !errors.Is(err, imap.ErrCannot) {
			t.Errorf("%s: NewSASL = %v, want ErrCannot", name, err)
		}
	}
}
